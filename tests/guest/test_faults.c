// SPDX-License-Identifier: GPL-2.0-only
/*
 * Platform faults, each followed by a check that the PE is still usable
 * (fresh open + edu DMA):
 *  (a) the ddw=off PHB (0004, no ibm,ddw-applicable): v1 GET_INFO reports
 *      no DDW, a v2 container refuses the group (-EINVAL, v2 needs DDW),
 *      TCE_CREATE on v1 is -ENOTTY, a v2 container with 0001 refuses to
 *      take 0004 as a second group; the default 32-bit window does DMA;
 *  (b) windows larger than the platform's largest block (1<<50, 1<<60
 *      bytes) and malformed geometries (not a power of two, smaller than
 *      a page, levels > 1, page shift >= 64): -EINVAL;
 *  (c) every page size 2^12..2^40 not in GET_INFO's pgsizes: -EINVAL;
 *  (d) a window requested while two exist: -ENOSPC;
 *  (e) the default window removed (with and without a DDW open) and a 4K
 *      window of its size requested again: created, DMA through it works;
 *      without a DDW open it comes back at the default window's address.
 *
 * Usage: test_faults
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SZ_4K	0x1000ull
#define SZ_64K	0x10000ull
#define SZ_1M	0x100000ull
#define SZ_256M	0x10000000ull
#define SZ_1G	0x40000000ull
#define BUF_LEN	(2 * SZ_64K)

static const char *bdf = "0001:00:00.0", *bdf_noddw = "0004:00:00.0";
static unsigned int faults;
static uint8_t *buf;

/* A request that must fail with expect; counted as an injected fault */
static bool fault(long got, long expect, const char *what)
{
	faults++;
	return tap_rc(got, expect, "%s -> %s", what, rc_str(expect));
}

static void usable(const char *b, int type, const char *after)
{
	tap_rc(edu_fresh_dma(b, type), 0, "%s: PE usable after %s (fresh DMA)",
	       b, after);
}

/* DMA through a window mapping buf at iova: one edu copy inside buf */
static int dma_through(struct vfio_dev *d, uint64_t iova)
{
	static struct edu e;
	uint64_t seed = 42;
	int r = (int)dma_map(d->container, buf, iova, BUF_LEN, DMA_RW);

	/* BAR0 mapped once per open: edu_init again would leak a mapping */
	if (!r && (!d->bar0 || e.d != d))
		r = edu_init(&e, d);
	if (!r) {
		fill_random(buf, SZ_4K, &seed);
		memset(buf + SZ_64K, 0, SZ_4K);
		r = edu_copy(&e, iova, iova + SZ_64K, SZ_4K);
		if (!r && memcmp(buf, buf + SZ_64K, SZ_4K))
			r = -EIO;
	}
	dma_unmap(d->container, iova, BUF_LEN);
	return r;
}

static void open_v2(struct vfio_dev *d, struct vfio_iommu_spapr_tce_info *info)
{
	int r = vfio_open(d, bdf, VFIO_SPAPR_TCE_v2_IOMMU, true);

	if (!r)
		r = (int)spapr_get_info(d->container, info, sizeof(*info));
	if (!r)
		r = (int)spapr_register(d->container, buf, BUF_LEN);
	if (r)
		tap_bail("v2 open of %s: %s", bdf, rc_str(r));
}

