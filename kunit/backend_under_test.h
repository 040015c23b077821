/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VFIO sPAPR TCE backend (vfio_iommu_spapr_tce.c) built into the KUnit
 * module (backend_under_test.c), for vfio_tce_mock_test.c.
 */
#ifndef _BACKEND_UNDER_TEST_H
#define _BACKEND_UNDER_TEST_H

struct vfio_iommu_driver_ops;

const struct vfio_iommu_driver_ops *tce_backend_under_test(void);

#endif /* _BACKEND_UNDER_TEST_H */
