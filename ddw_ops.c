// SPDX-License-Identifier: GPL-2.0-only
/*
 * pSeries dynamic DMA windows for VFIO: the iommu_table_group_ops of a PE
 * (partitionable endpoint) over the RTAS DDW calls and TCE windows with a
 * sparse shadow.
 *
 * The first owner of a PE takes its DMA windows from the host
 * (ddw_host.c); create_table then opens the window the user asks for: the
 * default 32-bit window, or a DDW through ibm,create-pe-dma-window, both
 * written through a tce_window; the last release closes them and gives
 * the host its windows back. The device-tree conventions of the in-tree
 * platform code are kept ("ibm,dma-window", "ibm,dma-window-saved",
 * "linux,dma64-ddr-window-info") so that it finds each PE as it expects
 * once we are done with it.
 *
 * Who installs these ops on a PE: ddw_module.c (the loadable module, on
 * every PE at load) or ddw_intree.c (built in, on every new table group).
 * Locking: ddw.h.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/pci.h>
#include <linux/printk.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <asm/iommu.h>
#include <asm/pci-bridge.h>

#include "ddw.h"
#include "tce_userspace_view.h"
#include "tce_window.h"

/*
 * Most TCEs one window may have. Platforms count TCEs in 32 bits (QEMU
 * truncates larger windows and leaves its state broken), and 2^31 4K TCEs
 * already address 8 TiB.
 */
#define MAX_WINDOW_TCES_ORDER	31

/* The one lock of the DDW platform ops: see "Locking" in ddw.h */
DEFINE_MUTEX(ddw_mutex);
/* Every PE we know, managed or skipped */
LIST_HEAD(ddw_pe_list);

/* ---- windows opened through our ops -------------------------------- */

static bool ddw_open(struct ddw_pe *pe)
{
	int i;

	lockdep_assert_held(&ddw_mutex);
	for (i = 0; i < NR_WINDOWS; i++)
		if (pe->slot[i].win && !pe->slot[i].is_default)
			return true;
	return false;
}

static struct tce_window *window_new(struct ddw_pe *pe, u32 liobn, u64 start,
				     unsigned int page_shift, u64 size)
{
	struct tce_window_params params = {
		.liobn = liobn,
		.start = start,
		.size = size,
		.page_shift = page_shift,
		.busno = pe->busno,
		.nid = pe->phb->node,
	};

	return tce_window_create(&params, tce_hcall_backend());
}

static int open_default_window(struct ddw_pe *pe, u64 size,
			       struct ddw_slot *slot)
{
	bool was_present = pe->default_present;
	struct tce_window *win;
	struct default_window w;
	int ret;

	lockdep_assert_held(&ddw_mutex);
	ret = ddw_default_window_restore(pe);
	if (ret)
		return ret;

	ret = ddw_default_window_parse(pe->np, DMA_WINDOW_PROP, &w);
	if (ret)
		goto undo;

	/* A kept window may hold TCEs the host leaked: start clean */
	if (was_present) {
		ret = ddw_platform_window_clear(pe, w.liobn, w.start,
						DEFAULT_PAGE_SHIFT,
						size >> DEFAULT_PAGE_SHIFT);
		if (ret)
			goto undo;
	}

	win = window_new(pe, w.liobn, w.start, DEFAULT_PAGE_SHIFT, size);
	if (IS_ERR(win)) {
		ret = PTR_ERR(win);
		goto undo;
	}

	*slot = (struct ddw_slot){ .win = win, .is_default = true };
	return 0;

undo:
	if (!was_present)
		ddw_default_window_remove(pe);
	return ret;
}

/*
 * Check the query against the request. -ENOSPC only when no window slot
 * is left; a request larger than the largest block the platform offers is
 * -EINVAL, as in-tree, so the user retries with a smaller window.
 */
