// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite of the TCE window (tce_window.c): its iommu_table_ops over
 * the fake TCE backend, the batching of the writes and the rollback when
 * the backend fails.
 *
 * Window creation and removal through RTAS (ddw_ops.c) are not part
 * of this layer: the windows here are made by tce_window_create() over a
 * fake table of the same geometry.
 */

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/dma-direction.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/numa.h>
#include <linux/slab.h>
#include <asm/iommu.h>
#include <asm/tce.h>

#include "tce_fake.h"
#include "tce_userspace_view.h"
#include "tce_window.h"

/*
 * The module references a live window holds: tce_window_create() pins the
 * module of the window code. In a module (the test module holds that code)
 * there is one; built in there is no module to pin.
 */
#ifdef MODULE
#define WINDOW_REF	1
static int module_refs(void)
{
	return module_refcount(THIS_MODULE);
}
#else
#define WINDOW_REF	0
static int module_refs(void)
{
	return 0;
}
#endif

#define WIN_LIOBN	0x7e1001UL
#define DDW_START	BIT_ULL(59)
#define PERM_RW		((u64)(TCE_PCI_READ | TCE_PCI_WRITE))

/**
 * struct win_env - a window over a fake table of the same geometry
 * @win: the window under test.
 * @tbl: its iommu_table.
 * @fake: the fake table.
 * @shift: IOMMU page shift.
 * @first: first absolute entry (it_offset).
 * @entries: entries of the window.
 */
struct win_env {
	struct tce_window *win;
	struct iommu_table *tbl;
	struct tce_fake *fake;
	unsigned int shift;
	unsigned long first;
	unsigned long entries;
};

KUNIT_DEFINE_ACTION_WRAPPER(window_put_action, tce_window_put,
			    struct tce_window *);

static struct tce_window_params win_params(u64 start, u64 size,
					   unsigned int shift)
{
	return (struct tce_window_params) {
		.liobn = WIN_LIOBN,
		.start = start,
		.size = size,
		.page_shift = shift,
		.busno = 1,
		.nid = NUMA_NO_NODE,
	};
}

static struct win_env *env_new(struct kunit *test, u64 start, u64 size,
			       unsigned int shift, unsigned int features)
{
	struct tce_window_params p = win_params(start, size, shift);
	struct win_env *env = kunit_kzalloc(test, sizeof(*env), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, env);
	env->shift = shift;
	env->entries = size >> shift;
	env->first = start >> shift;
	env->fake = tce_fake_create(test, WIN_LIOBN, start, env->entries,
				    shift);
	env->win = tce_window_create(&p, tce_fake_backend(features));
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, env->win);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							window_put_action,
							env->win), 0);
	env->tbl = &env->win->tbl;
	return env;
}

/* A host physical address for window index @idx, page aligned */
static unsigned long env_hpa(struct win_env *env, unsigned long idx)
{
	return (0x100000UL + idx) << env->shift;
}

static u64 tce_of(unsigned long hpa, enum dma_data_direction dir)
{
	switch (dir) {
	case DMA_TO_DEVICE:
		return hpa | TCE_PCI_READ;
	case DMA_FROM_DEVICE:
		return hpa | TCE_PCI_WRITE;
	case DMA_BIDIRECTIONAL:
		return hpa | PERM_RW;
	default:
		return 0;
	}
}

static int env_xchg(struct win_env *env, unsigned long idx,
		    unsigned long *hpa, enum dma_data_direction *dir)
{
	return env->tbl->it_ops->xchg_no_kill(env->tbl, env->first + idx, hpa,
					      dir);
}

/* Map window indexes [idx, idx + n) to env_hpa() with @dir, no kill */
static void env_map(struct kunit *test, struct win_env *env,
		    unsigned long idx, unsigned long n,
		    enum dma_data_direction dir)
{
	enum dma_data_direction d;
	unsigned long i, hpa;

	for (i = idx; i < idx + n; i++) {
		hpa = env_hpa(env, i);
		d = dir;
		KUNIT_ASSERT_EQ(test, env_xchg(env, i, &hpa, &d), 0);
	}
}

/* Unmap window indexes [idx, idx + n) as a VFIO backend does, no kill */
static void env_unmap(struct kunit *test, struct win_env *env,
		      unsigned long idx, unsigned long n)
{
	enum dma_data_direction d;
	unsigned long i, hpa;

	for (i = idx; i < idx + n; i++) {
		hpa = 0;
		d = DMA_NONE;
		KUNIT_ASSERT_EQ(test, env_xchg(env, i, &hpa, &d), 0);
	}
}

/*
 * Clear window indexes [idx, idx + n) through it_ops->clear(): zeros into
 * the shadow, then one flush (one stuff per run of zeros)
 */
static void env_clear(struct win_env *env, unsigned long idx, unsigned long n)
{
	env->tbl->it_ops->clear(env->tbl, env->first + idx, n);
}

static void env_kill(struct win_env *env, unsigned long idx, unsigned long n)
{
	env->tbl->it_ops->tce_kill(env->tbl, env->first + idx, n);
}

static u64 env_get(struct win_env *env, unsigned long idx)
{
	return env->tbl->it_ops->get(env->tbl, env->first + idx);
}

/* The fake holds env_hpa()|@dir in [lo, hi) and 0 elsewhere */
static void expect_table(struct kunit *test, struct win_env *env,
			 unsigned long lo, unsigned long hi,
			 enum dma_data_direction dir)
{
	unsigned long i, bad = 0;
	u64 want, got;

	for (i = 0; i < env->entries; i++) {
		want = i >= lo && i < hi ? tce_of(env_hpa(env, i), dir) : 0;
		got = tce_fake_read(env->fake, i);
		if (got != want && bad++ < 4)
			KUNIT_FAIL(test, "entry %lu: table %#llx, expected %#llx",
				   i, got, want);
	}
	KUNIT_EXPECT_EQ(test, bad, 0);
}

/* The shadow (it_ops->get) matches the fake entry by entry */
static void expect_shadow_is_fake(struct kunit *test, struct win_env *env)
{
	unsigned long i, bad = 0;
	u64 s, h;

	for (i = 0; i < env->entries; i++) {
		s = env_get(env, i);
		h = tce_fake_read(env->fake, i);
		if (s != h && bad++ < 4)
			KUNIT_FAIL(test, "entry %lu: shadow %#llx, table %#llx",
				   i, s, h);
	}
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win),
			tce_fake_nonzero(env->fake));
}

/*
 * The log from call @c on holds the stuff calls that clear window indexes
 * [idx, idx + n): 512 entries a call (the PAPR limit), in order, none
 * refused; the first call that differs fails the test. Returns the number
 * of calls that matched.
 */
static unsigned long expect_stuffs(struct kunit *test, struct win_env *env,
				   unsigned long c, unsigned long idx,
				   unsigned long n)
{
	const struct tce_fake_call *call;
	unsigned long k, first = c;

	for (; n; n -= k, idx += k, c++) {
		k = min(n, TCE_BACKEND_MAX_BATCH);
		call = tce_fake_call(env->fake, c);
		KUNIT_ASSERT_NOT_NULL(test, call);
		if (call->op != TCE_FAKE_STUFF || call->npages != k ||
		    call->ioba != tce_fake_ioba(env->fake, idx) ||
		    call->status != H_SUCCESS) {
			KUNIT_FAIL(test, "call %lu: %s of %lu at %#lx (%ld), not %lu at %#lx",
				   c, tce_fake_op_name(call->op), call->npages,
				   call->ioba, call->status, k,
				   tce_fake_ioba(env->fake, idx));
			break;
		}
	}
	KUNIT_EXPECT_EQ(test, tce_fake_refused(env->fake), 0);
	return c - first;
}

/* --- geometry and bookkeeping ------------------------------------------ */

struct geometry {
	const char *name;
	u64 start;
	u64 size;
	unsigned int shift;
};

static const struct geometry geometries[] = {
	{ "default-2G-4K", 0, 2ULL << 30, 12 },
	{ "one-entry-4K", 0x80000000ULL, 4096, 12 },
	{ "offset-2G-1G-64K", 0x80000000ULL, 1ULL << 30, 16 },
	{ "ddw-64G-64K", DDW_START, 64ULL << 30, 16 },
	{ "ddw-64G-16M", DDW_START, 64ULL << 30, 24 },
	{ "ddw-16M-16M", DDW_START, 16ULL << 20, 24 },
};

