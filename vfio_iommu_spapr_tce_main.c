// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO backend's main object: vfio_iommu_spapr_tce.c, under another
 * name, since the module (vfio_iommu_spapr_tce.ko) is made of it,
 * tce_range_generic.c and include/compat/iommu_tce_range.c, and kbuild
 * names no part after the whole.
 *
 * The module's init and exit are this file's: out of tree the lookup of
 * the range operations (iommu_tce_range.c) must follow modules that load
 * and unload from before the backend registers with VFIO until after it
 * unregisters. The backend's module_init() and module_exit() lines are
 * made to register nothing here (they only check the type of what they
 * name), and its init and exit are called from ours.
 */
#include <linux/module.h>

#include "iommu_tce_range.h"

#pragma push_macro("module_init")
#pragma push_macro("module_exit")
#undef module_init
#undef module_exit
#define module_init(fn)	static_assert(__same_type(fn, int (void)))
#define module_exit(fn)	static_assert(__same_type(fn, void (void)))

#include "vfio_iommu_spapr_tce.c"

#pragma pop_macro("module_init")
#pragma pop_macro("module_exit")

static int __init tce_iommu_main_init(void)
{
	int rc = iommu_tce_range_init();

	if (rc)
		return rc;
	rc = tce_iommu_init();
	if (rc)
		iommu_tce_range_exit();
	return rc;
}

static void __exit tce_iommu_main_exit(void)
{
	tce_iommu_exit();
	iommu_tce_range_exit();
}

module_init(tce_iommu_main_init);
module_exit(tce_iommu_main_exit);
