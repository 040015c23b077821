// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite of the VFIO sPAPR TCE backend (vfio_iommu_spapr_tce.c) over
 * a mock platform, as iommufd's selftest drives IOMMUFD over its mock
 * domain.
 *
 * The mock platform: two PEs, each a struct iommu_table_group of the
 * test's own in an IOMMU group of its own, whose create_table opens a TCE
 * window (tce_window.c) over the PAPR-strict fake of tce_fake.c: window 0
 * is the 32-bit default window (4K pages at bus address 0), window 1 the
 * DDW (PAGE_SIZE pages at 2^59), one fake table per PE and window, both
 * PEs' windows at the same bus addresses. As on pSeries, set_window()
 * takes only the PE's own table (-EPERM for another PE's), so a second
 * group gets mirrors. create_table() stands for the RTAS call that opens
 * a window; it can fail like the TCE hypercalls (tce_fake_nth_point()).
 *
 * How the backend is driven: through its struct vfio_iommu_driver_ops
 * (open, ioctl, attach_group, detach_group, release), as the VFIO core
 * calls them, with the ioctl arguments in user memory and user space
 * memory from kunit_vm_mmap() (KUnit's own mm, which becomes the
 * container's). That needs no VFIO device, no vfio-pci and no change to
 * the backend: backend_under_test.c builds its source into this module
 * without its module glue, and the backend is never registered with the
 * VFIO core. The range operations it calls (iommu_tce_xchg_range(),
 * iommu_tce_clear_range(); include/compat/iommu_tce_range.c in the
 * backend's module) are defined here: the window's own, as over
 * pseries_tce_ddw. (The generic ones, tce_range_generic.c, serve tables
 * whose xchg_no_kill writes through, the in-tree platform's; over a
 * window, which writes new TCEs only at tce_kill(), a callback that
 * returns nothing, they cannot see a refused write.) take_ownership and
 * release_ownership are not mocked: the backend never calls them (the
 * VFIO core does, through the IOMMU domain of the group).
 *
 * What is checked, after every operation and after every injected
 * failure of the fail-the-Nth sweep (each firmware call of the operation
 * failed in turn, until it succeeds without meeting the injection; once
 * with failing calls that write nothing, once with failing calls that
 * write their first entry, as a hypervisor stopping in a batch): in
 * every window a PE holds, whatever the fake table holds the window's
 * shadow holds too, and they agree entry for entry unless a failing call
 * wrote part of its entries; an entry set in the fake holds its
 * reference and a reference is held only by an entry of the shadow: in
 * v1 the pin count of each user page is exactly the number of shadow
 * entries mapping it and at least the number of fake entries, in v2 the
 * view holds the user address of every set entry, whose mm_iommu count
 * it owns (the count itself is private to mm_iommu: it is checked at the
 * end, when the registration must go); the fake refused no call as
 * breaking a PAPR rule. When the backend unsets a window, the shadow
 * holds whatever the fake still holds. After the container is released:
 * locked_vm and every page's reference count are back where they
 * started, no window is left open.
 *
 * The guest suite (tests/guest/test_fail_nth.c, test_fail_persist.c)
 * fails QEMU's hypercalls from outside and sees what user space sees;
 * this suite sees each call and each reference.
 *
 * Out of tree only: the backend's statics are reachable only by building
 * its source into the test module.
 */

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/numa.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <asm/hvcall.h>
#include <asm/iommu.h>
#include <asm/tce.h>

#include "vfio.h"

#include "backend_under_test.h"
#include "tce_fake.h"
#include "tce_window.h"

#define KM_PES		2
#define KM_SLOTS	2		/* default window, one DDW */
#define KM_ENTRIES	1024		/* per fake table: two batches */
#define KM_DDW_START	BIT_ULL(59)
#define KM_PAGES	8		/* user pages mapped */
#define KM_SCRATCH	64		/* more than an LRU batch */
/* Maps straddle the batch boundary at entry 512 */
#define KM_FIRST_V2	(512 - KM_PAGES / 2)
#define KM_ENT_V1	(PAGE_SIZE >> IOMMU_PAGE_SHIFT_4K)
#define KM_FIRST_V1	(512 - KM_PAGES * KM_ENT_V1 / 2)

struct km_env;

/**
 * struct km_pe - a mock PE
 * @env: the test environment.
 * @tg: its table group, the iommudata of @grp.
 * @ops: the table group's ops.
 * @grp: its IOMMU group.
 * @fake: the fake table of each window.
 * @creates: windows created.
 */
struct km_pe {
	struct km_env *env;
	struct iommu_table_group tg;
	struct iommu_table_group_ops ops;
	struct iommu_group *grp;
	struct tce_fake *fake[KM_SLOTS];
	unsigned int creates;
};

/**
 * struct km_env - the test environment
 * @test: the test.
 * @ops: the backend's VFIO IOMMU driver operations.
 * @data: the open container, or NULL.
 * @v2: the container is v2.
 * @registered: the user buffer is registered (v2).
 * @partial: a failing call of the sweep writes part of its entries.
 * @attached: groups attached, by PE.
 * @pe: the mock PEs.
 * @buf: user buffer of KM_PAGES pages.
 * @uarg: a user page for the ioctl arguments.
 * @pages: the pages of @buf.
 * @base_ref: their reference counts before any test.
 * @base_locked: locked_vm before any test.
 */
struct km_env {
	struct kunit *test;
	const struct vfio_iommu_driver_ops *ops;
	void *data;
	bool v2;
	bool registered;
	bool partial;
	bool attached[KM_PES];
	struct km_pe pe[KM_PES];
	unsigned long buf;
	unsigned long uarg;
	struct page *pages[KM_PAGES];
	int base_ref[KM_PAGES];
	unsigned long base_locked;
};

/**
 * struct km_sweep - one operation of the fail-the-Nth sweep
 * @name: what it is.
 * @returns: the operation returns an errno (release and detach do not).
 * @setup: bring the container to where the operation starts.
 * @op: the operation.
 * @after: checks of the operation's outcome, or NULL; @fired: a call of
 *	the operation failed.
 */
struct km_sweep {
	const char *name;
	bool returns;
	void (*setup)(struct km_env *env);
	long (*op)(struct km_env *env);
	void (*after)(struct km_env *env, long ret, bool fired);
};

/* ---- the range operations the backend calls ---------------------------- */

/**
 * iommu_tce_xchg_range() - exchange a range, as the backend's module does
 * @tbl: a window of the mock platform.
 * @entry: first absolute entry.
 * @n: number of entries.
 * @st: @n new values in, the old ones out.
 *
 * The backend's module finds the window's range operations through
 * pseries_tce_ddw (include/compat/iommu_tce_range.c); in tree they are
 * the window's iommu_table_ops callbacks.
 *
 * Context: process context, may sleep.
 * Return: 0 or a negative errno.
 */
int iommu_tce_xchg_range(struct iommu_table *tbl, unsigned long entry,
			 unsigned long n, struct tce_range_entry *st)
{
	return tce_window_xchg_range(tbl, entry, n, st);
}

/**
 * iommu_tce_clear_range() - clear a range, as the backend's module does
 * @tbl: a window of the mock platform.
 * @entry: first absolute entry.
 * @n: number of entries.
 * @old: what the cleared entries held, from @old[*@nr] on.
 * @max: size of @old.
 * @nr: entries in @old.
 *
 * Context: process context.
 * Return: entries gone through, or a negative errno.
 */
long iommu_tce_clear_range(struct iommu_table *tbl, unsigned long entry,
			   unsigned long n, struct tce_range_entry *old,
			   unsigned long max, unsigned long *nr)
{
	return tce_window_clear_range(tbl, entry, n, old, max, nr);
}

/* ---- references -------------------------------------------------------- */

static unsigned long km_locked_vm(void)
{
	return READ_ONCE(current->mm->locked_vm);
}

/* Pins of user page @i since the start: whole GUP_PIN_COUNTING_BIAS only */
static int km_pins(struct km_env *env, int i)
{
	int delta = page_ref_count(env->pages[i]) - env->base_ref[i];

	KUNIT_EXPECT_EQ_MSG(env->test, delta % GUP_PIN_COUNTING_BIAS, 0,
			    "page %d: %d references besides its pins", i,
			    delta % GUP_PIN_COUNTING_BIAS);
	return delta / GUP_PIN_COUNTING_BIAS;
}

/* The user page @tce points at, or -1 */
static int km_page_of(struct km_env *env, u64 tce)
{
	unsigned long pfn = (tce & ~(u64)(TCE_PCI_READ | TCE_PCI_WRITE)) >>
			    PAGE_SHIFT;
	int i;

	for (i = 0; i < KM_PAGES; i++)
		if (page_to_pfn(env->pages[i]) == pfn)
			return i;
	return -1;
}

static unsigned long km_ua(struct iommu_table *tbl, unsigned long e)
{
	__be64 *p = tbl->it_ops->useraddrptr(tbl, e, false);

	return p ? be64_to_cpu(*p) : 0;
}

/*
 * Entry @idx of window @num of @pe: whatever the firmware holds, the
 * window's shadow holds too, so the backend knows of it and keeps its
 * reference. They agree, but where a failing call wrote part of its
 * entries (@env->partial): then the shadow may hold a TCE the firmware
 * lost (the backend keeps a reference for nothing until the entry is
 * cleared: a leak, never a page freed under the device). A set entry
 * holds its reference: v2, the view holds its user address; v1, it is
 * counted into @fw (when not NULL), to be compared with its page's pins.
 */
static void km_check_fw(struct km_env *env, struct km_pe *pe, int num,
			unsigned long idx, int *fw)
{
	struct iommu_table *tbl = pe->tg.tables[num];
	unsigned long e = tbl->it_offset + idx;
	u64 f = tce_fake_read(pe->fake[num], idx);
	u64 sh = tbl->it_ops->get(tbl, e);
	int page;

	if (f || !env->partial)
		KUNIT_EXPECT_EQ_MSG(env->test, f, sh,
				    "PE %td window %d entry %lu: firmware %llx, shadow %llx",
				    pe - env->pe, num, idx, f, sh);
	if (!f)
		return;
	if (env->v2) {
		KUNIT_EXPECT_NE_MSG(env->test, km_ua(tbl, e), 0,
				    "PE %td window %d entry %lu: TCE %llx in the firmware, no user address",
				    pe - env->pe, num, idx, f);
		return;
	}
	page = km_page_of(env, f);
	if (fw && page >= 0)
		fw[page]++;
}

/*
 * Entry @idx of window @num of @pe holds its reference: v2, the view
 * holds its user address; v1, it is counted into @pins, to be compared
 * with the pins of its page
 */
static void km_check_ref(struct km_env *env, struct km_pe *pe, int num,
			 unsigned long idx, int *pins)
{
	struct iommu_table *tbl = pe->tg.tables[num];
	unsigned long e = tbl->it_offset + idx;
	u64 sh = tbl->it_ops->get(tbl, e);
	unsigned long ua = km_ua(tbl, e);
	int page;

	if (env->v2) {
		KUNIT_EXPECT_EQ_MSG(env->test, !!sh, !!ua,
				    "PE %td window %d entry %lu: TCE %llx, user address %lx",
				    pe - env->pe, num, idx, sh, ua);
		return;
	}
	if (!sh)
		return;
	page = km_page_of(env, sh);
	KUNIT_EXPECT_GE_MSG(env->test, page, 0,
			    "window %d entry %lu: TCE %llx maps no user page",
			    num, idx, sh);
	if (page >= 0)
		pins[page]++;
}

/*
 * User page @i has @want pins: one per entry of the shadows mapping it
 * (v1), or its registration's (v2); and at least one per entry of the
 * firmware mapping it (@fw, v1)
 */
static void km_check_pins(struct km_env *env, int i, int want, int fw)
{
	int pins = km_pins(env, i);

	KUNIT_EXPECT_EQ_MSG(env->test, pins, want, "user page %d: pins", i);
	KUNIT_EXPECT_GE_MSG(env->test, pins, fw,
			    "user page %d: %d pins for %d firmware entries", i,
			    pins, fw);
}

/*
 * The invariants of every open window (see the top of this file); returns
 * the entries set in the firmware
 */
static unsigned long km_check(struct km_env *env)
{
	int pins[KM_PAGES] = { 0 }, fw[KM_PAGES] = { 0 };
	unsigned long idx, set = 0;
	struct km_pe *pe;
	int num, i;

	for (pe = env->pe; pe < env->pe + KM_PES; pe++) {
		for (num = 0; num < KM_SLOTS; num++) {
			KUNIT_EXPECT_EQ(env->test,
					tce_fake_refused(pe->fake[num]), 0);
			if (!pe->tg.tables[num])
				continue;
			set += tce_fake_nonzero(pe->fake[num]);
			for (idx = 0; idx < pe->tg.tables[num]->it_size;
			     idx++) {
				km_check_fw(env, pe, num, idx, fw);
				km_check_ref(env, pe, num, idx, pins);
			}
		}
	}
	for (i = 0; i < KM_PAGES; i++)
		km_check_pins(env, i, env->v2 ? env->registered : pins[i],
			      fw[i]);
	return set;
}

/* ---- the mock platform ------------------------------------------------- */

static const unsigned int km_shift[KM_SLOTS] = {
	IOMMU_PAGE_SHIFT_4K, PAGE_SHIFT
};

static const u64 km_start[KM_SLOTS] = { 0, KM_DDW_START };

static unsigned long km_liobn(int pe, int num)
{
	return 0x7e3000UL + pe * KM_SLOTS + num;
}

static struct km_pe *km_pe_of(struct iommu_table_group *tg)
{
	return container_of(tg, struct km_pe, tg);
}

/* Whole pages, so that every window charges locked_vm */
static unsigned long km_get_table_size(__u32 page_shift, __u64 size,
				       __u32 levels)
{
	return PAGE_ALIGN((size >> page_shift) * sizeof(u64));
}

/* A window the firmware opens starts with no translation */
static void km_fake_clean(struct tce_fake *fake)
{
	unsigned long i;

	for (i = 0; i < KM_ENTRIES; i++)
		tce_fake_write(fake, i, 0);
}

static long km_create_table(struct iommu_table_group *tg, int num,
			    __u32 page_shift, __u64 size, __u32 levels,
			    struct iommu_table **ptbl)
{
	struct km_pe *pe = km_pe_of(tg);
	struct tce_window_params p = {
		.start = km_start[num],
		.size = size,
		.page_shift = page_shift,
		.busno = 1,
		.nid = NUMA_NO_NODE,
	};
	struct tce_window *win;

	if (num < 0 || num >= KM_SLOTS || tg->tables[num])
		return -EBUSY;
	if (page_shift != km_shift[num] || levels != 1 ||
	    size > (u64)KM_ENTRIES << page_shift)
		return -EINVAL;
	/* ibm,create-pe-dma-window */
	if (tce_fake_nth_point() != H_SUCCESS)
		return -EIO;
	p.liobn = pe->fake[num]->liobn;
	km_fake_clean(pe->fake[num]);
	win = tce_window_create(&p, tce_fake_backend(TCE_FAKE_HAS_ALL));
	if (IS_ERR(win))
		return PTR_ERR(win);
	pe->creates++;
	tg->tables[num] = &win->tbl;
	*ptbl = iommu_tce_table_get(&win->tbl);
	return 0;
}

/* A pSeries table is the hypervisor table of one PE */
static long km_set_window(struct iommu_table_group *tg, int num,
			  struct iommu_table *tbl)
{
	return tbl == tg->tables[num] ? 0 : -EPERM;
}

/*
 * As ddw_ops.c: unsetting a window the PE does not have is no error. The
 * firmware's entries go with the window, so the backend must know of
 * every one it leaves (km_check_fw()): it still holds their references.
 */
static long km_unset_window(struct iommu_table_group *tg, int num)
{
	struct iommu_table *tbl = tg->tables[num];
	struct km_pe *pe = km_pe_of(tg);
	unsigned long idx;

	if (!tbl)
		return 0;
	for (idx = 0; idx < tbl->it_size; idx++)
		km_check_fw(pe->env, pe, num, idx, NULL);
	tg->tables[num] = NULL;
	iommu_tce_table_put(tbl);
	return 0;
}

KUNIT_DEFINE_ACTION_WRAPPER(km_group_put, iommu_group_put,
			    struct iommu_group *);

static void km_pe_init(struct kunit *test, struct km_env *env, int i)
{
	struct km_pe *pe = &env->pe[i];
	int num;

	pe->env = env;
	for (num = 0; num < KM_SLOTS; num++)
		pe->fake[num] = tce_fake_create(test, km_liobn(i, num),
						km_start[num], KM_ENTRIES,
						km_shift[num]);
	pe->ops.get_table_size = km_get_table_size;
	pe->ops.create_table = km_create_table;
	pe->ops.set_window = km_set_window;
	pe->ops.unset_window = km_unset_window;
	pe->tg.ops = &pe->ops;
	pe->tg.tce32_start = 0;
	pe->tg.tce32_size = KM_ENTRIES << IOMMU_PAGE_SHIFT_4K;
	pe->tg.pgsizes = SZ_4K | PAGE_SIZE;
	pe->tg.max_dynamic_windows_supported = 1;
	pe->tg.max_levels = 1;
	pe->grp = iommu_group_alloc();
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pe->grp);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, km_group_put,
							pe->grp), 0);
	iommu_group_set_iommudata(pe->grp, &pe->tg, NULL);
}

