// SPDX-License-Identifier: GPL-2.0-only
/*
 * IOMMUFD on pSeries (the series kernel, issue 17): VFIO device cdevs bound
 * to /dev/iommu, an IOAS whose paging domain is a PE's 64-bit Dynamic DMA
 * Window, and the edu device moving data through it.
 *
 *  (a) 0001: IOMMU_GET_HW_INFO (SPAPR_TCE: 64K among the page sizes, at
 *      least one window), IOAS_ALLOC, BIND, ATTACH to the IOAS, the
 *      IOVA_RANGES (one range: the DDW, 64K aligned, at least RAM sized,
 *      at the bus address firmware chose), MAP, edu copies through it both
 *      ways; a READ-only mapping is read but not written by the device;
 *      after UNMAP the device cannot write the page; hostile input
 *      (outside the window, unaligned, not mapped, bogus ids, a second
 *      BIND) fails with its errno and leaves nothing: UNMAP of everything
 *      finds only the mappings made, no page pinned;
 *  (b) 0001: IOMMU_HWPT_ALLOC with struct iommu_hwpt_spapr_tce: 8K pages,
 *      a window not a power of two or smaller than a page, two levels:
 *      -EINVAL; 4K
 *      pages x 1 GiB: attached, the IOVA range is 1 GiB with 4K alignment,
 *      a MAP at an IOVA 4K but not 64K aligned, DMA through it, DETACH and
 *      ATTACH again: the mapping is still there;
 *  (c) the multi-device PE 0005: both functions in one IOAS share one
 *      HWPT (the second ATTACH returns the first's pt_id), both DMA;
 *  (d) two PEs (0001, 0003) in one IOAS: one MAP, both DMA; one UNMAP,
 *      neither reaches the page;
 *  (e) a child binds, maps and DMAs, and is killed with SIGKILL: its pages
 *      are unpinned and the parent binds the same device and DMAs;
 *  (g) a HWPT of the user's ({0, 0, 0}: the default window) mapped when
 *      its device is closed, which releases the PE and its window: UNMAP
 *      still works, the device bound again cannot attach to that HWPT
 *      (-EINVAL) but attaches to the IOAS, which maps, and DMAs, and
 *      still DMAs once the old HWPT is destroyed;
 *  (h) the PE without DDW (0004): GET_HW_INFO (no window to create, 4K
 *      pages), ATTACH to the IOAS: the domain is the PE's default 32-bit
 *      window (the range hw info reports, 4K aligned), DMA through it;
 *  (f) everything closed, each device opened again DMAs, and the legacy
 *      sPAPR container (when the backend is loaded) DMAs through the PE's
 *      default window again (v2; v1 on 0004).
 * pSeries does not claim isolated MSI: iommufd's allow_unsafe_interrupts
 * is set for the run (and restored after it).
 *
 * Usage: test_iommufd
 */
#define _GNU_SOURCE
#include "iommufd_helpers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SZ_4K	0x1000ull
#define SZ_64K	0x10000ull
#define SZ_1M	0x100000ull
#define SZ_1G	0x40000000ull

#define BDF_A	"0001:00:00.0"
#define BDF_B	"0003:00:00.0"
#define BDF_P0	"0005:00:00.0"
#define BDF_P1	"0005:00:01.0"
#define BDF_NODDW "0004:00:00.0"	/* a PHB with ddw=off */

/* Buffer layout: RW region of 4 pages (src, dst), RO region of 2 pages */
#define RW_LEN	(4 * SZ_64K)
#define HALF	(RW_LEN / 2)
#define RO_OFF	RW_LEN
#define RO_LEN	(2 * SZ_64K)
#define BUF_LEN	(RW_LEN + RO_LEN)
/* IOVAs from the start of the range: RW at 16 pages, RO at 32 */
#define RW_AT	(16 * SZ_64K)
#define RO_AT	(32 * SZ_64K)

static uint64_t seed;
static long long pin0;

