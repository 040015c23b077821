// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host's DMA windows of a PE: evicted when a user takes the PE, so that
 * their platform resources go to the user's windows, and restored when the
 * last user releases it, so that a host driver bound again finds the PE as
 * the host DMA code left it. See ddw.h.
 *
 * The in-tree code also records the host DDWs it creates, in a list of
 * iommu.c (dma_win_list). Built in, the record of a window we remove is
 * dropped, and a host driver bound again after the release gets a new DDW
 * as at boot. The module cannot reach that list, so the record stays,
 * stale (ddw_record.c: memory hotplug is refused meanwhile); if a host
 * driver is bound again to the device later, the in-tree code believes
 * its DDW still exists and, for a direct-mapping DDW, DMAs through it. So
 * there release_ownership re-creates a removed direct-mapping DDW at the
 * same bus address and maps all RAM again; when the platform places it
 * elsewhere, it is removed and the host driver of that PE cannot DMA
 * until reboot (logged). A dynamic host DDW is not re-created: after the
 * release the stale entry, and the table base the release resets, send
 * the host to tables[0], which works. A take that fails after removing a
 * dynamic DDW leaves its table in the group and the table base of the
 * device that opened it there. Built in, that device's host driver gets a
 * new DDW when it binds again; the module's stale entry keeps it on the
 * removed window, so it cannot DMA until a take succeeds and is released.
 * QEMU never opens a dynamic DDW (its largest block, 2^37 TCEs, maps any
 * RAM directly), so no test shows it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/align.h>
#include <linux/bitops.h>
#include <linux/ioport.h>
#include <linux/lockdep.h>
#include <linux/minmax.h>
#include <linux/of.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/iommu.h>
#include <asm/tce.h>

#include "ddw.h"
#include "tce_window.h"

/* Clear @n entries from @ioba: one H_STUFF_TCE, or one H_PUT_TCE each */
static long platform_clear_run(struct ddw_pe *pe,
			       const struct tce_backend_ops *be, u32 liobn,
			       u64 ioba, unsigned int shift, u64 n)
{
	long rc = H_SUCCESS;
	u64 k;

	if (be->stuff)
		return tce_call_count(&pe->calls, TCE_CALL_STUFF,
				      be->stuff(liobn, ioba, 0, n));
	for (k = 0; k < n && rc == H_SUCCESS; k++)
		rc = tce_call_count(&pe->calls, TCE_CALL_PUT,
				    be->put(liobn, ioba + (k << shift), 0));
	return rc;
}

/**
 * ddw_platform_window_clear() - clear a platform window we have no shadow for
 * @pe: the PE, which counts the calls.
 * @liobn: the window.
 * @start: bus address of the first entry cleared.
 * @shift: IOMMU page shift of the window.
 * @entries: how many.
 *
 * Stuffs zeros, at most tce_stuff_max() (the PAPR 512) entries a call, or
 * puts them one by one without H_STUFF_TCE.
 *
 * Return: 0, or the errno of the first failed hypercall.
 */
int ddw_platform_window_clear(struct ddw_pe *pe, u32 liobn, u64 start,
			      unsigned int shift, u64 entries)
{
	const struct tce_backend_ops *be = tce_hcall_backend();
	u64 max = be->stuff ? tce_stuff_max() : TCE_BACKEND_MAX_BATCH;
	u64 done, n;
	long rc = H_SUCCESS;

	for (done = 0; done < entries && rc == H_SUCCESS; done += n) {
		n = min(entries - done, max);
		rc = platform_clear_run(pe, be, liobn, start + (done << shift),
					shift, n);
		cond_resched();
	}
	return tce_hstatus_to_errno(rc);
}

/* Drop tables of the in-tree code but keep its default table aside */
static void intree_tables_detach(struct ddw_pe *pe, u32 default_liobn)
{
	struct iommu_table_group *tg = pe->table_group;
	struct iommu_table *tbl;
	int i;

	lockdep_assert_held(&ddw_mutex);

	for (i = 0; i < NR_WINDOWS; i++) {
		tbl = tg->tables[i];
		if (!tbl)
			continue;
		tg->tables[i] = NULL;
		if (!pe->default_table && tbl->it_index == default_liobn)
			pe->default_table = tbl;	/* our ref now */
		else
			iommu_tce_table_put(tbl);
	}
}

