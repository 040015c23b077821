// SPDX-License-Identifier: GPL-2.0-only
/*
 * pseries_tce_ddw.ko: the DDW platform ops (ddw_ops.c) as a loadable
 * module. Built in, iommu.c gives every table group our ops and
 * ddw_intree.c has its hooks; this file is the module's alone.
 *
 * At load the ops of every pSeries PE (partitionable endpoint) not owned by
 * a DMA user are swapped for ours; at unload the originals come back. A PE
 * whose last PCI function is removed is dropped at once, before the in-tree
 * code frees its table group with its device-tree node.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/init.h>
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/of.h>
#include <linux/pci.h>
#include <linux/printk.h>
#include <asm/firmware.h>
#include <asm/iommu.h>
#include <asm/machdep.h>

#include "ddw.h"
#include "tce_window.h"

/* iommu_group_for_each_dev() callback: bound to a DMA API driver? */
static int dev_uses_dma_api(struct device *dev, void *unused)
{
	struct device_driver *drv = READ_ONCE(dev->driver);

	return drv && dev_is_pci(dev) && !to_pci_driver(drv)->driver_managed_dma;
}

/*
 * iommu_group_dma_owner_claimed() is also true while a kernel driver that
 * uses the DMA API is bound; only a claim without such a driver is a user
 * (VFIO) owning the group, whose windows the in-tree ops set up.
 */
static bool group_user_owned(struct iommu_group *group)
{
	return iommu_group_dma_owner_claimed(group) &&
	       !iommu_group_for_each_dev(group, NULL, dev_uses_dma_api);
}

static bool pe_skip(struct iommu_table_group *tg, struct device_node *np)
{
	if (!tg->group || !tg->ops) {
		pr_info("%pOF: no IOMMU group or ops, not managed\n", np);
		return true;
	}
	if (group_user_owned(tg->group)) {
		pr_info("%pOF: IOMMU group %d already has a DMA owner, not managed\n",
			np, iommu_group_id(tg->group));
		return true;
	}
	return false;
}

/* At load: the PE of @pdev, when it is new and not skipped, gets our ops */
static void pe_add_for_dev(struct pci_dev *pdev)
{
	/* Listed even when skipped, so other functions skip it too */
	struct ddw_pe *pe = ddw_pe_add(pdev);

	if (pe && !pe_skip(pe->table_group, pe->np))
		ddw_pe_install(pe);
}

static void pe_uninstall(struct ddw_pe *pe)
{
	struct iommu_table_group *tg = pe->table_group;

	lockdep_assert_held(&ddw_mutex);
	if (!pe->managed)
		return;
	WARN_ON(pe->owners);
	WRITE_ONCE(tg->ops, pe->orig_ops);
	ddw_group_fields_apply(tg, &pe->saved);
}

/* Is a PCI function of @pe's PE still present? */
static bool pe_has_functions(struct ddw_pe *pe)
{
	struct pci_dev *pdev = NULL;

	for_each_pci_dev(pdev) {
		if (ddw_pe_node_of(pdev) == pe->np) {
			pci_dev_put(pdev);
			return true;
		}
	}
	return false;
}

/*
 * A PCI function went (DLPAR, hot-unplug, sysfs "remove"). When it was the
 * last one of its PE, the PE's device-tree node goes next, and with it the
 * table group, which the in-tree code frees: give the group its own ops
 * back and forget the PE now. An owned PE keeps its functions (VFIO holds
 * them until its user is gone).
 */
static int pe_bus_notify(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	struct ddw_pe *pe, *tmp;
	LIST_HEAD(gone);

	if (action != BUS_NOTIFY_REMOVED_DEVICE)
		return NOTIFY_DONE;

	mutex_lock(&ddw_mutex);
	list_for_each_entry_safe(pe, tmp, &ddw_pe_list, node) {
		if (pe_has_functions(pe))
			continue;
		pe_uninstall(pe);
		list_move(&pe->node, &gone);
	}
	mutex_unlock(&ddw_mutex);

	/* Outside the lock: removing debugfs files waits for their readers */
	list_for_each_entry_safe(pe, tmp, &gone, node) {
		pr_info("%pOF: last PCI function removed, PE dropped\n", pe->np);
		ddw_pe_debugfs_remove(pe);
		ddw_pe_free(pe);
	}
	return NOTIFY_OK;
}

/*
 * The range operations of our windows. In tree they are callbacks of the
 * windows' iommu_table_ops, which a module cannot add to the kernel's
 * struct; the VFIO backend finds them here (include/compat/asm/iommu.h).
 */
static const struct tce_range_ops window_range_ops = {
	.exchange = tce_window_xchg_range,
	.clear = tce_window_clear_range,
};

/**
 * tce_range_ops_of() - the range operations of a table made by this module
 * @tbl: any iommu_table, or NULL.
 *
 * For the out-of-tree VFIO backend, which looks it up with symbol_get() so
 * that it does not depend on this module.
 *
 * Return: the operations, or NULL when @tbl is not one of our windows.
 */
const struct tce_range_ops *tce_range_ops_of(struct iommu_table *tbl)
{
	return tce_window_from_table(tbl) ? &window_range_ops : NULL;
}
EXPORT_SYMBOL_GPL(tce_range_ops_of);

static struct notifier_block pe_bus_nb = {
	.notifier_call = pe_bus_notify,
};

static void pes_remove_all(void)
{
	struct ddw_pe *pe, *tmp;

	ddw_debugfs_remove();

	mutex_lock(&ddw_mutex);
	list_for_each_entry_safe(pe, tmp, &ddw_pe_list, node) {
		pe_uninstall(pe);
		list_del(&pe->node);
		ddw_pe_free(pe);
	}
	mutex_unlock(&ddw_mutex);
}

static int __init pseries_tce_ddw_init(void)
{
	struct pci_dev *pdev = NULL;
	int ret;

	if (!machine_is(pseries) || !firmware_has_feature(FW_FEATURE_LPAR)) {
		pr_err("not a pSeries LPAR, nothing to manage\n");
		return -ENODEV;
	}

	ddw_debugfs_init();

	/* No function comes or goes between the scan and the notifier */
	pci_lock_rescan_remove();
	for_each_pci_dev(pdev)
		pe_add_for_dev(pdev);
	ret = bus_register_notifier(&pci_bus_type, &pe_bus_nb);
	pci_unlock_rescan_remove();
	if (ret)
		pes_remove_all();
	return ret;
}

static void __exit pseries_tce_ddw_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &pe_bus_nb);
	pes_remove_all();
}

module_init(pseries_tce_ddw_init);
module_exit(pseries_tce_ddw_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pSeries dynamic DMA windows with batched TCE updates for VFIO");