static int ddw_check_query(const struct ddw_query *q, unsigned int page_shift,
			   u64 window_size)
{
	if (!q->windows_available)
		return -ENOSPC;
	if (!(ddw_query_pgsizes(q->page_sizes) & (1ULL << page_shift)))
		return -EINVAL;
	if (q->largest_block < (window_size >> page_shift))
		return -EINVAL;
	return 0;
}

/* Would a window at [@start, @start + @size) overlap one already open? */
static bool window_overlaps(struct ddw_pe *pe, u64 start, u64 size)
{
	const struct iommu_table *tbl;
	u64 first, end;
	int i;

	lockdep_assert_held(&ddw_mutex);
	for (i = 0; i < NR_WINDOWS; i++) {
		if (!pe->slot[i].win)
			continue;
		tbl = &pe->slot[i].win->tbl;
		first = (u64)tbl->it_offset << tbl->it_page_shift;
		end = first + ((u64)tbl->it_size << tbl->it_page_shift);
		if (start < end && first < start + size)
			return true;
	}
	return false;
}

/*
 * Let go of a window whose platform window is gone or about to be: no more
 * hypercalls through it, and the PE keeps what it cost.
 */
static void window_drop(struct ddw_pe *pe, struct tce_window *win)
{
	tce_window_detach(win);
	tce_call_stats_fold(&pe->calls, &win->calls);
	tce_window_put(win);
}

static struct property *window_property_add(struct ddw_pe *pe,
					    struct tce_window *win)
{
	struct iommu_table *tbl = &win->tbl;

	return ddw_property_add(pe, DMA64_PROPNAME, win->liobn,
				(u64)tbl->it_offset << tbl->it_page_shift,
				tbl->it_page_shift,
				ilog2(tbl->it_size) + tbl->it_page_shift);
}

/* DDWs of the PE open in the firmware, besides @liobn */
static unsigned int ddws_open_besides(struct ddw_pe *pe, u32 liobn)
{
	unsigned int i, n = 0;

	lockdep_assert_held(&ddw_mutex);
	for (i = 0; i < NR_WINDOWS; i++)
		if (pe->slot[i].win && !pe->slot[i].is_default &&
		    pe->slot[i].win->liobn != liobn)
			n++;
	for (i = 0; i < pe->nr_stale; i++)
		if (pe->stale_liobn[i] != liobn)
			n++;
	return n;
}

/*
 * PAPR: when ibm,remove-pe-dma-window removes the last window of a PE and
 * that window is not the default one, the platform restores the default
 * window. The default one is the default window's LIOBN: a DDW created
 * while the default window is removed may get that LIOBN (QEMU gives it),
 * and its removal restores nothing. The host's DDWs went when the PE was
 * taken, so ours are all the PE has. Unsure (no default window property),
 * say no: the release then resets the PE's windows.
 */
static bool removal_restores_default(struct ddw_pe *pe, u32 liobn)
{
	struct default_window w;

	lockdep_assert_held(&ddw_mutex);
	return !pe->default_present && !ddws_open_besides(pe, liobn) &&
	       !ddw_pe_default_window(pe, &w) && w.liobn != liobn;
}

/*
 * Remove a DDW of ours. While the PE is owned, a default window the
 * platform restored goes again, as when the PE was taken: its resources
 * are the DDWs'. At release it stays, for the host.
 */
static int ddw_remove(struct ddw_pe *pe, u32 liobn)
{
	int ret;

	lockdep_assert_held(&ddw_mutex);
	ret = ddw_rtas_remove(pe, liobn);
	if (ret || !removal_restores_default(pe, liobn))
		return ret;

	ddw_default_window_returned(pe);
	if (pe->owners && ddw_default_window_remove(pe))
		pr_warn("%pOF: the default window the platform restored stays\n",
			pe->np);
	return 0;
}

