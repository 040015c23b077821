// SPDX-License-Identifier: GPL-2.0-only
/*
 * Paging domains of the sPAPR TCE IOMMU, for IOMMUFD.
 *
 * A paging domain is one DMA window of one PE: allocating it opens the
 * window through the PE's table group ops (create_table and set_window:
 * on pSeries a Dynamic DMA Window created by RTAS), so that its aperture
 * is the bus range the firmware really gave, known before the first map;
 * freeing it closes the window. The PE must be owned by then (a user of
 * IOMMUFD has bound a device of it, which attached the blocked domain,
 * which took ownership).
 *
 * Devices of that PE attach to the domain; a device of another PE gets
 * -EINVAL, upon which IOMMUFD allocates that PE a domain of its own in
 * the same IOAS: each PE has its own hypervisor table, and IOMMUFD maps
 * into every domain of the IOAS. The window stays open while the domain
 * exists, attached or not; a PE released meanwhile (its last device
 * unbound) loses it, and the domain then only attaches nowhere.
 *
 * Maps and unmaps go through the table's range operations,
 * iommu_tce_xchg_range() and iommu_tce_clear_range(): one hypercall per
 * 512 entries on pSeries, written to the hypervisor before they return,
 * so that IOMMUFD may unpin the pages of an unmapped range as soon as
 * unmap_pages() returns. A map is all or nothing. An entry the hypervisor
 * refuses to clear keeps a reference on its pages, which are leaked, never
 * freed, and the domain refuses further maps (-EIO).
 *
 * IOMMUFD reads back what it mapped through iova_to_phys() to unpin it, to
 * copy it and to fill other domains, until it unmaps. The domain answers
 * from a record of its own (@pfns), not from the table: when the PE is
 * released before the domain is unmapped (a device closed before its
 * iommufd), the platform clears the table and removes the window, and the
 * domain's mappings then exist only for IOMMUFD, which must still unpin
 * the right pages. Maps and unmaps of such a domain change the table's
 * shadow only: the window is detached from the hypervisor.
 *
 * Locking: @lock of the domain serialises its maps and unmaps (they share
 * the entry buffer and @pfns); the table serialises its own entries. Attach and
 * detach run under the IOMMU group mutex; the window itself is opened and
 * closed by the table group ops, under their own lock.
 */

#define pr_fmt(fmt) "spapr_tce_domain: " fmt

#include <kunit/visibility.h>
#include <linux/err.h>
#include <linux/iommu.h>
#include <linux/log2.h>
#include <linux/memblock.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>
#include <asm/iommu.h>
#include <asm/tce.h>

#include <asm/spapr_tce_domain.h>

/* Entries one range call gets: the PAPR limit of one hypercall */
#define DOMAIN_BATCH		512
/* The smallest window the default size shrinks to when firmware refuses */
#define DOMAIN_MIN_WINDOW	SZ_256M

/**
 * struct spapr_tce_domain - a paging domain: one window of one PE
 * @domain: the IOMMU domain.
 * @group: the PE's IOMMU group (referenced).
 * @table_group: the PE's table group, owned by @group.
 * @tbl: the window (referenced).
 * @num: its slot in @table_group->tables[].
 * @lock: serialises maps and unmaps, which use @buf.
 * @buf: DOMAIN_BATCH entries for the range operations.
 * @failed: an entry could not be cleared; maps get -EIO.
 * @leaked: pages kept for entries that could not be cleared.
 * @pfns: the IOMMU page frame (physical address >> the window's page shift)
 *	of each mapped entry, as xa_mk_value(), indexed by entry.
 */
struct spapr_tce_domain {
	struct iommu_domain domain;
	struct iommu_group *group;
	struct iommu_table_group *table_group;
	struct iommu_table *tbl;
	int num;
	struct mutex lock;	/* maps and unmaps, @buf, @pfns */
	struct tce_range_entry *buf;
	bool failed;
	unsigned long leaked;
	struct xarray pfns;
};

