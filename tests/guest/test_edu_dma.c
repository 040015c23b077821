// SPDX-License-Identifier: GPL-2.0-only
/*
 * Real DMA through the sPAPR TCE VFIO backend with QEMU's "edu" device
 * (1234:11e8): 4K buffer at BAR0+0x40000 (4095 bytes usable on QEMU 7.2),
 * DMA registers 0x80 src, 0x88 dst, 0x90 count, 0x98 command (bit0 start,
 * bit1 edu->RAM), one DMA per 100ms of virtual time. Needs -device edu,dma_mask=0xffffffffffffffff for the
 * 64-bit windows (the default mask is 28 bits).
 *
 * For each window kind (v1 default window; v2 implicit default window; v2
 * default window removed and re-created by TCE_CREATE; v2 DDW with 64K, 4K
 * and, when offered and hugepages exist, 16M pages):
 *  - RAM -> edu -> RAM copies of random data, whole pages, first/last 4K
 *    of pages and transfers straddling an IOMMU page boundary; the
 *    destination must equal the source on the copied ranges and keep its
 *    own random pattern everywhere else (byte for byte);
 *  - a READ-only mapping is not written by an edu -> RAM DMA;
 *  - a WRITE-only mapping's data does not reach the device;
 *  - after UNMAP the device cannot write the buffer any more;
 *  - a MAP over an existing mapping (in-tree: replaces, returns 0) sends
 *    the DMA where the mapping state says.
 *
 * Usage: test_edu_dma [BDF]   (default: first 1234:11e8 device)
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SZ_4K	0x1000ull
#define SZ_64K	0x10000ull
#define SZ_16M	0x1000000ull
#define SZ_256M	0x10000000ull
#define SZ_1G	0x40000000ull

enum kind { V1_DEFAULT, V2_DEFAULT, V2_RECREATED, V2_DDW };

struct scenario {
	const char *name;
	enum kind kind;
	unsigned int shift;	/* IOMMU page shift */
	uint64_t wsize;		/* DDW size */
	unsigned int npages;	/* IOMMU pages in src and dst */
};

static const struct scenario scenarios[] = {
	{ "v1 default window",		V1_DEFAULT,   12, 0,       8 },
	{ "v2 default window",		V2_DEFAULT,   12, 0,       8 },
	{ "v2 re-created default window", V2_RECREATED, 12, 0,     8 },
	{ "v2 DDW 64K",			V2_DDW,	      16, SZ_1G,   3 },
	{ "v2 DDW 4K",			V2_DDW,	      12, SZ_256M, 8 },
	{ "v2 DDW 16M",			V2_DDW,	      24, SZ_1G,   2 },
};

static char bdf[32];
static uint64_t seed;

struct xfer {
	uint64_t off;
	uint32_t len;
};

/* Transfers over n pages of size pg (edu_copy splits them into DMAs). */
static size_t plan_xfers(struct xfer *x, uint64_t pg, unsigned int n)
{
	size_t k = 0;
	unsigned int p;

	for (p = 0; p < n; p++) {
		x[k++] = (struct xfer){ p * pg, SZ_4K };
		if (pg > SZ_4K)
			x[k++] = (struct xfer){ (p + 1) * pg - SZ_4K, SZ_4K };
		if (p + 1 < n)	/* straddles the boundary, odd length */
			x[k++] = (struct xfer){ (p + 1) * pg - 2000, 3001 };
	}
	return k;
}


struct ctx {
	const struct scenario *sc;
	struct vfio_dev d;
	struct edu e;
	struct vfio_iommu_spapr_tce_info info;
	uint64_t pg, win;
	uint8_t *arena;
	size_t arena_len;
	bool huge;
	/* regions: src, dst (npages each), ro, wo (1 page each) */
	uint8_t *src, *dst, *ro, *wo;
	uint64_t src_iova, dst_iova, ro_iova, wo_iova;
	size_t rlen;
};

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