static uint64_t ram_bytes(void)
{
	long kb = meminfo_kb("MemTotal");

	return kb > 0 ? (uint64_t)kb << 10 : 0;
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* ------------------------------------------------ (a) one device, IOAS */

static void hw_info(struct iofd_sess *s, struct iofd_dev *x)
{
	/* room beyond the struct: the kernel must zero it */
	struct {
		struct iommu_hw_info_spapr_tce i;
		uint8_t tail[16];
	} h;
	uint32_t len = sizeof(h), type = ~0u;
	size_t k;
	bool zero = true;
	long r;

	memset(&h, 0xa5, sizeof(h));
	r = iommufd_hw_info(s->fd, x->dev_id, &h, &len, &type);
	if (!tap_rc(r, 0, "(a) IOMMU_GET_HW_INFO"))
		return;
	tap_diag("(a) hw info: type %u, %u bytes, flags 0x%x, max_windows %u, max_levels %u, page_sizes 0x%llx, dma32 0x%llx + 0x%llx",
		 type, len, h.i.flags, h.i.max_windows, h.i.max_levels,
		 (unsigned long long)h.i.page_sizes,
		 (unsigned long long)h.i.dma32_window_start,
		 (unsigned long long)h.i.dma32_window_size);
	tap_ok(type == IOMMU_HW_INFO_TYPE_SPAPR_TCE && len == sizeof(h.i),
	       "(a) hw info type SPAPR_TCE (%u), %zu bytes (%u)",
	       IOMMU_HW_INFO_TYPE_SPAPR_TCE, sizeof(h.i), len);
	tap_ok(h.i.page_sizes & SZ_64K, "(a) 64K among the page sizes");
	tap_ok(h.i.max_windows >= 1 && h.i.max_levels >= 1 && !h.i.flags &&
	       !h.i.__reserved, "(a) at least one window and one level, flags 0");
	for (k = 0; k < sizeof(h.tail); k++)
		zero &= !h.tail[k];
	tap_ok(zero, "(a) the buffer beyond the struct zeroed");
}

/* The default domain: the DDW, at least RAM sized, 64K pages */
static bool default_range(struct iofd_sess *s)
{
	uint64_t ram = ram_bytes();

	if (!tap_rc(iofd_sess_ranges(s), 0, "(a) IOAS_IOVA_RANGES after ATTACH"))
		return false;
	tap_diag("(a) %u range(s): 0x%llx..0x%llx, alignment 0x%llx, RAM %llu MiB",
		 s->nranges, (unsigned long long)s->range.start,
		 (unsigned long long)s->range.last,
		 (unsigned long long)s->align, (unsigned long long)ram >> 20);
	tap_ok(s->nranges == 1, "(a) one allowed range (%u)", s->nranges);
	tap_ok(s->align == SZ_64K && !(s->range.start % SZ_64K) &&
	       !((s->range.last + 1) % SZ_64K),
	       "(a) IOVA alignment 64K, the range 64K aligned");
	/* QEMU puts a PE's first window at 0, its second at 1 << 59 */
	tap_diag("(a) the window's bus address, chosen by firmware: 0x%llx",
		 (unsigned long long)s->range.start);
	return tap_ok(iofd_range_len(s) >= ram && pow2(iofd_range_len(s)),
		      "(a) the range covers RAM, a power of two (%llu MiB)",
		      (unsigned long long)iofd_range_len(s) >> 20);
}

static void rw_dma(struct iofd_sess *s, struct edu *e, uint8_t *buf)
{
	uint64_t iova = s->range.start + RW_AT;

	tap_rc(iommufd_map_fixed(s->fd, s->ioas, buf, RW_LEN, iova, IOAS_RW),
	       0, "(a) MAP %llu KiB RW at 0x%llx", RW_LEN >> 10,
	       (unsigned long long)iova);
	tap_diag("(a) pinned pages: %lld more", pinned_pages() - pin0);
	tap_rc(edu_copy_check(e, buf, iova, buf + HALF, iova + HALF, HALF,
			      &seed), 0,
	       "(a) edu copies %llu KiB RAM -> device -> RAM, equal",
	       HALF >> 10);
}

static void read_only(struct iofd_sess *s, struct edu *e, uint8_t *buf)
{
	uint64_t rw = s->range.start + RW_AT, ro = s->range.start + RO_AT;
	uint8_t *before = malloc(EDU_DMA_MAX);
	int r;

	if (!before)
		tap_bail("malloc");
	tap_rc(iommufd_map_fixed(s->fd, s->ioas, buf + RO_OFF, RO_LEN, ro,
				 IOMMU_IOAS_MAP_READABLE), 0,
	       "(a) MAP %llu KiB READ-only at 0x%llx", RO_LEN >> 10,
	       (unsigned long long)ro);
	fill_random(buf + RO_OFF, RO_LEN, &seed);
	fill_random(buf + HALF, EDU_DMA_MAX, &seed);
	r = edu_dma(e, ro, 0, EDU_DMA_MAX, false);
	if (!r)
		r = edu_dma(e, rw + HALF, 0, EDU_DMA_MAX, true);
	tap_ok(!r && !memcmp(buf + HALF, buf + RO_OFF, EDU_DMA_MAX),
	       "(a) the device reads the READ-only mapping (%s)", rc_str(r));
	fill_random(buf, EDU_DMA_MAX, &seed);
	memcpy(before, buf + RO_OFF, EDU_DMA_MAX);
	r = edu_dma(e, rw, 0, EDU_DMA_MAX, false);
	if (!r)
		r = edu_dma(e, ro, 0, EDU_DMA_MAX, true);
	tap_diag("(a) edu -> READ-only mapping returned %s", rc_str(r));
	tap_ok(!memcmp(buf + RO_OFF, before, EDU_DMA_MAX),
	       "(a) the device's write does not reach the READ-only page");
	r = edu_dma(e, rw + HALF, 0, EDU_DMA_MAX, true);
	tap_ok(!r && !memcmp(buf + HALF, buf, EDU_DMA_MAX),
	       "(a) the device still DMAs after the refused write (%s)",
	       rc_str(r));
	free(before);
}

static void unmapped(struct iofd_sess *s, struct edu *e, uint8_t *buf)
{
	uint64_t rw = s->range.start + RW_AT, ro = s->range.start + RO_AT;
	uint8_t *before = malloc(HALF);
	uint64_t n = 0;
	int r;

	if (!before)
		tap_bail("malloc");
	tap_rc(iommufd_unmap(s->fd, s->ioas, rw, RW_LEN, &n), 0,
	       "(a) UNMAP the RW mapping");
	tap_ok(n == RW_LEN, "(a) UNMAP reports %llu bytes (%llu)", RW_LEN,
	       (unsigned long long)n);
	fill_random(buf + HALF, HALF, &seed);
	memcpy(before, buf + HALF, HALF);
	r = edu_dma(e, ro, 0, EDU_DMA_MAX, false);	/* still mapped */
	if (!r)
		r = edu_dma(e, rw + HALF, 0, EDU_DMA_MAX, true);
	tap_diag("(a) edu -> unmapped IOVA returned %s", rc_str(r));
	tap_ok(!memcmp(buf + HALF, before, HALF),
	       "(a) after UNMAP the device's DMA does not reach the page");
	free(before);
}

/* A request that must fail with expect */
static void refused(long got, long expect, const char *what)
{
	tap_rc(got, expect, "(a) %s -> %s", what, rc_str(expect));
}

static void hostile_map(struct iofd_sess *s, uint8_t *buf)
{
	uint64_t start = s->range.start, end = s->range.last + 1;
	uint64_t rw = start + RW_AT;
	int fd = s->fd;

	if (start >= SZ_64K)
		refused(iommufd_map_fixed(fd, s->ioas, buf, SZ_64K,
					  start - SZ_64K, IOAS_RW),
			-EINVAL, "MAP below the window");
	if (end)
		refused(iommufd_map_fixed(fd, s->ioas, buf, SZ_64K, end,
					  IOAS_RW),
			-EINVAL, "MAP above the window");
	refused(iommufd_map_fixed(fd, s->ioas, buf, 2 * SZ_64K, end - SZ_64K,
				  IOAS_RW),
		-EINVAL, "MAP across the end of the window");
	refused(iommufd_map_fixed(fd, s->ioas, buf, SZ_64K, rw + SZ_4K,
				  IOAS_RW),
		-EINVAL, "MAP at an IOVA not 64K aligned");
	refused(iommufd_map_fixed(fd, s->ioas, buf, SZ_64K + SZ_4K, rw,
				  IOAS_RW),
		-EINVAL, "MAP of a length not 64K aligned");
	refused(iommufd_map_fixed(fd, s->ioas, buf, 0, rw, IOAS_RW), -EINVAL,
		"MAP of 0 bytes");
	refused(iommufd_map_fixed(fd, s->ioas, buf, SZ_64K, start + RO_AT,
				  IOAS_RW),
		-EEXIST, "MAP over the READ-only mapping");
	refused(iommufd_map_fixed(fd, 0xdead, buf, SZ_64K, rw, IOAS_RW),
		-ENOENT, "MAP into IOAS id 0xdead");
}

static void hostile_other(struct iofd_sess *s, struct iofd_dev *x)
{
	uint64_t ro = s->range.start + RO_AT;
	uint32_t pt = x->pt_id;

	refused(iommufd_unmap(s->fd, s->ioas, s->range.start + RW_AT, SZ_64K,
			      NULL),
		-ENOENT, "UNMAP of an IOVA not mapped");
	refused(iommufd_unmap(s->fd, s->ioas, ro, SZ_64K, NULL), -ENOENT,
		"UNMAP of half a mapping");
	refused(vfio_cdev_attach(x, 0xdead), -ENOENT, "ATTACH to id 0xdead");
	refused(vfio_cdev_attach(x, x->dev_id), -EINVAL,
		"ATTACH to the device's own id");
	tap_ok(x->pt_id == pt, "(a) still attached to hwpt %u", pt);
	refused(vfio_cdev_bind(x, s->fd), -EINVAL, "a second BIND");
}

/* Hostile input leaves the RO mapping alone and nothing else */
static void hostile(struct iofd_sess *s, struct iofd_dev *x, struct edu *e,
		    uint8_t *buf)
{
	uint64_t ro = s->range.start + RO_AT, rw = s->range.start + RW_AT;
	struct iommu_iova_range before = s->range;
	uint64_t n = 0;
	int r;

	hostile_map(s, buf);
	hostile_other(s, x);
	tap_ok(!iofd_sess_ranges(s) && s->nranges == 1 &&
	       s->range.start == before.start && s->range.last == before.last,
	       "(a) the allowed range unchanged");
	/* the device is still attached and the RO mapping still there */
	r = (int)iommufd_map_fixed(s->fd, s->ioas, buf, RW_LEN, rw, IOAS_RW);
	memset(buf, 0, EDU_DMA_MAX);
	if (!r)
		r = edu_dma(e, ro, 0, EDU_DMA_MAX, false);
	if (!r)
		r = edu_dma(e, rw, 0, EDU_DMA_MAX, true);
	tap_ok(!r && !memcmp(buf, buf + RO_OFF, EDU_DMA_MAX),
	       "(a) MAP again, the device copies the READ-only page (%s)",
	       rc_str(r));
	tap_rc(iommufd_unmap(s->fd, s->ioas, 0, ~0ull, &n), 0,
	       "(a) UNMAP of everything");
	tap_ok(n == RW_LEN + RO_LEN,
	       "(a) it found only the two mappings: %llu bytes (%llu)",
	       RW_LEN + RO_LEN, (unsigned long long)n);
	tap_pins_back(pin0, "(a) after UNMAP of everything");
}

static void part_a(void)
{
	uint8_t *buf = buf_alloc(BUF_LEN);
	struct iofd_dev x;
	struct iofd_sess s;
	struct edu e;
	int r;

	if (!buf)
		tap_bail("buffer");
	iofd_dev_init(&x);
	if (!tap_rc(iofd_sess_open(&s), 0, "(a) /dev/iommu, IOAS_ALLOC"))
		goto out;
	r = vfio_cdev_open(&x, BDF_A);
	if (!tap_rc(r, 0, "(a) %s: vfio-pci, its cdev opened", BDF_A))
		goto out;
	refused(vfio_ioctl(x.d.device, VFIO_DEVICE_RESET, NULL), -EINVAL,
		"an ioctl before BIND");
	r = (int)vfio_cdev_bind(&x, s.fd);
	if (!tap_rc(r, 0, "(a) BIND_IOMMUFD: dev_id %u", x.dev_id))
		goto out;
	hw_info(&s, &x);
	r = (int)vfio_cdev_attach(&x, s.ioas);
	if (!tap_rc(r, 0, "(a) ATTACH_IOMMUFD_PT to IOAS %u: hwpt %u", s.ioas,
		    x.pt_id) || !default_range(&s))
		goto out;
	if (!tap_rc(edu_init(&e, &x.d), 0, "(a) edu BAR0, bus master"))
		goto out;
	rw_dma(&s, &e, buf);
	read_only(&s, &e, buf);
	unmapped(&s, &e, buf);
	hostile(&s, &x, &e, buf);
	tap_rc(vfio_cdev_detach(&x), 0, "(a) DETACH_IOMMUFD_PT");
out:
	iofd_dev_close(&x);
	iofd_sess_close(&s);
	buf_free(buf, BUF_LEN);
	tap_pins_back(pin0, "(a) all closed");
}

/* ---------------------------------------- (b) HWPT_ALLOC with a window */

static void hwpt_refused(struct iofd_sess *s, struct iofd_dev *x)
{
	uint32_t id = 0;

	tap_rc(iofd_hwpt_spapr(s, x, 13, 0, SZ_1G, &id), -EINVAL,
	       "(b) HWPT_ALLOC {13, 0, 1 GiB}: 8K pages not offered");
	tap_rc(iofd_hwpt_spapr(s, x, 16, 0, SZ_1G + SZ_64K, &id), -EINVAL,
	       "(b) HWPT_ALLOC {16, 0, 1 GiB + 64K}: not a power of two");
	tap_rc(iofd_hwpt_spapr(s, x, 16, 0, SZ_4K, &id), -EINVAL,
	       "(b) HWPT_ALLOC {16, 0, 4K}: smaller than a page");
	tap_rc(iofd_hwpt_spapr(s, x, 12, 2, SZ_1G, &id), -EINVAL,
	       "(b) HWPT_ALLOC {12, 2, 1 GiB}: only one level");
}

static void hwpt_4k(struct iofd_sess *s, struct iofd_dev *x, uint8_t *buf)
{
	uint32_t hwpt = 0;
	struct edu e;
	uint64_t iova;
	long r;

	r = iofd_hwpt_spapr(s, x, 12, 0, SZ_1G, &hwpt);
	if (!tap_rc(r, 0, "(b) HWPT_ALLOC {12, 0, 1 GiB}: hwpt %u", hwpt))
		return;
	if (!tap_rc(vfio_cdev_attach(x, hwpt), 0, "(b) ATTACH to hwpt %u",
		    hwpt))
		return;
	tap_ok(x->pt_id == hwpt, "(b) attached to that hwpt (%u)", x->pt_id);
	if (!tap_rc(iofd_sess_ranges(s), 0, "(b) IOAS_IOVA_RANGES"))
		return;
	tap_diag("(b) %u range(s): 0x%llx..0x%llx, alignment 0x%llx",
		 s->nranges, (unsigned long long)s->range.start,
		 (unsigned long long)s->range.last,
		 (unsigned long long)s->align);
	tap_ok(s->nranges == 1 && iofd_range_len(s) == SZ_1G && s->align == SZ_4K,
	       "(b) one range of 1 GiB, 4K alignment");
	/* 4K aligned, not 64K: only a 4K IOMMU page size allows it */
	iova = s->range.start + RW_AT + SZ_4K;
	tap_rc(iommufd_map_fixed(s->fd, s->ioas, buf, HALF, iova, IOAS_RW), 0,
	       "(b) MAP %llu KiB at 0x%llx (4K, not 64K aligned)", HALF >> 10,
	       (unsigned long long)iova);
	if (!tap_rc(edu_init(&e, &x->d), 0, "(b) edu BAR0, bus master"))
		return;
	tap_rc(edu_copy_check(&e, buf, iova, buf + SZ_64K, iova + SZ_64K,
			      SZ_64K, &seed), 0,
	       "(b) edu copies 64 KiB through the 4K-page window, equal");
	/* a window stays open with its mappings while its domain exists */
	tap_rc(vfio_cdev_detach(x), 0, "(b) DETACH");
	tap_rc(vfio_cdev_attach(x, hwpt), 0, "(b) ATTACH to hwpt %u again",
	       hwpt);
	tap_rc(edu_copy_check(&e, buf, iova, buf + SZ_64K, iova + SZ_64K,
			      SZ_64K, &seed), 0,
	       "(b) the mapping outlived the detach: DMA equal");
	tap_rc(iommufd_unmap(s->fd, s->ioas, 0, ~0ull, NULL), 0,
	       "(b) UNMAP of everything");
}

static void part_b(void)
{
	uint8_t *buf = buf_alloc(BUF_LEN);
	struct iofd_dev x;
	struct iofd_sess s;
	int r;

	if (!buf)
		tap_bail("buffer");
	r = iofd_sess_open_dev(&s, &x, BDF_A, false);
	if (tap_rc(r, 0, "(b) %s bound to a fresh iommufd", BDF_A)) {
		hwpt_refused(&s, &x);
		hwpt_4k(&s, &x, buf);
	}
	iofd_dev_close(&x);
	iofd_sess_close(&s);
	buf_free(buf, BUF_LEN);
	tap_pins_back(pin0, "(b) all closed");
}

/* ----------------------------------- (c), (d) two devices in one IOAS */

/*
 * Both devices attached to one IOAS, one MAP, each copies through it;
 * then one UNMAP, and neither device reaches the page.
 */
static void two_devices(const char *tag, const char *bdf0, const char *bdf1,
			bool same_pe)
{
	uint8_t *buf = buf_alloc(BUF_LEN), *before = malloc(HALF);
	const char *bdf[2] = { bdf0, bdf1 };
	uint64_t iova;
	struct iofd_dev x[2];
	struct edu e[2];
	struct iofd_sess s;
	int i, r;

	if (!buf || !before)
		tap_bail("buffer");
	iofd_dev_init(&x[0]);
	iofd_dev_init(&x[1]);
	if (!tap_rc(iofd_sess_open(&s), 0, "%s /dev/iommu, IOAS_ALLOC", tag))
		goto out;
	for (i = 0; i < 2; i++) {
		r = iofd_dev_setup(&x[i], s.fd, bdf[i], s.ioas);
		if (!tap_rc(r, 0, "%s %s: BIND, ATTACH to IOAS %u: hwpt %u",
			    tag, bdf[i], s.ioas, x[i].pt_id))
			goto out;
	}
	if (same_pe)
		tap_ok(x[1].pt_id == x[0].pt_id,
		       "%s one PE: the second ATTACH returns the same hwpt (%u, %u)",
		       tag, x[0].pt_id, x[1].pt_id);
	else
		tap_diag("%s two PEs: hwpt %u and %u", tag, x[0].pt_id,
			 x[1].pt_id);
	r = (int)iofd_sess_ranges(&s);
	tap_ok(!r && s.nranges == 1, "%s one allowed range: 0x%llx..0x%llx (%s)",
	       tag, (unsigned long long)s.range.start,
	       (unsigned long long)s.range.last, rc_str(r));
	iova = s.range.start + RW_AT;
	if (!tap_rc(iommufd_map_fixed(s.fd, s.ioas, buf, RW_LEN, iova, IOAS_RW),
		    0, "%s one MAP of %llu KiB", tag, RW_LEN >> 10))
		goto out;
	for (i = 0; i < 2; i++) {
		r = edu_init(&e[i], &x[i].d);
		if (!r)
			r = edu_copy_check(&e[i], buf, iova, buf + HALF,
					   iova + HALF, 2 * EDU_DMA_MAX, &seed);
		tap_rc(r, 0, "%s %s DMAs through the IOAS, equal", tag, bdf[i]);
	}
	tap_rc(iommufd_unmap(s.fd, s.ioas, iova, RW_LEN, NULL), 0, "%s UNMAP",
	       tag);
	fill_random(buf + HALF, HALF, &seed);
	memcpy(before, buf + HALF, HALF);
	for (i = 0; i < 2; i++) {
		r = edu_dma(&e[i], iova + HALF, 0, EDU_DMA_MAX, true);
		tap_ok(!memcmp(buf + HALF, before, HALF),
		       "%s after UNMAP %s does not reach the page (%s)", tag,
		       bdf[i], rc_str(r));
	}
out:
	iofd_dev_close(&x[1]);
	iofd_dev_close(&x[0]);
	iofd_sess_close(&s);
	free(before);
	buf_free(buf, BUF_LEN);
	tap_pins_back(pin0, tag);
}

/* ---------------------------------------------------- (e) kill -9 */

/* The child: bind, attach, map 1 MiB, one DMA, report, wait for the kill */
static void child(int wfd)
{
	uint8_t *buf = buf_alloc(SZ_1M);
	struct iofd_dev x;
	struct iofd_sess s;
	struct edu e;
	uint64_t iova;
	int r = buf ? 0 : -ENOMEM;

	if (!r)
		r = iofd_sess_open_dev(&s, &x, BDF_A, true);
	if (!r)
		r = (int)iofd_sess_ranges(&s);
	iova = s.range.start + RW_AT;
	if (!r)
		r = (int)iommufd_map_fixed(s.fd, s.ioas, buf, SZ_1M, iova,
					   IOAS_RW);
	if (!r)
		r = edu_init(&e, &x.d);
	if (!r)
		r = edu_copy_check(&e, buf, iova, buf + SZ_64K, iova + SZ_64K,
				   EDU_DMA_MAX, &seed);
	if (write(wfd, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	for (;;)
		pause();
}

static void part_e(void)
{
	int p[2], r = -EIO, status = 0;
	pid_t pid;

	if (pipe(p))
		tap_bail("pipe");
	pid = fork();
	if (pid < 0)
		tap_bail("fork");
	if (!pid) {
		close(p[0]);
		child(p[1]);
	}
	close(p[1]);
	if (read(p[0], &r, sizeof(r)) != sizeof(r))
		r = -EPIPE;
	close(p[0]);
	tap_rc(r, 0, "(e) child %d: BIND, ATTACH, MAP 1 MiB, DMA", (int)pid);
	tap_ok(pinned_pages() > pin0, "(e) the child's pages pinned (%lld more)",
	       pinned_pages() - pin0);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	tap_ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	       "(e) child killed with SIGKILL");
	tap_pins_back(pin0, "(e) after the kill");
	tap_rc(iofd_fresh_dma(BDF_A, &seed), 0,
	       "(e) %s bound again in the parent, DMA equal", BDF_A);
}

/* ---------------------------------------------------- (f) reopen */

static void part_f(void)
{
	static const char *const bdfs[] = { BDF_A, BDF_B, BDF_P0, BDF_P1 };
	size_t i;
	int r;

	for (i = 0; i < sizeof(bdfs) / sizeof(bdfs[0]); i++)
		tap_rc(iofd_fresh_dma(bdfs[i], &seed), 0,
		       "(f) %s opened again: BIND, ATTACH, MAP, DMA equal",
		       bdfs[i]);
	tap_pins_back(pin0, "(f) all closed");
	if (backend_is_ours() < 0 || access("/dev/vfio/vfio", F_OK)) {
		tap_skip("no sPAPR TCE backend loaded",
			 "(f) legacy container after iommufd");
		return;
	}
	for (i = 0; i < 2; i++) {
		r = edu_fresh_dma(bdfs[i], VFIO_SPAPR_TCE_v2_IOMMU);
		tap_rc(r, 0,
		       "(f) %s: a legacy sPAPR v2 container DMAs through the default window",
		       bdfs[i]);
	}
	tap_rc(edu_fresh_dma(BDF_NODDW, VFIO_SPAPR_TCE_IOMMU), 0,
	       "(f) %s: a legacy sPAPR v1 container DMAs through the default window",
	       BDF_NODDW);
}

/* ------------------------------------ (g) the PE released under a HWPT */

/*
 * A HWPT of the user's outlives the device: closing the cdev releases the
 * PE, and with it the window. The IOAS must stay usable: UNMAP of what
 * the dead window held, the device bound again and attached to the IOAS
 * (a new domain: the old one attaches nowhere), MAP, DMA.
 */
static void released_pe(struct iofd_sess *s, uint32_t hwpt, uint8_t *buf)
{
	uint64_t iova = s->range.start + RW_AT, n = 0;
	struct iofd_dev x;
	struct edu e;
	long r;

	tap_rc(iommufd_unmap(s->fd, s->ioas, iova, RW_LEN, &n), 0,
	       "(g) UNMAP after the PE's release");
	tap_ok(n == RW_LEN, "(g) it unmapped %llu bytes (%llu)", RW_LEN,
	       (unsigned long long)n);
	tap_pins_back(pin0, "(g) after that UNMAP");
	r = iofd_dev_setup(&x, s->fd, BDF_A, 0);
	if (!tap_rc(r, 0, "(g) %s opened and bound again", BDF_A))
		goto out;
	tap_rc(vfio_cdev_attach(&x, hwpt), -EINVAL,
	       "(g) ATTACH to the released PE's hwpt %u -> -EINVAL", hwpt);
	r = vfio_cdev_attach(&x, s->ioas);
	if (!tap_rc(r, 0, "(g) ATTACH to the IOAS: hwpt %u", x.pt_id))
		goto out;
	r = iommufd_map_fixed(s->fd, s->ioas, buf, RW_LEN, iova, IOAS_RW);
	tap_rc(r, 0, "(g) MAP with the released PE's hwpt still in the IOAS");
	r = r ? r : edu_init(&e, &x.d);
	if (!r)
		r = edu_copy_check(&e, buf, iova, buf + HALF, iova + HALF,
				   2 * EDU_DMA_MAX, &seed);
	tap_rc(r, 0, "(g) DMA through the new domain, equal");
	if (r)
		goto out;
	/* the old domain's table must not reach the new window */
	tap_rc(iommufd_destroy(s->fd, hwpt), 0,
	       "(g) DESTROY the released PE's hwpt %u", hwpt);
	tap_rc(edu_copy_check(&e, buf, iova, buf + HALF, iova + HALF,
			      2 * EDU_DMA_MAX, &seed), 0,
	       "(g) the new domain still DMAs, equal");
out:
	iofd_dev_close(&x);
}

static void part_g(void)
{
	uint8_t *buf = buf_alloc(BUF_LEN);
	uint32_t hwpt = 0;
	struct iofd_dev x;
	struct iofd_sess s;
	long r;

	if (!buf)
		tap_bail("buffer");
	r = iofd_sess_open_hwpt(&s, &x, BDF_A, &hwpt);
	if (!r)
		r = iofd_sess_ranges(&s);
	if (!tap_rc(r, 0, "(g) HWPT_ALLOC {0, 0, 0} (hwpt %u), ATTACH", hwpt))
		goto out;
	tap_ok(s.align == SZ_64K && pow2(iofd_range_len(&s)) &&
	       iofd_range_len(&s) >= ram_bytes(),
	       "(g) the default window: 64K pages, RAM sized (%llu MiB)",
	       (unsigned long long)iofd_range_len(&s) >> 20);
	r = iommufd_map_fixed(s.fd, s.ioas, buf, RW_LEN, s.range.start + RW_AT,
			      IOAS_RW);
	if (!tap_rc(r, 0, "(g) MAP %llu KiB", RW_LEN >> 10))
		goto out;
	iofd_dev_close(&x);
	tap_diag("(g) %s closed with its hwpt %u mapped: the PE released",
		 BDF_A, hwpt);
	released_pe(&s, hwpt, buf);
out:
	iofd_dev_close(&x);
	iofd_sess_close(&s);
	buf_free(buf, BUF_LEN);
	tap_pins_back(pin0, "(g) all closed");
}

/* ------------------------------------------------ (h) a PE without DDW */

/* Reads the hw info of x into info; 0 or -errno */
static long spapr_hw_info(struct iofd_sess *s, struct iofd_dev *x,
			  struct iommu_hw_info_spapr_tce *info)
{
	uint32_t len = sizeof(*info), type = 0;
	long r = iommufd_hw_info(s->fd, x->dev_id, info, &len, &type);

	return r ? r : type == IOMMU_HW_INFO_TYPE_SPAPR_TCE ? 0 : -EPROTO;
}

/* DMA through the range the IOAS reports */
static void nodma_attached(struct iofd_sess *s, struct iofd_dev *x)
{
	uint8_t *buf = buf_alloc(2 * SZ_64K);
	uint64_t iova;
	struct edu e;
	long r;

	if (!buf)
		tap_bail("buffer");
	r = iofd_sess_ranges(s);
	iova = s->range.start + RW_AT;
	if (!r)
		r = iommufd_map_fixed(s->fd, s->ioas, buf, 2 * SZ_64K, iova,
				      IOAS_RW);
	if (!r)
		r = edu_init(&e, &x->d);
	if (!r)
		r = edu_copy_check(&e, buf, iova, buf + SZ_64K, iova + SZ_64K,
				   2 * EDU_DMA_MAX, &seed);
	tap_rc(r, 0, "(h) DMA through the default window, equal");
	iommufd_unmap(s->fd, s->ioas, 0, ~0ull, NULL);
	buf_free(buf, 2 * SZ_64K);
}

static void part_h(void)
{
	struct iommu_hw_info_spapr_tce info;
	struct iofd_dev x;
	struct iofd_sess s;
	long r;

	r = iofd_sess_open_dev(&s, &x, BDF_NODDW, false);
	if (!tap_rc(r, 0, "(h) %s (no DDW): BIND", BDF_NODDW))
		goto out;
	memset(&info, 0, sizeof(info));
	r = spapr_hw_info(&s, &x, &info);
	tap_rc(r, 0, "(h) GET_HW_INFO: SPAPR_TCE");
	tap_diag("(h) max_windows %u, page_sizes 0x%llx, dma32 0x%llx + 0x%llx",
		 info.max_windows, (unsigned long long)info.page_sizes,
		 (unsigned long long)info.dma32_window_start,
		 (unsigned long long)info.dma32_window_size);
	tap_ok(!info.max_windows && info.page_sizes == SZ_4K &&
	       info.dma32_window_size,
	       "(h) no window to create, 4K pages, a default window");
	r = vfio_cdev_attach(&x, s.ioas);
	if (!tap_rc(r, 0, "(h) ATTACH to the IOAS: hwpt %u", x.pt_id))
		goto out;
	r = iofd_sess_ranges(&s);
	tap_ok(!r && s.nranges == 1 &&
	       s.range.start == info.dma32_window_start &&
	       iofd_range_len(&s) == info.dma32_window_size && s.align == SZ_4K,
	       "(h) the domain is the default window: 0x%llx..0x%llx, alignment 0x%llx",
	       (unsigned long long)s.range.start,
	       (unsigned long long)s.range.last,
	       (unsigned long long)s.align);
	nodma_attached(&s, &x);
out:
	iofd_dev_close(&x);
	iofd_sess_close(&s);
	tap_pins_back(pin0, "(h) all closed");
}

/* ------------------------------------------------------------- main */

int main(void)
{
	int old = 0, r;

	tap_init("test_iommufd");
	if (access("/dev/iommu", F_OK))
		tap_bail("/dev/iommu missing: a kernel without IOMMUFD");
	if (access("/sys/bus/pci/devices/" BDF_A, F_OK) ||
	    access("/sys/bus/pci/devices/" BDF_P1, F_OK))
		tap_bail("the bench's edu devices are missing (scripts/guest.sh)");
	seed = test_seed();
	tap_diag("pairing %s seed 0x%llx (VFIO_TEST_SEED)", pairing_name(),
		 (unsigned long long)seed);
	r = iommufd_unsafe_interrupts(1, &old);
	tap_diag("pSeries does not claim isolated MSI: iommufd allow_unsafe_interrupts=1 for this run (was %d): %s",
		 old, rc_str(r));
	pin0 = pinned_pages();
	part_a();
	part_b();
	two_devices("(c)", BDF_P0, BDF_P1, true);
	two_devices("(d)", BDF_A, BDF_B, false);
	part_e();
	part_g();
	part_h();
	part_f();
	iommufd_unsafe_interrupts(old, NULL);
	return tap_done();
}