/**
 * struct spapr_tce_window_req - the window a new domain asks for
 * @page_shift: IOMMU page shift.
 * @levels: table levels.
 * @size: bytes.
 * @shrink: @size is the default: try smaller ones if it is refused.
 */
struct spapr_tce_window_req {
	u32 page_shift;
	u32 levels;
	u64 size;
	bool shrink;
};

static const struct iommu_domain_ops spapr_tce_paging_ops;

static struct spapr_tce_domain *to_spapr_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct spapr_tce_domain, domain);
}

/**
 * spapr_tce_is_paging_domain() - whether a domain is one of ours
 * @domain: the domain, or NULL.
 *
 * Return: true for a paging domain of this file.
 */
bool spapr_tce_is_paging_domain(const struct iommu_domain *domain)
{
	return domain && domain->ops == &spapr_tce_paging_ops;
}

static unsigned long table_shift(const struct iommu_table *tbl)
{
	return tbl->it_page_shift;
}

/* The IOMMU page size of the window: the domain's only page size */
static unsigned long table_pgsize(const struct iommu_table *tbl)
{
	return 1UL << table_shift(tbl);
}

/* The permission bits of a TCE: a TCE with none maps nothing */
#define TCE_PERM_MASK	(TCE_PCI_READ | TCE_PCI_WRITE)

static unsigned long prot_to_tce_perm(int prot)
{
	unsigned long perm = 0;

	if (prot & IOMMU_READ)
		perm |= TCE_PCI_READ;
	if (prot & IOMMU_WRITE)
		perm |= TCE_PCI_WRITE;
	return perm;
}

/*
 * Entries of the next range call from @entry: up to the next multiple of
 * DOMAIN_BATCH from the window's start, where the table's chunks end, so
 * that each call is one hypercall.
 */
static unsigned long batch_len(struct iommu_table *tbl, unsigned long entry,
			       unsigned long n)
{
	unsigned long to_end = DOMAIN_BATCH -
			       (entry - tbl->it_offset) % DOMAIN_BATCH;

	return min(n, to_end);
}

/*
 * Keep the pages of a TCE that is still live in the hypervisor: IOMMUFD
 * unpins what it mapped once the unmap returns, and the device could then
 * reach freed memory. The pages are leaked.
 */
static void keep_tce_pages(struct spapr_tce_domain *sd, unsigned long tce)
{
	unsigned long pfn = (tce & ~TCE_PERM_MASK) >> PAGE_SHIFT;
	unsigned long i, nr = max(table_pgsize(sd->tbl) >> PAGE_SHIFT, 1UL);

	for (i = 0; i < nr; i++) {
		if (!pfn_valid(pfn + i))
			continue;
		get_page(pfn_to_page(pfn + i));
		sd->leaked++;
	}
}

/*
 * A TCE is stuck in the hypervisor with its pages kept: say so once, and
 * refuse further maps
 */
static void mark_failed(struct spapr_tce_domain *sd)
{
	lockdep_assert_held(&sd->lock);
	if (!sd->failed)
		pr_err("group %d: TCEs could not be cleared, %lu pages leaked; the domain refuses further maps\n",
		       iommu_group_id(sd->group), sd->leaked);
	sd->failed = true;
}

/* After a failed clear: keep the pages of every entry still set */
static void keep_live_entries(struct spapr_tce_domain *sd, unsigned long entry,
			      unsigned long n)
{
	struct iommu_table *tbl = sd->tbl;
	unsigned long i, tce;

	lockdep_assert_held(&sd->lock);
	for (i = 0; i < n; i++) {
		tce = tbl->it_ops->get(tbl, entry + i);
		if (tce & TCE_PERM_MASK)
			keep_tce_pages(sd, tce);
	}
	mark_failed(sd);
}

/*
 * Clear entries @entry .. @entry + @n - 1 in the hypervisor. Returns 0, or
 * the errno of a refused clear, after which the entries still set keep
 * their pages.
 */