/* ---- the container, as user space drives it --------------------------- */

static long km_ioctl(struct km_env *env, unsigned int cmd, void *arg,
		     size_t len)
{
	void __user *u = (void __user *)env->uarg;
	long ret;

	KUNIT_ASSERT_EQ(env->test, copy_to_user(u, arg, len), 0);
	ret = env->ops->ioctl(env->data, cmd, env->uarg);
	KUNIT_ASSERT_EQ(env->test, copy_from_user(arg, u, len), 0);
	return ret;
}

static void km_open(struct km_env *env, bool v2)
{
	env->data = env->ops->open(v2 ? VFIO_SPAPR_TCE_v2_IOMMU :
				   VFIO_SPAPR_TCE_IOMMU);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(env->test, env->data);
	env->v2 = v2;
}

static int km_attach(struct km_env *env, int i)
{
	int ret = env->ops->attach_group(env->data, env->pe[i].grp,
					 VFIO_IOMMU);

	env->attached[i] = !ret;
	return ret;
}

static void km_detach(struct km_env *env, int i)
{
	env->ops->detach_group(env->data, env->pe[i].grp);
	env->attached[i] = false;
}

static void km_release(struct km_env *env)
{
	env->ops->release(env->data);
	env->data = NULL;
	env->registered = false;
	memset(env->attached, 0, sizeof(env->attached));
}