static void geometry_desc(const struct geometry *g, char *desc)
{
	strscpy(desc, g->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(geometry, geometries, geometry_desc);

static void window_create_geometry(struct kunit *test)
{
	const struct geometry *g = test->param_value;
	struct win_env *env = env_new(test, g->start, g->size, g->shift,
				      TCE_FAKE_HAS_ALL);
	struct iommu_table *tbl = env->tbl;
	unsigned long last = env->entries - 1;
	const struct tce_fake_call *call;

	KUNIT_EXPECT_EQ(test, tbl->it_offset, g->start >> g->shift);
	KUNIT_EXPECT_EQ(test, tbl->it_size, g->size >> g->shift);
	KUNIT_EXPECT_EQ(test, tbl->it_page_shift, g->shift);
	KUNIT_EXPECT_EQ(test, tbl->it_index, WIN_LIOBN);
	KUNIT_EXPECT_EQ(test, tbl->it_busno, 1);
	KUNIT_EXPECT_NULL(test, tbl->it_map);
	KUNIT_EXPECT_NOT_NULL(test, tbl->it_ops);
	KUNIT_EXPECT_EQ(test, kref_read(&tbl->it_kref), 1);
	KUNIT_EXPECT_EQ(test, tbl->it_allocated_size,
			tce_view_max_bytes(env->entries));
	KUNIT_EXPECT_PTR_EQ(test, tce_window_from_table(tbl), env->win);
	KUNIT_EXPECT_EQ(test, env->win->liobn, WIN_LIOBN);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 0);
	KUNIT_EXPECT_LT(test, tce_window_view_bytes(env->win),
			tce_view_directory_bytes(env->entries) + 512);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), 0);

	/* The first and the last entry */
	env_map(test, env, 0, 1, DMA_BIDIRECTIONAL);
	if (last)
		env_map(test, env, last, 1, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, tce_window_flush(env->win, env->first,
					       env->entries), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 0),
			tce_of(env_hpa(env, 0), DMA_BIDIRECTIONAL));
	if (last)
		KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, last),
				tce_of(env_hpa(env, last), DMA_TO_DEVICE));
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT),
			last ? 2 : 1);
	call = tce_fake_call(env->fake, 0);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_EQ(test, call->ioba, g->start);
	call = tce_fake_call(env->fake, last ? 1 : 0);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_EQ(test, call->ioba, g->start + g->size - (1ULL << g->shift));
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), last ? 2 : 1);
}

static void expect_rejected(struct kunit *test,
			    const struct tce_window_params *p,
			    const struct tce_backend_ops *ops, const char *why)
{
	struct tce_window *win = tce_window_create(p, ops);

	KUNIT_EXPECT_EQ_MSG(test, PTR_ERR_OR_ZERO(win), -EINVAL, "%s", why);
	if (!IS_ERR(win))
		tce_window_put(win);
}

static void window_create_bad_geometry(struct kunit *test)
{
	static const struct geometry bad[] = {
		{ "shift 11", 0, 1ULL << 20, 11 },
		{ "shift 41", 0, 1ULL << 50, 41 },
		{ "size 0", 0, 0, 12 },
		{ "size half a page", 0, 2048, 12 },
		{ "size 3 pages", 0, 3 * 4096, 12 },
		{ "size 1G+64K", 0, (1ULL << 30) + 65536, 16 },
		{ "start not page aligned", 0x800, 1ULL << 20, 12 },
		{ "start 4K aligned, 64K pages", 0x1000, 1ULL << 20, 16 },
		{ "start 64K aligned, 16M pages", DDW_START + 0x10000,
		  1ULL << 30, 24 },
	};
	const struct tce_backend_ops *ops = tce_fake_backend(TCE_FAKE_HAS_ALL);
	struct tce_backend_ops no_get = { .put = ops->put };
	struct tce_backend_ops no_put = { .get = ops->get };
	int refs = module_refs();
	struct tce_window_params p;
	int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		p = win_params(bad[i].start, bad[i].size, bad[i].shift);
		expect_rejected(test, &p, ops, bad[i].name);
	}

	/* put and get are mandatory */
	p = win_params(0, 1ULL << 20, 12);
	expect_rejected(test, &p, NULL, "no backend");
	expect_rejected(test, &p, &no_get, "backend without get");
	expect_rejected(test, &p, &no_put, "backend without put");
	KUNIT_EXPECT_EQ(test, module_refs(), refs);
}

/* A window whose bus range runs past the end of the bus address space */
static void window_create_wrapping_geometry(struct kunit *test)
{
	struct tce_window_params p = win_params(~0ULL << 13, 4 << 12, 12);

	expect_rejected(test, &p, tce_fake_backend(TCE_FAKE_HAS_ALL),
			"start 0xffffffffffffe000 + 4 pages wraps around 2^64");
}

static void window_from_table(struct kunit *test)
{
	static struct iommu_table_ops other_ops;
	struct iommu_table other = { .it_ops = &other_ops };
	struct win_env *env = env_new(test, 0, 1ULL << 20, 12,
				      TCE_FAKE_HAS_ALL);

	KUNIT_EXPECT_NULL(test, tce_window_from_table(NULL));
	KUNIT_EXPECT_NULL(test, tce_window_from_table(&other));
	KUNIT_EXPECT_PTR_EQ(test, tce_window_from_table(env->tbl), env->win);
	KUNIT_EXPECT_PTR_EQ(test, (void *)env->tbl, (void *)env->win);
}

/* References: the module is held while a window lives; put is balanced */
static void window_put_references(struct kunit *test)
{
	struct tce_window_params p = win_params(DDW_START, 1ULL << 30, 16);
	int refs = module_refs();
	struct tce_fake *fake;
	struct tce_window *win;

	fake = tce_fake_create(test, WIN_LIOBN, DDW_START, 1UL << 14, 16);
	win = tce_window_create(&p, tce_fake_backend(TCE_FAKE_HAS_ALL));
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, win);
	KUNIT_EXPECT_EQ(test, module_refs(), refs + WINDOW_REF);

	KUNIT_EXPECT_PTR_EQ(test, iommu_tce_table_get(&win->tbl), &win->tbl);
	KUNIT_EXPECT_EQ(test, kref_read(&win->tbl.it_kref), 2);
	tce_window_put(win);
	KUNIT_EXPECT_EQ(test, kref_read(&win->tbl.it_kref), 1);
	KUNIT_EXPECT_EQ(test, module_refs(), refs + WINDOW_REF);
	/* Still usable after the first put */
	KUNIT_EXPECT_EQ(test, tce_window_clear_all(win), 0);

	tce_window_put(win);
	KUNIT_EXPECT_EQ(test, module_refs(), refs);
	tce_window_put(NULL);
	KUNIT_EXPECT_EQ(test, tce_fake_count(fake, TCE_FAKE_ANY), 0);
}

/* Entries just outside the window are refused by every operation */
static void window_entry_limits(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 4096ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);
	const struct iommu_table_ops *ops = env->tbl->it_ops;
	long below = env->first - 1, above = env->first + env->entries;
	enum dma_data_direction d = DMA_BIDIRECTIONAL;
	unsigned long hpa = env_hpa(env, 0);
	u8 *buf = kunit_kzalloc(test, 4096, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, ops->xchg_no_kill(env->tbl, below, &hpa, &d),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, ops->xchg_no_kill(env->tbl, above, &hpa, &d),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, ops->xchg_no_kill(env->tbl, -1, &hpa, &d),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, ops->xchg_no_kill(env->tbl, 0, &hpa, &d),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, hpa, env_hpa(env, 0));
	KUNIT_EXPECT_EQ(test, d, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_NULL(test, ops->useraddrptr(env->tbl, below, true));
	KUNIT_EXPECT_NULL(test, ops->useraddrptr(env->tbl, above, true));
	KUNIT_EXPECT_EQ(test, ops->get(env->tbl, below), 0);
	KUNIT_EXPECT_EQ(test, ops->get(env->tbl, above), 0);
	KUNIT_EXPECT_EQ(test, ops->set(env->tbl, below, 1, (unsigned long)buf,
				       DMA_TO_DEVICE, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, ops->set(env->tbl, above, 1, (unsigned long)buf,
				       DMA_TO_DEVICE, 0), -EINVAL);
	/* One entry too many at the end */
	KUNIT_EXPECT_EQ(test, ops->set(env->tbl, above - 1, 2,
				       (unsigned long)buf, DMA_TO_DEVICE, 0),
			-EINVAL);
	ops->clear(env->tbl, below, 1);
	ops->clear(env->tbl, above, 1);
	ops->tce_kill(env->tbl, above, 100);
	ops->tce_kill(env->tbl, 0, env->first);
	KUNIT_EXPECT_EQ(test, tce_window_flush(env->win, 0, env->first), 0);
	KUNIT_EXPECT_EQ(test, tce_window_flush(env->win, above, 1), 0);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 0);

	/* The first and the last entry, each with its own kill */
	env_map(test, env, 0, 1, DMA_FROM_DEVICE);
	env_kill(env, 0, 1);
	env_map(test, env, env->entries - 1, 1, DMA_FROM_DEVICE);
	env_kill(env, env->entries - 1, 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT), 2);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 0),
			tce_of(env_hpa(env, 0), DMA_FROM_DEVICE));
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, env->entries - 1),
			tce_of(env_hpa(env, env->entries - 1),
			       DMA_FROM_DEVICE));
	/* A kill starting before the window is clipped to it */
	env_unmap(test, env, 0, 1);
	ops->tce_kill(env->tbl, env->first - 10, 11);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 0), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT), 3);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), 0);
	expect_shadow_is_fake(test, env);
}

