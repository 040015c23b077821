// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOMMUFD helpers for the guest test programs: see iommufd_helpers.h.
 */
#define _GNU_SOURCE
#include "iommufd_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int iommufd_open(void)
{
	int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int iommufd_unsafe_interrupts(int on, int *old)
{
	/* a bool parameter: reads Y or N, takes 1 or 0 */
	char buf[8] = "";
	FILE *f = fopen(IOMMUFD_UNSAFE_IRQS, "r");

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	if (old)
		*old = buf[0] == 'Y' || buf[0] == '1';
	return write_file(IOMMUFD_UNSAFE_IRQS, on ? "1" : "0");
}

int vfio_cdev_path(const char *bdf, char *path, size_t len)
{
	char name[64];
	int r = pci_subdir_entry(bdf, "vfio-dev", "vfio", name, sizeof(name));

	if (!r)
		snprintf(path, len, "/dev/vfio/devices/%.32s", name);
	return r;
}

void iofd_dev_init(struct iofd_dev *x)
{
	memset(x, 0, sizeof(*x));
	vfio_dev_init(&x->d);
}

int vfio_cdev_open(struct iofd_dev *x, const char *bdf)
{
	char path[128];
	int r, fd;

	iofd_dev_init(x);
	snprintf(x->d.bdf, sizeof(x->d.bdf), "%s", bdf);
	x->d.group_id = pci_iommu_group(bdf);
	r = pci_bind_vfio(bdf);
	if (r)
		return r;
	r = vfio_cdev_path(bdf, path, sizeof(path));
	if (r)
		return r;
	r = wait_path(path, 2000);
	if (r)
		return r;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	x->d.device = fd;
	return 0;
}

long vfio_cdev_bind(struct iofd_dev *x, int iommufd)
{
	struct vfio_device_bind_iommufd b = {
		.argsz = sizeof(b),
		.iommufd = iommufd,
	};
	long r = vfio_ioctl(x->d.device, VFIO_DEVICE_BIND_IOMMUFD, &b);

	if (!r)
		x->dev_id = b.out_devid;
	return r;
}

long vfio_cdev_attach(struct iofd_dev *x, uint32_t pt_id)
{
	struct vfio_device_attach_iommufd_pt a = {
		.argsz = sizeof(a),
		.pt_id = pt_id,
	};
	long r = vfio_ioctl(x->d.device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a);

	if (!r)
		x->pt_id = a.pt_id;
	return r;
}

long vfio_cdev_detach(struct iofd_dev *x)
{
	struct vfio_device_detach_iommufd_pt dt = { .argsz = sizeof(dt) };
	long r = vfio_ioctl(x->d.device, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt);

	if (!r)
		x->pt_id = 0;
	return r;
}

int iofd_dev_setup(struct iofd_dev *x, int iommufd, const char *bdf,
		   uint32_t pt_id)
{
	long r = vfio_cdev_open(x, bdf);

	if (!r)
		r = vfio_cdev_bind(x, iommufd);
	if (!r && pt_id)
		r = vfio_cdev_attach(x, pt_id);
	return (int)r;
}

void iofd_dev_close(struct iofd_dev *x)
{
	vfio_close(&x->d);
	x->dev_id = 0;
	x->pt_id = 0;
}

long iommufd_ioas_alloc(int fd, uint32_t *ioas_id)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	long r = vfio_ioctl(fd, IOMMU_IOAS_ALLOC, &a);

	if (!r)
		*ioas_id = a.out_ioas_id;
	return r;
}

long iommufd_destroy(int fd, uint32_t id)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	return vfio_ioctl(fd, IOMMU_DESTROY, &d);
}

long iommufd_map(int fd, uint32_t ioas_id, const void *va, uint64_t len,
		 uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = flags,
		.ioas_id = ioas_id,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = *iova,
	};
	long r = vfio_ioctl(fd, IOMMU_IOAS_MAP, &m);

	if (!r)
		*iova = m.iova;
	return r;
}

long iommufd_map_fixed(int fd, uint32_t ioas_id, const void *va, uint64_t len,
		       uint64_t iova, uint32_t flags)
{
	return iommufd_map(fd, ioas_id, va, len, &iova,
			   flags | IOMMU_IOAS_MAP_FIXED_IOVA);
}

long iommufd_unmap(int fd, uint32_t ioas_id, uint64_t iova, uint64_t len,
		   uint64_t *unmapped)
{
	struct iommu_ioas_unmap u = {
		.size = sizeof(u),
		.ioas_id = ioas_id,
		.iova = iova,
		.length = len,
	};
	long r = vfio_ioctl(fd, IOMMU_IOAS_UNMAP, &u);

	if (unmapped)
		*unmapped = r ? 0 : u.length;
	return r;
}

