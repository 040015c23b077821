// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO IOMMU backend for the sPAPR TCE interface (VFIO_SPAPR_TCE_IOMMU and
 * VFIO_SPAPR_TCE_v2_IOMMU) on IBM POWER pSeries LPARs.
 *
 * A container owns up to IOMMU_TABLE_GROUP_MAX_TABLES DMA windows. Each
 * window is one struct iommu_table, the primary, created by the platform
 * through the first group's iommu_table_group_ops and set on every group
 * of the container. TCEs are programmed through the range operations of
 * the table (iommu_tce_xchg_range(), iommu_tce_clear_range()), which write
 * the hardware before they return: the table's own when its
 * iommu_table_ops have them (those of the pSeries DDW windows do), generic
 * ones on xchg_no_kill, useraddrptr and tce_kill otherwise. MAP and UNMAP
 * go in batches of TCE_BATCH entries.
 *
 * Several groups: on pSeries a table is the hypervisor table of one PE
 * (one LIOBN), so set_window() of the primary on another group fails with
 * -EPERM (both the in-tree and our platform ops). Then that group gets a
 * mirror: a table created on its own PE with the same geometry, which must
 * open at the same bus address (otherwise -EINVAL). Every map and unmap
 * writes the same TCEs and user addresses into the primary and all its
 * mirrors. A v1 page is pinned once, by the primary's entry; in v2 every
 * table's entry owns its mm_iommu count, as KVM's path (below) counts
 * each table it writes. The
 * primary's view is the reference; a mirror is a replica, so when the
 * group holding the primary leaves, a mirror becomes the primary. A group
 * that needs a mirror cannot join while the window has mappings (-EBUSY).
 * With one group (or tables shared by set_window) there is no mirror and
 * no extra work on the mapping paths.
 *
 * Every mapped entry owns one reference on the memory behind it: a page
 * pin in v1 mode, an mm_iommu "mapped" count in v2 mode. When the table
 * has a userspace view (it_ops->useraddrptr), the view holds the user
 * address of every mapped entry, so a zero or absent slot means "nothing
 * mapped here" and clearing can skip it without touching the table.
 *
 * A refused clear leaks, and says so; it never frees. An entry the
 * hypervisor would not clear keeps its reference, and the window takes no
 * new mapping. If its table must go all the same (its last group leaves,
 * or a mirror's group), a v2 entry's count becomes a reference on its page
 * (tce_table_leak()): the page stays, the registration goes with its mm.
 *
 * In v2 mode the entries are shared with KVM: once QEMU attaches the group
 * to a KVM sPAPR TCE table, KVM's in-kernel H_PUT_TCE path
 * (arch/powerpc/kvm/book3s_64_vio.c) maps and clears entries of our tables
 * itself, with iommu_tce_xchg_no_kill(), the user-address slot and
 * mm_iommu_mapped_inc()/mm_iommu_mapped_dec() per entry, under none of our
 * locks. So the rule is the one KVM and mm_iommu follow: an entry whose
 * slot holds a user address owns exactly one mm_iommu "mapped" count on
 * the region holding that address, whoever wrote it. This backend takes
 * and drops those counts per entry, drops them for KVM's entries when it
 * clears a table, and asks the tables themselves whether a region is
 * still mapped (tce_prereg_in_use()); no count of its own can know KVM's
 * entries. The view keeps every chunk KVM may write through (see
 * include/tce_userspace_view.h).
 */

#include <linux/bitmap.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/range.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include <asm/eeh.h>
#include <asm/iommu.h>
#include <asm/mmu_context.h>
#include <asm/tce.h>

#include "vfio.h"

#define TCE_PERM_MASK		(TCE_PCI_READ | TCE_PCI_WRITE)
#define TCE_RESCHED_MASK	511
/*
 * Entries a MAP or UNMAP hands to the range operations at once: the PAPR
 * batch (one H_PUT_TCE_INDIRECT or H_STUFF_TCE), and one chunk of the
 * view of pseries_tce_ddw, with which batches are aligned
 */
#define TCE_BATCH		512

/*
 * A DMA window: the table and the locked_vm charged for its memory. The
 * other fields are kept for the primary only: the geometry it was created
 * with, how many groups hold a mirror of it, how many entries own a
 * reference, and the first error of a clear the hardware refused (the
 * entries it could not clear keep their references; the window takes no
 * new mapping).
 */
struct tce_window {
	struct iommu_table *tbl;
	unsigned long locked_pages;
	u64 size;
	u32 levels;
	unsigned int nr_mirrors;
	unsigned long mapped;		/* by this backend; KVM's not counted */
	int error;
};

/*
 * The buffers of one batch, allocated with the container so that neither
 * a MAP nor an UNMAP allocates per request (and a release not at all)
 */
struct tce_batch_bufs {
	struct tce_range_entry nw[TCE_BATCH];	/* a MAP's new values */
	struct tce_range_entry st[TCE_BATCH];	/* the primary's old values, a take */
	struct tce_range_entry ms[TCE_BATCH];	/* a mirror's exchange, an undo */
};

/* A group attached to the container, with its mirrors (see above) */
struct tce_group {
	struct list_head node;
	struct iommu_group *grp;
	struct iommu_table_group *tg;
	struct tce_window mirror[IOMMU_TABLE_GROUP_MAX_TABLES];
};

/*
 * A v2 memory registration held by the container: one use of the mm_iommu
 * region. The entries mapping from it hold their mm_iommu "mapped" counts
 * (see the top of this file), which keep it registered. Other containers
 * of the same mm may hold the same region.
 */
struct tce_prereg {
	struct list_head node;
	struct mm_iommu_table_group_mem_t *mem;
	unsigned long ua;
	unsigned long size;		/* bytes */
	unsigned long *contig;		/* see tce_prereg_contig_init() */
	bool devmem;			/* device memory: no struct page */
};

/*
 * A run of kernel pages of a registration that are physically contiguous:
 * user address @ua was translated to @hpa, and [@ua, @end) follows it.
 * The record is looked at only up to @limit, the end of what is mapped.
 */
struct tce_run {
	unsigned long ua;
	unsigned long hpa;
	unsigned long end;
	unsigned long limit;
};

struct tce_container {
	struct mutex lock;		/* protects everything below */
	bool v2;
	bool enabled;
	bool def_window_pending;
	unsigned long enable_locked_pages;	/* v1 ENABLE charge */
	struct mm_struct *mm;
	struct tce_window win[IOMMU_TABLE_GROUP_MAX_TABLES];
	struct list_head groups;
	struct list_head preregs;
	struct tce_prereg *prereg_hint;	/* last one looked up */
	struct tce_batch_bufs *bufs;
};

/* ---- small helpers ---------------------------------------------------- */

static unsigned long tce_pack(unsigned long hpa, enum dma_data_direction dir)
{
	return hpa | iommu_direction_to_tce_perm(dir);
}

static unsigned long tce_hpa(unsigned long tce)
{
	return tce & ~TCE_PERM_MASK;
}

static unsigned long tce_page_size(const struct iommu_table *tbl)
{
	return 1UL << tbl->it_page_shift;
}

static bool tce_has_view(const struct iommu_table *tbl)
{
	return tbl->it_ops->useraddrptr;
}

static bool tce_groups_attached(struct tce_container *c)
{
	return !list_empty(&c->groups);
}

static struct tce_group *tce_first_group(struct tce_container *c)
{
	return list_first_entry_or_null(&c->groups, struct tce_group, node);
}

/* The list head as an entry: a walk back from it sees every group */
static struct tce_group *tce_groups_head(struct tce_container *c)
{
	return list_entry(&c->groups, struct tce_group, node);
}

static struct tce_group *tce_find_group(struct tce_container *c,
					struct iommu_group *grp)
{
	struct tce_group *g;

	list_for_each_entry(g, &c->groups, node)
		if (g->grp == grp)
			return g;
	return NULL;
}

/* Bind the container to the caller's mm, or check it is the bound one */
static int tce_mm_bind(struct tce_container *c)
{
	if (c->mm)
		return c->mm == current->mm ? 0 : -EPERM;
	if (WARN_ON_ONCE(!current->mm))
		return -ESRCH;
	c->mm = current->mm;
	mmgrab(c->mm);
	return 0;
}

static enum dma_data_direction tce_flags_to_dir(u32 flags)
{
	bool rd = flags & VFIO_DMA_MAP_FLAG_READ;
	bool wr = flags & VFIO_DMA_MAP_FLAG_WRITE;

	if (rd && wr)
		return DMA_BIDIRECTIONAL;
	if (rd)
		return DMA_TO_DEVICE;
	if (wr)
		return DMA_FROM_DEVICE;
	return DMA_NONE;
}

/* The window containing bus address @iova, or -1 */
static int tce_window_find(struct tce_container *c, u64 iova)
{
	int num;

	for (num = 0; num < IOMMU_TABLE_GROUP_MAX_TABLES; num++) {
		struct iommu_table *tbl = c->win[num].tbl;
		u64 entry;

		if (!tbl)
			continue;
		entry = iova >> tbl->it_page_shift;
		if (entry >= tbl->it_offset &&
		    entry - tbl->it_offset < tbl->it_size)
			return num;
	}
	return -1;
}

/* Check that [iova, iova + size) is page aligned and inside the table */
static int tce_range_check(struct iommu_table *tbl, u64 iova, u64 size)
{
	u64 mask = tce_page_size(tbl) - 1;
	u64 first, pages;

	if ((iova | size) & mask)
		return -EINVAL;
	first = iova >> tbl->it_page_shift;
	pages = size >> tbl->it_page_shift;
	if (first < tbl->it_offset || first - tbl->it_offset > tbl->it_size ||
	    pages > tbl->it_size - (first - tbl->it_offset))
		return -EINVAL;
	return 0;
}

/* ---- references on the memory behind an entry ------------------------- */

/*
 * Can an IOMMU page of @shift at @hpa be mapped without exposing more? The
 * hardware ignores the low bits of a TCE, so @hpa must be aligned to the
 * IOMMU page; then a folio at least that large (folios are naturally
 * aligned) holds the whole IOMMU page.
 */
static bool tce_page_fits(struct mm_struct *mm, unsigned long hpa,
			  unsigned int shift)
{
	unsigned long size = 0;
	struct page *page;

	if (hpa & ((1UL << shift) - 1))
		return false;
	if (mm_iommu_is_devmem(mm, hpa, shift, &size))
		return size == (1UL << shift);
	page = pfn_to_page(hpa >> PAGE_SHIFT);
	return page_shift(compound_head(page)) >= shift;
}

/* v1: pin the page behind @ua and return the host address of @ua */
static int tce_pin_user(struct tce_container *c, struct iommu_table *tbl,
			unsigned long ua, enum dma_data_direction dir,
			unsigned long *hpa)
{
	unsigned int gup = FOLL_LONGTERM;
	struct page *page;

	if (dir != DMA_TO_DEVICE)
		gup |= FOLL_WRITE;
	if (pin_user_pages_fast(ua & PAGE_MASK, 1, gup, &page) != 1)
		return -EFAULT;
	*hpa = page_to_phys(page) | (ua & ~PAGE_MASK);
	if (!tce_page_fits(c->mm, *hpa, tbl->it_page_shift)) {
		unpin_user_page(page);
		return -EPERM;
	}
	return 0;
}

static bool tce_prereg_covers(const struct tce_prereg *p, unsigned long ua,
			      unsigned long size)
{
	return ua >= p->ua && size <= p->size && ua - p->ua <= p->size - size;
}

/*
 * This container's registration holding [@ua, @ua + @size) whole, or
 * NULL. Registrations of one mm never overlap (mm_iommu_new refuses).
 */
static struct tce_prereg *tce_prereg_lookup(struct tce_container *c,
					    unsigned long ua,
					    unsigned long size)
{
	struct tce_prereg *p = c->prereg_hint;

	if (p && tce_prereg_covers(p, ua, size))
		return p;
	list_for_each_entry(p, &c->preregs, node)
		if (tce_prereg_covers(p, ua, size)) {
			c->prereg_hint = p;
			return p;
		}
	return NULL;
}

/* Take the mm_iommu counts of @n more entries mapping from @p */
static int tce_prereg_hold(struct tce_prereg *p, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		/* Fails only while the region is being unregistered */
		if (mm_iommu_mapped_inc(p->mem)) {
			while (i--)
				mm_iommu_mapped_dec(p->mem);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Translate @ua, in registration @p, and find how far the kernel pages
 * after it continue it physically (the contiguity record of @p). Always
 * at PAGE_SHIFT: the page shift mm_iommu keeps for the region is not a
 * containment guarantee (it carries a huge page's shift over the ordinary
 * pages that follow it in the same region).
 */
static int tce_prereg_run(const struct tce_prereg *p, unsigned long ua,
			  struct tce_run *run)
{
	unsigned long first = (ua - p->ua) >> PAGE_SHIFT;
	unsigned long last = DIV_ROUND_UP(run->limit - p->ua, PAGE_SIZE);
	unsigned long end;

	if (mm_iommu_ua_to_hpa(p->mem, ua, PAGE_SHIFT, &run->hpa))
		return -EINVAL;
	end = find_next_zero_bit(p->contig, last, first + 1);
	run->ua = ua;
	run->end = p->ua + (end << PAGE_SHIFT);
	return 0;
}

/*
 * v2: the host address of the IOMMU page of @size at @ua, in registration
 * @p, if that page is wholly contained in physically contiguous memory
 * and aligned to its size, otherwise -EINVAL. @run is the current run:
 * a page inside it costs an addition, a page after it a new translation
 * (start with a zeroed @run whose limit is the end of the map).
 */
static int tce_prereg_page_hpa(const struct tce_prereg *p, unsigned long ua,
			       unsigned long size, struct tce_run *run,
			       unsigned long *hpa)
{
	int ret;

	if (ua < run->ua || ua >= run->end) {
		ret = tce_prereg_run(p, ua, run);
		if (ret)
			return ret;
	}
	if (size > run->end - ua)
		return -EINVAL;
	*hpa = run->hpa + (ua - run->ua);
	return *hpa & (size - 1) ? -EINVAL : 0;
}

/*
 * v2: find this container's preregistered memory behind @ua (@p if it is
 * known to hold it) and count one mapping from it.
 */
static int tce_ref_prereg(struct tce_container *c, struct iommu_table *tbl,
			  struct tce_prereg *p, unsigned long ua,
			  unsigned long *hpa)
{
	unsigned long size = tce_page_size(tbl);
	struct tce_run run = { .limit = ua + size };

	if (!p)
		p = tce_prereg_lookup(c, ua, size);
	if (!p || tce_prereg_page_hpa(p, ua, size, &run, hpa))
		return -EINVAL;
	return tce_prereg_hold(p, 1);
}

/* Take the reference an entry mapping @ua will own */
static int tce_ref_get(struct tce_container *c, struct iommu_table *tbl,
		       struct tce_prereg *p, unsigned long ua,
		       enum dma_data_direction dir, unsigned long *hpa)
{
	if (c->v2)
		return tce_ref_prereg(c, tbl, p, ua, hpa);
	return tce_pin_user(c, tbl, ua, dir, hpa);
}

/*
 * Does an entry whose old content was @tce, with @ua in the view, own a
 * reference? In v2 the view is authoritative: it is written only after a
 * successful exchange and cleared before the clearing one, so it stays
 * right even if the platform lost the TCE itself.
 */
static bool tce_owns_ref(struct tce_container *c, unsigned long tce,
			 unsigned long ua)
{
	if (c->v2)
		return ua;
	return iommu_tce_direction(tce) != DMA_NONE;
}

/*
 * The device may have written the page behind a writable @tce: tell the
 * mm, as iommu_tce_xchg_no_kill() does for its callers (the range
 * operations leave it to us). Not for device memory: it has no struct page.
 * Returns the physical range of the folio marked (the dirty flag is the
 * folio's), or an empty one for a read-only @tce.
 */
static struct range tce_mark_dirty(unsigned long tce)
{
	struct folio *folio;
	struct range r = { 0 };

	if (!(tce & TCE_PCI_WRITE))
		return r;
	folio = page_folio(pfn_to_page(tce_hpa(tce) >> PAGE_SHIFT));
	if (!folio_test_dirty(folio))
		folio_set_dirty(folio);
	r.start = PFN_PHYS(folio_pfn(folio));
	r.end = r.start + folio_size(folio) - 1;
	return r;
}

/* Does @r (empty when its start is above its end) hold @addr? */
static bool tce_range_has(const struct range *r, unsigned long addr)
{
	return addr >= r->start && addr <= r->end;
}

/*
 * v2: drop the mm_iommu counts of the entries @old[0 .. @n - 1] that map,
 * one after the other from the first, from the region of @old[0].ua: one
 * lookup for the run. The region is this container's registration, or,
 * for an entry KVM mapped from a region another container of the mm
 * registered, the mm's (then one entry at a time). Returns how many
 * entries it went through (at least one); *@dropped: how many counts.
 */
static unsigned long tce_prereg_put_run(struct tce_container *c,
					struct iommu_table *tbl,
					const struct tce_range_entry *old,
					unsigned long n, unsigned long *dropped)
{
	unsigned long size = tce_page_size(tbl);
	struct tce_prereg *p = tce_prereg_lookup(c, old[0].ua, size);
	struct range dirty = { .start = 1, .end = 0 };
	struct mm_iommu_table_group_mem_t *mem;
	unsigned long i, devsize;
	bool devmem;

	*dropped = 0;
	if (p) {
		mem = p->mem;
		devmem = p->devmem;
	} else {
		/* The entry's count keeps the region registered */
		mem = mm_iommu_lookup(c->mm, old[0].ua, size);
		if (WARN_ONCE(!mem, "vfio-spapr-tce: no registration for ua %lx\n",
			      old[0].ua))
			return 1;
		devmem = mm_iommu_is_devmem(c->mm, tce_hpa(old[0].tce),
					    tbl->it_page_shift, &devsize);
		n = 1;
	}
	for (i = 0; i < n; i++) {
		if (!old[i].ua || (p && !tce_prereg_covers(p, old[i].ua, size)))
			break;
		/* Once per folio: the entries of a huge page share its flag */
		if (!devmem && (old[i].tce & TCE_PCI_WRITE) &&
		    !tce_range_has(&dirty, tce_hpa(old[i].tce)))
			dirty = tce_mark_dirty(old[i].tce);
		mm_iommu_mapped_dec(mem);
	}
	*dropped = i;
	return i;
}

/* Drop the reference owned by an entry that mapped @tce from @ua */
static void tce_ref_put(struct tce_container *c, struct iommu_table *tbl,
			unsigned long tce, unsigned long ua)
{
	struct tce_range_entry e = { .tce = tce, .ua = ua };
	unsigned long dropped;

	if (!c->v2) {
		/* Pinned by pin_user_pages(): never device memory */
		(void)tce_mark_dirty(tce);
		unpin_user_page(pfn_to_page(tce_hpa(tce) >> PAGE_SHIFT));
		return;
	}
	tce_prereg_put_run(c, tbl, &e, 1, &dropped);
}

/*
 * v2: take the mm_iommu count of one more entry mapping @ua, in this
 * container's registration or, for an entry KVM mapped from another
 * container's, the mm's. Mirror entries own theirs.
 */
static int tce_ua_hold(struct tce_container *c, struct iommu_table *tbl,
		       unsigned long ua)
{
	unsigned long size = tce_page_size(tbl);
	struct mm_iommu_table_group_mem_t *mem;
	struct tce_prereg *p;

	p = tce_prereg_lookup(c, ua, size);
	if (p)
		return tce_prereg_hold(p, 1);
	mem = mm_iommu_lookup(c->mm, ua, size);
	return mem && !mm_iommu_mapped_inc(mem) ? 0 : -EINVAL;
}

/* ---- what the view says of a table ------------------------------------ */

/*
 * Entries known to be unmapped from @entry on, when the view has no slot
 * for @entry: the rest of its aligned block of it_level_size entries
 * (counted from it_offset) when the platform sets a power-of-2 level size,
 * otherwise just this entry.
 */
static unsigned long tce_absent_span(struct iommu_table *tbl,
				     unsigned long entry)
{
	unsigned long block = tbl->it_level_size;

	if (!block || !is_power_of_2(block))
		return 1;
	return block - ((entry - tbl->it_offset) & (block - 1));
}

/*
 * Look at one entry through the view: returns 0 when it may be mapped (and
 * its recorded user address in @ua, 0 without a view), otherwise how many
 * entries from @entry on are known to be unmapped.
 */
static unsigned long tce_unmapped_span(struct iommu_table *tbl,
				       unsigned long entry, unsigned long *ua)
{
	__be64 *pua;

	*ua = 0;
	if (!tce_has_view(tbl))
		return 0;
	pua = IOMMU_TABLE_USERSPACE_ENTRY_RO(tbl, entry);
	if (!pua)
		return tce_absent_span(tbl, entry);
	*ua = be64_to_cpu(*pua);
	return *ua ? 0 : 1;
}

/*
 * Does the table hold an entry mapping from @p (from anywhere when @p is
 * NULL)? Asked of its view, which knows the entries KVM made too.
 */
static bool tce_table_maps(struct iommu_table *tbl, const struct tce_prereg *p)
{
	unsigned long e, end = tbl->it_offset + tbl->it_size, ua, skip;
	unsigned int iter = 0;

	for (e = tbl->it_offset; e < end; e += skip) {
		if (!(++iter & TCE_RESCHED_MASK))
			cond_resched();
		skip = tce_unmapped_span(tbl, e, &ua);
		if (!skip && (!p || tce_prereg_covers(p, ua, 1)))
			return true;
		skip = clamp(skip, 1UL, end - e);
	}
	return false;
}

/* ---- dropping what cleared entries held -------------------------------- */

/*
 * Drop the reference an entry cleared from @old->tce and @old->ua owned, if
 * any: 1 when it did.
 */
static unsigned int tce_drop_old(struct tce_container *c,
				 struct iommu_table *tbl,
				 const struct tce_range_entry *old)
{
	if (tce_owns_ref(c, old->tce, old->ua)) {
		tce_ref_put(c, tbl, old->tce, old->ua);
		return 1;
	}
	/* v1 only: the platform lost a TCE, the pin cannot be found */
	if (old->ua)
		pr_err_ratelimited("vfio-spapr-tce: an entry of ua %lx lost its TCE, page pin leaked\n",
				   old->ua);
	return 0;
}

/* Drop what the @n entries @old owned: the number of references dropped */
static unsigned long tce_drop_olds(struct tce_container *c,
				   struct iommu_table *tbl,
				   const struct tce_range_entry *old,
				   unsigned long n)
{
	unsigned long dropped = 0, i = 0, d;

	while (i < n) {
		if (!old[i].tce && !old[i].ua) {
			i++;	/* held nothing: the common case of a map */
		} else if (c->v2 && old[i].ua) {
			i += tce_prereg_put_run(c, tbl, &old[i], n - i, &d);
			dropped += d;
		} else {
			dropped += tce_drop_old(c, tbl, &old[i]);
			i++;
		}
	}
	return dropped;
}

/* ---- the references a MAP batch takes ---------------------------------- */

/*
 * v2, one registration @p holding the whole range: the TCEs and user
 * addresses of @pages entries from @ua, then one count for all of them.
 * One translation per physically contiguous run of the registration (a
 * 16M huge page holds 256 64K IOMMU pages); the rest of the run follows
 * from it. An IOMMU page not wholly inside one run fails the whole range.
 */
static int tce_prereg_get_range(struct tce_prereg *p, struct iommu_table *tbl,
				unsigned long ua, unsigned long pages,
				enum dma_data_direction dir,
				struct tce_range_entry *st)
{
	unsigned long perm = iommu_direction_to_tce_perm(dir);
	unsigned long step = tce_page_size(tbl);
	struct tce_run run = { .limit = ua + pages * step };
	unsigned long i, hpa;

	for (i = 0; i < pages; i++, ua += step) {
		if (i && !(i & TCE_RESCHED_MASK))
			cond_resched();
		if (tce_prereg_page_hpa(p, ua, step, &run, &hpa))
			return -EINVAL;
		st[i].tce = hpa | perm;
		st[i].ua = ua;
	}
	return tce_prereg_hold(p, pages);
}

/*
 * Take references for all pages and fill @st with the new TCEs and user
 * addresses; on failure nothing is left taken
 */
static int tce_ref_get_range(struct tce_container *c, struct iommu_table *tbl,
			     unsigned long ua, unsigned long pages,
			     enum dma_data_direction dir,
			     struct tce_range_entry *st)
{
	unsigned long i, step = tce_page_size(tbl);
	struct tce_prereg *p;
	unsigned long hpa;
	int ret;

	if (c->v2) {
		p = tce_prereg_lookup(c, ua, pages * step);
		if (p)
			return tce_prereg_get_range(p, tbl, ua, pages, dir, st);
	}
	for (i = 0; i < pages; i++) {
		if (i && !(i & TCE_RESCHED_MASK))
			cond_resched();
		ret = tce_ref_get(c, tbl, NULL, ua + i * step, dir, &hpa);
		if (ret)
			goto put;
		st[i].tce = tce_pack(hpa, dir);
		st[i].ua = ua + i * step;
	}
	return 0;
put:
	while (i--)
		tce_ref_put(c, tbl, st[i].tce, ua + i * step);
	return ret;
}

/* ---- one table: its range operations ----------------------------------- */

static void tce_window_flush(struct tce_container *c, int num)
{
	struct tce_group *g;

	iommu_flush_tce(c->win[num].tbl);
	if (!c->win[num].nr_mirrors)
		return;
	list_for_each_entry(g, &c->groups, node)
		if (g->mirror[num].tbl)
			iommu_flush_tce(g->mirror[num].tbl);
}

/*
 * Window @num could not change all it was asked to: the entries concerned
 * keep their references (leaked if nothing clears them later, never freed
 * under the device), and it maps nothing more. Said once.
 */
static void tce_window_failed(struct tce_container *c, int num, int err)
{
	if (c->win[num].error)
		return;
	c->win[num].error = err;
	pr_err("vfio-spapr-tce: window %d (liobn %lx): the hypervisor refused to change TCEs (%d); their pages stay pinned, the window takes no new mapping\n",
	       num, c->win[num].tbl->it_index, err);
}

/* First entry of the batch holding @entry: batches align with the view's chunks */
static unsigned long tce_batch_start(const struct iommu_table *tbl,
				     unsigned long entry)
{
	return entry - (entry - tbl->it_offset) % TCE_BATCH;
}

/* End of the batch starting at @entry, at most @end */
static unsigned long tce_batch_end(const struct iommu_table *tbl,
				   unsigned long entry, unsigned long end)
{
	return min(tce_batch_start(tbl, entry) + TCE_BATCH, end);
}

/*
 * Exchange @st (@n entries, at most a batch) into table @w of window @num,
 * all or nothing: on failure @st holds the values it was given again, but
 * for an entry the table kept (TCE_RANGE_STUCK): that one is zeroed, so
 * that nobody drops what the table still maps, and the window is failed.
 */
static int tce_table_xchg(struct tce_container *c, int num,
			  struct tce_window *w, unsigned long entry,
			  unsigned long n, struct tce_range_entry *st)
{
	unsigned long i, stuck = 0;
	int ret;

	ret = iommu_tce_xchg_range(w->tbl, entry, n, st);
	if (!ret)
		return 0;
	/* The hardware holds the old TCEs again once killed */
	iommu_tce_kill(w->tbl, entry, n);
	for (i = 0; i < n; i++) {
		if (st[i].tce != TCE_RANGE_STUCK)
			continue;
		st[i] = (struct tce_range_entry){ 0 };
		stuck++;
	}
	if (stuck)
		tce_window_failed(c, num, ret);
	return ret;
}

/*
 * Clear [@entry, @entry + @n) of table @w (at most a batch) through its
 * range operations, and drop the references of exactly the entries it
 * cleared, when its entries own any (@owns). An entry it could not clear
 * keeps its reference. Returns the errno of a refusal; *@dropped: how
 * many references went.
 */
static int tce_table_take(struct tce_container *c, struct tce_window *w,
			  bool owns, unsigned long entry, unsigned long n,
			  unsigned long *dropped)
{
	struct tce_range_entry *old = c->bufs->st;
	unsigned long nr;
	long walked;

	*dropped = 0;
	while (n) {
		nr = 0;
		walked = iommu_tce_clear_range(w->tbl, entry, n, old, TCE_BATCH,
					       &nr);
		if (owns)
			*dropped += tce_drop_olds(c, w->tbl, old, nr);
		if (walked < 0)
			return walked;
		if (WARN_ON_ONCE(!walked))
			return -EIO;
		entry += walked;
		n -= min_t(unsigned long, walked, n);
	}
	return 0;
}

/* ---- UNMAP: take, then drop what was taken ---------------------------- */

/*
 * Clear one batch of window @num: every mirror first (in v2 each mirror
 * entry owns its count), then the primary, whose entries own the v1 pins.
 * If a mirror cannot be cleared, the primary keeps the batch.
 */
static int tce_clear_batch(struct tce_container *c, int num,
			   unsigned long entry, unsigned long n)
{
	struct tce_window *w = &c->win[num];
	unsigned long dropped;
	struct tce_group *g;
	int ret;

	list_for_each_entry(g, &c->groups, node) {
		if (!g->mirror[num].tbl)
			continue;
		ret = tce_table_take(c, &g->mirror[num], c->v2, entry, n,
				     &dropped);
		if (ret)
			return ret;
	}
	ret = tce_table_take(c, w, true, entry, n, &dropped);
	w->mapped -= min(w->mapped, dropped);
	return ret;
}

/*
 * Clear [entry, entry + pages) of window @num, in the primary and its
 * mirrors, batch by batch, and drop every reference those entries owned.
 * A reference is dropped only once its entry is cleared in every table, so
 * no device can reach the page any more; a batch the hypervisor refused to
 * clear keeps its references, the window is marked failed, the rest of
 * the range is cleared all the same, and the first errno returned.
 */
static int tce_clear_range(struct tce_container *c, int num,
			   unsigned long entry, unsigned long pages)
{
	struct iommu_table *tbl = c->win[num].tbl;
	unsigned long e, next, end = entry + pages;
	int ret, err = 0;

	for (e = entry; e < end; e = next) {
		next = tce_batch_end(tbl, e, end);
		ret = tce_clear_batch(c, num, e, next - e);
		if (ret && !err)
			err = ret;
		cond_resched();
	}
	if (err)
		tce_window_failed(c, num, err);
	return err;
}

static int tce_clear_table(struct tce_container *c, int num)
{
	struct iommu_table *tbl = c->win[num].tbl;

	return tce_clear_range(c, num, tbl->it_offset, tbl->it_size);
}

/* ---- a table that goes with entries it could not clear ---------------- */

/*
 * v2: entry @e of @tbl, mapping @ua, keeps its TCE: the hypervisor refused
 * to clear it, and the table is going. Its mm_iommu count would keep the
 * whole registration pinned and on the mm after the mm's exit (a WARN in
 * destroy_context()), with nothing left that could drop it. Hand it over
 * to a reference on the folio the TCE points at, never dropped: that page
 * is leaked, never freed, whether or not the device can still reach it,
 * and the registration can go. Device memory has no struct page, and is
 * not freed with the registration. The slot is emptied as KVM empties it:
 * the entry owns no count any more.
 */
static void tce_leak_entry(struct tce_container *c, struct iommu_table *tbl,
			   unsigned long e, unsigned long ua)
{
	struct tce_range_entry old = { .tce = tbl->it_ops->get(tbl, e),
				       .ua = ua };
	unsigned long hpa = tce_hpa(old.tce), size;

	if ((old.tce & TCE_PERM_MASK) &&
	    !mm_iommu_is_devmem(c->mm, hpa, tbl->it_page_shift, &size))
		folio_get(page_folio(pfn_to_page(hpa >> PAGE_SHIFT)));
	tce_drop_olds(c, tbl, &old, 1);
	*IOMMU_TABLE_USERSPACE_ENTRY_RO(tbl, e) = 0;
}

/*
 * Table @w of window @num goes (its last group left, or its mirror's group
 * leaves) with entries the hypervisor refused to clear twice; its
 * platform tries again as it closes it, and may fail too. The rule: a
 * refused clear leaks, and says so; it never frees. A v1 entry keeps its
 * page pin (a mirror's own nothing); a v2 entry's count becomes a page
 * reference (tce_leak_entry()). Said once a table.
 */
static void tce_table_leak(struct tce_container *c, int num,
			   struct tce_window *w)
{
	unsigned long e = w->tbl->it_offset, end = e + w->tbl->it_size;
	unsigned long ua, skip, leaked = 0;
	unsigned int iter = 0;

	if (!c->v2) {
		leaked = w == &c->win[num] ? w->mapped : 0;
	} else if (w->tbl->it_ops->get) {
		for (; e < end; e += skip) {
			if (!(++iter & TCE_RESCHED_MASK))
				cond_resched();
			skip = tce_unmapped_span(w->tbl, e, &ua);
			if (!skip) {
				tce_leak_entry(c, w->tbl, e, ua);
				leaked++;
			}
			skip = clamp(skip, 1UL, end - e);
		}
		if (w == &c->win[num])
			w->mapped -= min(w->mapped, leaked);
	}
	if (leaked)
		pr_err("vfio-spapr-tce: window %d (liobn %lx) goes with %lu entries the hypervisor would not clear: the pages they map are leaked\n",
		       num, w->tbl->it_index, leaked);
}

/*
 * Empty the mirror @m of a group that leaves window @num. In v1 it owns no
 * page pin: the primary's entries do, and they stay mapped. The group goes
 * whatever happens, and its platform clears what is left as it closes the
 * table, leaving the references of entries we could not clear with
 * nothing to drop them: as when the last group leaves, a refused batch is
 * tried once more; one still refused leaks what it maps (never freed
 * under the device) and fails the window.
 */
static void tce_mirror_clear(struct tce_container *c, int num,
			     struct tce_window *m)
{
	unsigned long e, next, end = m->tbl->it_offset + m->tbl->it_size;
	unsigned long dropped;
	bool refused = false;
	int ret;

	for (e = m->tbl->it_offset; e < end; e = next) {
		next = tce_batch_end(m->tbl, e, end);
		ret = tce_table_take(c, m, c->v2, e, next - e, &dropped);
		if (ret)
			ret = tce_table_take(c, m, c->v2, e, next - e,
					     &dropped);
		if (ret) {
			tce_window_failed(c, num, ret);
			refused = true;
		}
		cond_resched();
	}
	if (refused)
		tce_table_leak(c, num, m);
}

/* ---- MAP: exchange on the primary, then each mirror; undo in reverse -- */

/* v2: one more count for each of the @n new entries @nw, for a mirror */
static int tce_counts_hold(struct tce_container *c, struct iommu_table *tbl,
			   const struct tce_range_entry *nw, unsigned long n)
{
	struct tce_prereg *p;
	unsigned long i;

	p = tce_prereg_lookup(c, nw[0].ua, n * tce_page_size(tbl));
	if (p)
		return tce_prereg_hold(p, n);
	for (i = 0; i < n; i++) {
		if (tce_ua_hold(c, tbl, nw[i].ua)) {
			tce_drop_olds(c, tbl, nw, i);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Put the old values @old (zeros for NULL) back into [@entry, @entry + @n)
 * of table @w of window @num, after a MAP, and drop the references the
 * entries held since, those the MAP took. If the table refuses, the entries
 * keep the new values with their references, leaked, and the window fails.
 */
static void tce_table_put_back(struct tce_container *c, int num,
			       struct tce_window *w, bool owns,
			       unsigned long entry, unsigned long n,
			       const struct tce_range_entry *old)
{
	struct tce_range_entry *buf = c->bufs->ms;
	int ret;

	if (old)
		memcpy(buf, old, n * sizeof(*buf));
	else
		memset(buf, 0, n * sizeof(*buf));
	ret = tce_table_xchg(c, num, w, entry, n, buf);
	if (ret)
		tce_window_failed(c, num, ret);
	else if (owns)
		tce_drop_olds(c, w->tbl, buf, n);
}

/*
 * Undo one batch of a MAP: in the mirrors of the groups before @g, last
 * first (all of them when @g is the list head), then in the primary.
 */
static void tce_batch_put_back(struct tce_container *c, int num,
			       struct tce_group *g, unsigned long entry,
			       unsigned long n, const struct tce_range_entry *old)
{
	list_for_each_entry_continue_reverse(g, &c->groups, node)
		if (g->mirror[num].tbl)
			tce_table_put_back(c, num, &g->mirror[num], c->v2,
					   entry, n, old);
	tce_table_put_back(c, num, &c->win[num], true, entry, n, old);
}

/* Write the new values of a batch into mirror @m; all or nothing */
static int tce_mirror_map(struct tce_container *c, int num,
			  struct tce_window *m, unsigned long entry,
			  unsigned long n)
{
	struct tce_range_entry *ms = c->bufs->ms;
	int ret;

	if (c->v2) {
		ret = tce_counts_hold(c, m->tbl, c->bufs->nw, n);
		if (ret)
			return ret;
	}
	memcpy(ms, c->bufs->nw, n * sizeof(*ms));
	ret = tce_table_xchg(c, num, m, entry, n, ms);
	if (ret && c->v2)
		tce_drop_olds(c, m->tbl, ms, n);
	return ret;
}

/*
 * One batch of a MAP (@n entries from @entry, mapping @ua): take the
 * references, exchange on the primary, then on each mirror; on failure
 * undo in reverse order. On success the primary's old values are in
 * c->bufs->st; the mirrors, its replicas, held the same.
 */
static int tce_map_batch(struct tce_container *c, int num,
			 unsigned long entry, unsigned long ua,
			 unsigned long n, enum dma_data_direction dir)
{
	struct tce_batch_bufs *b = c->bufs;
	struct tce_window *w = &c->win[num];
	struct tce_group *g;
	int ret;

	ret = tce_ref_get_range(c, w->tbl, ua, n, dir, b->nw);
	if (ret)
		return ret;
	memcpy(b->st, b->nw, n * sizeof(*b->st));
	ret = tce_table_xchg(c, num, w, entry, n, b->st);
	if (ret) {
		tce_drop_olds(c, w->tbl, b->st, n);
		return ret;
	}
	list_for_each_entry(g, &c->groups, node) {
		if (!g->mirror[num].tbl)
			continue;
		ret = tce_mirror_map(c, num, &g->mirror[num], entry, n);
		if (ret) {
			tce_batch_put_back(c, num, g, entry, n, b->st);
			return ret;
		}
	}
	return 0;
}

/*
 * The old values of a MAP batch that replaced mappings: their references
 * are dropped once the whole MAP is done, or they are put back if it fails.
 * Batches over empty entries (the common case) keep nothing.
 */
struct tce_undo {
	struct list_head node;
	unsigned long entry;
	unsigned long n;
	struct tce_range_entry old[] __counted_by(n);
};

static bool tce_range_empty(const struct tce_range_entry *st, unsigned long n)
{
	return !memchr_inv(st, 0, n * sizeof(*st));
}

/* Keep the old values @st of the batch at @entry, newest first */
static int tce_undo_save(struct list_head *undo, unsigned long entry,
			 const struct tce_range_entry *st, unsigned long n)
{
	struct tce_undo *u;

	if (tce_range_empty(st, n))
		return 0;
	/* At most a batch: the user's memory cgroup pays */
	u = kvmalloc(struct_size(u, old, n), GFP_KERNEL_ACCOUNT);
	if (!u)
		return -ENOMEM;
	u->entry = entry;
	u->n = n;
	memcpy(u->old, st, n * sizeof(*st));
	list_add(&u->node, undo);
	return 0;
}

static void tce_undo_free(struct list_head *undo)
{
	struct tce_undo *u, *tmp;

	list_for_each_entry_safe(u, tmp, undo, node)
		kvfree(u);
}

/* A failed MAP: undo its batches in [@first, @end), the last first */
static void tce_map_undo(struct tce_container *c, int num,
			 unsigned long first, unsigned long end,
			 struct list_head *undo)
{
	struct tce_group *head = tce_groups_head(c);
	struct iommu_table *tbl = c->win[num].tbl;
	struct tce_undo *u = list_first_entry_or_null(undo, struct tce_undo,
						      node);
	const struct tce_range_entry *old;
	unsigned long s;

	for (; end > first; end = s) {
		s = max(first, tce_batch_start(tbl, end - 1));
		old = NULL;
		if (u && u->entry == s) {
			old = u->old;
			u = list_is_last(&u->node, undo) ? NULL :
							   list_next_entry(u, node);
		}
		tce_batch_put_back(c, num, head, s, end - s, old);
		cond_resched();
	}
}

/* A MAP is done: drop the references of the entries it replaced */
static void tce_map_commit(struct tce_container *c, int num,
			   struct list_head *undo, unsigned long pages)
{
	struct tce_window *w = &c->win[num];
	unsigned long dropped = 0;
	struct tce_undo *u;
	struct tce_group *g;

	list_for_each_entry(u, undo, node) {
		dropped += tce_drop_olds(c, w->tbl, u->old, u->n);
		if (!c->v2)
			continue;
		list_for_each_entry(g, &c->groups, node)
			if (g->mirror[num].tbl)
				tce_drop_olds(c, g->mirror[num].tbl, u->old,
					      u->n);
	}
	w->mapped += pages - min(pages, dropped);
}

/*
 * Map @pages IOMMU pages from user address @ua at @entry of window @num,
 * in its primary and mirrors, one batch at a time. All or nothing: on
 * failure the batches done are undone, last first, and the tables and
 * every reference are as they were before. Entries that were already
 * mapped are replaced (as in-tree), their references being dropped only
 * once the whole map is done.
 */
static int tce_map_range(struct tce_container *c, int num,
			 unsigned long entry, unsigned long ua,
			 unsigned long pages, enum dma_data_direction dir)
{
	struct iommu_table *tbl = c->win[num].tbl;
	unsigned long e, n, end = entry + pages, step = tce_page_size(tbl);
	LIST_HEAD(undo);
	int ret = 0;

	for (e = entry; e < end; e += n, ua += n * step) {
		n = tce_batch_end(tbl, e, end) - e;
		ret = tce_map_batch(c, num, e, ua, n, dir);
		if (ret)
			break;
		ret = tce_undo_save(&undo, e, c->bufs->st, n);
		if (ret) {
			tce_batch_put_back(c, num, tce_groups_head(c), e, n,
					   c->bufs->st);
			break;
		}
		cond_resched();
	}
	if (ret)
		tce_map_undo(c, num, entry, e, &undo);
	else
		tce_map_commit(c, num, &undo, pages);
	tce_undo_free(&undo);
	return ret;
}

/* ---- windows ----------------------------------------------------------- */

static bool tce_group_ops_usable(const struct iommu_table_group *tg)
{
	const struct iommu_table_group_ops *ops = tg->ops;

	return ops && ops->get_table_size && ops->create_table &&
	       ops->set_window && ops->unset_window;
}

static int tce_window_find_free(struct tce_container *c)
{
	int num;

	for (num = 0; num < IOMMU_TABLE_GROUP_MAX_TABLES; num++)
		if (!c->win[num].tbl)
			return num;
	return -ENOSPC;
}

static bool tce_table_usable(struct tce_container *c, struct iommu_table *tbl,
			     u32 page_shift)
{
	const struct iommu_table_ops *ops = tbl->it_ops;

	if (!ops || !ops->xchg_no_kill || !ops->free)
		return false;
	/* v2 needs the view to find the registration behind an entry */
	if (c->v2 && !ops->useraddrptr)
		return false;
	return tbl->it_page_shift == page_shift && tbl->it_size &&
	       tbl->it_offset + tbl->it_size > tbl->it_offset &&
	       (tbl->it_offset + tbl->it_size) <=
			(U64_MAX >> page_shift);
}

/* Release a table (primary or mirror) and its locked_vm charge */
static void tce_table_free(struct tce_container *c, struct tce_window *w)
{
	iommu_tce_table_put(w->tbl);
	account_locked_vm(c->mm, w->locked_pages, false);
	memset(w, 0, sizeof(*w));
}

/* Exchange the tables (and their charges) of two slots */
static void tce_table_swap(struct tce_window *a, struct tce_window *b)
{
	swap(a->tbl, b->tbl);
	swap(a->locked_pages, b->locked_pages);
}

/* Create the table of window @num through @tg, charging its memory */
static int tce_table_create(struct tce_container *c,
			    struct iommu_table_group *tg, int num,
			    u32 page_shift, u64 size, u32 levels,
			    struct tce_window *w)
{
	unsigned long bytes, locked;
	struct iommu_table *tbl = NULL;
	long ret;

	bytes = tg->ops->get_table_size(page_shift, size, levels);
	if (!bytes)
		return -EINVAL;
	/* Same charge as in-tree; uncharged from our record, not the table */
	locked = bytes >> PAGE_SHIFT;
	ret = account_locked_vm(c->mm, locked, true);
	if (ret)
		return ret;
	ret = tg->ops->create_table(tg, num, page_shift, size, levels, &tbl);
	if (!ret && WARN_ON(!tce_table_usable(c, tbl, page_shift))) {
		/* create_table may have set the window already */
		tg->ops->unset_window(tg, num);
		iommu_tce_table_put(tbl);
		ret = -EPERM;
	}
	if (ret) {
		account_locked_vm(c->mm, locked, false);
		return ret;
	}
	w->tbl = tbl;
	w->locked_pages = locked;
	w->size = size;
	w->levels = levels;
	return 0;
}

/*
 * Give group @g its own table for window @num, with the primary's
 * geometry; it must open at the primary's bus address.
 */
static int tce_mirror_create(struct tce_container *c, struct tce_group *g,
			     int num)
{
	struct tce_window *w = &c->win[num], *m = &g->mirror[num];
	int ret;

	ret = tce_table_create(c, g->tg, num, w->tbl->it_page_shift, w->size,
			       w->levels, m);
	if (ret)
		return ret;
	if (m->tbl->it_offset != w->tbl->it_offset ||
	    m->tbl->it_size != w->tbl->it_size) {
		pr_warn_ratelimited("vfio-spapr-tce: group %d opens window %d at %llx, not %llx\n",
				    iommu_group_id(g->grp), num,
				    (u64)m->tbl->it_offset << m->tbl->it_page_shift,
				    (u64)w->tbl->it_offset << w->tbl->it_page_shift);
		g->tg->ops->unset_window(g->tg, num);
		tce_table_free(c, m);
		return -EINVAL;
	}
	w->nr_mirrors++;
	return 0;
}

/*
 * Make window @num reachable through group @g: set the primary on it, or,
 * where the platform refuses another PE's table, give it a mirror. A new
 * mirror starts empty, so that needs a window without mappings.
 */
static int tce_group_add_window(struct tce_container *c, struct tce_group *g,
				int num)
{
	struct tce_window *w = &c->win[num];
	long ret;

	ret = g->tg->ops->set_window(g->tg, num, w->tbl);
	if (ret != -EPERM)
		return ret;
	/* v2: KVM's entries are not in w->mapped, the view has them */
	if (c->v2 ? tce_table_maps(w->tbl, NULL) : w->mapped)
		return -EBUSY;
	return tce_mirror_create(c, g, num);
}

/* Unset window @num from group @g and free its mirror, if any */
static void tce_group_drop_window(struct tce_container *c, struct tce_group *g,
				  int num)
{
	g->tg->ops->unset_window(g->tg, num);
	if (!g->mirror[num].tbl)
		return;
	tce_table_free(c, &g->mirror[num]);
	c->win[num].nr_mirrors--;
}

static void tce_window_unset_groups(struct tce_container *c, int num)
{
	struct tce_group *g;

	list_for_each_entry(g, &c->groups, node)
		tce_group_drop_window(c, g, num);
}

/*
 * On failure the window is unset from every group, including those after
 * the failing one: create_table may have set it on the creating group.
 */
static int tce_window_set_groups(struct tce_container *c, int num)
{
	struct tce_group *g;
	int ret;

	list_for_each_entry(g, &c->groups, node) {
		ret = tce_group_add_window(c, g, num);
		if (ret) {
			tce_window_unset_groups(c, num);
			return ret;
		}
	}
	return 0;
}

static int tce_window_args_check(struct iommu_table_group *tg,
				 u32 page_shift, u64 size)
{
	if (page_shift >= BITS_PER_LONG || !(tg->pgsizes & BIT_ULL(page_shift)))
		return -EINVAL;
	if (!size || (size & ((1ULL << page_shift) - 1)))
		return -EINVAL;
	return 0;
}

/* Create a window on every group; returns its bus address in @start */
static int tce_window_create(struct tce_container *c, u32 page_shift,
			     u64 size, u32 levels, u64 *start)
{
	struct tce_group *g = tce_first_group(c);
	struct tce_window *w;
	int num, ret;

	num = tce_window_find_free(c);
	if (num < 0)
		return num;
	if (!g)
		return -ENXIO;
	ret = tce_window_args_check(g->tg, page_shift, size);
	if (ret)
		return ret;
	w = &c->win[num];
	ret = tce_table_create(c, g->tg, num, page_shift, size, levels, w);
	if (ret)
		return ret;
	ret = tce_window_set_groups(c, num);
	if (ret) {
		tce_table_free(c, w);
		return ret;
	}
	*start = (u64)w->tbl->it_offset << w->tbl->it_page_shift;
	return 0;
}

/*
 * Empty window @num and remove it. If the hypervisor refuses to clear
 * entries, the window stays, failed, with those entries and their
 * references, and the clear's errno is returned: removed, it would take
 * the entries (which its platform clears as it closes the window) but
 * leave their references with no entry to drop them, so the registration
 * could never be released, and the release would find a region mapped
 * with no failed window to account for it. A later REMOVE, or the
 * release, clears the window again.
 */
static int tce_window_destroy(struct tce_container *c, int num)
{
	int ret = tce_clear_table(c, num);

	if (ret)
		return ret;
	tce_window_unset_groups(c, num);
	tce_table_free(c, &c->win[num]);
	return 0;
}

static int tce_window_remove(struct tce_container *c, u64 start)
{
	int num = tce_window_find(c, start);

	if (num < 0)
		return -EINVAL;
	return tce_window_destroy(c, num);
}

/* The default 32-bit window is created lazily, on first use */
static int tce_default_window_ensure(struct tce_container *c)
{
	struct tce_group *g = tce_first_group(c);
	u64 start = 0;
	int ret;

	if (!c->def_window_pending)
		return 0;
	if (!g)
		return -ENODEV;
	ret = tce_window_create(c, IOMMU_PAGE_SHIFT_4K, g->tg->tce32_size, 1,
				&start);
	if (ret)
		return ret;
	WARN_ON_ONCE(start != g->tg->tce32_start);
	c->def_window_pending = false;
	return 0;
}

/* ---- memory preregistration (v2) --------------------------------------- */

static struct tce_prereg *tce_prereg_find(struct tce_container *c,
					  struct mm_iommu_table_group_mem_t *mem)
{
	struct tce_prereg *p;

	list_for_each_entry(p, &c->preregs, node)
		if (p->mem == mem)
			return p;
	return NULL;
}

static int tce_prereg_args_check(u64 vaddr, u64 size)
{
	if (!size || ((vaddr | size) & ~PAGE_MASK) || vaddr + size < vaddr)
		return -EINVAL;
	return 0;
}

/* A region is device memory (mm_iommu_newdev()) or pinned pages, whole */
static bool tce_prereg_is_devmem(struct tce_container *c,
				 const struct tce_prereg *p)
{
	unsigned long hpa, size = 0;

	if (mm_iommu_ua_to_hpa(p->mem, p->ua, PAGE_SHIFT, &hpa))
		return false;
	return mm_iommu_is_devmem(c->mm, hpa, PAGE_SHIFT, &size);
}

/*
 * The contiguity record of registration @p, from a translation of each of
 * its kernel pages: bit i is set when page i starts where page i - 1 ends
 * physically. A map translates only the first page of a run, and maps
 * an IOMMU page only if it lies inside one run. One bit per kernel page,
 * charged to the user (the region is user-sized).
 */
static int tce_prereg_contig_init(struct tce_prereg *p)
{
	unsigned long i, n = p->size >> PAGE_SHIFT, hpa, prev = 0;

	p->contig = kvcalloc(BITS_TO_LONGS(n), sizeof(unsigned long),
			     GFP_KERNEL_ACCOUNT);
	if (!p->contig)
		return -ENOMEM;
	for (i = 0; i < n; i++, prev = hpa) {
		if (!(i & TCE_RESCHED_MASK))
			cond_resched();
		if (mm_iommu_ua_to_hpa(p->mem, p->ua + (i << PAGE_SHIFT),
				       PAGE_SHIFT, &hpa))
			return -EFAULT;
		if (i && hpa == prev + PAGE_SIZE)
			__set_bit(i, p->contig);
	}
	return 0;
}

static void tce_prereg_free(struct tce_prereg *p)
{
	kvfree(p->contig);
	kfree(p);
}

static int tce_register_memory(struct tce_container *c, u64 vaddr, u64 size)
{
	unsigned long entries = size >> PAGE_SHIFT;
	struct mm_iommu_table_group_mem_t *mem;
	struct tce_prereg *p;
	long ret;

	ret = tce_prereg_args_check(vaddr, size);
	if (ret)
		return ret;
	/*
	 * mm_iommu_new() charges locked_vm only without CAP_IPC_LOCK, then
	 * vzalloc()s an array of @entries: more than the RAM has cannot be
	 * pinned anyway, so fail before a vmalloc warning.
	 */
	if (entries > totalram_pages())
		return -ENOMEM;
	mem = mm_iommu_get(c->mm, vaddr, entries);
	if (mem && tce_prereg_find(c, mem)) {
		mm_iommu_put(c->mm, mem);
		return -EBUSY;
	}
	if (!mem) {
		ret = mm_iommu_new(c->mm, vaddr, entries, &mem);
		if (ret)
			return ret;
	}
	p = kzalloc_obj(*p, GFP_KERNEL_ACCOUNT);
	if (!p) {
		mm_iommu_put(c->mm, mem);
		return -ENOMEM;
	}
	p->mem = mem;
	p->ua = vaddr;
	p->size = size;
	ret = tce_prereg_contig_init(p);
	if (ret) {
		tce_prereg_free(p);
		mm_iommu_put(c->mm, mem);
		return ret;
	}
	p->devmem = tce_prereg_is_devmem(c, p);
	list_add(&p->node, &c->preregs);
	c->enabled = true;
	return 0;
}

/* Does an entry of the container's windows map from @p? */
static bool tce_prereg_in_use(struct tce_container *c,
			      const struct tce_prereg *p)
{
	int num;

	lockdep_assert_held(&c->lock);
	/* v2 tables have a view; the mirrors replicate their primary */
	for (num = 0; num < IOMMU_TABLE_GROUP_MAX_TABLES; num++)
		if (c->win[num].tbl && tce_table_maps(c->win[num].tbl, p))
			return true;
	return false;
}

static int tce_unregister_memory(struct tce_container *c, u64 vaddr, u64 size)
{
	struct tce_prereg *p;
	long ret;

	if ((vaddr | size) & ~PAGE_MASK)
		return -EINVAL;
	/* Only a registration of this container, with the same bounds */
	p = tce_prereg_lookup(c, vaddr, size);
	if (!p || p->ua != vaddr || p->size != size)
		return -ENOENT;
	/*
	 * -EBUSY while this container's tables map the region, whoever
	 * else also holds it: keep it registered.
	 */
	if (tce_prereg_in_use(c, p))
		return -EBUSY;
	ret = mm_iommu_put(c->mm, p->mem);
	if (ret)
		return ret;
	if (c->prereg_hint == p)
		c->prereg_hint = NULL;
	list_del(&p->node);
	tce_prereg_free(p);
	return 0;
}

/*
 * Drop every registration. The entries a window could not clear handed
 * their counts over to their pages (tce_table_leak()), so a region still
 * mapped is a bug, unless a window failed (@failed) whose table cannot
 * say what an entry maps (no it_ops->get): then its entries' counts keep
 * the region registered and pinned (leaked, never freed under a device).
 */
static void tce_prereg_release_all(struct tce_container *c, bool failed)
{
	struct tce_prereg *p, *tmp;

	c->prereg_hint = NULL;
	list_for_each_entry_safe(p, tmp, &c->preregs, node) {
		if (mm_iommu_put(c->mm, p->mem) && !WARN_ON(!failed))
			pr_err("vfio-spapr-tce: entries could not be cleared, registered memory at ua %lx (%lu bytes) leaked\n",
			       p->ua, p->size);
		list_del(&p->node);
		tce_prereg_free(p);
	}
}

/* ---- v1 enable/disable ------------------------------------------------- */

/*
 * v1 charges locked_vm once for the worst case (the whole default window)
 * instead of per mapped page.
 */
static int tce_enable(struct tce_container *c)
{
	struct tce_group *g = tce_first_group(c);
	unsigned long locked;
	int ret;

	if (c->enabled)
		return -EBUSY;
	if (!g)
		return -ENODEV;
	if (!g->tg->tce32_size)
		return -EPERM;
	ret = tce_mm_bind(c);
	if (ret)
		return ret;
	locked = g->tg->tce32_size >> PAGE_SHIFT;
	ret = account_locked_vm(c->mm, locked, true);
	if (ret)
		return ret;
	c->enable_locked_pages = locked;
	c->enabled = true;
	return 0;
}

static void tce_disable(struct tce_container *c)
{
	if (!c->enabled)
		return;
	c->enabled = false;
	if (c->v2 || WARN_ON(!c->mm))
		return;
	account_locked_vm(c->mm, c->enable_locked_pages, false);
	c->enable_locked_pages = 0;
}

/* ---- ioctl handlers ---------------------------------------------------- */

static long tce_check_extension(unsigned long arg)
{
	switch (arg) {
	case VFIO_SPAPR_TCE_IOMMU:
	case VFIO_SPAPR_TCE_v2_IOMMU:
		return 1;
	case VFIO_EEH:
		return eeh_enabled() ? 1 : 0;
	default:
		return 0;
	}
}

static void tce_fill_info(struct tce_container *c,
			  struct iommu_table_group *tg,
			  struct vfio_iommu_spapr_tce_info *info)
{
	info->dma32_window_start = tg->tce32_start;
	info->dma32_window_size = tg->tce32_size;
	info->flags = 0;
	memset(&info->ddw, 0, sizeof(info->ddw));
	if (!c->v2 || !tg->max_dynamic_windows_supported)
		return;
	info->flags |= VFIO_IOMMU_SPAPR_INFO_DDW;
	info->ddw.pgsizes = tg->pgsizes;
	info->ddw.max_dynamic_windows_supported =
		tg->max_dynamic_windows_supported;
	info->ddw.levels = tg->max_levels;
}

static long tce_ioctl_get_info(struct tce_container *c, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_spapr_tce_info,
				   dma32_window_size);
	size_t fullsz = offsetofend(struct vfio_iommu_spapr_tce_info, ddw);
	struct vfio_iommu_spapr_tce_info info = {};
	struct tce_group *g;
	u32 argsz;

	mutex_lock(&c->lock);
	g = tce_first_group(c);
	if (g)
		tce_fill_info(c, g->tg, &info);
	mutex_unlock(&c->lock);
	if (!g)
		return -ENXIO;
	if (get_user(argsz, (u32 __user *)uarg))
		return -EFAULT;
	if (argsz < minsz)
		return -EINVAL;
	info.argsz = argsz;
	/* Older user space knows only the short structure */
	if (copy_to_user(uarg, &info, argsz >= fullsz ? fullsz : minsz))
		return -EFAULT;
	return 0;
}

/*
 * A zero user address is refused: the userspace view uses 0 for "not
 * mapped". Size 0 is refused too (in-tree accepts it as a no-op).
 */
static int tce_map_args_check(struct iommu_table *tbl,
			      const struct vfio_iommu_type1_dma_map *p,
			      enum dma_data_direction dir)
{
	if (dir == DMA_NONE || !p->size || !p->vaddr)
		return -EINVAL;
	if ((p->vaddr & (tce_page_size(tbl) - 1)) ||
	    p->vaddr + p->size < p->vaddr)
		return -EINVAL;
	return tce_range_check(tbl, p->iova, p->size);
}

static long tce_do_map(struct tce_container *c,
		       struct vfio_iommu_type1_dma_map *p)
{
	enum dma_data_direction dir = tce_flags_to_dir(p->flags);
	struct iommu_table *tbl;
	int num, ret;

	ret = tce_default_window_ensure(c);
	if (ret)
		return ret;
	num = tce_window_find(c, p->iova);
	if (num < 0)
		return -ENXIO;
	if (c->win[num].error)
		return -EIO;
	tbl = c->win[num].tbl;
	ret = tce_map_args_check(tbl, p, dir);
	if (ret)
		return ret;
	ret = tce_map_range(c, num, p->iova >> tbl->it_page_shift, p->vaddr,
			    p->size >> tbl->it_page_shift, dir);
	tce_window_flush(c, num);
	return ret;
}

static long tce_ioctl_map(struct tce_container *c, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	struct vfio_iommu_type1_dma_map p;
	long ret;

	if (!c->enabled)
		return -EPERM;
	if (copy_from_user(&p, uarg, minsz))
		return -EFAULT;
	if (p.argsz < minsz ||
	    (p.flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)))
		return -EINVAL;
	mutex_lock(&c->lock);
	ret = tce_do_map(c, &p);
	mutex_unlock(&c->lock);
	return ret;
}

static long tce_do_unmap(struct tce_container *c,
			 struct vfio_iommu_type1_dma_unmap *p)
{
	struct iommu_table *tbl;
	int num, ret;

	ret = tce_default_window_ensure(c);
	if (ret)
		return ret;
	num = tce_window_find(c, p->iova);
	if (num < 0)
		return -ENXIO;
	tbl = c->win[num].tbl;
	ret = tce_range_check(tbl, p->iova, p->size);
	if (ret)
		return ret;
	ret = tce_clear_range(c, num, p->iova >> tbl->it_page_shift,
			      p->size >> tbl->it_page_shift);
	tce_window_flush(c, num);
	return ret;
}

static long tce_ioctl_unmap(struct tce_container *c, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap p;
	long ret;

	if (!c->enabled)
		return -EPERM;
	if (copy_from_user(&p, uarg, minsz))
		return -EFAULT;
	if (p.argsz < minsz || p.flags)
		return -EINVAL;
	mutex_lock(&c->lock);
	ret = tce_do_unmap(c, &p);
	mutex_unlock(&c->lock);
	return ret;
}

static long tce_ioctl_register(struct tce_container *c, void __user *uarg,
			       bool reg)
{
	size_t minsz = offsetofend(struct vfio_iommu_spapr_register_memory,
				   size);
	struct vfio_iommu_spapr_register_memory p;
	long ret;

	if (copy_from_user(&p, uarg, minsz))
		return -EFAULT;
	if (p.argsz < minsz || p.flags)
		return -EINVAL;
	mutex_lock(&c->lock);
	if (reg) {
		ret = tce_mm_bind(c);
		if (!ret)
			ret = tce_register_memory(c, p.vaddr, p.size);
	} else {
		ret = c->mm ? tce_unregister_memory(c, p.vaddr, p.size) :
			      -EPERM;
	}
	mutex_unlock(&c->lock);
	return ret;
}

/* What creating or removing a window needs: the mm, and a group attached */
static int tce_window_op_ready(struct tce_container *c)
{
	int ret = tce_mm_bind(c);

	if (ret)
		return ret;
	return tce_groups_attached(c) ? 0 : -ENXIO;
}

static long tce_do_create(struct tce_container *c,
			  struct vfio_iommu_spapr_tce_create *p)
{
	int ret;

	ret = tce_window_op_ready(c);
	if (ret)
		return ret;
	ret = tce_default_window_ensure(c);
	if (ret)
		return ret;
	return tce_window_create(c, p->page_shift, p->window_size, p->levels,
				 &p->start_addr);
}

static long tce_ioctl_create(struct tce_container *c, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_spapr_tce_create,
				   start_addr);
	struct vfio_iommu_spapr_tce_create p;
	long ret;

	if (copy_from_user(&p, uarg, minsz))
		return -EFAULT;
	if (p.argsz < minsz || p.flags)
		return -EINVAL;
	mutex_lock(&c->lock);
	ret = tce_do_create(c, &p);
	mutex_unlock(&c->lock);
	if (!ret && copy_to_user(uarg, &p, minsz))
		return -EFAULT;
	return ret;
}

static long tce_do_remove(struct tce_container *c, u64 start)
{
	int ret;

	ret = tce_window_op_ready(c);
	if (ret)
		return ret;
	/* Removing the not yet created default window cancels it */
	if (c->def_window_pending && !start) {
		c->def_window_pending = false;
		return 0;
	}
	return tce_window_remove(c, start);
}

static long tce_ioctl_remove(struct tce_container *c, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_iommu_spapr_tce_remove,
				   start_addr);
	struct vfio_iommu_spapr_tce_remove p;
	long ret;

	if (copy_from_user(&p, uarg, minsz))
		return -EFAULT;
	if (p.argsz < minsz || p.flags)
		return -EINVAL;
	mutex_lock(&c->lock);
	ret = tce_do_remove(c, p.start_addr);
	mutex_unlock(&c->lock);
	return ret;
}

static long tce_eeh_pe_op(struct eeh_pe *pe, struct vfio_eeh_pe_op *op,
			  void __user *uarg)
{
	size_t errsz = offsetofend(struct vfio_eeh_pe_op, err.mask);

	switch (op->op) {
	case VFIO_EEH_PE_DISABLE:
		return eeh_pe_set_option(pe, EEH_OPT_DISABLE);
	case VFIO_EEH_PE_ENABLE:
		return eeh_pe_set_option(pe, EEH_OPT_ENABLE);
	case VFIO_EEH_PE_UNFREEZE_IO:
		return eeh_pe_set_option(pe, EEH_OPT_THAW_MMIO);
	case VFIO_EEH_PE_UNFREEZE_DMA:
		return eeh_pe_set_option(pe, EEH_OPT_THAW_DMA);
	case VFIO_EEH_PE_GET_STATE:
		return eeh_pe_get_state(pe);
	case VFIO_EEH_PE_RESET_DEACTIVATE:
		return eeh_pe_reset(pe, EEH_RESET_DEACTIVATE, true);
	case VFIO_EEH_PE_RESET_HOT:
		return eeh_pe_reset(pe, EEH_RESET_HOT, true);
	case VFIO_EEH_PE_RESET_FUNDAMENTAL:
		return eeh_pe_reset(pe, EEH_RESET_FUNDAMENTAL, true);
	case VFIO_EEH_PE_CONFIGURE:
		return eeh_pe_configure(pe);
	case VFIO_EEH_PE_INJECT_ERR:
		if (op->argsz < errsz)
			return -EINVAL;
		if (copy_from_user(op, uarg, errsz))
			return -EFAULT;
		return eeh_pe_inject_err(pe, op->err.type, op->err.func,
					 op->err.addr, op->err.mask);
	default:
		return -EINVAL;
	}
}

static long tce_eeh_group_op(struct iommu_group *grp, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_eeh_pe_op, op);
	struct vfio_eeh_pe_op op;
	struct eeh_pe *pe;

	pe = eeh_iommu_group_to_pe(grp);
	if (!pe)
		return -ENODEV;
	if (copy_from_user(&op, uarg, minsz))
		return -EFAULT;
	if (op.argsz < minsz || op.flags)
		return -EINVAL;
	return tce_eeh_pe_op(pe, &op, uarg);
}

/* The operation is applied to the PE of every group in the container */
static long tce_ioctl_eeh(struct tce_container *c, void __user *uarg)
{
	struct tce_group *g;
	long ret = 0;

	mutex_lock(&c->lock);
	list_for_each_entry(g, &c->groups, node) {
		ret = tce_eeh_group_op(g->grp, uarg);
		if (ret)
			break;
	}
	mutex_unlock(&c->lock);
	return ret;
}

static long tce_ioctl_enable(struct tce_container *c, bool enable)
{
	long ret = 0;

	mutex_lock(&c->lock);
	if (enable)
		ret = tce_enable(c);
	else
		tce_disable(c);
	mutex_unlock(&c->lock);
	return ret;
}

static long tce_ioctl_v2_only(struct tce_container *c, unsigned int cmd,
			      void __user *uarg)
{
	switch (cmd) {
	case VFIO_IOMMU_SPAPR_REGISTER_MEMORY:
		return tce_ioctl_register(c, uarg, true);
	case VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY:
		return tce_ioctl_register(c, uarg, false);
	case VFIO_IOMMU_SPAPR_TCE_CREATE:
		return tce_ioctl_create(c, uarg);
	case VFIO_IOMMU_SPAPR_TCE_REMOVE:
		return tce_ioctl_remove(c, uarg);
	default:
		return -ENOTTY;
	}
}

static long tce_iommu_ioctl(void *iommu_data, unsigned int cmd,
			    unsigned long arg)
{
	struct tce_container *c = iommu_data;
	void __user *uarg = (void __user *)arg;

	if (cmd == VFIO_CHECK_EXTENSION)
		return tce_check_extension(arg);
	if (WARN_ON_ONCE(!c))
		return -EINVAL;
	/* One process's container never drives another process's mm */
	if (READ_ONCE(c->mm) && c->mm != current->mm)
		return -EPERM;

	switch (cmd) {
	case VFIO_IOMMU_SPAPR_TCE_GET_INFO:
		return tce_ioctl_get_info(c, uarg);
	case VFIO_IOMMU_MAP_DMA:
		return tce_ioctl_map(c, uarg);
	case VFIO_IOMMU_UNMAP_DMA:
		return tce_ioctl_unmap(c, uarg);
	case VFIO_EEH_PE_OP:
		return tce_ioctl_eeh(c, uarg);
	case VFIO_IOMMU_ENABLE:
	case VFIO_IOMMU_DISABLE:
		if (c->v2)
			return -ENOTTY;
		return tce_ioctl_enable(c, cmd == VFIO_IOMMU_ENABLE);
	}
	if (!c->v2)
		return -ENOTTY;
	return tce_ioctl_v2_only(c, cmd, uarg);
}

/* ---- container lifetime, groups ---------------------------------------- */

static void *tce_iommu_open(unsigned long arg)
{
	struct tce_container *c;

	if (arg != VFIO_SPAPR_TCE_IOMMU && arg != VFIO_SPAPR_TCE_v2_IOMMU)
		return ERR_PTR(-EINVAL);
	c = kzalloc_obj(*c, GFP_KERNEL_ACCOUNT);
	if (!c)
		return ERR_PTR(-ENOMEM);
	/* kvmalloc_obj() is 7.x only: one element of an array instead */
	c->bufs = kvmalloc_array(1, sizeof(*c->bufs), GFP_KERNEL_ACCOUNT);
	if (!c->bufs) {
		kfree(c);
		return ERR_PTR(-ENOMEM);
	}
	mutex_init(&c->lock);
	INIT_LIST_HEAD(&c->groups);
	INIT_LIST_HEAD(&c->preregs);
	c->v2 = arg == VFIO_SPAPR_TCE_v2_IOMMU;
	return c;
}

/* Set every window of the container on a new group, all or nothing */
static int tce_group_set_windows(struct tce_container *c, struct tce_group *g)
{
	int num, ret;

	for (num = 0; num < IOMMU_TABLE_GROUP_MAX_TABLES; num++) {
		if (!c->win[num].tbl)
			continue;
		ret = tce_group_add_window(c, g, num);
		if (ret)
			goto drop;
	}
	return 0;
drop:
	while (num--)
		if (c->win[num].tbl)
			tce_group_drop_window(c, g, num);
	return ret;
}

/*
 * The first group of a container whose windows outlived their groups: the
 * old primaries are set on no PE any more (and empty, see detach), so the
 * tables made on this group replace them.
 */
static void tce_group_adopt_windows(struct tce_container *c,
				    struct tce_group *g)
{
	int num;

	for (num = 0; num < IOMMU_TABLE_GROUP_MAX_TABLES; num++) {
		if (!g->mirror[num].tbl)
			continue;
		WARN_ON(c->win[num].mapped);
		tce_table_swap(&c->win[num], &g->mirror[num]);
		tce_table_free(c, &g->mirror[num]);
		c->win[num].nr_mirrors--;
	}
}

static int tce_group_compatible(struct tce_container *c,
				struct iommu_group *grp,
				struct iommu_table_group *tg)
{
	struct tce_group *first = tce_first_group(c);

	if (c->v2 && !tg->max_dynamic_windows_supported)
		return -EINVAL;
	/* v1 tables belong to a single PE */
	if (first && (!c->v2 || tce_find_group(c, grp)))
		return -EBUSY;
	if (!tce_group_ops_usable(tg))
		return -EPERM;
	/* Windows and mirrors are created by the same platform ops */
	if (first && first->tg->ops->create_table != tg->ops->create_table)
		return -EPERM;
	return 0;
}

static int tce_attach_locked(struct tce_container *c, struct iommu_group *grp)
{
	struct iommu_table_group *tg = iommu_group_get_iommudata(grp);
	struct tce_group *g;
	int ret;

	if (!tg)
		return -ENODEV;
	ret = tce_group_compatible(c, grp, tg);
	if (ret)
		return ret;
	g = kzalloc_obj(*g, GFP_KERNEL_ACCOUNT);
	if (!g)
		return -ENOMEM;
	g->grp = grp;
	g->tg = tg;
	ret = tce_group_set_windows(c, g);
	if (ret) {
		kfree(g);
		return ret;
	}
	if (!tce_groups_attached(c)) {
		if (!c->win[0].tbl)
			c->def_window_pending = true;
		tce_group_adopt_windows(c, g);
	}
	list_add_tail(&g->node, &c->groups);
	return 0;
}

static int tce_iommu_attach_group(void *iommu_data, struct iommu_group *grp,
				  enum vfio_group_type type)
{
	struct tce_container *c = iommu_data;
	int ret;

	if (type == VFIO_EMULATED_IOMMU)
		return -EINVAL;
	mutex_lock(&c->lock);
	ret = tce_attach_locked(c, grp);
	mutex_unlock(&c->lock);
	return ret;
}

/* Is window @num's primary still set on a group of the container? */
static bool tce_primary_in_use(struct tce_container *c, int num)
{
	struct tce_group *g;

	list_for_each_entry(g, &c->groups, node)
		if (!g->mirror[num].tbl)
			return true;
	return false;
}

/*
 * Group @g, which holds the only setting of window @num's primary, is
 * leaving: another group's mirror, an exact replica, becomes the primary
 * and the old primary becomes @g's mirror, to be dropped.
 */
static void tce_mirror_promote(struct tce_container *c, struct tce_group *g,
			       int num)
{
	struct tce_group *h;

	list_for_each_entry(h, &c->groups, node) {
		if (!h->mirror[num].tbl)
			continue;
		tce_table_swap(&c->win[num], &h->mirror[num]);
		tce_table_swap(&h->mirror[num], &g->mirror[num]);
		return;
	}
	WARN_ON_ONCE(1);
}

/*
 * Window @num leaves group @g (already off the list). The windows stay
 * with the container. When the last group leaves, the tables are emptied
 * (DMA is being returned to the host) while the group still has them set,
 * so no device can reach a page being released. Otherwise only @g's
 * mirror goes with its own counts (v2); the pages stay mapped for the others.
 */
static void tce_group_leave_window(struct tce_container *c,
				   struct tce_group *g, int num)
{
	if (!tce_groups_attached(c)) {
		/*
		 * No caller to report a refusal to, who could try again:
		 * try once more here; what is still refused is leaked.
		 */
		if (tce_clear_table(c, num) && tce_clear_table(c, num))
			tce_table_leak(c, num, &c->win[num]);
	} else {
		if (!g->mirror[num].tbl && !tce_primary_in_use(c, num))
			tce_mirror_promote(c, g, num);
		if (g->mirror[num].tbl)
			tce_mirror_clear(c, num, &g->mirror[num]);
	}
	tce_group_drop_window(c, g, num);
}

static void tce_detach_locked(struct tce_container *c, struct tce_group *g)
{
	int num;

	list_del(&g->node);
	for (num = 0; num < IOMMU_TABLE_GROUP_MAX_TABLES; num++)
		if (c->win[num].tbl)
			tce_group_leave_window(c, g, num);
	kfree(g);
}

static void tce_iommu_detach_group(void *iommu_data, struct iommu_group *grp)
{
	struct tce_container *c = iommu_data;
	struct tce_group *g;

	mutex_lock(&c->lock);
	g = tce_find_group(c, grp);
	if (g)
		tce_detach_locked(c, g);
	else
		pr_warn("vfio-spapr-tce: detaching unattached group %d\n",
			iommu_group_id(grp));
	mutex_unlock(&c->lock);
}

static void tce_iommu_release(void *iommu_data)
{
	struct tce_container *c = iommu_data;
	bool failed = false;
	struct tce_group *g;
	int num;

	mutex_lock(&c->lock);
	while ((g = tce_first_group(c)))
		tce_detach_locked(c, g);
	/* The last detach emptied the tables and unset them everywhere */
	for (num = 0; num < IOMMU_TABLE_GROUP_MAX_TABLES; num++) {
		if (!c->win[num].tbl)
			continue;
		if (c->win[num].error)
			failed = true;
		tce_table_free(c, &c->win[num]);
	}
	tce_prereg_release_all(c, failed);
	tce_disable(c);
	mutex_unlock(&c->lock);
	if (c->mm)
		mmdrop(c->mm);
	mutex_destroy(&c->lock);
	kvfree(c->bufs);
	kfree(c);
}

static const struct vfio_iommu_driver_ops tce_iommu_driver_ops = {
	.name		= "iommu-vfio-powerpc",
	.owner		= THIS_MODULE,
	.open		= tce_iommu_open,
	.release	= tce_iommu_release,
	.ioctl		= tce_iommu_ioctl,
	.attach_group	= tce_iommu_attach_group,
	.detach_group	= tce_iommu_detach_group,
};

static int __init tce_iommu_init(void)
{
	return vfio_register_iommu_driver(&tce_iommu_driver_ops);
}

static void __exit tce_iommu_exit(void)
{
	vfio_unregister_iommu_driver(&tce_iommu_driver_ops);
}

module_init(tce_iommu_init);
module_exit(tce_iommu_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VFIO IOMMU backend for sPAPR TCE (pSeries)");
MODULE_SOFTDEP("pre: pseries_tce_ddw");