static long km_register(struct km_env *env, bool reg)
{
	struct vfio_iommu_spapr_register_memory r = {
		.argsz = sizeof(r),
		.vaddr = env->buf,
		.size = KM_PAGES * PAGE_SIZE,
	};
	long ret;

	ret = km_ioctl(env, reg ? VFIO_IOMMU_SPAPR_REGISTER_MEMORY :
			     VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY,
		       &r, sizeof(r));
	if (!ret)
		env->registered = reg;
	return ret;
}

static long km_create(struct km_env *env)
{
	struct vfio_iommu_spapr_tce_create cr = {
		.argsz = sizeof(cr),
		.page_shift = PAGE_SHIFT,
		.window_size = (u64)KM_ENTRIES << PAGE_SHIFT,
		.levels = 1,
	};
	long ret = km_ioctl(env, VFIO_IOMMU_SPAPR_TCE_CREATE, &cr, sizeof(cr));

	if (!ret)
		KUNIT_EXPECT_EQ(env->test, cr.start_addr, KM_DDW_START);
	return ret;
}

static long km_remove(struct km_env *env)
{
	struct vfio_iommu_spapr_tce_remove rm = {
		.argsz = sizeof(rm),
		.start_addr = KM_DDW_START,
	};

	return km_ioctl(env, VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm, sizeof(rm));
}