/* Window set-up; returns false after printing a skip/not ok. */
static bool setup_window(struct ctx *c)
{
	const struct scenario *sc = c->sc;
	int fd = c->d.container;
	uint64_t start = ~0ull;
	long r;

	switch (sc->kind) {
	case V1_DEFAULT:
		r = iommu_enable(fd);
		c->win = c->info.dma32_window_start;
		return tap_rc(r, 0, "%s: ENABLE", sc->name);
	case V2_DEFAULT:
		c->win = c->info.dma32_window_start;
		return true;
	case V2_RECREATED:
		r = spapr_remove(fd, c->info.dma32_window_start);
		if (!tap_rc(r, 0, "%s: REMOVE the default window", sc->name))
			return false;
		r = spapr_create(fd, 12, c->info.dma32_window_size, 1, &start);
		if (!tap_rc(r, 0, "%s: CREATE 4K x 0x%x", sc->name,
			    c->info.dma32_window_size))
			return false;
		c->win = start;
		return tap_ok(start == c->info.dma32_window_start,
			      "%s: at the default window start (0x%llx)",
			      sc->name, (unsigned long long)start);
	case V2_DDW:
		if (!(c->info.ddw.pgsizes & (1ull << sc->shift))) {
			tap_skip("page size not offered", "%s: CREATE", sc->name);
			return false;
		}
		r = spapr_create(fd, sc->shift, sc->wsize, 1, &start);
		if (!tap_rc(r, 0, "%s: CREATE page_shift %u size 0x%llx",
			    sc->name, sc->shift,
			    (unsigned long long)sc->wsize))
			return false;
		tap_diag("%s: window at 0x%llx", sc->name,
			 (unsigned long long)start);
		c->win = start;
		return true;
	}
	return false;
}

static bool setup_buffers(struct ctx *c)
{
	const struct scenario *sc = c->sc;
	size_t ps = sys_page_size();
	size_t unit = c->pg > ps ? c->pg : ps;
	size_t slen = round_up(sc->npages * c->pg, unit);
	size_t one = round_up(c->pg, unit);
	const char *why = NULL;

	if (sc->kind == V2_DDW && !(c->info.ddw.pgsizes & (1ull << sc->shift))) {
		tap_skip("page size not offered", "%s: CREATE", sc->name);
		return false;
	}
	c->arena_len = 2 * slen + 2 * one;
	if (c->pg > ps) {
		c->arena = buf_alloc_huge(&c->arena_len, c->sc->shift, &why);
		c->huge = true;
		if (!c->arena) {
			tap_skip(why, "%s: %zu bytes of hugepages", sc->name,
				 c->arena_len);
			return false;
		}
	} else {
		c->arena = buf_alloc(c->arena_len);
		if (!c->arena)
			tap_bail("cannot allocate %zu bytes", c->arena_len);
	}
	c->rlen = sc->npages * c->pg;
	c->src = c->arena;
	c->dst = c->arena + slen;
	c->ro = c->dst + slen;
	c->wo = c->ro + one;
	return true;
}

/* IOVAs in the window: regions with an unmapped gap between them */
static void setup_iovas(struct ctx *c)
{
	uint64_t gap = c->pg > SZ_64K ? c->pg : SZ_64K;

	c->src_iova = c->win + gap;
	c->dst_iova = c->src_iova + round_up(c->rlen, gap) + gap;
	c->ro_iova = c->dst_iova + round_up(c->rlen, gap) + gap;
	c->wo_iova = c->ro_iova + gap + gap;
}

static bool map_all(struct ctx *c)
{
	const char *n = c->sc->name;
	int fd = c->d.container;

	if (c->sc->kind != V1_DEFAULT &&
	    !tap_rc(spapr_register(fd, c->arena, c->arena_len), 0,
		    "%s: REGISTER %zu bytes", n, c->arena_len))
		return false;
	return tap_rc(dma_map(fd, c->src, c->src_iova, c->rlen,
			      VFIO_DMA_MAP_FLAG_READ), 0,
		      "%s: MAP src READ", n) &
	       tap_rc(dma_map(fd, c->dst, c->dst_iova, c->rlen, DMA_RW), 0,
		      "%s: MAP dst RW", n) &
	       tap_rc(dma_map(fd, c->ro, c->ro_iova, c->pg,
			      VFIO_DMA_MAP_FLAG_READ), 0,
		      "%s: MAP ro READ only", n) &
	       tap_rc(dma_map(fd, c->wo, c->wo_iova, c->pg,
			      VFIO_DMA_MAP_FLAG_WRITE), 0,
		      "%s: MAP wo WRITE only", n);
}

