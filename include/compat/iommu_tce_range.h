/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The out-of-tree backend's module init and exit call these around their
 * own (vfio_iommu_spapr_tce_main.c): iommu_tce_range.c keeps the address
 * of pseries_tce_ddw's tce_range_ops_of(), or that it found none, and must
 * hear when that module unloads and when any module goes live. In tree
 * there is nothing to keep: the range operations are callbacks of the
 * table.
 */
#ifndef _COMPAT_IOMMU_TCE_RANGE_H
#define _COMPAT_IOMMU_TCE_RANGE_H

int iommu_tce_range_init(void);
void iommu_tce_range_exit(void);

#endif /* _COMPAT_IOMMU_TCE_RANGE_H */