/* Bus address of the first entry mapped: v2 in the DDW, v1 the default */
static u64 km_iova(struct km_env *env)
{
	if (env->v2)
		return KM_DDW_START + ((u64)KM_FIRST_V2 << PAGE_SHIFT);
	return (u64)KM_FIRST_V1 << IOMMU_PAGE_SHIFT_4K;
}

static long km_map(struct km_env *env)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = env->buf,
		.iova = km_iova(env),
		.size = KM_PAGES * PAGE_SIZE,
	};

	return km_ioctl(env, VFIO_IOMMU_MAP_DMA, &m, sizeof(m));
}

static long km_unmap(struct km_env *env)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.iova = km_iova(env),
		.size = KM_PAGES * PAGE_SIZE,
	};

	return km_ioctl(env, VFIO_IOMMU_UNMAP_DMA, &u, sizeof(u));
}

static long km_enable(struct km_env *env)
{
	return env->ops->ioctl(env->data, VFIO_IOMMU_ENABLE, 0);
}

/*
 * Release the container, then nothing may be left: no window open, every
 * page's references and locked_vm as before the test
 */
static void km_release_check(struct km_env *env)
{
	int num, i;

	if (env->data)
		km_release(env);
	/* mm_iommu unpins a registration's pages in an RCU callback */
	rcu_barrier();
	for (i = 0; i < KM_PES; i++)
		for (num = 0; num < KM_SLOTS; num++)
			KUNIT_EXPECT_NULL_MSG(env->test, env->pe[i].tg.tables[num],
					      "PE %d window %d left open", i,
					      num);
	for (i = 0; i < KM_PAGES; i++)
		KUNIT_EXPECT_EQ_MSG(env->test, page_ref_count(env->pages[i]),
				    env->base_ref[i], "user page %d", i);
	KUNIT_EXPECT_EQ(env->test, km_locked_vm(), env->base_locked);
}