/* --- map and unmap ------------------------------------------------------ */

static void window_map_single(struct kunit *test)
{
	struct win_env *env = env_new(test, 0, 1ULL << 30, 12,
				      TCE_FAKE_HAS_ALL);
	enum dma_data_direction d = DMA_BIDIRECTIONAL;
	unsigned long hpa = env_hpa(env, 77);
	const struct tce_fake_call *call;

	KUNIT_ASSERT_EQ(test, env_xchg(env, 77, &hpa, &d), 0);
	KUNIT_EXPECT_EQ(test, hpa, 0);
	KUNIT_EXPECT_EQ(test, d, DMA_NONE);
	KUNIT_EXPECT_EQ(test, env_get(env, 77),
			tce_of(env_hpa(env, 77), DMA_BIDIRECTIONAL));
	/* Shadow only until the kill */
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 0);
	env_kill(env, 77, 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT), 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 1);
	call = tce_fake_call(env->fake, 0);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_EQ(test, call->op, TCE_FAKE_PUT);
	KUNIT_EXPECT_EQ(test, call->ioba, 77UL << 12);
	KUNIT_EXPECT_EQ(test, call->tce,
			tce_of(env_hpa(env, 77), DMA_BIDIRECTIONAL));
	expect_table(test, env, 77, 78, DMA_BIDIRECTIONAL);

	hpa = 0;
	d = DMA_NONE;
	KUNIT_ASSERT_EQ(test, env_xchg(env, 77, &hpa, &d), 0);
	KUNIT_EXPECT_EQ(test, hpa, env_hpa(env, 77));
	KUNIT_EXPECT_EQ(test, d, DMA_BIDIRECTIONAL);
	env_kill(env, 77, 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT), 2);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 2);
	expect_table(test, env, 0, 0, DMA_NONE);
	expect_shadow_is_fake(test, env);
}

static const unsigned int shifts[] = { 12, 16, 24 };

static void shift_desc(const unsigned int *shift, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "page shift %u", *shift);
}

KUNIT_ARRAY_PARAM(shift, shifts, shift_desc);

/* TCE values: address bits and permission bits per direction */
static void window_tce_values(struct kunit *test)
{
	static const enum dma_data_direction dirs[] = {
		DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL,
	};
	unsigned int shift = *(const unsigned int *)test->param_value;
	struct win_env *env = env_new(test, DDW_START, 1024ULL << shift, shift,
				      TCE_FAKE_HAS_ALL);
	enum dma_data_direction d;
	unsigned long i, hpa;
	u64 tce;

	for (i = 0; i < 1024; i++) {
		hpa = env_hpa(env, i);
		d = dirs[i % 3];
		KUNIT_ASSERT_EQ(test, env_xchg(env, i, &hpa, &d), 0);
	}
	env_kill(env, 0, 1024);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 2);
	for (i = 0; i < 1024; i++) {
		tce = tce_fake_read(env->fake, i);
		KUNIT_EXPECT_EQ(test, tce & ~PERM_RW, env_hpa(env, i));
		KUNIT_EXPECT_EQ(test, tce & ~PERM_RW & ((1ULL << shift) - 1), 0);
		KUNIT_EXPECT_EQ(test, tce, tce_of(env_hpa(env, i), dirs[i % 3]));
		KUNIT_EXPECT_EQ(test, env_get(env, i), tce);
	}
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 0) & PERM_RW,
			TCE_PCI_READ);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 1) & PERM_RW,
			TCE_PCI_WRITE);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 2) & PERM_RW, PERM_RW);

	/* Unmap returns address and direction of each entry */
	for (i = 0; i < 1024; i++) {
		hpa = 0;
		d = DMA_NONE;
		KUNIT_ASSERT_EQ(test, env_xchg(env, i, &hpa, &d), 0);
		KUNIT_EXPECT_EQ(test, hpa, env_hpa(env, i));
		KUNIT_EXPECT_EQ(test, d, dirs[i % 3]);
	}
	env_kill(env, 0, 1024);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 0);
	expect_shadow_is_fake(test, env);
}

/* A range crossing two 512-entry boundaries */
static void window_map_range_boundary(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 4096ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);
	static const unsigned long ioba_of[] = { 500, 512, 1024 };
	static const unsigned long npages_of[] = { 12, 512, 77 };
	const struct tce_fake_call *call;
	unsigned long c, i;

	env_map(test, env, 500, 601, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 601);
	env_kill(env, 500, 601);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 3);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 3);
	for (c = 0; c < 3; c++) {
		call = tce_fake_call(env->fake, c);
		KUNIT_ASSERT_NOT_NULL(test, call);
		KUNIT_EXPECT_EQ(test, call->op, TCE_FAKE_PUT_MANY);
		KUNIT_EXPECT_EQ(test, call->ioba,
				DDW_START + (ioba_of[c] << 16));
		KUNIT_EXPECT_EQ(test, call->npages, npages_of[c]);
		KUNIT_EXPECT_EQ(test, call->status, H_SUCCESS);
		for (i = 0; i < call->npages; i++)
			KUNIT_EXPECT_EQ(test,
					tce_fake_call_value(env->fake, call, i),
					tce_of(env_hpa(env, ioba_of[c] + i),
					       DMA_TO_DEVICE));
	}
	expect_table(test, env, 500, 1101, DMA_TO_DEVICE);

	tce_fake_reset_log(env->fake);
	env_clear(env, 500, 601);
	/* The zeros are one run across the chunk boundaries, 512 a call */
	KUNIT_EXPECT_EQ(test, expect_stuffs(test, env, 0, 500, 601), 2);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 2);
	expect_table(test, env, 0, 0, DMA_NONE);
	expect_shadow_is_fake(test, env);
}

/* A kill of a sub-range writes only that sub-range */
static void window_kill_sub_range(struct kunit *test)
{
	struct win_env *env = env_new(test, 0, 2048ULL << 12, 12,
				      TCE_FAKE_HAS_ALL);

	env_map(test, env, 0, 2048, DMA_BIDIRECTIONAL);
	env_kill(env, 100, 200);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 1);
	expect_table(test, env, 100, 300, DMA_BIDIRECTIONAL);
	env_kill(env, 0, 2048);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 6);
	expect_table(test, env, 0, 2048, DMA_BIDIRECTIONAL);
	expect_shadow_is_fake(test, env);
}

static void window_whole_window(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 2048ULL << 24, 24,
				      TCE_FAKE_HAS_ALL);
	size_t empty = tce_window_view_bytes(env->win);

	env_map(test, env, 0, 2048, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_GT(test, tce_window_view_bytes(env->win), empty);
	env_kill(env, 0, 2048);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 4);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 4);
	expect_table(test, env, 0, 2048, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 2048);

	tce_fake_reset_log(env->fake);
	KUNIT_EXPECT_EQ(test, tce_window_clear_all(env->win), 0);
	KUNIT_EXPECT_EQ(test, expect_stuffs(test, env, 0, 0, 2048), 4);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 4);
	expect_table(test, env, 0, 0, DMA_NONE);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 0);
	KUNIT_EXPECT_EQ(test, tce_window_view_bytes(env->win), empty);
	/* Nothing left to do */
	KUNIT_EXPECT_EQ(test, tce_window_clear_all(env->win), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 4);
}

/* Exchange: the old TCE and direction come back for the caller to unpin */
static void window_exchange_returns_old(struct kunit *test)
{
	struct win_env *env = env_new(test, 0, 1ULL << 24, 12,
				      TCE_FAKE_HAS_ALL);
	enum dma_data_direction d = DMA_TO_DEVICE;
	unsigned long hpa = 0x11110000UL;

	KUNIT_ASSERT_EQ(test, env_xchg(env, 9, &hpa, &d), 0);
	KUNIT_EXPECT_EQ(test, hpa, 0);
	KUNIT_EXPECT_EQ(test, d, DMA_NONE);
	env_kill(env, 9, 1);

	hpa = 0x22220000UL;
	d = DMA_FROM_DEVICE;
	KUNIT_ASSERT_EQ(test, env_xchg(env, 9, &hpa, &d), 0);
	KUNIT_EXPECT_EQ(test, hpa, 0x11110000UL);
	KUNIT_EXPECT_EQ(test, d, DMA_TO_DEVICE);
	/* Replacing a TCE writes the new one at once, without a kill */
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 9),
			0x22220000ULL | TCE_PCI_WRITE);
	hpa = 0x33330000UL;
	d = DMA_BIDIRECTIONAL;
	KUNIT_ASSERT_EQ(test, env_xchg(env, 9, &hpa, &d), 0);
	KUNIT_EXPECT_EQ(test, hpa, 0x22220000UL);
	KUNIT_EXPECT_EQ(test, d, DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 9),
			0x33330000ULL | PERM_RW);
	env_kill(env, 9, 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT), 3);

	hpa = 0;
	d = DMA_NONE;
	KUNIT_ASSERT_EQ(test, env_xchg(env, 9, &hpa, &d), 0);
	KUNIT_EXPECT_EQ(test, hpa, 0x33330000UL);
	KUNIT_EXPECT_EQ(test, d, DMA_BIDIRECTIONAL);
	/* Unmapping an unmapped entry returns nothing to unpin */
	hpa = 0;
	d = DMA_NONE;
	KUNIT_ASSERT_EQ(test, env_xchg(env, 9, &hpa, &d), 0);
	KUNIT_EXPECT_EQ(test, hpa, 0);
	KUNIT_EXPECT_EQ(test, d, DMA_NONE);
	env_kill(env, 9, 1);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 9), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_GET), 0);
}