static int clear_entries(struct spapr_tce_domain *sd, unsigned long entry,
			 unsigned long n)
{
	unsigned long nr;
	long done;

	lockdep_assert_held(&sd->lock);
	while (n) {
		nr = 0;
		done = iommu_tce_clear_range(sd->tbl, entry,
					     batch_len(sd->tbl, entry, n),
					     sd->buf, DOMAIN_BATCH, &nr);
		if (done <= 0) {
			keep_live_entries(sd, entry, n);
			return done ? done : -EIO;
		}
		entry += done;
		n -= done;
		cond_resched();
	}
	return 0;
}

/*
 * Program one batch. On failure the table is as it was, but for entries
 * the table could not put back (TCE_RANGE_STUCK), whose new TCE stays
 * live: their pages are kept.
 */
static int map_batch(struct spapr_tce_domain *sd, unsigned long entry,
		     unsigned long n, phys_addr_t paddr, unsigned long perm)
{
	unsigned long i, pgsize = table_pgsize(sd->tbl);
	struct tce_range_entry *st = sd->buf;
	int ret;

	lockdep_assert_held(&sd->lock);
	for (i = 0; i < n; i++) {
		st[i].tce = (paddr + i * pgsize) | perm;
		st[i].ua = 0;
	}
	ret = iommu_tce_xchg_range(sd->tbl, entry, n, st);
	if (!ret) {
		/* IOMMUFD never maps over a mapping */
		for (i = 0; i < n; i++)
			WARN_ON_ONCE(st[i].tce);
		return 0;
	}

	iommu_tce_kill(sd->tbl, entry, n);
	for (i = 0; i < n; i++) {
		if (st[i].tce == TCE_RANGE_STUCK) {
			keep_tce_pages(sd, (paddr + i * pgsize) | perm);
			mark_failed(sd);
		}
	}
	return ret;
}

static bool range_in_window(struct iommu_table *tbl, unsigned long entry,
			    unsigned long n)
{
	return entry >= tbl->it_offset && n <= tbl->it_size &&
	       entry - tbl->it_offset <= tbl->it_size - n;
}

static void pfns_forget(struct spapr_tce_domain *sd, unsigned long entry,
			unsigned long n)
{
	unsigned long i;

	lockdep_assert_held(&sd->lock);
	for (i = 0; i < n; i++)
		xa_erase(&sd->pfns, entry + i);
}

/* Record the frames of @n entries from @entry, mapping from @paddr */
static int pfns_record(struct spapr_tce_domain *sd, unsigned long entry,
		       unsigned long n, phys_addr_t paddr, gfp_t gfp)
{
	unsigned long i, pfn = paddr >> table_shift(sd->tbl);
	int ret;

	lockdep_assert_held(&sd->lock);
	for (i = 0; i < n; i++) {
		ret = xa_err(xa_store(&sd->pfns, entry + i,
				      xa_mk_value(pfn + i), gfp));
		if (ret) {
			pfns_forget(sd, entry, i);
			return ret;
		}
	}
	return 0;
}

static int spapr_tce_map_pages(struct iommu_domain *domain, unsigned long iova,
			       phys_addr_t paddr, size_t pgsize, size_t pgcount,
			       int prot, gfp_t gfp, size_t *mapped)
{
	struct spapr_tce_domain *sd = to_spapr_domain(domain);
	unsigned long perm = prot_to_tce_perm(prot);
	unsigned long entry = iova >> table_shift(sd->tbl);
	unsigned long done = 0, n;
	int ret = 0;

	if (!perm || pgsize != table_pgsize(sd->tbl) ||
	    !range_in_window(sd->tbl, entry, pgcount))
		return -EINVAL;

	mutex_lock(&sd->lock);
	ret = sd->failed ? -EIO : pfns_record(sd, entry, pgcount, paddr, gfp);
	if (ret)
		goto out;
	while (!ret && done < pgcount) {
		n = batch_len(sd->tbl, entry + done, pgcount - done);
		ret = map_batch(sd, entry + done, n, paddr + done * pgsize, perm);
		if (!ret)
			done += n;
		cond_resched();
	}
	/* All or nothing */
	if (ret) {
		if (done && clear_entries(sd, entry, done))
			ret = -EIO;
		pfns_forget(sd, entry, pgcount);
	}
out:
	mutex_unlock(&sd->lock);

	if (!ret)
		*mapped += pgcount * pgsize;
	return ret;
}