static void km_env_release(void *data)
{
	struct km_env *env = data;

	tce_fake_fail_nth(0, H_SUCCESS, 0);
	if (env->data)
		km_release(env);
}

/*
 * Fault the user pages in and take their references as the baseline. A
 * new page holds one more reference while it waits in its CPU's batch of
 * pages for the LRU; faulting in more pages than a batch holds, on the
 * same CPU, sends it there.
 */
static void km_pages_init(struct kunit *test, struct km_env *env)
{
	unsigned long scratch;
	int i;

	scratch = kunit_vm_mmap(test, NULL, 0, KM_SCRATCH * PAGE_SIZE,
				PROT_READ | PROT_WRITE,
				MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(scratch));
	migrate_disable();
	i = clear_user((void __user *)env->buf, KM_PAGES * PAGE_SIZE) ||
	    clear_user((void __user *)scratch, KM_SCRATCH * PAGE_SIZE);
	migrate_enable();
	KUNIT_ASSERT_EQ(test, i, 0);
	/* a long-term pin first: it migrates what it would not keep */
	KUNIT_ASSERT_EQ(test, pin_user_pages_fast(env->buf, KM_PAGES,
						  FOLL_WRITE | FOLL_LONGTERM,
						  env->pages), KM_PAGES);
	unpin_user_pages(env->pages, KM_PAGES);
	for (i = 0; i < KM_PAGES; i++) {
		KUNIT_ASSERT_FALSE(test, folio_test_large(page_folio(env->pages[i])));
		env->base_ref[i] = page_ref_count(env->pages[i]);
	}
}

static int km_init(struct kunit *test)
{
	struct km_env *env = kunit_kzalloc(test, sizeof(*env), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, env);
	env->test = test;
	env->ops = tce_backend_under_test();
	env->buf = kunit_vm_mmap(test, NULL, 0, KM_PAGES * PAGE_SIZE,
				 PROT_READ | PROT_WRITE,
				 MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE(test, env->buf, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(env->buf));
	env->uarg = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE,
				  PROT_READ | PROT_WRITE,
				  MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(env->uarg));
	km_pages_init(test, env);
	env->base_locked = km_locked_vm();
	for (i = 0; i < KM_PES; i++)
		km_pe_init(test, env, i);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, km_env_release,
							env), 0);
	test->priv = env;
	return 0;
}

/* ---- setups ------------------------------------------------------------- */