/* User addresses: recorded per entry, cleared on unmap */
static void window_useraddr(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 4096ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);
	const struct iommu_table_ops *ops = env->tbl->it_ops;
	unsigned long i, e;
	__be64 *ua;

	for (i = 0; i < env->entries; i += 511)
		KUNIT_EXPECT_NULL(test, ops->useraddrptr(env->tbl,
							 env->first + i,
							 false));

	for (i = 1000; i < 1100; i++) {
		e = env->first + i;
		ua = ops->useraddrptr(env->tbl, e, true);
		KUNIT_ASSERT_NOT_NULL(test, ua);
		KUNIT_EXPECT_EQ(test, be64_to_cpu(*ua), 0);
		*ua = cpu_to_be64(0x7fff00000000ULL + (i << 16));
	}
	env_map(test, env, 1000, 100, DMA_TO_DEVICE);
	env_kill(env, 1000, 100);
	for (i = 1000; i < 1100; i++) {
		ua = ops->useraddrptr(env->tbl, env->first + i, false);
		KUNIT_ASSERT_NOT_NULL(test, ua);
		KUNIT_EXPECT_EQ(test, be64_to_cpu(*ua),
				0x7fff00000000ULL + (i << 16));
	}
	/* A never mapped entry of another chunk */
	KUNIT_EXPECT_NULL(test, ops->useraddrptr(env->tbl, env->first + 3000,
						 false));

	/* Unmap as the VFIO backend does: exchange, clear the address */
	for (i = 1000; i < 1100; i++) {
		enum dma_data_direction d = DMA_NONE;
		unsigned long hpa = 0;

		KUNIT_ASSERT_EQ(test, env_xchg(env, i, &hpa, &d), 0);
		KUNIT_EXPECT_EQ(test, hpa, env_hpa(env, i));
		ua = ops->useraddrptr(env->tbl, env->first + i, false);
		KUNIT_ASSERT_NOT_NULL(test, ua);
		*ua = 0;
	}
	env_kill(env, 1000, 100);
	/*
	 * Nothing left in the chunk, but its slots were handed out for
	 * writing (as KVM's in-kernel TCE path takes them): it stays
	 */
	for (i = 1000; i < 1100; i++) {
		ua = ops->useraddrptr(env->tbl, env->first + i, false);
		KUNIT_ASSERT_NOT_NULL(test, ua);
		KUNIT_EXPECT_EQ(test, be64_to_cpu(*ua), 0);
	}
	expect_table(test, env, 0, 0, DMA_NONE);
}

/* Memory follows what is mapped */
static void window_view_bytes(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 16ULL << 30, 16,
				      TCE_FAKE_HAS_ALL);
	const struct iommu_table_ops *ops = env->tbl->it_ops;
	size_t empty = tce_window_view_bytes(env->win), full;
	size_t flat = env->entries * 2 * sizeof(u64);
	const unsigned long first = 70000, n = (256UL << 20) >> 16;
	unsigned long i;
	__be64 *ua;

	for (i = first; i < first + n; i++) {
		ua = ops->useraddrptr(env->tbl, env->first + i, true);
		KUNIT_ASSERT_NOT_NULL(test, ua);
		*ua = cpu_to_be64(0x7fff00000000ULL + (i << 16));
	}
	env_map(test, env, first, n, DMA_BIDIRECTIONAL);
	env_kill(env, first, n);
	full = tce_window_view_bytes(env->win);
	kunit_info(test, "16GiB/64K window, 256MiB mapped: view %zu bytes, flat %zu (1/%zu)\n",
		   full, flat, flat / full);
	KUNIT_EXPECT_GT(test, full, empty);
	KUNIT_EXPECT_LE(test, full * 16, flat);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), n);

	env_unmap(test, env, first, n);
	for (i = first; i < first + n; i++) {
		ua = ops->useraddrptr(env->tbl, env->first + i, false);
		KUNIT_ASSERT_NOT_NULL(test, ua);
		*ua = 0;
	}
	env_kill(env, first, n);
	/* Address slots handed out: their chunks stay until the window goes */
	KUNIT_EXPECT_EQ(test, tce_window_view_bytes(env->win), full);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 0);
	expect_table(test, env, 0, 0, DMA_NONE);
}

/* --- call counts -------------------------------------------------------- */

/* 16384 entries: 32 put_many to map, 32 stuff of 512 to unmap (PAPR) */
static void window_call_counts(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 16384ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);
	const struct tce_fake_call *call;
	unsigned long c, stuffs;

	env_map(test, env, 0, 16384, DMA_BIDIRECTIONAL);
	env_kill(env, 0, 16384);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 32);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_GET), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 0);
	for (c = 0; c < 32; c++) {
		call = tce_fake_call(env->fake, c);
		KUNIT_ASSERT_NOT_NULL(test, call);
		KUNIT_EXPECT_EQ(test, call->npages, 512);
		KUNIT_EXPECT_EQ(test, call->ioba, DDW_START + ((c * 512) << 16));
	}
	expect_table(test, env, 0, 16384, DMA_BIDIRECTIONAL);

	tce_fake_reset_log(env->fake);
	env_clear(env, 0, 16384);
	stuffs = tce_fake_count(env->fake, TCE_FAKE_STUFF);
	kunit_info(test, "unmap of 16384 entries: %lu stuff, %lu calls in all\n",
		   stuffs, tce_fake_count(env->fake, TCE_FAKE_ANY));
	/* One run of zeros, at most 512 entries per H_STUFF_TCE */
	KUNIT_EXPECT_EQ(test, stuffs, 32);
	KUNIT_EXPECT_EQ(test, expect_stuffs(test, env, 0, 0, 16384), 32);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 32);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), 0);
	expect_table(test, env, 0, 0, DMA_NONE);
	/* The view is back to its directory */
	KUNIT_EXPECT_LT(test, tce_window_view_bytes(env->win),
			tce_view_directory_bytes(env->entries) + 512);
}

/*
 * Not aligned to a chunk: 16384 entries span 33 chunks, 33 put_many; the
 * zeros are one run, 32 stuff of 512
 */
static void window_call_counts_unaligned(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 32768ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);

	env_map(test, env, 100, 16384, DMA_TO_DEVICE);
	env_kill(env, 100, 16384);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 33);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 33);
	tce_fake_reset_log(env->fake);
	env_clear(env, 100, 16384);
	KUNIT_EXPECT_EQ(test, expect_stuffs(test, env, 0, 100, 16384), 32);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 32);
	expect_table(test, env, 0, 0, DMA_NONE);
}

/*
 * A run of zeros is cut at 512 entries a stuff, the PAPR limit, by default
 * (stuff_max_tces); a failed call leaves what the earlier ones cleared
 */
static void window_stuff_papr_limit(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 16384ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);

	KUNIT_EXPECT_EQ(test, tce_stuff_max(), TCE_BACKEND_MAX_BATCH);
	KUNIT_EXPECT_EQ(test, env->win->stuff_max, TCE_BACKEND_MAX_BATCH);
	env_map(test, env, 0, 10000, DMA_BIDIRECTIONAL);
	env_kill(env, 0, 16384);
	tce_fake_reset_log(env->fake);
	env_clear(env, 0, 10000);
	KUNIT_EXPECT_EQ(test, expect_stuffs(test, env, 0, 0, 10000), 20);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 20);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), 0);
	expect_table(test, env, 0, 0, DMA_NONE);

	/* The third call fails: the first two stuck, the rest rolls back */
	env_map(test, env, 0, 10000, DMA_BIDIRECTIONAL);
	env_kill(env, 0, 16384);
	tce_fake_fail(env->fake, TCE_FAKE_STUFF, 3, H_HARDWARE, 0);
	env_clear(env, 0, 10000);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), -EIO);
	expect_table(test, env, 1024, 10000, DMA_BIDIRECTIONAL);
	expect_shadow_is_fake(test, env);
}

/*
 * A larger stuff_max is the QEMU-only opt-in: firmware (and the fake)
 * refuse the call, the error comes back and nothing is lost
 */
static void window_stuff_over_papr_refused(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 16384ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);

	env_map(test, env, 0, 1000, DMA_BIDIRECTIONAL);
	env_kill(env, 0, 1000);
	env->win->stuff_max = 4096;
	tce_fake_reset_log(env->fake);
	env_clear(env, 0, 1000);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 1);
	KUNIT_EXPECT_EQ(test, tce_fake_refused(env->fake), 1);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), -EINVAL);
	expect_table(test, env, 0, 1000, DMA_BIDIRECTIONAL);
	expect_shadow_is_fake(test, env);
}

