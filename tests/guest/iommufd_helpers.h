/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IOMMUFD helpers for the guest test programs: VFIO device cdevs
 * (/dev/vfio/devices/vfioN) bound to an iommufd (/dev/iommu), and wrappers
 * of the iommufd ioctls returning -errno like those of vfio_helpers.h. A
 * cdev device is a struct vfio_dev whose device fd is the cdev and which
 * has no container or group, so the edu and nvme helpers work on it as on
 * a device fd from a group.
 */
#ifndef IOMMUFD_HELPERS_H
#define IOMMUFD_HELPERS_H

#include "vfio_helpers.h"

#include <linux/iommufd.h>

/*
 * The pSeries uapi of the series (not in the 6.12 headers the programs
 * build with). The Makefile defines UAPI_HAS_SPAPR_TCE when the headers
 * have it.
 */
#ifndef UAPI_HAS_SPAPR_TCE
#define IOMMU_HW_INFO_TYPE_SPAPR_TCE	5
#define IOMMU_HWPT_DATA_SPAPR_TCE	4

struct iommu_hw_info_spapr_tce {
	__u32 flags;
	__u32 max_windows;
	__u32 max_levels;
	__u32 __reserved;
	__aligned_u64 page_sizes;
	__aligned_u64 dma32_window_start;
	__aligned_u64 dma32_window_size;
};

struct iommu_hwpt_spapr_tce {
	__u32 page_shift;
	__u32 levels;
	__aligned_u64 window_size;
};
#endif

#define IOMMUFD_UNSAFE_IRQS \
	"/sys/module/iommufd/parameters/allow_unsafe_interrupts"

/* A VFIO device opened through its cdev and bound to an iommufd */
struct iofd_dev {
	struct vfio_dev d;	/* d.device: the cdev fd */
	uint32_t dev_id;	/* from VFIO_DEVICE_BIND_IOMMUFD */
	uint32_t pt_id;		/* what it is attached to, 0: nothing */
};

/* Nothing open (for iofd_dev_close) */
void iofd_dev_init(struct iofd_dev *x);
/* Opens /dev/iommu; fd or -errno. */
int iommufd_open(void);
/*
 * Sets iommufd's allow_unsafe_interrupts to on (1) or off (0); *old (if
 * not NULL) gets the value it had. 0 or -errno.
 */
int iommufd_unsafe_interrupts(int on, int *old);
/* /dev/vfio/devices/vfioN of bdf (bound to vfio-pci) into path; 0/-errno */
int vfio_cdev_path(const char *bdf, char *path, size_t len);
/* Binds bdf to vfio-pci and opens its cdev into x->d.device; 0/-errno. */
int vfio_cdev_open(struct iofd_dev *x, const char *bdf);
/* VFIO_DEVICE_BIND_IOMMUFD: x->dev_id set; 0 or -errno. */
long vfio_cdev_bind(struct iofd_dev *x, int iommufd);
/* VFIO_DEVICE_ATTACH_IOMMUFD_PT to pt_id: x->pt_id set from its output. */
long vfio_cdev_attach(struct iofd_dev *x, uint32_t pt_id);
long vfio_cdev_detach(struct iofd_dev *x);
/*
 * vfio_cdev_open + vfio_cdev_bind + (pt_id != 0) vfio_cdev_attach; on
 * failure x is left for iofd_dev_close. 0 or the failing step's -errno.
 */
int iofd_dev_setup(struct iofd_dev *x, int iommufd, const char *bdf,
		   uint32_t pt_id);
/* Unmaps BAR0 and closes the cdev (which unbinds from the iommufd). */
void iofd_dev_close(struct iofd_dev *x);

/* iommufd ioctls: 0 or -errno */
long iommufd_ioas_alloc(int fd, uint32_t *ioas_id);
long iommufd_destroy(int fd, uint32_t id);
/*
 * IOMMU_IOAS_MAP of len bytes at va; flags are IOMMU_IOAS_MAP_*. With
 * IOMMU_IOAS_MAP_FIXED_IOVA *iova is the input, else the output.
 */
