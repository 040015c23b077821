/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel-version shim: the VFIO IOMMU backend registration interface.
 *
 * The VFIO core keeps struct vfio_iommu_driver_ops, enum vfio_group_type
 * and vfio_register_iommu_driver() in its private header
 * drivers/vfio/vfio.h, which is not installed for out-of-tree modules.
 * vfio_iommu_spapr_tce.c includes "vfio.h": in tree that header, next to
 * it; out of tree this file (Kbuild puts include/compat on the include
 * path). This file repeats the declarations we need. They must stay binary
 * compatible with the running kernel: the VFIO core calls through this
 * structure by member offset.
 *
 * Matches Linux v6.2 .. v7.3: checked member by member against the
 * drivers/vfio/vfio.h of v6.12 and of v7.3.4 (identical there); the layout
 * is believed unchanged since v6.2 (pin_pages() with dma_addr_t and
 * register_device() exist since v6.0, CONFIG_VFIO_CONTAINER since v6.2).
 * Re-check the layout in the target kernel before widening the accepted
 * range below.
 */
#ifndef _COMPAT_VFIO_H
#define _COMPAT_VFIO_H

#include <linux/types.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0) || \
	LINUX_VERSION_CODE >= KERNEL_VERSION(7, 4, 0)
#error "compat/vfio.h: layout not verified for this kernel"
#endif

struct iommu_domain;
struct iommu_group;
struct module;
struct page;
struct vfio_device;

/* Same enumerators, same order as drivers/vfio/vfio.h */
enum vfio_group_type {
	VFIO_IOMMU,
	VFIO_EMULATED_IOMMU,
	VFIO_NO_IOMMU,
};

/* Same members, same order as drivers/vfio/vfio.h */
struct vfio_iommu_driver_ops {
	char *name;
	struct module *owner;
	void *(*open)(unsigned long arg);
	void (*release)(void *iommu_data);
	long (*ioctl)(void *iommu_data, unsigned int cmd, unsigned long arg);
	int (*attach_group)(void *iommu_data, struct iommu_group *group,
			    enum vfio_group_type type);
	void (*detach_group)(void *iommu_data, struct iommu_group *group);
	int (*pin_pages)(void *iommu_data, struct iommu_group *group,
			 dma_addr_t user_iova, int npage, int prot,
			 struct page **pages);
	void (*unpin_pages)(void *iommu_data, dma_addr_t user_iova, int npage);
	void (*register_device)(void *iommu_data, struct vfio_device *vdev);
	void (*unregister_device)(void *iommu_data, struct vfio_device *vdev);
	int (*dma_rw)(void *iommu_data, dma_addr_t user_iova, void *data,
		      size_t count, bool write);
	struct iommu_domain *(*group_iommu_domain)(void *iommu_data,
						   struct iommu_group *group);
};

int vfio_register_iommu_driver(const struct vfio_iommu_driver_ops *ops);
void vfio_unregister_iommu_driver(const struct vfio_iommu_driver_ops *ops);

#endif /* _COMPAT_VFIO_H */