/* Creating and dropping an empty 64G window makes no call at all */
static void window_empty_lifecycle(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 64ULL << 30, 16,
				      TCE_FAKE_HAS_ALL);
	const struct iommu_table_ops *ops = env->tbl->it_ops;
	enum dma_data_direction d;
	unsigned long e, hpa;

	KUNIT_EXPECT_EQ(test, env->tbl->it_level_size, TCE_VIEW_CHUNK_ENTRIES);
	KUNIT_EXPECT_EQ(test, env->tbl->it_indirect_levels, 0);
	/* A release as the in-tree backend does it: every entry, then kill */
	for (e = 0; e < env->entries; e++) {
		hpa = 0;
		d = DMA_NONE;
		KUNIT_ASSERT_EQ(test, env_xchg(env, e, &hpa, &d), 0);
		KUNIT_ASSERT_EQ(test, d, DMA_NONE);
	}
	env_kill(env, 0, env->entries);
	KUNIT_EXPECT_EQ(test, tce_window_clear_all(env->win), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 0);
	KUNIT_EXPECT_LT(test, tce_window_view_bytes(env->win),
			tce_view_directory_bytes(env->entries) + 512);
	/* Every 512-entry block of the window reads as absent */
	for (e = 0; e < env->entries; e += TCE_VIEW_CHUNK_ENTRIES)
		KUNIT_EXPECT_NULL(test, ops->useraddrptr(env->tbl,
							 env->first + e,
							 false));
}

static void window_lone_entry(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 16384ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);

	env_map(test, env, 4321, 1, DMA_FROM_DEVICE);
	env_kill(env, 0, 16384);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT), 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 1);
	env_unmap(test, env, 4321, 1);
	env_kill(env, 4321, 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT), 2);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 2);
	expect_table(test, env, 0, 0, DMA_NONE);
}

struct fallback {
	const char *name;
	unsigned int features;
	unsigned long map_puts, map_many;
	unsigned long unmap_puts, unmap_stuffs;
};

/*
 * 700 entries from index 100: values 100..511 and 512..799, zeros 100..799
 * (512 + 188 a stuff)
 */
static const struct fallback fallbacks[] = {
	{ "put only", 0, 700, 0, 700, 0 },
	{ "put+stuff", TCE_FAKE_HAS_STUFF, 700, 0, 0, 2 },
	{ "put+put_many", TCE_FAKE_HAS_PUT_MANY, 0, 2, 700, 0 },
	{ "all", TCE_FAKE_HAS_ALL, 0, 2, 0, 2 },
};

static void fallback_desc(const struct fallback *f, char *desc)
{
	strscpy(desc, f->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(fallback, fallbacks, fallback_desc);

/* Without put_many and/or stuff, the window writes entries one by one */
static void window_single_tce_fallback(struct kunit *test)
{
	const struct fallback *f = test->param_value;
	struct win_env *env = env_new(test, DDW_START, 1024ULL << 12, 12,
				      f->features);
	const struct tce_fake_call *call;
	unsigned long i;

	env_map(test, env, 100, 700, DMA_TO_DEVICE);
	env_kill(env, 0, 1024);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT),
			f->map_puts);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY),
			f->map_many);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY),
			f->map_puts + f->map_many);
	for (i = 0; f->map_puts && i < 700; i++) {
		call = tce_fake_call(env->fake, i);
		KUNIT_ASSERT_NOT_NULL(test, call);
		KUNIT_EXPECT_EQ(test, call->ioba, DDW_START + ((100 + i) << 12));
		KUNIT_EXPECT_EQ(test, call->tce,
				tce_of(env_hpa(env, 100 + i), DMA_TO_DEVICE));
	}
	expect_table(test, env, 100, 800, DMA_TO_DEVICE);

	tce_fake_reset_log(env->fake);
	env_clear(env, 100, 700);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT),
			f->unmap_puts);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF),
			f->unmap_stuffs);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY),
			f->unmap_puts + f->unmap_stuffs);
	expect_table(test, env, 0, 0, DMA_NONE);
	expect_shadow_is_fake(test, env);
}

/* The window counted every call the fake saw, failed ones included */
static void expect_window_counts_fake(struct kunit *test, struct win_env *env)
{
	static const enum tce_fake_op op_of[TCE_CALL_FAILED] = {
		[TCE_CALL_PUT] = TCE_FAKE_PUT,
		[TCE_CALL_PUT_MANY] = TCE_FAKE_PUT_MANY,
		[TCE_CALL_STUFF] = TCE_FAKE_STUFF,
		[TCE_CALL_GET] = TCE_FAKE_GET,
	};
	struct tce_call_counts c = { };
	int i;

	tce_call_stats_add_to(&env->win->calls, &c);
	for (i = 0; i < TCE_CALL_FAILED; i++)
		KUNIT_EXPECT_EQ_MSG(test, c.n[i],
				    tce_fake_count(env->fake, op_of[i]), "%s",
				    tce_fake_op_name(op_of[i]));
	KUNIT_EXPECT_EQ(test, c.n[TCE_CALL_FAILED], env->fake->nr_failed);
}

/* A window counts its backend calls by type, whatever the backend offers */
static void window_counts_calls(struct kunit *test)
{
	const struct fallback *f = test->param_value;
	struct win_env *env = env_new(test, DDW_START, 1024ULL << 12, 12,
				      f->features);
	struct tce_call_counts c = { };

	env_map(test, env, 100, 700, DMA_TO_DEVICE);
	env_kill(env, 0, 1024);
	env_clear(env, 100, 700);
	expect_window_counts_fake(test, env);
	tce_call_stats_add_to(&env->win->calls, &c);
	KUNIT_EXPECT_EQ(test, c.n[TCE_CALL_PUT], f->map_puts + f->unmap_puts);
	KUNIT_EXPECT_EQ(test, c.n[TCE_CALL_PUT_MANY], f->map_many);
	KUNIT_EXPECT_EQ(test, c.n[TCE_CALL_STUFF], f->unmap_stuffs);
	KUNIT_EXPECT_EQ(test, c.n[TCE_CALL_FAILED], 0);

	/* A failed write and the read back of the rollback count too */
	env_map(test, env, 3, 1, DMA_TO_DEVICE);
	tce_fake_fail(env->fake, TCE_FAKE_PUT, 1, H_HARDWARE, 0);
	env_kill(env, 3, 1);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), -EIO);
	expect_window_counts_fake(test, env);
	memset(&c, 0, sizeof(c));
	tce_call_stats_add_to(&env->win->calls, &c);
	KUNIT_EXPECT_EQ(test, c.n[TCE_CALL_FAILED], 1);
}

/* --- failures ----------------------------------------------------------- */

struct failure {
	const char *name;
	long status;
	int err;
};

static const struct failure failures[] = {
	{ "H_PARAMETER", H_PARAMETER, -EINVAL },
	{ "H_NOT_ENOUGH_RESOURCES", H_NOT_ENOUGH_RESOURCES, -ENOSPC },
	{ "H_HARDWARE", H_HARDWARE, -EIO },
};

static void failure_desc(const struct failure *f, char *desc)
{
	strscpy(desc, f->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(failure, failures, failure_desc);

/*
 * The third put_many of a 2048-entry map fails after 37 entries in
 * tce_kill(). Its caller cannot hear of it and counts every entry as set
 * (it holds their pages until it exchanges them again): the shadow keeps
 * all of them, the sticky error is the errno, and the next kill of the
 * range writes what is still dirty.
 */
static void window_fail_mid_batch_kill(struct kunit *test)
{
	const struct failure *f = test->param_value;
	struct win_env *env = env_new(test, DDW_START, 2048ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);

	env_map(test, env, 0, 2048, DMA_BIDIRECTIONAL);
	tce_fake_fail(env->fake, TCE_FAKE_PUT_MANY, 3, f->status, 37);
	env_kill(env, 0, 2048);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 3);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), f->err);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&env->win->nr_errors), 1);
	expect_table(test, env, 0, 1024 + 37, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 2048);

	/* The failed batch and the last one are written again */
	tce_fake_reset_log(env->fake);
	env_kill(env, 0, 2048);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 2);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), 0);
	expect_table(test, env, 0, 2048, DMA_BIDIRECTIONAL);
	expect_shadow_is_fake(test, env);
}

/* The same through tce_window_flush(), which returns the errno */
static void window_fail_mid_batch_flush(struct kunit *test)
{
	const struct failure *f = test->param_value;
	struct win_env *env = env_new(test, 0, 2048ULL << 12, 12,
				      TCE_FAKE_HAS_ALL);

	env_map(test, env, 0, 2048, DMA_TO_DEVICE);
	tce_fake_fail(env->fake, TCE_FAKE_ANY, 2, f->status, 511);
	KUNIT_EXPECT_EQ(test, tce_window_flush(env->win, 0, 2048), f->err);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), f->err);
	expect_table(test, env, 0, 512 + 511, DMA_TO_DEVICE);
	expect_shadow_is_fake(test, env);
}