long iommufd_iova_ranges(int fd, uint32_t ioas_id, struct iommu_iova_range *r,
			 uint32_t *num, uint64_t *align)
{
	struct iommu_ioas_iova_ranges q = {
		.size = sizeof(q),
		.ioas_id = ioas_id,
		.num_iovas = *num,
		.allowed_iovas = (uintptr_t)r,
	};
	long rc = vfio_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q);

	if (!rc || rc == -EMSGSIZE)
		*num = q.num_iovas;
	if (align)
		*align = q.out_iova_alignment;
	return rc;
}

long iommufd_hw_info(int fd, uint32_t dev_id, void *data, uint32_t *len,
		     uint32_t *type)
{
	struct iommu_hw_info h = {
		.size = sizeof(h),
		.dev_id = dev_id,
		.data_len = *len,
		.data_uptr = (uintptr_t)data,
	};
	long r = vfio_ioctl(fd, IOMMU_GET_HW_INFO, &h);

	if (!r) {
		*len = h.data_len;
		*type = h.out_data_type;
	}
	return r;
}

long iommufd_hwpt_alloc(int fd, uint32_t dev_id, uint32_t pt_id,
			uint32_t data_type, const void *data, uint32_t data_len,
			uint32_t *hwpt_id)
{
	struct iommu_hwpt_alloc a = {
		.size = sizeof(a),
		.dev_id = dev_id,
		.pt_id = pt_id,
		.data_type = data_type,
		.data_len = data_len,
		.data_uptr = (uintptr_t)data,
	};
	long r = vfio_ioctl(fd, IOMMU_HWPT_ALLOC, &a);

	if (!r)
		*hwpt_id = a.out_hwpt_id;
	return r;
}

int iofd_sess_open(struct iofd_sess *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = iommufd_open();
	if (s->fd < 0)
		return s->fd;
	return (int)iommufd_ioas_alloc(s->fd, &s->ioas);
}

int iofd_sess_open_dev(struct iofd_sess *s, struct iofd_dev *x,
		       const char *bdf, bool attach)
{
	int r;

	iofd_dev_init(x);
	r = iofd_sess_open(s);
	if (!r)
		r = iofd_dev_setup(x, s->fd, bdf, attach ? s->ioas : 0);
	return r;
}

int iofd_sess_open_hwpt(struct iofd_sess *s, struct iofd_dev *x,
			const char *bdf, uint32_t *hwpt)
{
	long r = iofd_sess_open_dev(s, x, bdf, false);

	if (!r)
		r = iofd_hwpt_spapr(s, x, 0, 0, 0, hwpt);
	if (!r)
		r = vfio_cdev_attach(x, *hwpt);
	return (int)r;
}

void iofd_sess_close(struct iofd_sess *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

long iofd_sess_ranges(struct iofd_sess *s)
{
	s->nranges = 1;
	return iommufd_iova_ranges(s->fd, s->ioas, &s->range, &s->nranges,
				   &s->align);
}

uint64_t iofd_range_len(const struct iofd_sess *s)
{
	return s->range.last - s->range.start + 1;
}

int iofd_fresh_dma(const char *bdf, uint64_t *seed)
{
	const uint64_t len = 2 * 0x10000ull;
	uint8_t *buf = buf_alloc(len);
	struct iofd_dev x;
	struct iofd_sess s;
	struct edu e;
	uint64_t iova;
	int r;

	if (!buf)
		return -ENOMEM;
	r = iofd_sess_open_dev(&s, &x, bdf, true);
	if (!r)
		r = (int)iofd_sess_ranges(&s);
	iova = s.range.start + IOFD_FRESH_AT;
	if (!r)
		r = (int)iommufd_map_fixed(s.fd, s.ioas, buf, len, iova,
					   IOAS_RW);
	if (!r)
		r = edu_init(&e, &x.d);
	if (!r)
		r = edu_copy_check(&e, buf, iova, buf + len / 2,
				   iova + len / 2, 2 * EDU_DMA_MAX, seed);
	iofd_dev_close(&x);
	iofd_sess_close(&s);
	buf_free(buf, len);
	return r;
}

long iofd_hwpt_spapr(struct iofd_sess *s, struct iofd_dev *x, uint32_t shift,
		     uint32_t levels, uint64_t size, uint32_t *hwpt)
{
	struct iommu_hwpt_spapr_tce w = {
		.page_shift = shift,
		.levels = levels,
		.window_size = size,
	};

	return iommufd_hwpt_alloc(s->fd, x->dev_id, s->ioas,
				  IOMMU_HWPT_DATA_SPAPR_TCE, &w, sizeof(w),
				  hwpt);
}