long iommufd_map(int fd, uint32_t ioas_id, const void *va, uint64_t len,
		 uint64_t *iova, uint32_t flags);
/* IOMMU_IOAS_MAP with FIXED_IOVA (flags: READABLE/WRITEABLE) */
long iommufd_map_fixed(int fd, uint32_t ioas_id, const void *va, uint64_t len,
		       uint64_t iova, uint32_t flags);
/* IOMMU_IOAS_UNMAP; *unmapped (if not NULL) gets the bytes unmapped. */
long iommufd_unmap(int fd, uint32_t ioas_id, uint64_t iova, uint64_t len,
		   uint64_t *unmapped);
/*
 * IOMMU_IOAS_IOVA_RANGES into r[0..*num-1]; *num gets the number of
 * ranges (-EMSGSIZE when more than *num), *align the IOVA alignment.
 */
long iommufd_iova_ranges(int fd, uint32_t ioas_id, struct iommu_iova_range *r,
			 uint32_t *num, uint64_t *align);
/*
 * IOMMU_GET_HW_INFO of dev_id into data (*len bytes); *len gets the
 * length the kernel filled in, *type the out_data_type.
 */
long iommufd_hw_info(int fd, uint32_t dev_id, void *data, uint32_t *len,
		     uint32_t *type);
/* IOMMU_HWPT_ALLOC of a paging HWPT on the IOAS pt_id, with driver data */
long iommufd_hwpt_alloc(int fd, uint32_t dev_id, uint32_t pt_id,
			uint32_t data_type, const void *data, uint32_t data_len,
			uint32_t *hwpt_id);

#define IOAS_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

/* An iommufd with one IOAS, and the first of its allowed IOVA ranges */
struct iofd_sess {
	int fd;
	uint32_t ioas;
	uint32_t nranges;
	struct iommu_iova_range range;
	uint64_t align;
};

/* Opens /dev/iommu and allocates the IOAS; 0 or -errno (then close s). */
int iofd_sess_open(struct iofd_sess *s);
/*
 * iofd_sess_open() and iofd_dev_setup() of bdf (x initialised here),
 * attached to the session's IOAS if asked; 0 or -errno (then close both)
 */
int iofd_sess_open_dev(struct iofd_sess *s, struct iofd_dev *x,
		       const char *bdf, bool attach);
void iofd_sess_close(struct iofd_sess *s);
/* IOVA_RANGES into s (nranges, the first range, align); 0 or -errno */
long iofd_sess_ranges(struct iofd_sess *s);
uint64_t iofd_range_len(const struct iofd_sess *s);
/*
 * IOMMU_HWPT_ALLOC with IOMMU_HWPT_DATA_SPAPR_TCE on the session's IOAS for
 * x: { shift, levels, size } (0 each: the default window); 0 or -errno.
 */
long iofd_hwpt_spapr(struct iofd_sess *s, struct iofd_dev *x, uint32_t shift,
		     uint32_t levels, uint64_t size, uint32_t *hwpt);

/*
 * iofd_sess_open_dev() without attaching, then a HWPT of bdf's default
 * window (iofd_hwpt_spapr() {0, 0, 0}) into *hwpt, attached to; 0 or
 * -errno (then close both)
 */
int iofd_sess_open_hwpt(struct iofd_sess *s, struct iofd_dev *x,
			const char *bdf, uint32_t *hwpt);

/* Where iofd_fresh_dma() maps, from the start of the range */
#define IOFD_FRESH_AT	(16 * 0x10000ull)
/*
 * bdf in a fresh iommufd: open, bind, attach to the IOAS, map two 64K
 * pages at IOFD_FRESH_AT in the allowed range, one edu copy compared, all
 * closed again. 0, -EIO on a data mismatch, or the failing step's -errno.
 */
int iofd_fresh_dma(const char *bdf, uint64_t *seed);

#endif
