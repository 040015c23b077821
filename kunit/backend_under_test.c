// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO backend's vfio_iommu_spapr_tce.c, built into the KUnit module
 * as is, without its module glue: the test module has its own init, so
 * the backend's module_init()/module_exit() register nothing here (the
 * functions they name are left unused and dropped: the backend is never
 * registered with the VFIO core), and its softdep on pseries_tce_ddw and
 * its description are not the test module's. The suite drives the
 * backend through its vfio_iommu_driver_ops, as the VFIO core does.
 */
#include <linux/module.h>

#undef module_init
#undef module_exit
#undef MODULE_SOFTDEP
#undef MODULE_DESCRIPTION
#define module_init(fn) \
	static initcall_t __maybe_unused __UNIQUE_ID(unused_init) = (fn)
#define module_exit(fn) \
	static exitcall_t __maybe_unused __UNIQUE_ID(unused_exit) = (fn)
#define MODULE_SOFTDEP(s)	static_assert(sizeof(s))
#define MODULE_DESCRIPTION(s)	static_assert(sizeof(s))

#include "../vfio_iommu_spapr_tce.c"

#include "backend_under_test.h"

/**
 * tce_backend_under_test() - the backend's VFIO IOMMU driver operations
 *
 * Return: the operations the module registers with the VFIO core.
 */
const struct vfio_iommu_driver_ops *tce_backend_under_test(void)
{
	return &tce_iommu_driver_ops;
}
