// SPDX-License-Identifier: GPL-2.0-only
/*
 * The demo: a user-space driver's view of VFIO on a pSeries LPAR.
 * Binds the edu device to vfio-pci, opens a 64-bit Dynamic DMA Window,
 * maps a buffer into it, lets the device copy one half of the buffer into
 * the other, and prints what happened. Exit status 0 when the copy is
 * verified byte for byte.
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define DEMO_PAGE_SHIFT	16			/* 64K IOMMU pages */
#define DEMO_WINDOW	(1ULL << 32)		/* 4 GiB window */
#define DEMO_BUF	(1UL << 20)		/* 1 MiB buffer: 512K each way */

struct demo {
	struct vfio_dev dev;
	struct edu edu;
	uint8_t *buf;
	uint64_t start;
	struct vfio_iommu_spapr_tce_info info;
};

static int demo_open_window(struct demo *d)
{
	int c = d->dev.container;
	long r;

	r = spapr_get_info(c, &d->info, sizeof(d->info));
	if (r < 0)
		return (int)r;
	d->buf = buf_alloc(DEMO_BUF);
	if (!d->buf)
		return -ENOMEM;
	r = spapr_register(c, d->buf, DEMO_BUF);
	if (r < 0)
		return (int)r;
	r = spapr_create(c, DEMO_PAGE_SHIFT, DEMO_WINDOW, 1, &d->start);
	if (r < 0)
		return (int)r;
	return (int)dma_map(c, d->buf, d->start, DEMO_BUF, DMA_RW);
}

static bool demo_copy_and_verify(struct demo *d)
{
	size_t half = DEMO_BUF / 2;
	uint64_t seed = test_seed();

	fill_random(d->buf, half, &seed);
	memset(d->buf + half, 0, half);
	if (edu_copy(&d->edu, d->start, d->start + half, half))
		return false;
	return memcmp(d->buf, d->buf + half, half) == 0;
}

static void demo_summary(const struct demo *d, bool verified)
{
	printf("\n  device         %s (edu, IOMMU group %d)\n",
	       d->dev.bdf, d->dev.group_id);
	printf("  32-bit window  start 0x%" PRIx32 ", size %" PRIu32 " MiB\n",
	       d->info.dma32_window_start, d->info.dma32_window_size >> 20);
	printf("  64-bit DDW     start 0x%" PRIx64 ", size %llu GiB, IOMMU page %lu KiB\n",
	       d->start, DEMO_WINDOW >> 30, (1UL << DEMO_PAGE_SHIFT) >> 10);
	printf("  page sizes     0x%llx offered, %u window(s), %u level(s)\n",
	       (unsigned long long)d->info.ddw.pgsizes,
	       d->info.ddw.max_dynamic_windows_supported, d->info.ddw.levels);
	printf("  DMA            %lu bytes read by the device, %lu written\n",
	       DEMO_BUF / 2, DEMO_BUF / 2);
	printf("  verified       %s\n\n", verified ? "yes, byte for byte" : "NO");
}

int main(int argc, char **argv)
{
	struct demo d = { 0 };
	char bdf[32];
	bool verified;
	int r;

	tap_init("demo: DMA through a 64-bit Dynamic DMA Window");
	if (pci_pick_device(argc, argv, bdf, sizeof(bdf)))
		tap_bail("no edu device");
	vfio_dev_init(&d.dev);
	r = vfio_open(&d.dev, bdf, VFIO_SPAPR_TCE_v2_IOMMU, true);
	if (!tap_rc(r, 0, "open %s through vfio-pci (sPAPR TCE v2)", bdf))
		return tap_done();
	r = edu_init(&d.edu, &d.dev);
	if (!tap_rc(r, 0, "edu registers mapped, bus mastering on"))
		return tap_done();
	r = demo_open_window(&d);
	if (!tap_rc(r, 0, "register, create a 64-bit window, map"))
		return tap_done();
	verified = demo_copy_and_verify(&d);
	tap_ok(verified, "device copied %lu bytes inside the DDW", DEMO_BUF / 2);
	demo_summary(&d, verified);
	dma_unmap(d.dev.container, d.start, DEMO_BUF);
	spapr_remove(d.dev.container, d.start);
	vfio_close(&d.dev);
	pci_rebind(bdf, NULL);
	return tap_done();
}