static void test_copies(struct ctx *c)
{
	const char *n = c->sc->name;
	struct xfer x[64];
	size_t nx = plan_xfers(x, c->pg, c->sc->npages), i;
	uint8_t *expect = malloc(c->rlen);
	long diff;
	int r = 0;

	if (!expect)
		tap_bail("malloc");
	fill_random(c->src, c->rlen, &seed);
	fill_random(c->dst, c->rlen, &seed);
	memcpy(expect, c->dst, c->rlen);
	for (i = 0; i < nx && !r; i++) {
		r = edu_copy(&c->e, c->src_iova + x[i].off,
			     c->dst_iova + x[i].off, x[i].len);
		memcpy(expect + x[i].off, c->src + x[i].off, x[i].len);
	}
	tap_rc(r, 0, "%s: %zu RAM->edu->RAM transfers complete", n, nx);
	diff = buf_first_diff(c->dst, expect, c->rlen);
	tap_ok(diff < 0,
	       "%s: destination byte-exact (copied ranges = source, rest untouched)",
	       n);
	if (diff >= 0) {
		tap_diag("  first difference at offset 0x%lx: got 0x%02x want 0x%02x (src 0x%02x)",
			 diff, c->dst[diff], expect[diff], c->src[diff]);
		if (c->win >= (1ull << 32))
			tap_diag("  hint: edu needs dma_mask=0xffffffffffffffff for 64-bit windows");
	}
	free(expect);
}

/* The device must not write a READ-only mapping. */
static void test_read_only(struct ctx *c)
{
	const char *n = c->sc->name;
	uint8_t *before = malloc(EDU_DMA_MAX);
	int r;

	if (!before)
		tap_bail("malloc");
	fill_random(c->ro, c->pg, &seed);
	memcpy(before, c->ro, EDU_DMA_MAX);
	/* edu buffer <- src (readable), then edu -> ro (must be refused) */
	r = edu_dma(&c->e, c->src_iova, 0, EDU_DMA_MAX, false);
	if (!r)
		r = edu_dma(&c->e, c->ro_iova, 0, EDU_DMA_MAX, true);
	tap_diag("%s: edu -> READ-only mapping DMA returned %s", n, rc_str(r));
	tap_ok(!memcmp(c->ro, before, EDU_DMA_MAX),
	       "%s: READ-only mapping not written by the device", n);
	/* the device and the window still work afterwards */
	fill_random(c->dst, SZ_4K, &seed);
	r = edu_dma(&c->e, c->dst_iova, 0, EDU_DMA_MAX, true);
	tap_ok(!r && !memcmp(c->dst, c->src, EDU_DMA_MAX),
	       "%s: device still DMAs after the refused write (%s)", n,
	       rc_str(r));
	free(before);
}

/* Data behind a WRITE-only mapping must not reach the device. */
static void test_write_only(struct ctx *c)
{
	const char *n = c->sc->name;
	int r;

	fill_random(c->wo, SZ_4K, &seed);
	fill_random(c->src, SZ_4K, &seed);
	r = edu_dma(&c->e, c->src_iova, 0, EDU_DMA_MAX, false);	/* edu = src */
	if (!r)
		r = edu_dma(&c->e, c->wo_iova, 0, EDU_DMA_MAX, false); /* refused */
	if (!r)
		r = edu_dma(&c->e, c->dst_iova, 0, EDU_DMA_MAX, true); /* dst = edu */
	tap_rc(r, 0, "%s: DMAs around the WRITE-only mapping complete", n);
	tap_ok(memcmp(c->dst, c->wo, EDU_DMA_MAX) != 0,
	       "%s: device could not read the WRITE-only mapping", n);
	tap_diag("%s: edu buffer after the refused read: %s", n,
		 !memcmp(c->dst, c->src, EDU_DMA_MAX) ? "unchanged" :
		 "changed (zero filled?)");
}

/* After UNMAP, the device cannot write the buffer. */
static void test_unmapped(struct ctx *c)
{
	const char *n = c->sc->name;
	int fd = c->d.container;
	uint8_t *before = malloc(c->rlen);
	int r;

	if (!before)
		tap_bail("malloc");
	fill_random(c->src, SZ_4K, &seed);
	fill_random(c->dst, c->rlen, &seed);
	memcpy(before, c->dst, c->rlen);
	tap_rc(dma_unmap(fd, c->dst_iova, c->rlen), 0, "%s: UNMAP dst", n);
	r = edu_dma(&c->e, c->src_iova, 0, EDU_DMA_MAX, false);
	if (!r)
		r = edu_dma(&c->e, c->dst_iova, 0, EDU_DMA_MAX, true);
	tap_diag("%s: DMA to the unmapped IOVA returned %s", n, rc_str(r));
	tap_ok(!memcmp(c->dst, before, c->rlen),
	       "%s: unmapped buffer not written by the device", n);
	free(before);
}

