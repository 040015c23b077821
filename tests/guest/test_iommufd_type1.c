// SPDX-License-Identifier: GPL-2.0-only
/*
 * Type1 compatibility (IOMMUFD_VFIO_CONTAINER, a kernel without
 * VFIO_CONTAINER): a program written for VFIO_TYPE1v2_IOMMU, as on x86,
 * moves data with edu on pSeries. /dev/vfio/vfio, the group,
 * SET_CONTAINER, SET_IOMMU(VFIO_TYPE1v2_IOMMU), VFIO_IOMMU_GET_INFO with
 * its IOVA range capability (the PE's DDW), MAP_DMA inside a range, an
 * edu copy, MAP_DMA outside the range refused, UNMAP_DMA and then the
 * device cannot write the page, everything closed and unpinned.
 *
 * "1..0 # SKIP" when VFIO_CHECK_EXTENSION(VFIO_TYPE1v2_IOMMU) says no (the
 * legacy container with the sPAPR backend); anything else failing fails.
 *
 * Usage: test_iommufd_type1 [BDF]   (default: the first edu device)
 */
#define _GNU_SOURCE
#include "iommufd_helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SZ_64K	0x10000ull
#define BUF_LEN	(4 * SZ_64K)
#define HALF	(BUF_LEN / 2)
#define INFO_SZ	4096

static uint64_t seed;

/* Skips the whole program unless the container offers type1 v2 */
static void need_type1v2(void)
{
	int c = vfio_open_container();
	long r;

	if (c < 0)
		tap_bail("/dev/vfio/vfio: %s", rc_str(c));
	r = vfio_ioctl(c, VFIO_CHECK_EXTENSION, (void *)VFIO_TYPE1v2_IOMMU);
	close(c);
	if (r <= 0)
		tap_skip_all("VFIO_CHECK_EXTENSION(VFIO_TYPE1v2_IOMMU) = %s: no type1 compatibility (legacy VFIO container)",
			     rc_str(r));
}

/* The first range of the IOVA range capability of info, NULL if none */
static const struct vfio_iova_range *
iova_range(const struct vfio_iommu_type1_info *info, uint32_t *nr)
{
	const uint8_t *base = (const uint8_t *)info;
	uint32_t off = info->flags & VFIO_IOMMU_INFO_CAPS ? info->cap_offset : 0;

	while (off && off + sizeof(struct vfio_info_cap_header) <= INFO_SZ) {
		const struct vfio_info_cap_header *h = (const void *)(base + off);

		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			const struct vfio_iommu_type1_info_cap_iova_range *c =
				(const void *)h;

			*nr = c->nr_iovas;
			return c->nr_iovas ? &c->iova_ranges[0] : NULL;
		}
		off = h->next;
	}
	*nr = 0;
	return NULL;
}

/* GET_INFO: the first IOVA range into start, end; 0 or -errno */
static int aperture(struct vfio_dev *d, uint64_t *start, uint64_t *end)
{
	struct vfio_iommu_type1_info *info = calloc(1, INFO_SZ);
	const struct vfio_iova_range *r0;
	uint32_t nr = 0;
	long r;

	if (!info)
		tap_bail("malloc");
	info->argsz = INFO_SZ;
	r = vfio_ioctl(d->container, VFIO_IOMMU_GET_INFO, info);
	if (!tap_rc(r, 0, "VFIO_IOMMU_GET_INFO"))
		goto out;
	tap_diag("flags 0x%x, iova_pgsizes 0x%llx", info->flags,
		 (unsigned long long)info->iova_pgsizes);
	tap_ok(info->iova_pgsizes & SZ_64K, "64K among the IOVA page sizes");
	r0 = iova_range(info, &nr);
	if (!tap_ok(r0, "IOVA range capability: %u range(s)", nr)) {
		r = -ENOENT;
		goto out;
	}
	*start = r0->start;
	*end = r0->end;
	tap_diag("first range 0x%llx..0x%llx", (unsigned long long)*start,
		 (unsigned long long)*end);
	tap_ok(*end - *start + 1 >= 16 * BUF_LEN,
	       "the first range holds the test's mappings");
out:
	free(info);
	return (int)r;
}

/* MAP_DMA just outside [start, end]: -EINVAL */
static void outside(struct vfio_dev *d, uint8_t *buf, uint64_t start,
		    uint64_t end)
{
	if (start >= SZ_64K)
		tap_rc(dma_map(d->container, buf, start - SZ_64K, SZ_64K,
			       DMA_RW), -EINVAL,
		       "MAP_DMA below the first range -> -EINVAL");
	if (end + 1)
		tap_rc(dma_map(d->container, buf, end + 1, SZ_64K, DMA_RW),
		       -EINVAL, "MAP_DMA above the first range -> -EINVAL");
}

static void dma(struct vfio_dev *d, uint8_t *buf, uint64_t start,
		uint64_t end)
{
	uint64_t iova = start + 16 * SZ_64K;
	uint8_t *before = malloc(HALF);
	struct edu e;
	int r;

	if (!before)
		tap_bail("malloc");
	if (!tap_rc(dma_map(d->container, buf, iova, BUF_LEN, DMA_RW), 0,
		    "MAP_DMA %llu KiB at 0x%llx", BUF_LEN >> 10,
		    (unsigned long long)iova))
		goto out;
	if (!tap_rc(edu_init(&e, d), 0, "edu BAR0, bus master"))
		goto out;
	tap_rc(edu_copy_check(&e, buf, iova, buf + HALF, iova + HALF, HALF,
			      &seed), 0,
	       "edu copies %llu KiB through the type1 mapping, equal",
	       HALF >> 10);
	outside(d, buf, start, end);
	tap_rc(dma_unmap(d->container, iova, BUF_LEN), 0, "UNMAP_DMA");
	fill_random(buf + HALF, HALF, &seed);
	memcpy(before, buf + HALF, HALF);
	r = edu_dma(&e, iova + HALF, 0, EDU_DMA_MAX, true);
	tap_ok(!memcmp(buf + HALF, before, HALF),
	       "after UNMAP_DMA the device does not reach the page (%s)",
	       rc_str(r));
out:
	free(before);
}

int main(int argc, char **argv)
{
	uint8_t *buf = buf_alloc(BUF_LEN);
	uint64_t start = 0, end = 0;
	struct vfio_dev d;
	long long pin0, pins;
	char bdf[32];
	int old = 0, r;

	tap_init("test_iommufd_type1");
	if (!buf)
		tap_bail("buffer");
	if (pci_pick_device(argc, argv, bdf, sizeof(bdf)))
		tap_bail("no edu device");
	need_type1v2();
	seed = test_seed();
	r = iommufd_unsafe_interrupts(1, &old);
	tap_diag("device %s seed 0x%llx; pSeries does not claim isolated MSI: iommufd allow_unsafe_interrupts=1 for this run (was %d): %s",
		 bdf, (unsigned long long)seed, old, rc_str(r));
	pin0 = pinned_pages();
	r = vfio_open(&d, bdf, VFIO_TYPE1v2_IOMMU, true);
	if (tap_rc(r, 0, "container, group %d, SET_IOMMU(VFIO_TYPE1v2_IOMMU), device fd",
		   d.group_id) && !aperture(&d, &start, &end))
		dma(&d, buf, start, end);
	vfio_close(&d);
	buf_free(buf, BUF_LEN);
	pins = settle_ll(pinned_pages, pin0);
	tap_ok(pins == pin0, "all closed: pinned pages back to %lld (%lld)",
	       pin0, pins);
	iommufd_unsafe_interrupts(old, NULL);
	return tap_done();
}