static void test_noddw(void)
{
	struct vfio_iommu_spapr_tce_info info;
	struct vfio_dev d, d2;
	char path[64];
	long r;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf_noddw);
	if (access(path, F_OK) || pci_bind_vfio(bdf_noddw)) {
		tap_skip("no ddw=off PHB", "(a) %s", bdf_noddw);
		return;
	}
	r = vfio_open(&d, bdf_noddw, VFIO_SPAPR_TCE_IOMMU, true);
	tap_rc(r, 0, "(a) %s: v1 container", bdf_noddw);
	if (r) {
		vfio_close(&d);
		return;
	}
	memset(&info, 0xff, sizeof(info));
	tap_rc(spapr_get_info(d.container, &info, sizeof(info)), 0,
	       "(a) v1 GET_INFO");
	tap_ok(!(info.flags & VFIO_IOMMU_SPAPR_INFO_DDW) &&
	       info.ddw.max_dynamic_windows_supported == 0 &&
	       info.dma32_window_size > 0,
	       "(a) no DDW reported (flags 0x%x, windows %u), 32-bit window 0x%llx+0x%llx",
	       info.flags, info.ddw.max_dynamic_windows_supported,
	       (unsigned long long)info.dma32_window_start,
	       (unsigned long long)info.dma32_window_size);
	fault(spapr_create(d.container, 16, SZ_1G, 1, NULL), -ENOTTY,
	      "(a) v1 TCE_CREATE of a 64-bit window");
	tap_rc(iommu_enable(d.container), 0, "(a) v1 ENABLE");
	tap_rc(dma_through(&d, info.dma32_window_start), 0,
	       "(a) DMA through the default 32-bit window");
	vfio_close(&d);

	/* v2 needs DDW: the group is refused at SET_IOMMU */
	r = vfio_open(&d, bdf_noddw, 0, false);
	if (!r)
		r = vfio_set_iommu(&d, VFIO_SPAPR_TCE_v2_IOMMU);
	fault(r, -EINVAL, "(a) v2 SET_IOMMU with the no-DDW group");
	vfio_close(&d);

	/* and as a second group of a v2 container */
	open_v2(&d2, &info);
	vfio_dev_init(&d);
	r = vfio_open_group(&d, bdf_noddw);
	if (r >= 0) {
		d.group = (int)r;
		r = vfio_ioctl(d.group, VFIO_GROUP_SET_CONTAINER,
			       &d2.container);
	}
	fault(r, -EINVAL, "(a) no-DDW group into a v2 container with 0001");
	vfio_close(&d);
	tap_rc(dma_through(&d2, info.dma32_window_start), 0,
	       "(a) 0001's v2 container unaffected (DMA)");
	vfio_close(&d2);
	usable(bdf_noddw, VFIO_SPAPR_TCE_IOMMU, "(a)");
}

static void test_geometry(void)
{
	struct vfio_iommu_spapr_tce_info info;
	struct vfio_dev d;
	uint64_t start = 0;
	unsigned int s, bad = 0, tried = 0;
	long r;

	open_v2(&d, &info);
	fault(spapr_create(d.container, 16, 1ull << 60, 1, NULL), -EINVAL,
	      "(b) CREATE 64K pages, window 1<<60");
	/*
	 * QEMU's 6-cell query says the largest block is 2^37 TCEs: 1<<54
	 * with 64K pages is just beyond. (Not 1<<50: it passes the query,
	 * QEMU then fails the create and leaves its table region attached,
	 * so that the next create on the PHB aborts QEMU.)
	 */
	fault(spapr_create(d.container, 16, 1ull << 54, 1, NULL), -EINVAL,
	      "(b) CREATE 64K pages, window 1<<54 (beyond the largest block)");
	fault(spapr_create(d.container, 12, 1ull << 62, 1, NULL), -EINVAL,
	      "(b) CREATE 4K pages, window 1<<62");
	fault(spapr_create(d.container, 16, 3 * SZ_256M, 1, NULL), -EINVAL,
	      "(b) CREATE window not a power of two");
	fault(spapr_create(d.container, 16, SZ_4K, 1, NULL), -EINVAL,
	      "(b) CREATE window smaller than its page");
	fault(spapr_create(d.container, 16, 0, 1, NULL), -EINVAL,
	      "(b) CREATE window of size 0");
	fault(spapr_create(d.container, 64, SZ_1G, 1, NULL), -EINVAL,
	      "(b) CREATE page shift 64");
	fault(spapr_create(d.container, 0xffffffffu, SZ_1G, 1, NULL), -EINVAL,
	      "(b) CREATE page shift 0xffffffff");
	for (s = 2; s <= 5; s++) {
		faults++;
		r = spapr_create(d.container, 16, SZ_1G, s, &start);
		if (r != -EINVAL)
			tap_diag("(b) levels %u: %s", s, rc_str(r));
		bad += r >= 0;
		if (r >= 0)
			spapr_remove(d.container, start);
	}
	tap_ok(!bad, "(b) CREATE with levels 2..5 (platform offers %u) refused",
	       info.ddw.levels);
	r = spapr_create(d.container, 16, SZ_1G, 1, &start);
	tap_rc(r, 0, "(b) a sane 64K DDW after all that");
	if (!r) {
		tap_rc(dma_through(&d, start), 0, "(b) DMA through it");
		spapr_remove(d.container, start);
	}

	/* (c) page sizes the platform does not offer */
	bad = 0;
	for (s = 12; s <= 40; s++) {
		if (info.ddw.pgsizes & (1ull << s))
			continue;
		tried++;
		faults++;
		r = spapr_create(d.container, s, 1ull << (s + 8), 1, &start);
		if (r != -EINVAL) {
			bad++;
			tap_diag("(c) page shift %u: %s", s, rc_str(r));
			if (!r)
				spapr_remove(d.container, start);
		}
	}
	tap_ok(!bad && tried, "(c) %u page sizes not in pgsizes 0x%llx -> EINVAL",
	       tried, (unsigned long long)info.ddw.pgsizes);
	vfio_close(&d);
	usable(bdf, VFIO_SPAPR_TCE_v2_IOMMU, "(b), (c)");
}