static size_t spapr_tce_unmap_pages(struct iommu_domain *domain,
				    unsigned long iova, size_t pgsize,
				    size_t pgcount,
				    struct iommu_iotlb_gather *gather)
{
	struct spapr_tce_domain *sd = to_spapr_domain(domain);
	unsigned long entry = iova >> table_shift(sd->tbl);

	if (pgsize != table_pgsize(sd->tbl) ||
	    !range_in_window(sd->tbl, entry, pgcount))
		return 0;

	/*
	 * Entries that could not be cleared keep their pages: the range is
	 * unmapped as far as the caller is concerned, who may unpin it.
	 */
	mutex_lock(&sd->lock);
	clear_entries(sd, entry, pgcount);
	pfns_forget(sd, entry, pgcount);
	mutex_unlock(&sd->lock);
	return pgcount * pgsize;
}

static phys_addr_t spapr_tce_iova_to_phys(struct iommu_domain *domain,
					  dma_addr_t iova)
{
	struct spapr_tce_domain *sd = to_spapr_domain(domain);
	struct iommu_table *tbl = sd->tbl;
	unsigned long entry = iova >> table_shift(tbl);
	void *pfn;

	/* IOMMUFD does not race a lookup with the unmap of the same range */
	pfn = xa_load(&sd->pfns, entry);
	if (!pfn)
		return 0;
	return ((phys_addr_t)xa_to_value(pfn) << table_shift(tbl)) |
	       (iova & (table_pgsize(tbl) - 1));
}

static struct iommu_table_group *table_group_of(struct iommu_group *group)
{
	return group ? iommu_group_get_iommudata(group) : NULL;
}

/*
 * The window is the PE's as long as the table group holds it: a release of
 * the PE closes it, and a later owner may have opened another in the slot.
 */
static bool window_is_open(struct spapr_tce_domain *sd)
{
	return READ_ONCE(sd->table_group->tables[sd->num]) == sd->tbl;
}

static int spapr_tce_paging_attach_dev(struct iommu_domain *domain,
				       struct device *dev,
				       struct iommu_domain *old)
{
	struct spapr_tce_domain *sd = to_spapr_domain(domain);
	struct iommu_group *group = iommu_group_get(dev);
	int ret = 0;

	/* Another PE, or ours released since: IOMMUFD tries another domain */
	if (group != sd->group || !window_is_open(sd))
		ret = -EINVAL;
	iommu_group_put(group);
	return ret;
}

static void spapr_tce_paging_free(struct iommu_domain *domain)
{
	struct spapr_tce_domain *sd = to_spapr_domain(domain);
	struct iommu_table_group *tg = sd->table_group;

	if (window_is_open(sd))
		tg->ops->unset_window(tg, sd->num);
	iommu_tce_table_put(sd->tbl);
	iommu_group_put(sd->group);
	kfree(sd->buf);
	xa_destroy(&sd->pfns);
	mutex_destroy(&sd->lock);
	kfree(sd);
}

static const struct iommu_domain_ops spapr_tce_paging_ops = {
	.attach_dev = spapr_tce_paging_attach_dev,
	.map_pages = spapr_tce_map_pages,
	.unmap_pages = spapr_tce_unmap_pages,
	.iova_to_phys = spapr_tce_iova_to_phys,
	.free = spapr_tce_paging_free,
};

/* The largest page size offered that is not larger than a CPU page */
static u32 default_page_shift(const struct iommu_table_group *tg)
{
	u64 sizes = tg->pgsizes & GENMASK_ULL(PAGE_SHIFT, 0);

	return sizes ? __fls(sizes) : 0;
}

static int window_req_init(const struct iommu_table_group *tg,
			   const struct iommu_user_data *user_data,
			   struct spapr_tce_window_req *req)
{
	struct iommu_hwpt_spapr_tce data = {};
	int ret;