/* An unmap that fails leaves the shadow saying what is still mapped */
static void window_fail_unmap(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 1024ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);

	env_map(test, env, 0, 1024, DMA_BIDIRECTIONAL);
	env_kill(env, 0, 1024);
	tce_fake_fail(env->fake, TCE_FAKE_STUFF, 1, H_HARDWARE, 0);
	env_clear(env, 0, 1024);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), -EIO);
	expect_table(test, env, 0, 1024, DMA_BIDIRECTIONAL);
	expect_shadow_is_fake(test, env);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 1024);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_GET), 1024);
}

/*
 * An exchange that replaces or clears a TCE reaches the hypervisor before
 * it returns, since the caller (the in-tree VFIO backend, KVM) releases
 * the old page right after it and calls tce_kill() only at the end of its
 * loop. A new TCE into an empty entry still waits for the kill.
 */
static void window_xchg_writes_old_out(struct kunit *test)
{
	struct win_env *env = env_new(test, 0, 1024ULL << 12, 12,
				      TCE_FAKE_HAS_ALL);
	enum dma_data_direction d = DMA_FROM_DEVICE;
	unsigned long hpa = 0x55550000UL;

	env_map(test, env, 0, 16, DMA_TO_DEVICE);
	env_kill(env, 0, 16);
	tce_fake_reset_log(env->fake);

	env_unmap(test, env, 5, 1);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 5), 0);
	KUNIT_ASSERT_EQ(test, env_xchg(env, 6, &hpa, &d), 0);
	KUNIT_EXPECT_EQ(test, hpa, env_hpa(env, 6));
	KUNIT_EXPECT_EQ(test, d, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 6),
			tce_of(0x55550000UL, DMA_FROM_DEVICE));
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT), 2);

	env_map(test, env, 100, 1, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 100), 0);
	env_kill(env, 100, 1);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 100),
			tce_of(env_hpa(env, 100), DMA_TO_DEVICE));
	expect_shadow_is_fake(test, env);
}

/*
 * Map entry 3 (and write it to the table when @flushed), then remap it to
 * another page with the write refused (and the read-back of the rollback
 * too when @unreadable): the exchange fails, the caller keeps the new
 * address (nothing handed back) and the shadow holds the old TCE, whose
 * page the caller therefore keeps.
 */
static struct win_env *remap_refused(struct kunit *test, bool flushed,
				     bool unreadable)
{
	struct win_env *env = env_new(test, 0, 1024ULL << 12, 12,
				      TCE_FAKE_HAS_ALL);
	enum dma_data_direction d = DMA_FROM_DEVICE;
	unsigned long hpa = 0x55550000UL;

	env_map(test, env, 3, 1, DMA_TO_DEVICE);
	if (flushed)
		env_kill(env, 3, 1);
	tce_fake_fail(env->fake, TCE_FAKE_PUT, 1, H_HARDWARE, 0);
	if (unreadable)
		tce_fake_fail(env->fake, TCE_FAKE_GET, 1, H_HARDWARE, 0);
	KUNIT_EXPECT_EQ(test, env_xchg(env, 3, &hpa, &d), -EIO);
	KUNIT_EXPECT_EQ(test, hpa, 0x55550000UL);
	KUNIT_EXPECT_EQ(test, d, DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_GET), 1);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), -EIO);
	KUNIT_EXPECT_EQ(test, env_get(env, 3),
			tce_of(env_hpa(env, 3), DMA_TO_DEVICE));
	return env;
}

/* The table still holds the old TCE */
static void window_fail_remap(struct kunit *test)
{
	struct win_env *env = remap_refused(test, true, false);

	expect_table(test, env, 3, 4, DMA_TO_DEVICE);
	expect_shadow_is_fake(test, env);
}

/*
 * The rollback cannot read the hypervisor either: no later flush may write
 * the new TCE, whose page the caller has released.
 */
static void window_fail_remap_unreadable(struct kunit *test)
{
	struct win_env *env = remap_refused(test, true, true);

	env_kill(env, 0, 1024);
	expect_table(test, env, 3, 4, DMA_TO_DEVICE);
	expect_shadow_is_fake(test, env);
}

/*
 * The old TCE was still waiting for tce_kill(): the rollback reads 0 from
 * the hypervisor, but the caller keeps the old page and unmaps it later,
 * so the next kill writes the old TCE.
 */
static void window_fail_remap_unflushed(struct kunit *test)
{
	struct win_env *env = remap_refused(test, false, false);

	env_kill(env, 0, 1024);
	expect_table(test, env, 3, 4, DMA_TO_DEVICE);
	expect_shadow_is_fake(test, env);
}

/* The single-TCE fallback fails in the middle of a run */
static void window_fail_fallback(struct kunit *test)
{
	struct win_env *env = env_new(test, 0, 1024ULL << 12, 12, 0);

	env_map(test, env, 0, 100, DMA_FROM_DEVICE);
	tce_fake_fail(env->fake, TCE_FAKE_PUT, 40, H_NOT_ENOUGH_RESOURCES, 0);
	KUNIT_EXPECT_EQ(test, tce_window_flush(env->win, 0, 1024), -ENOSPC);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT), 40);
	expect_table(test, env, 0, 39, DMA_FROM_DEVICE);
	expect_shadow_is_fake(test, env);
}

/*
 * The sticky error is the first one; the failure count adds up; the
 * entries tce_kill() could not write are written by a later kill
 */
static void window_sticky_error(struct kunit *test)
{
	struct win_env *env = env_new(test, 0, 1024ULL << 12, 12,
				      TCE_FAKE_HAS_ALL);

	env_map(test, env, 0, 1, DMA_TO_DEVICE);
	tce_fake_fail(env->fake, TCE_FAKE_PUT, 1, H_PARAMETER, 0);
	env_kill(env, 0, 1);
	env_map(test, env, 5, 1, DMA_TO_DEVICE);
	tce_fake_fail(env->fake, TCE_FAKE_PUT, 1, H_HARDWARE, 0);
	env_kill(env, 5, 1);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&env->win->nr_errors), 2);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), -EINVAL);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), 0);
	env_map(test, env, 7, 1, DMA_TO_DEVICE);
	env_kill(env, 7, 1);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 1);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 3);
	env_kill(env, 0, 8);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 3);
	expect_shadow_is_fake(test, env);
}

/* --- the other iommu_table_ops and helpers ------------------------------ */

static void window_clear_op(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 1024ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);
	const struct iommu_table_ops *ops = env->tbl->it_ops;

	env_map(test, env, 0, 600, DMA_BIDIRECTIONAL);
	env_kill(env, 0, 600);
	tce_fake_reset_log(env->fake);
	/* clear() writes at once: 100..399 is one run of zeros */
	ops->clear(env->tbl, env->first + 100, 300);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 1);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 300);
	ops->clear(env->tbl, env->first + 500, 0);
	ops->clear(env->tbl, env->first + 500, -1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 1);
	/* Clipped at the end of the window */
	ops->clear(env->tbl, env->first + 550, 100000);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 250);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 250);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 99),
			tce_of(env_hpa(env, 99), DMA_BIDIRECTIONAL));
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 549),
			tce_of(env_hpa(env, 549), DMA_BIDIRECTIONAL));
	expect_shadow_is_fake(test, env);
}

/* set(): linear map addresses, written at once; DMA_NONE clears */
static void window_set_op(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 1024ULL << 12, 12,
				      TCE_FAKE_HAS_ALL);
	const struct iommu_table_ops *ops = env->tbl->it_ops;
	u8 *buf = kunit_kzalloc(test, 4 * 4096, GFP_KERNEL);
	unsigned long i, pa;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	pa = __pa(buf);
	KUNIT_EXPECT_EQ(test, ops->set(env->tbl, env->first + 10, 4,
				       (unsigned long)buf, DMA_TO_DEVICE, 0),
			0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 1);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 10 + i),
				((pa & ~0xfffUL) + (i << 12)) | TCE_PCI_READ);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 4);

	KUNIT_EXPECT_EQ(test, ops->set(env->tbl, env->first + 10, 4,
				       (unsigned long)buf, DMA_NONE, 0), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 1);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 0);
	KUNIT_EXPECT_EQ(test, ops->set(env->tbl, env->first + 10, 0,
				       (unsigned long)buf, DMA_TO_DEVICE, 0),
			-EINVAL);
	expect_shadow_is_fake(test, env);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 0);
}