static void test_enospc(void)
{
	struct vfio_iommu_spapr_tce_info info;
	struct vfio_dev d;
	uint64_t a = 0, b = 0;
	long r;

	open_v2(&d, &info);
	tap_diag("(d) max_dynamic_windows_supported %u",
		 info.ddw.max_dynamic_windows_supported);
	r = spapr_create(d.container, 16, SZ_1G, 1, &a);
	tap_rc(r, 0, "(d) CREATE a DDW next to the default window");
	fault(spapr_create(d.container, 12, SZ_256M, 1, NULL), -ENOSPC,
	      "(d) CREATE a third window");
	fault(spapr_create(d.container, 16, SZ_1G, 1, NULL), -ENOSPC,
	      "(d) CREATE a third window again");
	tap_rc(dma_through(&d, a), 0, "(d) DMA through the DDW still works");
	tap_rc(dma_through(&d, info.dma32_window_start), 0,
	       "(d) DMA through the default window still works");

	/*
	 * (e) default window removed while a DDW is open, a 4K window of its
	 * size requested: either refused with an errno, or created where it
	 * does not overlap the DDW and usable for DMA.
	 */
	tap_rc(spapr_remove(d.container, info.dma32_window_start), 0,
	       "(e) REMOVE the default window (DDW open)");
	r = spapr_create(d.container, 12, info.dma32_window_size, 1, &b);
	tap_diag("(e) CREATE 4K window of the default's size with the DDW at 0x%llx open: %s, at 0x%llx",
		 (unsigned long long)a, rc_str(r), (unsigned long long)b);
	if (r) {
		tap_ok(r < 0, "(e) refused cleanly (%s)", rc_str(r));
	} else {
		tap_ok(b + info.dma32_window_size <= a || b >= a + SZ_1G,
		       "(e) the new window 0x%llx+0x%llx does not overlap the DDW 0x%llx+0x%llx",
		       (unsigned long long)b,
		       (unsigned long long)info.dma32_window_size,
		       (unsigned long long)a, (unsigned long long)SZ_1G);
		tap_rc(dma_through(&d, b), 0, "(e) DMA through it");
		fault(spapr_create(d.container, 16, SZ_256M, 1, NULL),
		      -ENOSPC, "(e) a third window");
		spapr_remove(d.container, b);
	}
	tap_rc(spapr_remove(d.container, a), 0, "(e) REMOVE the DDW too");
	fault(dma_map(d.container, buf, info.dma32_window_start, BUF_LEN,
		      DMA_RW), -ENXIO, "(e) MAP with no window at all");
	r = spapr_create(d.container, 12, info.dma32_window_size, 1, &b);
	tap_rc(r, 0, "(e) CREATE the default window again (no DDW open)");
	if (!r) {
		tap_ok(b == info.dma32_window_start,
		       "(e) back at the default window's address 0x%llx (0x%llx)",
		       (unsigned long long)info.dma32_window_start,
		       (unsigned long long)b);
		tap_rc(dma_through(&d, b), 0, "(e) DMA through it");
	}
	vfio_close(&d);
	usable(bdf, VFIO_SPAPR_TCE_v2_IOMMU, "(d), (e)");
	usable(bdf, VFIO_SPAPR_TCE_IOMMU, "(d), (e)");
}

int main(void)
{
	tap_init("test_faults");
	if (access("/dev/vfio/vfio", F_OK))
		tap_skip_all("/dev/vfio/vfio missing (vfio not loaded)");
	if (backend_is_ours() < 0)
		tap_skip_all("no sPAPR TCE backend loaded");
	if (pci_bind_vfio(bdf))
		tap_skip_all("%s not available", bdf);
	buf = buf_alloc(BUF_LEN);
	if (!buf)
		tap_bail("alloc");
	tap_rc(edu_fresh_dma(bdf, VFIO_SPAPR_TCE_v2_IOMMU), 0,
	       "%s: DMA works before", bdf);
	test_noddw();
	test_geometry();
	test_enospc();
	tap_figure("faults_injected", "%u", faults);
	return tap_done();
}