	if (user_data) {
		ret = iommu_copy_struct_from_user(&data, user_data,
						  IOMMU_HWPT_DATA_SPAPR_TCE,
						  window_size);
		if (ret)
			return ret;
	}

	req->page_shift = data.page_shift ?: default_page_shift(tg);
	req->levels = data.levels ?: 1;
	req->size = data.window_size;
	req->shrink = !req->size;
	if (req->shrink)
		req->size = roundup_pow_of_two(memblock_end_of_DRAM());

	if (req->page_shift >= BITS_PER_LONG ||
	    !(tg->pgsizes & BIT_ULL(req->page_shift)))
		return -EINVAL;
	if (!is_power_of_2(req->size) || req->size < BIT_ULL(req->page_shift))
		return -EINVAL;
	if (tg->max_levels && req->levels > tg->max_levels)
		return -EINVAL;
	return 0;
}

/* The 64-bit window's slot where the PE has two, else the only one */
static int window_slot(const struct iommu_table_group *tg)
{
	return tg->max_dynamic_windows_supported > 1 ? 1 : 0;
}

/* Open the window in slot @num, smaller if the default size is refused */
static int window_open(struct iommu_table_group *tg, int num,
		       struct spapr_tce_window_req *req,
		       struct iommu_table **ptbl)
{
	long ret;

	for (;;) {
		ret = tg->ops->create_table(tg, num, req->page_shift, req->size,
					    req->levels, ptbl);
		if (ret != -ENOSPC && ret != -EINVAL)
			break;
		if (!req->shrink || req->size <= DOMAIN_MIN_WINDOW)
			break;
		req->size >>= 1;
	}
	if (ret)
		return ret;

	ret = tg->ops->set_window(tg, num, *ptbl);
	if (ret) {
		tg->ops->unset_window(tg, num);
		iommu_tce_table_put(*ptbl);
	}
	return ret;
}

static void domain_geometry_set(struct spapr_tce_domain *sd)
{
	struct iommu_table *tbl = sd->tbl;
	u64 start = (u64)tbl->it_offset << table_shift(tbl);
	u64 size = (u64)tbl->it_size << table_shift(tbl);

	sd->domain.pgsize_bitmap = table_pgsize(tbl);
	sd->domain.geometry.aperture_start = start;
	sd->domain.geometry.aperture_end = start + size - 1;
	sd->domain.geometry.force_aperture = true;
}

/**
 * spapr_tce_domain_alloc_group() - a paging domain for an IOMMU group's PE
 * @group: the PE's group, whose iommudata is its table group; the domain
 *	takes a reference. The PE must be owned (the blocked domain).
 * @user_data: a struct iommu_hwpt_spapr_tce (IOMMU_HWPT_DATA_SPAPR_TCE)
 *	choosing the window, or NULL for the default one.
 *
 * Opens the window: the page size asked for, or the largest the PE offers
 * that is not larger than a CPU page; the size asked for, or RAM rounded
 * up to a power of two (halved down to 256 MiB while the firmware refuses
 * it). What spapr_tce_domain_alloc_paging() does for a device; KUnit
 * calls it with a group of its own.
 *
 * Context: process context, may sleep; the IOMMU group mutex is not held.
 * Return: the domain, or an ERR_PTR(): -EOPNOTSUPP for a foreign data
 * type, -EINVAL for a window the PE cannot have, -ENODEV without a table
 * group, the errno of the table group ops (-EPERM: the PE is not owned;
 * -EBUSY: the slot has a window already).
 */