/*
 * A DDW closed while the firmware refused ibm,remove-pe-dma-window is
 * still open there (its TCEs cleared) and holds one of the PE's windows:
 * keep its LIOBN, to remove it again at release and before the next
 * creation, which it would otherwise deny. The list outlives the
 * ownership: a DDW still refused at release is removed before the PE's
 * next DDW. A LIOBN leaves it when ddw_stale_remove() removes its window or
 * finds the firmware no longer knows it; ibm,reset-pe-dma-windows empties
 * it (see ddw_default_window_restore()).
 */
static void stale_add(struct ddw_pe *pe, u32 liobn)
{
	lockdep_assert_held(&ddw_mutex);
	if (pe->nr_stale < ARRAY_SIZE(pe->stale_liobn))
		pe->stale_liobn[pe->nr_stale++] = liobn;
	else
		pr_err("%pOF: DDW %#x left open in the firmware\n", pe->np,
		       liobn);
}

/**
 * ddw_stale_remove() - remove the DDWs the firmware would not remove
 * @pe: the PE.
 *
 * Those still refused stay listed. A LIOBN the firmware no longer knows as
 * a window (parameter error) is dropped: the host's own DMA code may have
 * reset the PE's windows while it was not owned.
 *
 * Context: ddw_mutex held.
 * Return: how many stay listed.
 */
unsigned int ddw_stale_remove(struct ddw_pe *pe)
{
	unsigned int i = 0;

	lockdep_assert_held(&ddw_mutex);
	/* The list stays true at each removal: ddw_remove() counts it */
	while (i < pe->nr_stale) {
		if (ddw_remove(pe, pe->stale_liobn[i]) == -EIO)
			i++;
		else
			pe->stale_liobn[i] = pe->stale_liobn[--pe->nr_stale];
	}
	return pe->nr_stale;
}

static int open_ddw(struct ddw_pe *pe, unsigned int page_shift,
		    u64 window_size, struct ddw_slot *slot)
{
	struct tce_window *win;
	struct property *prop;
	struct ddw_created c;
	struct ddw_query q;
	int ret;

	lockdep_assert_held(&ddw_mutex);
	ddw_stale_remove(pe);
	ret = ddw_rtas_query(pe, &q);
	if (ret)
		return ret;
	ret = ddw_check_query(&q, page_shift, window_size);
	if (ret)
		return ret;

	ret = ddw_rtas_create(pe, page_shift, ilog2(window_size), &c);
	if (ret)
		return ret;
	if (window_overlaps(pe, c.start, window_size)) {
		pr_warn("%pOF: platform placed a new window at 0x%llx over an open one\n",
			pe->np, c.start);
		ddw_remove(pe, c.liobn);
		return -EBUSY;
	}

	win = window_new(pe, c.liobn, c.start, page_shift, window_size);
	if (IS_ERR(win)) {
		ddw_remove(pe, c.liobn);
		return PTR_ERR(win);
	}

	/* One DDW property per node: a second DDW goes without */
	prop = window_property_add(pe, win);
	if (IS_ERR(prop) && PTR_ERR(prop) != -EEXIST) {
		window_drop(pe, win);
		ddw_remove(pe, c.liobn);
		return PTR_ERR(prop);
	}

	*slot = (struct ddw_slot){ .win = win,
				   .prop = IS_ERR(prop) ? NULL : prop };
	return 0;
}

/* Close window @num: clear leftovers, remove it, drop tables[num] */
static int close_window(struct ddw_pe *pe, int num)
{
	struct ddw_slot *slot = &pe->slot[num];
	struct tce_window *win = slot->win;
	int ret = 0;

	lockdep_assert_held(&ddw_mutex);
	/*
	 * Not an error: IOMMUFD releases a PE before it unmaps and frees the
	 * paging domain whose window this is (a device closed before its
	 * iommufd), and a killed container user may leave entries too.
	 */
	if (tce_window_mapped(win)) {
		pr_debug("%pOF: window %d closed with %lu TCEs, clearing\n",
			 pe->np, num, tce_window_mapped(win));
		tce_window_clear_all(win);
	}

	if (!slot->is_default) {
		ret = ddw_remove(pe, win->liobn);
		if (ret)
			stale_add(pe, win->liobn);
	} else if (pe->has_ddw && pe->has_reset) {
		ret = ddw_default_window_remove(pe);
	}

	if (slot->prop && of_remove_property(pe->np, slot->prop))
		pr_warn("%pOF: cannot remove %s\n", pe->np, DMA64_PROPNAME);

	pe->table_group->tables[num] = NULL;
	*slot = (struct ddw_slot){ };
	window_drop(pe, win);
	return ret;
}