/* Same test as the in-tree iommu_table_in_use(), which is not exported */
static bool intree_table_busy(struct iommu_table *tbl)
{
	unsigned long start = tbl->it_offset ? 0 : 1;
	unsigned long rs, re, bit;

	if (!tbl->it_map)
		return false;

	rs = tbl->it_reserved_start - tbl->it_offset;
	re = tbl->it_reserved_end - tbl->it_offset;
	if (tbl->it_reserved_start == tbl->it_reserved_end) {
		rs = tbl->it_size;
		re = tbl->it_size;
	}

	bit = find_next_bit(tbl->it_map, rs, start);
	if (bit < rs)
		return true;
	return find_next_bit(tbl->it_map, tbl->it_size, re) < tbl->it_size;
}

/**
 * ddw_default_window_remove() - remove the default window of a PE
 * @pe: the PE.
 *
 * Its resources go to DDWs. Only when the platform can bring it back
 * (ibm,reset-pe-dma-windows); otherwise it is kept and reused as window 0.
 * Its property is saved as DMA_WINDOW_SAVED_PROP.
 *
 * Context: ddw_mutex held.
 * Return: 0 (also when there was nothing to remove), or the RTAS errno.
 */
int ddw_default_window_remove(struct ddw_pe *pe)
{
	struct default_window w;
	int ret;

	lockdep_assert_held(&ddw_mutex);

	if (!pe->has_ddw || !pe->has_reset || !pe->default_present)
		return 0;
	if (ddw_default_window_parse(pe->np, DMA_WINDOW_PROP, &w))
		return 0;

	/* A parameter error: the firmware knows no such window, it is gone */
	ret = ddw_rtas_remove(pe, w.liobn);
	if (ret && ret != -EINVAL)
		return ret;

	pe->default_present = false;
	if (ddw_property_copy(pe->np, DMA_WINDOW_PROP, DMA_WINDOW_SAVED_PROP))
		pr_warn("%pOF: cannot save %s\n", pe->np, DMA_WINDOW_PROP);
	ddw_property_remove(pe->np, DMA_WINDOW_PROP);
	return 0;
}

/**
 * ddw_default_window_returned() - the platform brought the default window back
 * @pe: the PE, whose default window was removed.
 *
 * After ibm,reset-pe-dma-windows, or the removal of the PE's last DDW
 * (PAPR): the window is back, clean; its saved property becomes live again.
 *
 * Context: ddw_mutex held.
 */
void ddw_default_window_returned(struct ddw_pe *pe)
{
	int ret;

	lockdep_assert_held(&ddw_mutex);
	pe->default_present = true;
	ret = ddw_property_copy(pe->np, DMA_WINDOW_SAVED_PROP, DMA_WINDOW_PROP);
	if (ret)
		pr_warn("%pOF: cannot restore %s: %d\n", pe->np,
			DMA_WINDOW_PROP, ret);
}

/**
 * ddw_default_window_restore() - bring the default window of a PE back
 * @pe: the PE.
 *
 * The window comes back clean; its saved property becomes live again.
 * The reset removes every DDW of the PE, also those listed as stale.
 *
 * Context: ddw_mutex held.
 * Return: 0 (also when it was present), -ENODEV without
 * ibm,reset-pe-dma-windows, or the RTAS errno.
 */
int ddw_default_window_restore(struct ddw_pe *pe)
{
	int ret;

	lockdep_assert_held(&ddw_mutex);

	if (pe->default_present)
		return 0;
	if (!pe->has_reset)
		return -ENODEV;

	ret = ddw_rtas_reset(pe);
	if (ret)
		return ret;

	/*
	 * The reset removed every DDW, also those the firmware would not
	 * remove before: their LIOBNs may now be the default window's or a
	 * new DDW's
	 */
	pe->nr_stale = 0;
	ddw_default_window_returned(pe);
	return 0;
}

struct direct_map {
	const struct tce_backend_ops *be;
	struct tce_call_stats *calls;
	__be64 *list;
	u32 liobn;
	u64 dma_base;
	unsigned int shift;
};

#define DIRECT_MAP_PERM	((u64)(TCE_PCI_READ | TCE_PCI_WRITE))

/* Map RAM address @addr at dma_base + @addr with one H_PUT_TCE */
static long direct_map_one(struct direct_map *dm, u64 addr)
{
	return tce_call_count(dm->calls, TCE_CALL_PUT,
			      dm->be->put(dm->liobn, dm->dma_base + addr,
					  addr | DIRECT_MAP_PERM));
}