static void window_clear_all(struct kunit *test)
{
	struct win_env *env = env_new(test, 0, 4096ULL << 12, 12,
				      TCE_FAKE_HAS_ALL);
	unsigned long i;

	for (i = 0; i < 4096; i += 333)
		env_map(test, env, i, 3, DMA_BIDIRECTIONAL);
	env_kill(env, 0, 4096);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 39);
	KUNIT_EXPECT_EQ(test, tce_window_clear_all(env->win), 0);
	expect_table(test, env, 0, 0, DMA_NONE);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 0);

	/* One stuff per run that held TCEs, never over the gaps */
	tce_fake_reset_log(env->fake);
	for (i = 0; i < 8; i++)
		env_map(test, env, i * 512, 500, DMA_BIDIRECTIONAL);
	env_kill(env, 0, 4096);
	KUNIT_EXPECT_EQ(test, tce_window_clear_all(env->win), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 8);
	expect_table(test, env, 0, 0, DMA_NONE);

	/* A failing clear reports it, and the shadow keeps the survivors */
	for (i = 0; i < 8; i++)
		env_map(test, env, i * 512, 500, DMA_BIDIRECTIONAL);
	env_kill(env, 0, 4096);
	tce_fake_fail(env->fake, TCE_FAKE_STUFF, 5, H_HARDWARE, 0);
	KUNIT_EXPECT_EQ(test, tce_window_clear_all(env->win), -EIO);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 4 * 500);
	expect_shadow_is_fake(test, env);
}

/* After detach nothing reaches the backend any more */
static void window_detach(struct kunit *test)
{
	struct win_env *env = env_new(test, 0, 1024ULL << 12, 12,
				      TCE_FAKE_HAS_ALL);

	env_map(test, env, 0, 10, DMA_BIDIRECTIONAL);
	env_kill(env, 0, 10);
	tce_fake_reset_log(env->fake);
	tce_window_detach(env->win);
	env_unmap(test, env, 0, 10);
	env_kill(env, 0, 10);
	env_map(test, env, 20, 600, DMA_BIDIRECTIONAL);
	env_kill(env, 0, 1024);
	KUNIT_EXPECT_EQ(test, tce_window_clear_all(env->win), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 0);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), 0);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 0);
	/* The removed window kept what it had */
	expect_table(test, env, 0, 10, DMA_BIDIRECTIONAL);
}

/* --- range operations (iommu_table_ops xchg_range, clear_range) -------- */

#define RANGE_UA	0x7fff00000000UL

/* @n entries from window index @idx: env_hpa()|@dir, user addresses */
static struct tce_range_entry *range_new(struct kunit *test,
					 struct win_env *env,
					 unsigned long idx, unsigned long n,
					 enum dma_data_direction dir)
{
	struct tce_range_entry *st;
	unsigned long i;

	st = kunit_kcalloc(test, n, sizeof(*st), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, st);
	for (i = 0; i < n; i++) {
		st[i].tce = tce_of(env_hpa(env, idx + i), dir);
		st[i].ua = RANGE_UA + ((idx + i) << env->shift);
	}
	return st;
}

static unsigned long env_ua(struct win_env *env, unsigned long idx)
{
	__be64 *pua = env->tbl->it_ops->useraddrptr(env->tbl, env->first + idx,
						    false);

	return pua ? be64_to_cpu(*pua) : 0;
}

/*
 * The hardware no longer maps the page of any of the @nr entries @old a
 * clear handed back: the caller may release them now.
 */
static void expect_cleared(struct kunit *test, struct win_env *env,
			   const struct tce_range_entry *old, unsigned long nr)
{
	unsigned long i, idx, bad = 0;

	for (i = 0; i < nr; i++) {
		idx = (old[i].ua - RANGE_UA) >> env->shift;
		if (idx < env->entries && !tce_fake_read(env->fake, idx))
			continue;
		if (bad++ < 4)
			KUNIT_FAIL(test, "entry %lu handed back, still mapped",
				   idx);
	}
	KUNIT_EXPECT_EQ(test, bad, 0);
}

/*
 * A clear the hypervisor refuses in its third chunk: the first two chunks
 * are cleared and handed back; the entries of the third and fourth keep
 * their TCEs and user addresses, in the table and in the view, and are
 * not handed back, so their pages stay referenced. A second clear finishes
 * the work.
 */
static void window_range_clear_fails(struct kunit *test)
{
	const struct failure *f = test->param_value;
	struct win_env *env = env_new(test, DDW_START, 2048ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);
	struct tce_range_entry *st = range_new(test, env, 0, 2048,
					       DMA_BIDIRECTIONAL);
	struct tce_range_entry *old = kunit_kcalloc(test, 2048, sizeof(*old),
						    GFP_KERNEL);
	unsigned long nr = 0;

	KUNIT_ASSERT_NOT_NULL(test, old);
	KUNIT_ASSERT_EQ(test, tce_window_xchg_range(env->tbl, env->first, 2048,
						    st), 0);
	tce_fake_fail(env->fake, TCE_FAKE_STUFF, 3, f->status, 0);
	KUNIT_EXPECT_EQ(test, tce_window_clear_range(env->tbl, env->first, 2048,
						     old, 2048, &nr), f->err);
	KUNIT_EXPECT_EQ(test, nr, 1024);
	expect_cleared(test, env, old, nr);
	KUNIT_EXPECT_EQ(test, tce_window_fetch_error(env->win), f->err);
	expect_table(test, env, 1024, 2048, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, env_ua(env, 1024), RANGE_UA + (1024UL << 16));
	KUNIT_EXPECT_EQ(test, env_ua(env, 2047), RANGE_UA + (2047UL << 16));
	KUNIT_EXPECT_EQ(test, env_get(env, 1500),
			tce_of(env_hpa(env, 1500), DMA_BIDIRECTIONAL));

	nr = 0;
	KUNIT_EXPECT_EQ(test, tce_window_clear_range(env->tbl, env->first, 2048,
						     old, 2048, &nr), 2048);
	KUNIT_EXPECT_EQ(test, nr, 1024);
	KUNIT_EXPECT_EQ(test, old[0].ua, RANGE_UA + (1024UL << 16));
	expect_cleared(test, env, old, nr);
	expect_table(test, env, 0, 0, DMA_NONE);
	expect_shadow_is_fake(test, env);
}

/*
 * 16384 entries exchanged in one call: the old values come back, the
 * exchange writes them with 32 put_many and leaves the kill nothing to do;
 * the same range cleared in one call: one stuff of 512 per chunk, written
 * before the call returns (no kill), the view empty again.
 */
static void window_range_call_counts(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 16384ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);
	struct tce_range_entry *st, *old;
	unsigned long i, nr = 0, bad = 0;

	st = range_new(test, env, 0, 16384, DMA_BIDIRECTIONAL);
	old = kunit_kcalloc(test, 16384, sizeof(*old), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, old);

	KUNIT_ASSERT_EQ(test, tce_window_xchg_range(env->tbl, env->first, 16384,
						    st), 0);
	for (i = 0; i < 16384; i++)
		bad += st[i].tce || st[i].ua;
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 32);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 32);
	KUNIT_EXPECT_EQ(test, env_ua(env, 100), RANGE_UA + (100UL << 16));
	expect_table(test, env, 0, 16384, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(env->win->view), 0);
	env_kill(env, 0, 16384);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 32);

	tce_fake_reset_log(env->fake);
	KUNIT_EXPECT_EQ(test, tce_window_clear_range(env->tbl, env->first, 16384,
						     old, 16384, &nr), 16384);
	KUNIT_EXPECT_EQ(test, nr, 16384);
	for (i = 0; i < 16384; i++)
		bad += old[i].tce != tce_of(env_hpa(env, i), DMA_BIDIRECTIONAL) ||
		       old[i].ua != RANGE_UA + (i << 16);
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_EQ(test, env_ua(env, 100), 0);
	expect_table(test, env, 0, 0, DMA_NONE);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 32);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 32);
	for (i = 0; i < 32; i++)
		KUNIT_EXPECT_EQ(test, tce_fake_call(env->fake, i)->npages, 512);
	env_kill(env, 0, 16384);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 32);
	KUNIT_EXPECT_LT(test, tce_window_view_bytes(env->win),
			tce_view_directory_bytes(env->entries) + 512);
}

/* An exchange over mapped entries returns them; a second one undoes it */
static void window_range_exchange_returns_old(struct kunit *test)
{
	struct win_env *env = env_new(test, 0x80000000ULL, 1ULL << 30, 12,
				      TCE_FAKE_HAS_ALL);
	struct tce_range_entry *st;
	unsigned long i, bad = 0;

	/* Entries 300 .. 1299 span three chunks; 700 is mapped entry-wise */
	env_map(test, env, 700, 1, DMA_TO_DEVICE);
	st = range_new(test, env, 300, 1000, DMA_FROM_DEVICE);
	KUNIT_ASSERT_EQ(test, tce_window_xchg_range(env->tbl, env->first + 300,
						    1000, st), 0);
	KUNIT_EXPECT_EQ(test, st[400].tce,
			tce_of(env_hpa(env, 700), DMA_TO_DEVICE));
	KUNIT_EXPECT_EQ(test, st[0].tce, 0);
	env_kill(env, 0, env->entries);
	expect_table(test, env, 300, 1300, DMA_FROM_DEVICE);
	expect_shadow_is_fake(test, env);

	KUNIT_ASSERT_EQ(test, tce_window_xchg_range(env->tbl, env->first + 300,
						    1000, st), 0);
	for (i = 0; i < 1000; i++)
		bad += st[i].tce != tce_of(env_hpa(env, 300 + i),
					   DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, bad, 0);
	env_kill(env, 0, env->entries);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 700),
			tce_of(env_hpa(env, 700), DMA_TO_DEVICE));
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 1);
	expect_shadow_is_fake(test, env);
}