/*
 * MAP over an existing mapping: in-tree returns 0 and the new TCE wins.
 * Whatever the return, the DMA must land where the mapping state says.
 */
static void test_remap(struct ctx *c)
{
	const char *n = c->sc->name;
	int fd = c->d.container;
	uint8_t *a = c->ro, *b = c->wo;
	uint8_t sa[64], sb[64];
	long r;

	dma_unmap(fd, c->ro_iova, c->pg);
	dma_unmap(fd, c->wo_iova, c->pg);
	fill_random(a, SZ_4K, &seed);
	fill_random(b, SZ_4K, &seed);
	fill_random(c->src, SZ_4K, &seed);
	memcpy(sa, a, sizeof(sa));
	memcpy(sb, b, sizeof(sb));
	if (!tap_rc(dma_map(fd, a, c->ro_iova, c->pg, DMA_RW), 0,
		    "%s: MAP a at X", n))
		return;
	r = dma_map(fd, b, c->ro_iova, c->pg, DMA_RW);
	tap_rc(r, 0, "%s: MAP b at X over a -> 0 (in-tree replaces)", n);
	if (edu_dma(&c->e, c->src_iova, 0, EDU_DMA_MAX, false) ||
	    edu_dma(&c->e, c->ro_iova, 0, EDU_DMA_MAX, true)) {
		tap_ok(false, "%s: DMA to X", n);
		return;
	}
	if (r == 0)
		tap_ok(!memcmp(b, c->src, EDU_DMA_MAX) && !memcmp(a, sa, sizeof(sa)),
		       "%s: DMA to X landed in b only", n);
	else
		tap_ok(!memcmp(a, c->src, EDU_DMA_MAX) && !memcmp(b, sb, sizeof(sb)),
		       "%s: MAP refused, DMA to X landed in a only", n);
	tap_rc(dma_unmap(fd, c->ro_iova, c->pg), 0, "%s: UNMAP X", n);
}

static void run(const struct scenario *sc, bool remap)
{
	struct ctx c = { .sc = sc, .pg = 1ull << sc->shift };
	int type = sc->kind == V1_DEFAULT ? VFIO_SPAPR_TCE_IOMMU :
					    VFIO_SPAPR_TCE_v2_IOMMU;
	int r;

	r = vfio_open(&c.d, bdf, type, true);
	if (!tap_rc(r, 0, "%s: open container/group/device", sc->name))
		goto out;
	r = edu_init(&c.e, &c.d);
	if (!tap_rc(r, 0, "%s: edu BAR0 ident ok, bus master on", sc->name))
		goto out;
	if (spapr_get_info(c.d.container, &c.info, sizeof(c.info)))
		tap_bail("GET_INFO failed");
	if (!setup_buffers(&c) || !setup_window(&c))
		goto out;
	setup_iovas(&c);
	if (!map_all(&c))
		goto out;
	test_copies(&c);
	test_read_only(&c);
	test_write_only(&c);
	test_unmapped(&c);
	if (remap)
		test_remap(&c);
out:
	vfio_close(&c.d);
	if (c.arena)
		buf_free(c.arena, c.arena_len);
}

int main(int argc, char **argv)
{
	long lck0;
	size_t i;

	tap_init("test_edu_dma");
	if (pci_pick_device(argc, argv, bdf, sizeof(bdf)))
		tap_skip_all("no edu device (1234:11e8) found");
	if (access("/dev/vfio/vfio", F_OK))
		tap_skip_all("/dev/vfio/vfio missing (vfio not loaded)");
	seed = test_seed();
	tap_diag("device %s group %d seed 0x%llx (VFIO_TEST_SEED)", bdf,
		 pci_iommu_group(bdf), (unsigned long long)seed);
	if (!tap_rc(pci_bind_vfio(bdf), 0, "bind %s to vfio-pci", bdf))
		tap_bail("cannot bind");
	lck0 = vmlck_kb();
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run(&scenarios[i], scenarios[i].kind == V1_DEFAULT ||
				   scenarios[i].shift == 16);
	tap_ok(vmlck_kb() == lck0, "VmLck back to %ld kB at the end", lck0);
	return tap_done();
}