static long direct_map_batch(struct direct_map *dm, u64 addr, unsigned long n)
{
	u64 step = 1ULL << dm->shift;
	unsigned long i;
	long rc = H_SUCCESS;

	if (!dm->be->put_many) {
		for (i = 0; i < n && rc == H_SUCCESS; i++)
			rc = direct_map_one(dm, addr + i * step);
		return rc;
	}
	for (i = 0; i < n; i++)
		dm->list[i] = cpu_to_be64((addr + i * step) | DIRECT_MAP_PERM);
	return tce_call_count(dm->calls, TCE_CALL_PUT_MANY,
			      dm->be->put_many(dm->liobn, dm->dma_base + addr,
					       dm->list, n));
}

/*
 * walk_iomem_res_desc() callback, @res a System RAM resource clipped to
 * the window: map it 1:1 at dma_base + address. (Not
 * walk_system_ram_range(): powerpc stopped exporting it in 6.13.)
 */
static int direct_map_ram(struct resource *res, void *arg)
{
	struct direct_map *dm = arg;
	u64 start = ALIGN_DOWN(res->start, 1ULL << dm->shift);
	u64 end = ALIGN(res->end + 1, 1ULL << dm->shift);
	unsigned long n;

	for (; start < end; start += (u64)n << dm->shift) {
		n = min_t(u64, (end - start) >> dm->shift, TCE_BACKEND_MAX_BATCH);
		if (direct_map_batch(dm, start, n))
			return -EIO;
		cond_resched();
	}
	return 0;
}

static int direct_map_all_ram(struct ddw_pe *pe, u32 liobn,
			      const struct host_direct_ddw *h)
{
	struct direct_map dm = {
		.be = tce_hcall_backend(),
		.calls = &pe->calls,
		.liobn = liobn,
		.dma_base = h->dma_base,
		.shift = h->page_shift,
	};
	int ret;

	/* One 4K TCE list: kmalloc() of a power of two is naturally aligned */
	dm.list = kcalloc(TCE_BACKEND_MAX_BATCH, sizeof(__be64), GFP_KERNEL);
	if (!dm.list)
		return -ENOMEM;
	ret = walk_iomem_res_desc(IORES_DESC_NONE,
				  IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0,
				  (1ULL << h->window_shift) - 1, &dm,
				  direct_map_ram);
	kfree(dm.list);
	return ret;
}

/*
 * Put back the host direct-mapping DDW removed at take_ownership, at the
 * same bus address, so the in-tree code's stale record of it is true again.
 */
static void host_direct_ddw_recreate(struct ddw_pe *pe)
{
	struct host_direct_ddw *h = &pe->host_direct;
	struct ddw_created c;
	struct ddw_query q;

	lockdep_assert_held(&ddw_mutex);
	if (!h->valid)
		return;
	h->valid = false;

	if (ddw_rtas_query(pe, &q) || !q.windows_available ||
	    ddw_rtas_create(pe, h->page_shift, h->window_shift, &c))
		goto failed;
	if (c.start != h->dma_base || direct_map_all_ram(pe, c.liobn, h) ||
	    IS_ERR(ddw_property_add(pe, DIRECT64_PROPNAME, c.liobn, c.start,
				    h->page_shift, h->window_shift))) {
		ddw_rtas_remove(pe, c.liobn);
		goto failed;
	}
	ddw_host_record_stale(pe, false);
	pr_info("%pOF: host direct DMA window 0x%x restored at %#llx\n",
		pe->np, c.liobn, c.start);
	return;

failed:
	pr_err("%pOF: host direct DMA window not restored, a host driver of this PE cannot DMA and memory cannot be added or removed until reboot\n",
	       pe->np);
}

/* Clear the TCEs of a host DDW (@h: its geometry, valid) */
static void host_ddw_clear(struct ddw_pe *pe, u32 liobn,
			   const struct host_direct_ddw *h)
{
	u64 entries = 1ULL << (h->window_shift - h->page_shift);

	if (ddw_platform_window_clear(pe, liobn, h->dma_base, h->page_shift,
				      entries))
		pr_warn("%pOF: clearing host DDW 0x%x failed\n", pe->np, liobn);
}

/*
 * The host DDW of @pe is removed (@direct: the geometry of a direct-mapping
 * one, else NULL): the host DMA code's record of it is dropped, or, where
 * it cannot be, kept stale and the direct window recorded to be re-created
 * at the release.
 */
static void host_ddw_record_removed(struct ddw_pe *pe,
				    const struct host_direct_ddw *direct)
{
	if (ddw_host_record_drop(pe)) {
		ddw_host_record_stale(pe, false);
		return;
	}
	if (!direct)
		return;
	pe->host_direct = *direct;
	pr_info("%pOF: memory online and offline are refused until the host direct DMA window is back\n",
		pe->np);
}