/* ---- PE lookup and ownership --------------------------------------- */

/**
 * ddw_pe_find() - our PE of a table group
 * @tg: the table group.
 *
 * Context: ddw_mutex held.
 * Return: the PE, or NULL when @tg is not listed.
 */
struct ddw_pe *ddw_pe_find(struct iommu_table_group *tg)
{
	struct ddw_pe *pe;

	lockdep_assert_held(&ddw_mutex);
	list_for_each_entry(pe, &ddw_pe_list, node)
		if (pe->table_group == tg)
			return pe;
	return NULL;
}

static struct ddw_owner *owner_find(struct ddw_pe *pe, struct device *dev)
{
	struct ddw_owner *o;

	lockdep_assert_held(&ddw_mutex);
	list_for_each_entry(o, &pe->owner_list, node)
		if (o->dev == dev)
			return o;
	return NULL;
}

/*
 * First owner: clear the PE of host windows, keep the default table. The
 * module reference held while the PE is owned is taken and dropped inside
 * the call, which the module's unload waits out (ddw_module.c).
 */
static int pe_take(struct ddw_pe *pe)
{
	int ret;

	lockdep_assert_held(&ddw_mutex);
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;

	ret = ddw_host_evict(pe);
	if (ret)
		module_put(THIS_MODULE);
	return ret;
}

/* Last owner gone: close our windows, give the host its windows back */
static void pe_release(struct ddw_pe *pe)
{
	int i;

	lockdep_assert_held(&ddw_mutex);
	for (i = 0; i < NR_WINDOWS; i++)
		if (pe->slot[i].win)
			close_window(pe, i);
	if (ddw_stale_remove(pe))
		pr_err("%pOF: %u DDWs left open in the firmware, removed again before the next DDW of the PE\n",
		       pe->np, pe->nr_stale);

	ddw_host_restore(pe);
	module_put(THIS_MODULE);
}

static long ddw_take_ownership(struct iommu_table_group *tg,
			       struct device *dev)
{
	struct ddw_owner *o;
	struct ddw_pe *pe;
	long ret = 0;

	mutex_lock(&ddw_mutex);
	pe = ddw_pe_find(tg);
	if (WARN_ON(!pe)) {
		ret = -ENODEV;
		goto out;
	}

	o = owner_find(pe, dev);
	if (o && o->owning)
		goto out;	/* already ours */
	if (!o) {
		o = kzalloc_obj(*o);
		if (!o) {
			ret = -ENOMEM;
			goto out;
		}
		o->dev = get_device(dev);
		list_add_tail(&o->node, &pe->owner_list);
	}

	if (!pe->owners) {
		ret = pe_take(pe);
		if (ret) {
			list_del(&o->node);
			put_device(o->dev);
			kfree(o);
			goto out;
		}
	}
	o->owning = true;
	pe->owners++;
	set_iommu_table_base(dev, NULL);
out:
	mutex_unlock(&ddw_mutex);
	return ret;
}

/* After the last release: every device of the period gets tables[0] back */
static void owners_reset_table_base(struct ddw_pe *pe)
{
	struct ddw_owner *o, *tmp;

	lockdep_assert_held(&ddw_mutex);
	list_for_each_entry_safe(o, tmp, &pe->owner_list, node) {
		set_iommu_table_base(o->dev, pe->table_group->tables[0]);
		list_del(&o->node);
		put_device(o->dev);
		kfree(o);
	}
}