static void km_v2_window(struct km_env *env)
{
	km_open(env, true);
	KUNIT_ASSERT_EQ(env->test, km_attach(env, 0), 0);
	KUNIT_ASSERT_EQ(env->test, km_register(env, true), 0);
	KUNIT_ASSERT_EQ(env->test, km_create(env), 0);
}

static void km_v2_mirror(struct km_env *env)
{
	km_v2_window(env);
	KUNIT_ASSERT_EQ(env->test, km_attach(env, 1), 0);
}

static void km_v2_mapped(struct km_env *env)
{
	km_v2_window(env);
	KUNIT_ASSERT_EQ(env->test, km_map(env), 0);
}

static void km_v2_mirror_mapped(struct km_env *env)
{
	km_v2_mirror(env);
	KUNIT_ASSERT_EQ(env->test, km_map(env), 0);
}

static void km_v2_two_groups(struct km_env *env)
{
	km_open(env, true);
	KUNIT_ASSERT_EQ(env->test, km_attach(env, 0), 0);
	KUNIT_ASSERT_EQ(env->test, km_attach(env, 1), 0);
	KUNIT_ASSERT_EQ(env->test, km_register(env, true), 0);
}

static void km_v1_enabled(struct km_env *env)
{
	km_open(env, false);
	KUNIT_ASSERT_EQ(env->test, km_attach(env, 0), 0);
	KUNIT_ASSERT_EQ(env->test, km_enable(env), 0);
}

static void km_v1_mapped(struct km_env *env)
{
	km_v1_enabled(env);
	KUNIT_ASSERT_EQ(env->test, km_map(env), 0);
}

/* ---- operations and their outcomes ------------------------------------- */

static long km_op_release(struct km_env *env)
{
	km_release(env);
	return 0;
}

static long km_op_attach_mirror(struct km_env *env)
{
	return km_attach(env, 1);
}

static long km_op_detach_mirror(struct km_env *env)
{
	km_detach(env, 1);
	return 0;
}

/* Firmware entries of window @num over every PE */
static unsigned long km_set_in(struct km_env *env, int num)
{
	unsigned long n = 0;
	int i;

	for (i = 0; i < KM_PES; i++)
		if (env->pe[i].tg.tables[num])
			n += tce_fake_nonzero(env->pe[i].fake[num]);
	return n;
}

static int km_map_slot(struct km_env *env)
{
	return env->v2 ? 1 : 0;
}

/* A MAP is all or nothing; a mapped TCE is set in every table */
static void km_after_map(struct km_env *env, long ret, bool fired)
{
	unsigned long tables = env->attached[1] ? 2 : 1;
	unsigned long per = env->v2 ? KM_PAGES : KM_PAGES * KM_ENT_V1;

	KUNIT_EXPECT_EQ(env->test, km_set_in(env, km_map_slot(env)),
			ret ? 0 : tables * per);
}

/* An UNMAP that returns 0 cleared everything in every table */
static void km_after_unmap(struct km_env *env, long ret, bool fired)
{
	if (!ret)
		KUNIT_EXPECT_EQ(env->test, km_set_in(env, km_map_slot(env)),
				0);
}

/* The DDW is open on both PEs or on none */
static void km_after_create(struct km_env *env, long ret, bool fired)
{
	bool open0 = env->pe[0].tg.tables[1], open1 = env->pe[1].tg.tables[1];

	KUNIT_EXPECT_EQ(env->test, open0, !ret);
	KUNIT_EXPECT_EQ(env->test, open1, !ret);
}

/* A REMOVE that returns 0 closed the DDW; one that fails kept it */
static void km_after_remove(struct km_env *env, long ret, bool fired)
{
	bool open0 = env->pe[0].tg.tables[1], open1 = env->pe[1].tg.tables[1];

	KUNIT_EXPECT_EQ(env->test, open0, !!ret);
	KUNIT_EXPECT_EQ(env->test, open1, !!ret);
}

/* A group attached with mirrors maps as the first one does */
static void km_after_attach(struct km_env *env, long ret, bool fired)
{
	int num;

	for (num = 0; num < KM_SLOTS; num++)
		KUNIT_EXPECT_EQ(env->test, !!env->pe[1].tg.tables[num], !ret);
	if (ret)
		return;
	KUNIT_EXPECT_EQ(env->test, km_map(env), 0);
	km_after_map(env, 0, false);
	km_check(env);
}

/* The group left with its mirrors; the other one keeps its mappings */
static void km_after_detach(struct km_env *env, long ret, bool fired)
{
	int num;

	for (num = 0; num < KM_SLOTS; num++)
		KUNIT_EXPECT_NULL(env->test, env->pe[1].tg.tables[num]);
	KUNIT_EXPECT_EQ(env->test, tce_fake_nonzero(env->pe[0].fake[1]),
			KM_PAGES);
}

/* ---- the fail-the-Nth sweep --------------------------------------------- */

/* No operation here makes this many firmware calls */
#define KM_MAX_NTH	64