/*
 * Remove a DDW the host made for this PE ("linux,direct64-ddr-window-info"
 * or "linux,dma64-ddr-window-info"): clear its TCEs, remove it, drop the
 * property; a direct-mapping one is recorded for host_direct_ddw_recreate().
 * When the firmware keeps the window, the host may still use it: a direct
 * mapping is written back, the property stays and the errno is returned.
 */
static int host_ddw_remove(struct ddw_pe *pe, const char *name)
{
	bool direct = !strcmp(name, DIRECT64_PROPNAME);
	const struct ddw_prop *p;
	struct host_direct_ddw h;
	u32 liobn;
	int len, ret;

	lockdep_assert_held(&ddw_mutex);
	p = of_get_property(pe->np, name, &len);
	if (!p)
		return 0;

	if (len >= sizeof(*p) && pe->has_ddw) {
		liobn = be32_to_cpu(p->liobn);
		h = (struct host_direct_ddw){
			.dma_base = be64_to_cpu(p->dma_base),
			.page_shift = be32_to_cpu(p->tce_shift),
			.window_shift = be32_to_cpu(p->window_shift),
		};
		h.valid = h.page_shift >= MIN_PAGE_SHIFT &&
			  h.window_shift >= h.page_shift && h.window_shift < 64;
		if (direct)
			ddw_host_record_stale(pe, true);
		if (h.valid)
			host_ddw_clear(pe, liobn, &h);
		ret = ddw_rtas_remove(pe, liobn);
		if (ret) {
			if (direct && h.valid && direct_map_all_ram(pe, liobn, &h))
				pr_err("%pOF: host direct DMA window 0x%x neither removed nor mapped again, a host driver of this PE cannot DMA until reboot\n",
				       pe->np, liobn);
			/* still the host's window: the record is true */
			ddw_host_record_stale(pe, false);
			return ret;
		}
		host_ddw_record_removed(pe, direct ? &h : NULL);
		pr_info("%pOF: removed host DMA window 0x%x (%s)\n", pe->np,
			liobn, name);
	}
	ddw_property_remove(pe->np, name);
	return 0;
}

/**
 * ddw_host_evict() - take a PE's DMA windows from the host
 * @pe: the PE, taken by its first owner.
 *
 * Removes the host's DDWs (a direct-mapping one is recorded for
 * ddw_host_restore()) and the default window when the platform can bring
 * it back, then detaches the in-tree tables from the table group, keeping
 * the default table aside. When the platform refuses a removal, the host
 * keeps its DMA: a removed direct-mapping DDW is re-created.
 *
 * Context: ddw_mutex held.
 * Return: 0, or the errno of the refused removal.
 */
int ddw_host_evict(struct ddw_pe *pe)
{
	struct default_window w = { };
	int ret;

	lockdep_assert_held(&ddw_mutex);
	ret = host_ddw_remove(pe, DIRECT64_PROPNAME);
	if (!ret)
		ret = host_ddw_remove(pe, DMA64_PROPNAME);
	if (!ret) {
		ddw_pe_default_window(pe, &w);
		ret = ddw_default_window_remove(pe);
	}
	if (ret) {
		/* Refused: the host keeps its DMA, its direct DDW comes back */
		host_direct_ddw_recreate(pe);
		return ret;
	}

	intree_tables_detach(pe, w.liobn);
	return 0;
}

/**
 * ddw_host_restore() - give a PE's DMA windows back to the host
 * @pe: the PE, released by its last owner, whose windows are closed.
 *
 * Brings the default window back, re-creates a direct-mapping DDW
 * ddw_host_evict() removed, and puts the default table back as tables[0].
 * Failures are logged: the host may be left without DMA on this PE.
 *
 * Context: ddw_mutex held.
 */
void ddw_host_restore(struct ddw_pe *pe)
{
	struct iommu_table_group *tg = pe->table_group;

	lockdep_assert_held(&ddw_mutex);
	if (!pe->default_present && ddw_default_window_restore(pe))
		pr_err("%pOF: default DMA window not restored, host DMA will fail\n",
		       pe->np);
	host_direct_ddw_recreate(pe);

	if (pe->default_table && !tg->tables[0]) {
		if (intree_table_busy(pe->default_table))
			pr_warn("%pOF: default table has allocations\n", pe->np);
		tg->tables[0] = pe->default_table;
		pe->default_table = NULL;
	}
}