/*
 * The third put_many of a 2048-entry exchange over a mapped entry fails
 * after 37 entries: the errno comes back, @st and the view are as they
 * were, and the kill puts back the old values the failed writes replaced.
 */
static void window_range_exchange_fails(struct kunit *test)
{
	const struct failure *f = test->param_value;
	struct win_env *env = env_new(test, DDW_START, 4096ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);
	struct tce_range_entry *st = range_new(test, env, 100, 2048,
					       DMA_FROM_DEVICE);
	unsigned long i, bad = 0;

	env_map(test, env, 1200, 1, DMA_TO_DEVICE);
	tce_fake_fail(env->fake, TCE_FAKE_PUT_MANY, 3, f->status, 37);
	KUNIT_EXPECT_EQ(test, tce_window_xchg_range(env->tbl, env->first + 100,
						    2048, st), f->err);
	for (i = 0; i < 2048; i++)
		bad += st[i].tce != tce_of(env_hpa(env, 100 + i),
					   DMA_FROM_DEVICE) ||
		       st[i].ua != RANGE_UA + ((100 + i) << 16);
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 1);
	KUNIT_EXPECT_EQ(test, env_ua(env, 150), 0);
	/* What the failed calls wrote is still there until the kill */
	KUNIT_EXPECT_NE(test, tce_fake_read(env->fake, 150), 0);
	env_kill(env, 0, env->entries);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 1);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 1200),
			tce_of(env_hpa(env, 1200), DMA_TO_DEVICE));
	KUNIT_EXPECT_EQ(test, tce_view_dirty(env->win->view), 0);
	expect_shadow_is_fake(test, env);
}

/*
 * Zeros exchanged in unmap: three mapped entries come back with one stuff,
 * the emptied chunk is freed; zeros into an absent chunk make no call
 */
static void window_range_exchange_zeros(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 4096ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);
	struct tce_range_entry *st = range_new(test, env, 600, 3,
					       DMA_BIDIRECTIONAL);
	struct tce_range_entry zeros[3] = { 0 };
	unsigned long i, bad = 0;

	KUNIT_ASSERT_EQ(test, tce_window_xchg_range(env->tbl, env->first + 600,
						    3, st), 0);
	tce_fake_reset_log(env->fake);
	KUNIT_EXPECT_EQ(test, tce_window_xchg_range(env->tbl, env->first + 600,
						    3, zeros), 0);
	for (i = 0; i < 3; i++)
		bad += zeros[i].tce != tce_of(env_hpa(env, 600 + i),
					      DMA_BIDIRECTIONAL) ||
		       zeros[i].ua != RANGE_UA + ((600 + i) << 16);
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 1);
	expect_table(test, env, 0, 0, DMA_NONE);
	KUNIT_EXPECT_LT(test, tce_window_view_bytes(env->win),
			tce_view_directory_bytes(env->entries) + 512);

	memset(zeros, 0, sizeof(zeros));
	tce_fake_reset_log(env->fake);
	KUNIT_EXPECT_EQ(test, tce_window_xchg_range(env->tbl, env->first + 2000,
						    3, zeros), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 0);
	KUNIT_EXPECT_LT(test, tce_window_view_bytes(env->win),
			tce_view_directory_bytes(env->entries) + 512);
}

/* Outside the window: refused, nothing changed */
static void window_range_limits(struct kunit *test)
{
	struct win_env *env = env_new(test, 0x80000000ULL, 1024ULL << 12, 12,
				      TCE_FAKE_HAS_ALL);
	struct tce_range_entry *st = range_new(test, env, 0, 2, DMA_TO_DEVICE);
	struct tce_range_entry old[2];
	unsigned long nr = 0;

	KUNIT_EXPECT_EQ(test, tce_window_xchg_range(env->tbl, env->first - 1,
						    2, st), -EINVAL);
	KUNIT_EXPECT_EQ(test, tce_window_xchg_range(env->tbl, env->first + 1023,
						    2, st), -EINVAL);
	KUNIT_EXPECT_EQ(test, tce_window_xchg_range(env->tbl, env->first, 0,
						    st), -EINVAL);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 0);
	KUNIT_EXPECT_EQ(test, tce_window_clear_range(env->tbl, env->first + 1023,
						     2, old, 2, &nr), -EINVAL);
	KUNIT_EXPECT_EQ(test, nr, 0);
}

/* A full @old stops the clear; the next call goes on from there */
static void window_range_take_in_steps(struct kunit *test)
{
	struct win_env *env = env_new(test, DDW_START, 4096ULL << 16, 16,
				      TCE_FAKE_HAS_ALL);
	struct tce_range_entry *st = range_new(test, env, 1000, 1000,
					       DMA_TO_DEVICE);
	struct tce_range_entry *old = kunit_kcalloc(test, 300, sizeof(*old),
						    GFP_KERNEL);
	unsigned long nr, walked, idx = 0, total = 0, calls = 0;

	KUNIT_ASSERT_NOT_NULL(test, old);
	KUNIT_ASSERT_EQ(test, tce_window_xchg_range(env->tbl, env->first + 1000,
						    1000, st), 0);
	env_kill(env, 0, env->entries);
	while (idx < env->entries && calls++ < 10) {
		nr = 0;
		walked = tce_window_clear_range(env->tbl, env->first + idx,
						env->entries - idx, old, 300,
						&nr);
		expect_cleared(test, env, old, nr);
		KUNIT_EXPECT_GT(test, walked, 0);
		if (nr)
			KUNIT_EXPECT_EQ(test, old[0].tce,
					tce_of(env_hpa(env, 1000 + total),
					       DMA_TO_DEVICE));
		total += nr;
		idx += walked;
	}
	KUNIT_EXPECT_EQ(test, total, 1000);
	KUNIT_EXPECT_EQ(test, calls, 4);
	expect_table(test, env, 0, 0, DMA_NONE);
	KUNIT_EXPECT_EQ(test, tce_window_mapped(env->win), 0);
}

static struct kunit_case tce_window_cases[] = {
	KUNIT_CASE_PARAM(window_create_geometry, geometry_gen_params),
	KUNIT_CASE(window_create_bad_geometry),
	KUNIT_CASE(window_create_wrapping_geometry),
	KUNIT_CASE(window_from_table),
	KUNIT_CASE(window_put_references),
	KUNIT_CASE(window_entry_limits),
	KUNIT_CASE(window_map_single),
	KUNIT_CASE_PARAM(window_tce_values, shift_gen_params),
	KUNIT_CASE(window_map_range_boundary),
	KUNIT_CASE(window_kill_sub_range),
	KUNIT_CASE(window_whole_window),
	KUNIT_CASE(window_exchange_returns_old),
	KUNIT_CASE(window_useraddr),
	KUNIT_CASE(window_view_bytes),
	KUNIT_CASE(window_call_counts),
	KUNIT_CASE(window_call_counts_unaligned),
	KUNIT_CASE(window_stuff_papr_limit),
	KUNIT_CASE(window_stuff_over_papr_refused),
	KUNIT_CASE(window_empty_lifecycle),
	KUNIT_CASE(window_lone_entry),
	KUNIT_CASE_PARAM(window_single_tce_fallback, fallback_gen_params),
	KUNIT_CASE_PARAM(window_counts_calls, fallback_gen_params),
	KUNIT_CASE_PARAM(window_fail_mid_batch_kill, failure_gen_params),
	KUNIT_CASE_PARAM(window_fail_mid_batch_flush, failure_gen_params),
	KUNIT_CASE(window_fail_unmap),
	KUNIT_CASE(window_xchg_writes_old_out),
	KUNIT_CASE(window_fail_remap),
	KUNIT_CASE(window_fail_remap_unreadable),
	KUNIT_CASE(window_fail_remap_unflushed),
	KUNIT_CASE(window_fail_fallback),
	KUNIT_CASE(window_sticky_error),
	KUNIT_CASE(window_clear_op),
	KUNIT_CASE(window_set_op),
	KUNIT_CASE(window_clear_all),
	KUNIT_CASE(window_detach),
	KUNIT_CASE(window_range_call_counts),
	KUNIT_CASE(window_range_exchange_returns_old),
	KUNIT_CASE_PARAM(window_range_exchange_fails, failure_gen_params),
	KUNIT_CASE(window_range_exchange_zeros),
	KUNIT_CASE(window_range_limits),
	KUNIT_CASE_PARAM(window_range_clear_fails, failure_gen_params),
	KUNIT_CASE(window_range_take_in_steps),
	{}
};

static struct kunit_suite tce_window_suite = {
	.name = "tce_window",
	.test_cases = tce_window_cases,
};

kunit_test_suites(&tce_window_suite);
