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
 *
 * Unload and callers inside our ops: the callers of a table group's ops
 * (the IOMMU core, the VFIO backends) hold no reference on this module. A
 * PE owned through our ops holds one (ddw_ops.c), and so does every window
 * we made (tce_window.c), so rmmod is refused while either lasts; but a
 * call may be on its way in, or on its way out after it dropped the last
 * reference, when unload starts. So the ops we install are module_ops,
 * which run each of ddw_ops inside an SRCU read section of ops_srcu, and
 * unload, once the original ops are back (callers_wait_out()):
 *  1. waits for every task to pass a voluntary context switch
 *     (synchronize_rcu_tasks()): a caller that read our ops before they
 *     were replaced, and was preempted before it entered them, has now
 *     entered its read section;
 *  2. waits for the read sections (synchronize_srcu()): every call that
 *     entered has returned from ddw_ops, sleeping or not;
 *  3. waits for a voluntary context switch again: no task is left in the
 *     few instructions of ours after a read section ends, nor after the
 *     module reference a window drops in its free() (tce_window.c), none of
 *     which sleeps;
 * and only then frees the PEs, the last our ops look up. A call between
 * the ops' return and step 2 finds its PE still listed but no longer ours
 * to take: take_ownership fails with -ENODEV (the module reference cannot
 * be had any more), the others fail as on a PE never taken.
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
#include <linux/rcupdate.h>
#include <linux/srcu.h>
#include <asm/firmware.h>
#include <asm/iommu.h>
#include <asm/machdep.h>

#include "ddw.h"
#include "tce_window.h"

DEFINE_STATIC_SRCU(ops_srcu);

/* ---- ddw_ops inside a read section of ops_srcu --------------------- */

static unsigned long module_get_table_size(__u32 page_shift, __u64 window_size,
					   __u32 levels)
{
	int idx = srcu_read_lock(&ops_srcu);
	unsigned long ret = ddw_ops.get_table_size(page_shift, window_size,
						   levels);

	srcu_read_unlock(&ops_srcu, idx);
	return ret;
}

static long module_create_table(struct iommu_table_group *tg, int num,
				__u32 page_shift, __u64 window_size,
				__u32 levels, struct iommu_table **ptbl)
{
	int idx = srcu_read_lock(&ops_srcu);
	long ret = ddw_ops.create_table(tg, num, page_shift, window_size,
					levels, ptbl);

	srcu_read_unlock(&ops_srcu, idx);
	return ret;
}

static long module_set_window(struct iommu_table_group *tg, int num,
			      struct iommu_table *tbl)
{
	int idx = srcu_read_lock(&ops_srcu);
	long ret = ddw_ops.set_window(tg, num, tbl);

	srcu_read_unlock(&ops_srcu, idx);
	return ret;
}

static long module_unset_window(struct iommu_table_group *tg, int num)
{
	int idx = srcu_read_lock(&ops_srcu);
	long ret = ddw_ops.unset_window(tg, num);

	srcu_read_unlock(&ops_srcu, idx);
	return ret;
}

static long module_take_ownership(struct iommu_table_group *tg,
				  struct device *dev)
{
	int idx = srcu_read_lock(&ops_srcu);
	long ret = ddw_ops.take_ownership(tg, dev);

	srcu_read_unlock(&ops_srcu, idx);
	return ret;
}

static void module_release_ownership(struct iommu_table_group *tg,
				     struct device *dev)
{
	int idx = srcu_read_lock(&ops_srcu);

	ddw_ops.release_ownership(tg, dev);
	srcu_read_unlock(&ops_srcu, idx);
}

/* What the PEs get: ddw_ops, which unload can wait out */
static struct iommu_table_group_ops module_ops = {
	.get_table_size = module_get_table_size,
	.create_table = module_create_table,
	.set_window = module_set_window,
	.unset_window = module_unset_window,
	.take_ownership = module_take_ownership,
	.release_ownership = module_release_ownership,
};

/* ---- PEs ----------------------------------------------------------- */

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
		ddw_pe_install(pe, &module_ops);
}

static void pe_uninstall(struct ddw_pe *pe)
{
	struct iommu_table_group *tg = pe->table_group;

	lockdep_assert_held(&ddw_mutex);
	if (!pe->managed)
		return;
	WARN_ON(pe->owners);
	/* Not removed here: unowned, the host may have reused the LIOBNs */
	if (pe->nr_stale)
		pr_warn("%pOF: %u DDWs left open in the firmware until the PE's windows are reset\n",
			pe->np, pe->nr_stale);
	WRITE_ONCE(tg->ops, pe->orig_ops);
	ddw_group_fields_apply(tg, &pe->saved);
	pe->managed = false;
}

/*
 * After pe_uninstall(): wait until no task runs code of ours that it
 * entered through the ops of a table group, or through the free() of a
 * window whose last reference it dropped. See the top of this file.
 */
static void callers_wait_out(void)
{
	lockdep_assert_not_held(&ddw_mutex);
	synchronize_rcu_tasks();
	synchronize_srcu(&ops_srcu);
	synchronize_rcu_tasks();
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

/**
 * ddw_host_record_drop() - the host DMA code's record of a removed DDW
 * @pe: the PE, whose host DDW was removed.
 *
 * The module cannot reach the list iommu.c keeps it in: the record stays
 * (ddw_record.c).
 *
 * Return: false.
 */
bool ddw_host_record_drop(struct ddw_pe *pe)
{
	return false;
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

/* Every PE its original ops back; the PEs are freed once no call is in */
static void pes_remove_all(void)
{
	struct ddw_pe *pe, *tmp;

	ddw_debugfs_remove();

	mutex_lock(&ddw_mutex);
	list_for_each_entry(pe, &ddw_pe_list, node)
		pe_uninstall(pe);
	mutex_unlock(&ddw_mutex);

	callers_wait_out();

	mutex_lock(&ddw_mutex);
	list_for_each_entry_safe(pe, tmp, &ddw_pe_list, node) {
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

	ret = ddw_record_init();
	if (ret)
		return ret;
	ddw_debugfs_init();

	/* No function comes or goes between the scan and the notifier */
	pci_lock_rescan_remove();
	for_each_pci_dev(pdev)
		pe_add_for_dev(pdev);
	ret = bus_register_notifier(&pci_bus_type, &pe_bus_nb);
	pci_unlock_rescan_remove();
	if (ret) {
		pes_remove_all();
		ddw_record_exit();
	}
	return ret;
}

static void __exit pseries_tce_ddw_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &pe_bus_nb);
	pes_remove_all();
	ddw_record_exit();
}

module_init(pseries_tce_ddw_init);
module_exit(pseries_tce_ddw_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pSeries dynamic DMA windows with batched TCE updates for VFIO");
