// SPDX-License-Identifier: GPL-2.0-only
/*
 * One v2 registration made of a hugetlb page followed by ordinary pages
 * (issue 13, defect 1). mm_iommu keeps the huge page's shift for the whole
 * region, so mm_iommu_ua_to_hpa() accepts huge IOMMU pages over the
 * ordinary half too, and a backend that translates once per "huge" block
 * and adds for the rest points TCEs at memory that is not the user's.
 *
 * Layout, H = the huge page size of the MMU (hash: 16M, radix: 2M):
 *   [SEG - H, SEG) one hugetlb page, [SEG, SEG + H) ordinary pages (no
 *   THP, faulted in last to first so that they are not physically
 *   contiguous), SEG a 256M boundary below 4G: under hash a segment holds
 *   one page size, so the halves sit on either side of a segment
 *   boundary. SEG is the first of a few candidates where both halves are
 *   free (the heap of a static program starts at a random place up to 1G
 *   above it under radix, and may hold the first one).
 * Every 64K of the region holds its own pattern, written by the CPU. The
 * device only ever reads the region: a wrong TCE must not let it write
 * someone else's memory. It copies what it read to a sink page, separately
 * registered and mapped in the default window.
 *
 *  (a) a 64K DDW, the whole region mapped READ-only: pages of both halves
 *      read by the device equal what the CPU wrote (one check a page);
 *  (b) a DDW of H pages (when offered): the huge half maps as one IOMMU
 *      page and reads right; an IOMMU page over the ordinary half, alone
 *      or in a map of the whole region, is refused (our backend -EINVAL,
 *      the in-tree one -EPERM), unless pagemap shows those pages happen to
 *      be contiguous and aligned; the refused maps leave no TCE behind
 *      (our platform's debugfs) and no reference (UNREGISTER succeeds once
 *      the huge half is unmapped).
 *
 * Usage: test_hugemix [BDF]   (default: first 1234:11e8 device)
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SZ_64K		0x10000ull
#define SZ_1G		0x40000000ull
#define PAT_MAGIC	0xc0de000000000000ull

struct mix {
	struct vfio_dev d;
	struct edu e;
	struct vfio_iommu_spapr_tce_info info;
	unsigned int hshift;	/* huge page shift */
	size_t hsize;
	size_t npages;		/* 64K pages in each half */
	uint8_t *region;	/* hsize huge, then hsize ordinary */
	uintptr_t seg;		/* region + hsize: a 256M boundary */
	uint8_t *sink;		/* SZ_64K, in the default window */
	uint64_t sink_iova;
	bool ordinary_contig;	/* the ordinary half is one aligned block */
};

static char bdf[32];

/* "MMU : Radix" or "MMU : Hash" in /proc/cpuinfo */
static bool mmu_is_radix(void)
{
	char line[256];
	bool radix = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "MMU", 3) && strstr(line, "Radix"))
			radix = true;
	fclose(f);
	return radix;
}

/* The PFN behind va from /proc/self/pagemap (root only), 0 if unknown */
static uint64_t page_pfn(const void *va)
{
	uint64_t ent = 0;
	off_t off = (off_t)((uintptr_t)va / sys_page_size() * sizeof(ent));
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), off) != sizeof(ent))
		ent = 0;
	close(fd);
	return (ent >> 63) ? ent & ((1ull << 55) - 1) : 0;
}

/*
 * Ordinary pages at [at, at + len): no THP (madvise() answers EINVAL when
 * the kernel has none), faulted in last to first.
 */
