// SPDX-License-Identifier: GPL-2.0-only
/*
 * hold_group [BDF]: open the device's group in a v2 container, open a
 * 64-bit window with one mapping of 16 64K pages, say "held" and wait to
 * be killed. Used by guest/tests/platform_lifecycle to show that the
 * platform module refuses to unload while a group is in use, and which
 * range operations our backend used (the release clears the 16 entries
 * with one H_STUFF_TCE through the platform module's, with an H_PUT_TCE
 * each through the generic ones).
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct vfio_dev d;
	uint64_t start;
	size_t len = 16UL << 16;
	void *buf;
	char bdf[32];
	long r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pci_pick_device(argc, argv, bdf, sizeof(bdf)))
		return 2;
	vfio_dev_init(&d);
	r = vfio_open(&d, bdf, VFIO_SPAPR_TCE_v2_IOMMU, false);
	buf = buf_alloc(len);
	if (!r && buf)
		r = spapr_register(d.container, buf, len);
	if (!r)
		r = spapr_create(d.container, 16, 1ULL << 30, 1, &start);
	if (!r)
		r = dma_map(d.container, buf, start, len, DMA_RW);
	if (r) {
		printf("hold_group: %s\n", rc_str(r));
		return 1;
	}
	printf("held\n");
	for (;;)
		pause();
}