/*
 * One round: set up, fail the @nth firmware call of the operation, check
 * every reference, release, check that everything came back. Returns
 * whether the injection was met.
 */
static bool km_sweep_round(struct km_env *env, const struct km_sweep *s,
			   unsigned long nth, unsigned long written)
{
	struct kunit *test = env->test;
	bool fired;
	long ret;

	s->setup(env);
	km_check(env);
	env->partial = written;
	tce_fake_fail_nth(nth, H_HARDWARE, written);
	ret = s->op(env);
	fired = tce_fake_nth_fired();
	tce_fake_fail_nth(0, H_SUCCESS, 0);
	if (fired && s->returns)
		KUNIT_EXPECT_NE_MSG(test, ret, 0, "%s: call %lu failed unseen",
				    s->name, nth);
	if (!fired)
		KUNIT_EXPECT_EQ_MSG(test, ret, 0, "%s with no failure", s->name);
	if (env->data)
		km_check(env);
	if (s->after)
		s->after(env, ret, fired);
	km_release_check(env);
	return fired;
}

/*
 * Fail the 1st, 2nd, ... firmware call of the operation, each failing
 * call writing @written entries first, until it succeeds
 */
static void km_sweep(struct km_env *env, const struct km_sweep *s,
		     unsigned long written)
{
	struct kunit *test = env->test;
	unsigned long nth;

	for (nth = 1; nth <= KM_MAX_NTH; nth++) {
		if (!km_sweep_round(env, s, nth, written))
			break;
		/* one round's failures say it all */
		if (test->status == KUNIT_FAILURE) {
			kunit_info(test, "%s, failing calls write %lu: failing call %lu broke it",
				   s->name, written, nth);
			return;
		}
	}
	KUNIT_EXPECT_LT(test, nth, KM_MAX_NTH);
	KUNIT_EXPECT_GT_MSG(test, nth, 1, "%s made no firmware call", s->name);
	kunit_info(test, "%s, failing calls write %lu: %lu firmware calls failed in turn",
		   s->name, written, nth - 1);
}

/* A failing call writes nothing, then it writes its first entry */
static void km_sweep_test(struct kunit *test)
{
	km_sweep(test->priv, test->param_value, 0);
	if (test->status != KUNIT_FAILURE)
		km_sweep(test->priv, test->param_value, 1);
}

#define KM_SWEEP(n, r, su, o, a) \
	{ .name = n, .returns = r, .setup = su, .op = o, .after = a }

static const struct km_sweep km_sweeps[] = {
	KM_SWEEP("v2 MAP", true, km_v2_window, km_map, km_after_map),
	KM_SWEEP("v2 MAP, mirror", true, km_v2_mirror, km_map, km_after_map),
	KM_SWEEP("v2 UNMAP", true, km_v2_mapped, km_unmap, km_after_unmap),
	KM_SWEEP("v2 UNMAP, mirror", true, km_v2_mirror_mapped, km_unmap,
		 km_after_unmap),
	KM_SWEEP("v2 CREATE, mirror", true, km_v2_two_groups, km_create,
		 km_after_create),
	KM_SWEEP("v2 REMOVE, mirror", true, km_v2_mirror_mapped, km_remove,
		 km_after_remove),
	KM_SWEEP("v2 attach with mirror", true, km_v2_window,
		 km_op_attach_mirror, km_after_attach),
	KM_SWEEP("v2 detach of a mirror", false, km_v2_mirror_mapped,
		 km_op_detach_mirror, km_after_detach),
	KM_SWEEP("v2 release, mirror", false, km_v2_mirror_mapped,
		 km_op_release, NULL),
	KM_SWEEP("v1 MAP", true, km_v1_enabled, km_map, km_after_map),
	KM_SWEEP("v1 UNMAP", true, km_v1_mapped, km_unmap, km_after_unmap),
	KM_SWEEP("v1 release", false, km_v1_mapped, km_op_release, NULL),
};