struct iommu_domain *
spapr_tce_domain_alloc_group(struct iommu_group *group,
			     const struct iommu_user_data *user_data)
{
	struct iommu_table_group *tg = table_group_of(group);
	struct spapr_tce_window_req req;
	struct spapr_tce_domain *sd;
	int ret;

	if (!tg || !tg->ops || !tg->ops->create_table)
		return ERR_PTR(-ENODEV);
	ret = window_req_init(tg, user_data, &req);
	if (ret)
		return ERR_PTR(ret);

	sd = kzalloc_obj(*sd, GFP_KERNEL_ACCOUNT);
	if (!sd)
		return ERR_PTR(-ENOMEM);
	sd->buf = kzalloc_objs(*sd->buf, DOMAIN_BATCH, GFP_KERNEL_ACCOUNT);
	ret = -ENOMEM;
	if (!sd->buf)
		goto err;
	sd->num = window_slot(tg);
	ret = window_open(tg, sd->num, &req, &sd->tbl);
	if (ret)
		goto err;

	mutex_init(&sd->lock);
	xa_init(&sd->pfns);
	iommu_group_ref_get(group);
	sd->group = group;
	sd->table_group = tg;
	/* IOMMUFD calls us directly, not through the core's initialisation */
	sd->domain.type = IOMMU_DOMAIN_UNMANAGED;
	sd->domain.ops = &spapr_tce_paging_ops;
	domain_geometry_set(sd);
	return &sd->domain;

err:
	kfree(sd->buf);
	kfree(sd);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_IF_KUNIT(spapr_tce_domain_alloc_group);

/**
 * spapr_tce_domain_alloc_paging() - a paging domain for a device's PE
 * @dev: a device of the PE, which must be owned (the blocked domain).
 * @flags: IOMMU_HWPT_ALLOC_* flags; none is supported.
 * @user_data: see spapr_tce_domain_alloc_group().
 *
 * The domain_alloc_paging_flags op of the sPAPR TCE IOMMU.
 *
 * Context: process context, may sleep.
 * Return: the domain, or an ERR_PTR(): -EOPNOTSUPP for flags, or see
 * spapr_tce_domain_alloc_group().
 */
struct iommu_domain *
spapr_tce_domain_alloc_paging(struct device *dev, u32 flags,
			      const struct iommu_user_data *user_data)
{
	struct iommu_group *group;
	struct iommu_domain *domain;

	if (flags)
		return ERR_PTR(-EOPNOTSUPP);
	group = iommu_group_get(dev);
	domain = spapr_tce_domain_alloc_group(group, user_data);
	iommu_group_put(group);
	return domain;
}

/**
 * spapr_tce_hw_info() - IOMMU_GET_HW_INFO of a device on a TCE IOMMU
 * @dev: the device.
 * @length: set to the size of the returned data.
 * @type: the type asked for (IOMMU_HW_INFO_TYPE_DEFAULT or
 *	IOMMU_HW_INFO_TYPE_SPAPR_TCE); set to the type returned.
 *
 * Return: a kmalloc()ed struct iommu_hw_info_spapr_tce describing the
 * device's PE, or an ERR_PTR(): -EOPNOTSUPP for another type, -ENODEV
 * without a table group, -ENOMEM.
 */
void *spapr_tce_hw_info(struct device *dev, u32 *length,
			enum iommu_hw_info_type *type)
{
	struct iommu_group *group;
	struct iommu_table_group *tg;
	struct iommu_hw_info_spapr_tce *info;

	if (*type != IOMMU_HW_INFO_TYPE_DEFAULT &&
	    *type != IOMMU_HW_INFO_TYPE_SPAPR_TCE)
		return ERR_PTR(-EOPNOTSUPP);

	group = iommu_group_get(dev);
	tg = table_group_of(group);
	info = tg ? kzalloc_obj(*info) : ERR_PTR(-ENODEV);
	if (!info)
		info = ERR_PTR(-ENOMEM);
	if (!IS_ERR(info)) {
		info->max_windows = tg->max_dynamic_windows_supported;
		info->max_levels = tg->max_levels;
		info->page_sizes = tg->pgsizes;
		info->dma32_window_start = tg->tce32_start;
		info->dma32_window_size = tg->tce32_size;
		*length = sizeof(*info);
		*type = IOMMU_HW_INFO_TYPE_SPAPR_TCE;
	}
	iommu_group_put(group);
	return info;
}