static void ddw_release_ownership(struct iommu_table_group *tg,
				  struct device *dev)
{
	struct iommu_table_group_ops *orig = NULL;
	struct ddw_owner *o;
	struct ddw_pe *pe;

	mutex_lock(&ddw_mutex);
	pe = ddw_pe_find(tg);
	if (WARN_ON(!pe))
		goto out;

	o = owner_find(pe, dev);
	if (!o || !o->owning) {
		/* Taken by the in-tree ops before we were installed */
		if (!pe->owners)
			orig = pe->orig_ops;
		goto out;
	}

	o->owning = false;
	if (--pe->owners)
		goto out;

	pe_release(pe);
	owners_reset_table_base(pe);
out:
	mutex_unlock(&ddw_mutex);
	if (orig && orig->release_ownership)
		orig->release_ownership(tg, dev);
}

/* ---- windows: the group ops ---------------------------------------- */

static bool page_shift_valid(u32 page_shift)
{
	return page_shift >= MIN_PAGE_SHIFT && page_shift <= MAX_PAGE_SHIFT;
}

static bool window_geometry_valid(u32 page_shift, u64 window_size)
{
	return page_shift_valid(page_shift) && is_power_of_2(window_size) &&
	       window_size >= (1ULL << page_shift);
}

/*
 * Bytes the view of such a window can grow to: its chunk directory, and
 * every chunk (about 8K per 512 entries) as a user who maps the whole
 * window makes us allocate them. The VFIO backends charge this figure to
 * locked_vm at creation, as they charge an in-tree table's userspace
 * view, so that the user pays up front for all a window can cost.
 */
static unsigned long ddw_get_table_size(__u32 page_shift, __u64 window_size,
					__u32 levels)
{
	if (levels > 1 || !window_geometry_valid(page_shift, window_size))
		return 0;
	return tce_view_max_bytes(window_size >> page_shift);
}

static int check_create(struct iommu_table_group *tg, int num,
			u32 page_shift, u64 window_size, u32 levels)
{
	if (num < 0 || num >= NR_WINDOWS || levels > 1)
		return -EINVAL;
	if (!window_geometry_valid(page_shift, window_size))
		return -EINVAL;
	if (!(tg->pgsizes & (1ULL << page_shift)))
		return -EINVAL;
	if (ilog2(window_size) - page_shift > MAX_WINDOW_TCES_ORDER)
		return -EINVAL;
	return 0;
}

/*
 * Window 0 with 4K pages that fits the default window is the default
 * window, unless bringing it back (ibm,reset-pe-dma-windows) would destroy
 * an open DDW.
 */
static bool wants_default_window(struct ddw_pe *pe, int num, u32 page_shift,
				 u64 window_size)
{
	lockdep_assert_held(&ddw_mutex);
	return num == 0 && page_shift == DEFAULT_PAGE_SHIFT &&
	       window_size <= pe->table_group->tce32_size &&
	       (pe->default_present || !ddw_open(pe));
}

static int open_window(struct ddw_pe *pe, int num, u32 page_shift,
		       u64 window_size, struct ddw_slot *slot)
{
	lockdep_assert_held(&ddw_mutex);
	if (wants_default_window(pe, num, page_shift, window_size))
		return open_default_window(pe, window_size, slot);
	if (!pe->has_ddw)
		return num == 0 ? -EINVAL : -ENOSPC;
	return open_ddw(pe, page_shift, window_size, slot);
}