static void *ordinary_alloc_at(void *at, size_t len)
{
	size_t ps = sys_page_size(), off;
	uint8_t *p;

	p = mmap(at, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (p != at) {
		munmap(p, len);
		errno = EEXIST;
		return NULL;
	}
	if (madvise(p, len, MADV_NOHUGEPAGE) && errno != EINVAL) {
		munmap(p, len);
		return NULL;
	}
	for (off = len; off; off -= ps)
		p[off - ps] = 1;
	return p;
}

/* Is the ordinary half one physically contiguous block aligned to H? */
static bool ordinary_contiguous(const struct mix *m)
{
	const uint8_t *half = m->region + m->hsize;
	size_t ps = sys_page_size(), off;
	uint64_t first = page_pfn(half), ppp = m->hsize / ps;

	if (!first || first % ppp)
		return false;
	for (off = ps; off < m->hsize; off += ps)
		if (page_pfn(half + off) != first + off / ps)
			return false;
	return true;
}

/*
 * The two halves around @seg; false with errno EEXIST when something of
 * this process is mapped there already. Any other failure skips the test.
 */
static bool region_alloc_at(struct mix *m, uintptr_t seg)
{
	const char *why = NULL;
	size_t len = m->hsize;
	void *huge = (void *)(seg - m->hsize);

	if (!buf_alloc_huge_at(huge, &len, m->hshift, &why)) {
		if (errno == EEXIST)
			return false;
		tap_skip_all("%s", why);
	}
	if (len != m->hsize)
		tap_skip_all("no %zu kB hugepages (got %zu kB)",
			     m->hsize >> 10, len >> 10);
	if (!ordinary_alloc_at((void *)seg, m->hsize)) {
		int err = errno;

		munmap(huge, len);
		if (err == EEXIST) {
			errno = err;
			return false;
		}
		tap_skip_all("cannot map ordinary pages at 0x%lx: %s",
			     (unsigned long)seg, strerror(err));
	}
	m->region = huge;
	m->seg = seg;
	return true;
}

static void region_alloc(struct mix *m)
{
	static const uintptr_t segs[] = {
		0x50000000, 0x90000000, 0xd0000000, 0x30000000,
	};
	size_t i;

	for (i = 0; i < sizeof(segs) / sizeof(segs[0]); i++)
		if (region_alloc_at(m, segs[i]))
			break;
	if (i == sizeof(segs) / sizeof(segs[0]))
		tap_skip_all("no free 256M boundary for the region: %s",
			     strerror(errno));
	m->ordinary_contig = ordinary_contiguous(m);
	tap_diag("region %p: %zu kB hugetlb page (pfn 0x%llx), then ordinary pages (pfns 0x%llx 0x%llx 0x%llx ...)%s",
		 m->region, m->hsize >> 10,
		 (unsigned long long)page_pfn(m->region),
		 (unsigned long long)page_pfn((void *)m->seg),
		 (unsigned long long)page_pfn((void *)(m->seg + SZ_64K)),
		 (unsigned long long)page_pfn((void *)(m->seg + 2 * SZ_64K)),
		 m->ordinary_contig ? ", contiguous by chance" : "");
}

static uint64_t pattern(size_t page, size_t word)
{
	return PAT_MAGIC ^ ((uint64_t)page << 16) ^ word;
}

/* Every 64K page of the region its own pattern */
static void region_fill(struct mix *m)
{
	uint64_t *w = (uint64_t *)m->region;
	size_t per = SZ_64K / sizeof(*w), i;

	for (i = 0; i < 2 * m->hsize / sizeof(*w); i++)
		w[i] = pattern(i / per, i % per);
}

/* Which 64K page of the region a word read back came from, for the log */
static void diag_word(const char *what, uint64_t got, uint64_t want)
{
	if ((got ^ PAT_MAGIC) >> 48)
		tap_diag("  %s: got 0x%016llx, want 0x%016llx (not the region's)",
			 what, (unsigned long long)got, (unsigned long long)want);
	else
		tap_diag("  %s: got page %llu word %llu, want page %llu word %llu",
			 what, (unsigned long long)((got ^ PAT_MAGIC) >> 16),
			 (unsigned long long)((got ^ PAT_MAGIC) & 0xffff),
			 (unsigned long long)((want ^ PAT_MAGIC) >> 16),
			 (unsigned long long)((want ^ PAT_MAGIC) & 0xffff));
}

/*
 * The device reads the first and the last EDU_DMA_MAX bytes of the 64K at
 * @iova (region page @page) into the sink; they must be what the CPU wrote.
 */
static bool check_page(struct mix *m, uint64_t iova, size_t page,
		       const char *win)
{
	const uint8_t *cpu = m->region + page * SZ_64K;
	const uint64_t tail = SZ_64K - EDU_DMA_MAX;
	uint64_t got, want;
	bool same;
	int r;

	memset(m->sink, 0xee, 2 * 4096);
	r = edu_copy(&m->e, iova, m->sink_iova, EDU_DMA_MAX);
	if (!r)
		r = edu_copy(&m->e, iova + tail, m->sink_iova + 4096,
			     EDU_DMA_MAX);
	same = !r && !memcmp(m->sink, cpu, EDU_DMA_MAX) &&
	       !memcmp(m->sink + 4096, cpu + tail, EDU_DMA_MAX);
	tap_ok(same, "%s: device reads %s page %zu (64K page %zu of the region) as written (%s)",
	       win, page < m->npages ? "huge" : "ordinary",
	       page % m->npages, page, rc_str(r));
	if (!same && !r) {
		memcpy(&got, m->sink, sizeof(got));
		memcpy(&want, cpu, sizeof(want));
		diag_word("first word", got, want);
	}
	return same;
}

/* Pages of one half worth reading: the first ones, a middle one, the last */
static void check_half(struct mix *m, uint64_t iova, size_t first,
		       const char *win)
{
	size_t n = m->npages;
	const size_t pick[] = { 0, 1, 2, n * 100 / 256, n - 1 };
	size_t i;

	for (i = 0; i < sizeof(pick) / sizeof(pick[0]); i++)
		if (!i || pick[i] > pick[i - 1])
			check_page(m, iova + pick[i] * SZ_64K, first + pick[i],
				   win);
}

/* The sink: its own registration, mapped RW at the default window */
static bool sink_setup(struct mix *m)
{
	int c = m->d.container;

	m->sink = buf_alloc(SZ_64K);
	if (!m->sink)
		tap_bail("cannot allocate the sink");
	m->sink_iova = m->info.dma32_window_start;
	return tap_rc(spapr_register(c, m->sink, SZ_64K), 0,
		      "REGISTER the sink page") &&
	       tap_rc(dma_map(c, m->sink, m->sink_iova, SZ_64K, DMA_RW), 0,
		      "MAP the sink at the default window (0x%llx)",
		      (unsigned long long)m->sink_iova);
}

/* (a) 64K IOMMU pages over both halves: every page read back right */
static void test_64k(struct mix *m)
{
	int c = m->d.container;
	uint64_t win = 0;
	long r;

	r = spapr_create(c, 16, SZ_1G, 1, &win);
	if (!tap_rc(r, 0, "64K DDW: CREATE"))
		return;
	r = dma_map(c, m->region, win, 2 * m->hsize, VFIO_DMA_MAP_FLAG_READ);
	if (tap_rc(r, 0, "64K DDW: MAP the whole region READ-only")) {
		check_half(m, win, 0, "64K DDW");
		check_half(m, win + m->hsize, m->npages, "64K DDW");
	}
	tap_rc(dma_unmap(c, win, 2 * m->hsize), 0, "64K DDW: UNMAP");
	tap_rc(spapr_remove(c, win), 0, "64K DDW: REMOVE");
}

/*
 * A map with an IOMMU page over the ordinary half: refused, -EINVAL from
 * our backend, -EPERM from the in-tree one (its containment check); when
 * the pages happen to be one aligned block, mapping it is right too. A
 * map that wrongly succeeded is undone at once (the device never uses it).
 */
static void expect_refused(struct mix *m, long r, uint64_t iova,
			   uint64_t size, const char *win, const char *what)
{
	long want = backend_is_ours() == 1 ? -EINVAL : -EPERM;

	if (!r)
		dma_unmap(m->d.container, iova, size);
	if (m->ordinary_contig) {
		tap_ok(!r || r == want, "%s: %s: %s (the pages are contiguous)",
		       win, what, rc_str(r));
		return;
	}
	tap_rc(r, want, "%s: %s refused", win, what);
}

/* (b) IOMMU pages of the huge page size */
static void test_huge_window(struct mix *m)
{
	uint64_t h = m->hsize, win = 0;
	int c = m->d.container;
	long long before, after;
	char name[32];
	long r;

	snprintf(name, sizeof(name), "%zuK DDW", m->hsize >> 10);
	if (!(m->info.ddw.pgsizes & h)) {
		tap_skip("page size not offered", "%s: CREATE", name);
		return;
	}
	r = spapr_create(c, m->hshift, SZ_1G, 1, &win);
	if (!tap_rc(r, 0, "%s: CREATE", name))
		return;
	r = dma_map(c, m->region, win, h, VFIO_DMA_MAP_FLAG_READ);
	if (tap_rc(r, 0, "%s: MAP the huge half as one IOMMU page", name))
		check_half(m, win, 0, name);
	before = ddw_debugfs_mapped(bdf);
	r = dma_map(c, m->region + h, win + h, h, VFIO_DMA_MAP_FLAG_READ);
	expect_refused(m, r, win + h, h, name,
		       "MAP of the ordinary half as one IOMMU page");
	r = dma_map(c, m->region, win + 2 * h, 2 * h, VFIO_DMA_MAP_FLAG_READ);
	expect_refused(m, r, win + 2 * h, 2 * h, name,
		       "MAP of the whole region (huge page, then ordinary pages)");
	after = ddw_debugfs_mapped(bdf);
	if (before < 0)
		tap_skip("no pseries_tce_ddw debugfs", "%s: TCEs after refusals",
			 name);
	else
		tap_ok(after == before, "%s: %lld TCEs mapped before the refused maps, %lld after",
		       name, before, after);
	tap_rc(dma_unmap(c, win, h), 0, "%s: UNMAP the huge half", name);
	tap_rc(spapr_remove(c, win), 0, "%s: REMOVE", name);
}

int main(int argc, char **argv)
{
	struct mix m = { 0 };
	long lck0;
	int r;

	tap_init("test_hugemix");
	if (pci_pick_device(argc, argv, bdf, sizeof(bdf)))
		tap_skip_all("no edu device (1234:11e8) found");
	if (access("/dev/vfio/vfio", F_OK))
		tap_skip_all("/dev/vfio/vfio missing (vfio not loaded)");
	if (sys_page_size() != SZ_64K)
		tap_skip_all("needs 64K kernel pages");
	m.hshift = mmu_is_radix() ? 21 : 24;
	m.hsize = 1ul << m.hshift;
	m.npages = m.hsize / SZ_64K;
	tap_diag("%s MMU, %s, device %s", mmu_is_radix() ? "radix" : "hash",
		 pairing_name(), bdf);
	lck0 = vmlck_kb();
	region_alloc(&m);
	region_fill(&m);
	if (!tap_rc(pci_bind_vfio(bdf), 0, "bind %s to vfio-pci", bdf))
		tap_bail("cannot bind");
	r = vfio_open(&m.d, bdf, VFIO_SPAPR_TCE_v2_IOMMU, true);
	if (!tap_rc(r, 0, "open container/group/device (v2)"))
		goto out;
	if (!tap_rc(edu_init(&m.e, &m.d), 0, "edu BAR0 ident ok, bus master on"))
		goto out;
	if (spapr_get_info(m.d.container, &m.info, sizeof(m.info)))
		tap_bail("GET_INFO failed");
	if (!sink_setup(&m) ||
	    !tap_rc(spapr_register(m.d.container, m.region, 2 * m.hsize), 0,
		    "REGISTER the region (%zu kB)", 2 * m.hsize >> 10))
		goto out;
	test_64k(&m);
	test_huge_window(&m);
	tap_rc(spapr_unregister(m.d.container, m.region, 2 * m.hsize), 0,
	       "UNREGISTER the region: nothing maps it any more");
out:
	vfio_close(&m.d);
	tap_ok(vmlck_kb() == lck0, "VmLck back to %ld kB at the end", lck0);
	return tap_done();
}
