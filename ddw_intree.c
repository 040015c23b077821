// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DDW platform ops (ddw_ops.c) built in: the hooks
 * arch/powerpc/platforms/pseries/iommu.c calls. Every pSeries table group
 * gets our ops when it is allocated, and the PE (partitionable endpoint)
 * is added at the DMA setup of its first device. The device-tree
 * conventions of the host DMA code are kept ("ibm,dma-window",
 * "ibm,dma-window-saved", "linux,dma64-ddr-window-info") so that it finds
 * each PE as it expects once a user is done with it.
 *
 * Only the kernel build compiles this file (the declarations are in
 * pseries.h); the module has ddw_module.c instead.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/init.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <asm/iommu.h>
#include <asm/machdep.h>

#include "ddw.h"
#include "pseries.h"

/**
 * pseries_ddw_group_init() - a new table group gets our ops
 * @tg: the table group; its PE is added at device setup.
 */
void pseries_ddw_group_init(struct iommu_table_group *tg)
{
	tg->ops = &ddw_ops;
}

/**
 * pseries_ddw_dev_setup() - DMA setup of a device
 * @pdev: the device, whose PE's table group is registered.
 *
 * The first device of a PE adds the PE.
 */
void pseries_ddw_dev_setup(struct pci_dev *pdev)
{
	struct ddw_pe *pe = ddw_pe_add(pdev);

	if (pe)
		ddw_pe_install(pe, &ddw_ops);
}

/**
 * pseries_ddw_group_free() - the table group of a removed PE is being freed
 * @tg: the table group.
 */
void pseries_ddw_group_free(struct iommu_table_group *tg)
{
	struct ddw_pe *pe;

	mutex_lock(&ddw_mutex);
	pe = ddw_pe_find(tg);
	if (pe)
		list_del(&pe->node);
	mutex_unlock(&ddw_mutex);
	if (!pe)
		return;

	WARN_ON(pe->owners);
	ddw_pe_debugfs_remove(pe);
	ddw_pe_free(pe);
}

/**
 * ddw_host_record_drop() - the host DMA code forgets a removed DDW
 * @pe: the PE, whose host DDW was removed.
 *
 * A host driver bound again after the release gets a new DDW, as at boot.
 *
 * Return: true.
 */
bool ddw_host_record_drop(struct ddw_pe *pe)
{
	pseries_ddw_window_forget(pe->np);
	return true;
}

/* Before PCI probing (subsys_initcall), which adds the PEs */
static int __init pseries_ddw_init(void)
{
	ddw_debugfs_init();
	return ddw_record_init();
}
machine_arch_initcall(pseries, pseries_ddw_init);
