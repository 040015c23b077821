// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO backend's main object: vfio_iommu_spapr_tce.c, under another
 * name, since the module (vfio_iommu_spapr_tce.ko) is made of it and
 * tce_range_generic.c and kbuild names no part after the whole
 */
#include "vfio_iommu_spapr_tce.c"