static void km_sweep_desc(const struct km_sweep *s, char *desc)
{
	strscpy(desc, s->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(km_sweep, km_sweeps, km_sweep_desc);

/* ---- the operations without failures ----------------------------------- */

/* The TCE of user page @i as the backend maps it, read-write */
static u64 km_tce(struct km_env *env, int i, unsigned long sub)
{
	return (page_to_phys(env->pages[i]) + (sub << IOMMU_PAGE_SHIFT_4K)) |
	       TCE_PCI_READ | TCE_PCI_WRITE;
}

/*
 * v2: the firmware holds exactly the TCEs of the user pages, one
 * H_PUT_TCE_INDIRECT a batch; the registration is busy until the unmap,
 * which is one H_STUFF_TCE a batch
 */
static void km_v2_map_unmap(struct kunit *test)
{
	struct km_env *env = test->priv;
	struct tce_fake *fake = env->pe[0].fake[1];
	int i;

	km_v2_window(env);
	tce_fake_reset_log(fake);
	KUNIT_ASSERT_EQ(test, km_map(env), 0);
	for (i = 0; i < KM_PAGES; i++)
		KUNIT_EXPECT_EQ(test, tce_fake_read(fake, KM_FIRST_V2 + i),
				km_tce(env, i, 0));
	KUNIT_EXPECT_EQ(test, km_check(env), KM_PAGES);
	KUNIT_EXPECT_EQ(test, tce_fake_count(fake, TCE_FAKE_PUT_MANY), 2);
	KUNIT_EXPECT_EQ(test, tce_fake_count(fake, TCE_FAKE_ANY), 2);
	KUNIT_EXPECT_EQ(test, km_register(env, false), -EBUSY);

	tce_fake_reset_log(fake);
	KUNIT_ASSERT_EQ(test, km_unmap(env), 0);
	KUNIT_EXPECT_EQ(test, km_check(env), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(fake, TCE_FAKE_STUFF), 2);
	KUNIT_EXPECT_EQ(test, tce_fake_count(fake, TCE_FAKE_ANY), 2);
	KUNIT_EXPECT_EQ(test, km_register(env, false), 0);
	KUNIT_EXPECT_EQ(test, km_remove(env), 0);
	KUNIT_EXPECT_NULL(test, env->pe[0].tg.tables[1]);
	km_release_check(env);
}

/* v1: each 4K entry of the default window pins its page once */
static void km_v1_map_unmap(struct kunit *test)
{
	struct km_env *env = test->priv;
	struct tce_fake *fake = env->pe[0].fake[0];
	unsigned long sub;
	int i;

	km_v1_enabled(env);
	KUNIT_ASSERT_EQ(test, km_map(env), 0);
	for (i = 0; i < KM_PAGES; i++) {
		KUNIT_EXPECT_EQ(test, km_pins(env, i), KM_ENT_V1);
		for (sub = 0; sub < KM_ENT_V1; sub++)
			KUNIT_EXPECT_EQ(test,
					tce_fake_read(fake, KM_FIRST_V1 +
						      i * KM_ENT_V1 + sub),
					km_tce(env, i, sub));
	}
	KUNIT_EXPECT_EQ(test, km_check(env), KM_PAGES * KM_ENT_V1);
	KUNIT_ASSERT_EQ(test, km_unmap(env), 0);
	KUNIT_EXPECT_EQ(test, km_check(env), 0);
	for (i = 0; i < KM_PAGES; i++)
		KUNIT_EXPECT_EQ(test, km_pins(env, i), 0);
	km_release_check(env);
}

/*
 * Two groups: the mirror holds the primary's TCEs; when the primary's
 * group leaves, the mirror becomes the primary and keeps the mappings
 */
static void km_mirror_promote(struct kunit *test)
{
	struct km_env *env = test->priv;
	int i;

	km_v2_mirror_mapped(env);
	for (i = 0; i < KM_PAGES; i++)
		KUNIT_EXPECT_EQ(test,
				tce_fake_read(env->pe[1].fake[1], KM_FIRST_V2 + i),
				tce_fake_read(env->pe[0].fake[1], KM_FIRST_V2 + i));
	KUNIT_EXPECT_EQ(test, km_check(env), 2 * KM_PAGES);
	km_detach(env, 0);
	KUNIT_EXPECT_NULL(test, env->pe[0].tg.tables[1]);
	KUNIT_EXPECT_EQ(test, km_check(env), KM_PAGES);
	KUNIT_ASSERT_EQ(test, km_unmap(env), 0);
	KUNIT_EXPECT_EQ(test, km_check(env), 0);
	km_release_check(env);
}

/*
 * A clear the firmware refuses keeps the entries and their references,
 * and the window maps nothing more; a REMOVE clears it again
 */
static void km_refused_unmap(struct kunit *test)
{
	struct km_env *env = test->priv;
	struct tce_fake *fake = env->pe[0].fake[1];

	km_v2_mapped(env);
	tce_fake_fail(fake, TCE_FAKE_STUFF, 1, H_HARDWARE, 0);
	KUNIT_EXPECT_NE(test, km_unmap(env), 0);
	KUNIT_EXPECT_GT(test, km_check(env), 0);
	KUNIT_EXPECT_EQ(test, km_register(env, false), -EBUSY);
	KUNIT_EXPECT_EQ(test, km_map(env), -EIO);
	KUNIT_EXPECT_EQ(test, km_remove(env), 0);
	KUNIT_EXPECT_EQ(test, km_register(env, false), 0);
	km_release_check(env);
}

static struct kunit_case km_cases[] = {
	KUNIT_CASE(km_v2_map_unmap),
	KUNIT_CASE(km_v1_map_unmap),
	KUNIT_CASE(km_mirror_promote),
	KUNIT_CASE(km_refused_unmap),
	KUNIT_CASE_PARAM(km_sweep_test, km_sweep_gen_params),
	{}
};

static struct kunit_suite km_suite = {
	.name = "vfio_spapr_tce_mock",
	.init = km_init,
	.test_cases = km_cases,
};

kunit_test_suites(&km_suite);