static long ddw_create_table(struct iommu_table_group *tg, int num,
			     __u32 page_shift, __u64 window_size,
			     __u32 levels, struct iommu_table **ptbl)
{
	struct ddw_slot slot;
	struct ddw_pe *pe;
	long ret;

	ret = check_create(tg, num, page_shift, window_size, levels);
	if (ret)
		return ret;

	mutex_lock(&ddw_mutex);
	pe = ddw_pe_find(tg);
	if (WARN_ON(!pe) || !pe->owners) {
		ret = -EPERM;
		goto out;
	}
	if (pe->slot[num].win || tg->tables[num]) {
		ret = -EBUSY;
		goto out;
	}

	ret = open_window(pe, num, page_shift, window_size, &slot);
	if (ret)
		goto out;

	pe->slot[num] = slot;
	tg->tables[num] = &slot.win->tbl;	/* the creation reference */
	*ptbl = iommu_tce_table_get(&slot.win->tbl);
out:
	mutex_unlock(&ddw_mutex);
	return ret;
}

static long ddw_set_window(struct iommu_table_group *tg, int num,
			   struct iommu_table *tbl)
{
	if (num < 0 || num >= NR_WINDOWS)
		return -EINVAL;
	/* create_table() programmed the window already */
	return tbl == tg->tables[num] ? 0 : -EPERM;
}

static long ddw_unset_window(struct iommu_table_group *tg, int num)
{
	struct ddw_pe *pe;
	long ret = 0;

	if (num < 0 || num >= NR_WINDOWS)
		return -EINVAL;

	mutex_lock(&ddw_mutex);
	pe = ddw_pe_find(tg);
	if (WARN_ON(!pe) || !tg->tables[num])
		goto out;
	if (tce_window_from_table(tg->tables[num]) != pe->slot[num].win) {
		ret = -EPERM;	/* not a window we opened */
		goto out;
	}
	ret = close_window(pe, num);
out:
	mutex_unlock(&ddw_mutex);
	return ret;
}

struct iommu_table_group_ops ddw_ops = {
	.get_table_size = ddw_get_table_size,
	.create_table = ddw_create_table,
	.set_window = ddw_set_window,
	.unset_window = ddw_unset_window,
	.take_ownership = ddw_take_ownership,
	.release_ownership = ddw_release_ownership,
};

/* ---- installing our ops on a PE ------------------------------------ */

/*
 * What we offer: 4K plus the DDW page sizes; as many windows as there are
 * free slots plus those take_ownership frees (the default window, a host
 * DDW), at most NR_WINDOWS; 0 without DDW support.
 */
static void pe_compute_fields(struct ddw_pe *pe, struct group_fields *f)
{
	struct default_window w;
	struct ddw_query q;
	u32 windows;

	*f = pe->saved;
	f->pgsizes = SZ_4K;
	f->max_levels = 1;
	f->max_dynamic_windows_supported = 0;

	if (!ddw_pe_default_window(pe, &w)) {
		f->tce32_start = w.start;
		f->tce32_size = w.size;
	}

	if (!pe->has_ddw || ddw_rtas_query(pe, &q)) {
		pe->has_ddw = false;
		return;
	}

	windows = q.windows_available + pe->default_present +
		  ddw_host_ddw_present(pe);
	f->max_dynamic_windows_supported = clamp(windows, 1U, (u32)NR_WINDOWS);
	f->pgsizes |= ddw_query_pgsizes(q.page_sizes);
}

static void group_fields_save(struct iommu_table_group *tg,
			      struct group_fields *f)
{
	f->tce32_start = tg->tce32_start;
	f->tce32_size = tg->tce32_size;
	f->pgsizes = tg->pgsizes;
	f->max_dynamic_windows_supported = tg->max_dynamic_windows_supported;
	f->max_levels = tg->max_levels;
}

/**
 * ddw_group_fields_apply() - set the fields of a table group we override
 * @tg: the table group.
 * @f: their values.
 */
void ddw_group_fields_apply(struct iommu_table_group *tg,
			    const struct group_fields *f)
{
	tg->tce32_start = f->tce32_start;
	tg->tce32_size = f->tce32_size;
	tg->pgsizes = f->pgsizes;
	tg->max_dynamic_windows_supported = f->max_dynamic_windows_supported;
	tg->max_levels = f->max_levels;
}

/**
 * ddw_pe_node_of() - the PE node of a PCI function
 * @pdev: the function.
 *
 * Return: the node of @pdev or of a parent that carries the table group,
 * or NULL.
 */
struct device_node *ddw_pe_node_of(struct pci_dev *pdev)
{
	struct device_node *dn;

	for (dn = pci_device_to_OF_node(pdev); dn && PCI_DN(dn); dn = dn->parent)
		if (PCI_DN(dn)->table_group)
			return dn;
	return NULL;
}

static struct ddw_pe *pe_alloc(struct pci_dev *pdev, struct device_node *np)
{
	struct pci_dn *dev_pdn = PCI_DN(pci_device_to_OF_node(pdev));
	struct ddw_pe *pe;

	pe = kzalloc_obj(*pe);
	if (!pe)
		return NULL;

	pe->np = of_node_get(np);
	pe->table_group = PCI_DN(np)->table_group;
	pe->phb = dev_pdn->phb;
	pe->cfg_addr = (dev_pdn->busno << 16) | (dev_pdn->devfn << 8);
	pe->busno = pe->phb->bus ? pe->phb->bus->number : 0;
	pe->default_present = !!of_find_property(np, DMA_WINDOW_PROP, NULL);
	INIT_LIST_HEAD(&pe->owner_list);
	return pe;
}

/**
 * ddw_pe_free() - free a PE taken off ddw_pe_list
 * @pe: the PE, without owners, ops uninstalled, debugfs files removed.
 */
void ddw_pe_free(struct ddw_pe *pe)
{
	of_node_put(pe->np);
	kfree(pe);
}

/**
 * ddw_pe_add() - list the PE of a PCI function, once
 * @pdev: the function.
 *
 * The first function of a PE adds it to ddw_pe_list, not yet managed.
 *
 * Return: the new PE, or NULL when @pdev has no PE, its PE is listed
 * already, or memory ran out.
 */
struct ddw_pe *ddw_pe_add(struct pci_dev *pdev)
{
	struct device_node *np = ddw_pe_node_of(pdev);
	struct ddw_pe *pe = NULL;

	if (!np)
		return NULL;

	mutex_lock(&ddw_mutex);
	/* A known PE: @pdev is another function of it */
	if (!ddw_pe_find(PCI_DN(np)->table_group))
		pe = pe_alloc(pdev, np);
	if (pe)
		list_add_tail(&pe->node, &ddw_pe_list);
	mutex_unlock(&ddw_mutex);
	return pe;
}

/**
 * ddw_pe_install() - install our ops on a listed PE
 * @pe: the PE, from ddw_pe_add().
 * @ops: &ddw_ops, or the module's ops that call them (ddw_module.c).
 *
 * Reads the PE's DDW capabilities from the device tree and the platform,
 * saves the table group fields we override and sets ours, then the ops;
 * the ops the table group had become @pe->orig_ops (NULL when they were
 * @ops already). Adds the PE's debugfs files.
 */
void ddw_pe_install(struct ddw_pe *pe, struct iommu_table_group_ops *ops)
{
	struct iommu_table_group *tg = pe->table_group;
	struct group_fields f;

	ddw_pe_read_tokens(pe);
	group_fields_save(tg, &pe->saved);
	pe_compute_fields(pe, &f);

	mutex_lock(&ddw_mutex);
	pe->orig_ops = tg->ops != ops ? tg->ops : NULL;
	ddw_group_fields_apply(tg, &f);
	WRITE_ONCE(tg->ops, ops);
	pe->managed = true;
	mutex_unlock(&ddw_mutex);

	ddw_pe_debugfs_add(pe);
	pr_info("%pOF: managed, group %d, ddw %s, reset %s, pgsizes %#llx, windows %u\n",
		pe->np, iommu_group_id(tg->group), pe->has_ddw ? "yes" : "no",
		pe->has_reset ? "yes" : "no", f.pgsizes,
		f.max_dynamic_windows_supported);
}
