// SPDX-License-Identifier: GPL-2.0-only
/*
 * TCE fast path benchmark: what MAP_DMA/UNMAP_DMA and window create/remove
 * cost under the loaded pairing (run once per pairing in the same boot).
 *
 *   bench_tce [WORKLOADS] [BDF]      WORKLOADS: letters of "abcde" (all)
 *
 *   a  1 GiB registered, a 64K-page window, 1 GiB in one MAP_DMA, one UNMAP
 *   b  the same with 16M IOMMU pages (needs 16M hugepages, else skipped)
 *   c  the same GiB mapped 64K per MAP_DMA, unmapped 64K per UNMAP_DMA
 *   d  a 64 GiB window: created and removed empty, then 1 GiB mapped (view
 *      memory read from our debugfs against the flat 8 bytes per TCE)
 *   e  map throughput against the size of one MAP_DMA, 64K .. 1G
 *
 * Output, besides TAP:
 *   # bench: pairing=P workload=W phase=PH ns=N [chunk=BYTES] [reps=R]
 *   # bench-view: pairing=P bytes=SPARSE flat=FLAT entries=N mapped=M
 *   # bench-hcalls: pairing=P workload=W phase=PH put=..  (ours, debugfs)
 *   # bench-mark: N LABEL
 * A mark is also a one-byte write of (N % 250) + 1 to the device's PCI
 * latency timer (config offset 0x0d) through VFIO: an RTAS config write,
 * no TCE hypercall, that QEMU's pci_cfg_write trace event records, so the
 * host can split its spapr_iommu trace by phase (scripts/bench.sh).
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <glob.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SZ_64K		(1ULL << 16)
#define SZ_16M		(1ULL << 24)
#define SZ_1G		(1ULL << 30)
#define SZ_64G		(64ULL << 30)
#define MARK_OFFSET	0x0d		/* PCI_LATENCY_TIMER */
#define REPS		5

static struct vfio_dev dev;
static const char *pairing;
static uint8_t *buf;
static size_t buf_len;
static bool buf_huge;
static unsigned int mark_seq;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Everything after this mark, up to the next, belongs to @label */
static void mark(const char *workload, const char *phase)
{
	uint8_t v = (uint8_t)(mark_seq % 250 + 1);

	printf("# bench-mark: %u %s %s %s\n", mark_seq, pairing, workload,
	       phase);
	fflush(stdout);
	if (vfio_cfg_write(&dev, MARK_OFFSET, &v, 1) < 0)
		printf("# bench-mark: config write failed\n");
	mark_seq++;
}

/* ---------------------------------------------------- our debugfs */

struct hcalls {
	long long put, put_many, stuff, get;
	bool valid;
};

/* The module-wide TCE hypercall counts (top-level hcalls file) */
static void hcalls_read(struct hcalls *h)
{
	char line[128], name[32];
	long long v;
	FILE *f;

	memset(h, 0, sizeof(*h));
	f = fopen("/sys/kernel/debug/pseries_tce_ddw/hcalls", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%31s %lld", name, &v) != 2)
			continue;
		if (!strcmp(name, "put"))
			h->put = v;
		else if (!strcmp(name, "put_many"))
			h->put_many = v;
		else if (!strcmp(name, "stuff"))
			h->stuff = v;
		else if (!strcmp(name, "get"))
			h->get = v;
	}
	fclose(f);
	h->valid = true;
}

static void hcalls_report(const char *w, const char *ph,
			  const struct hcalls *a, const struct hcalls *b)
{
	if (!a->valid || !b->valid)
		return;
	printf("# bench-hcalls: pairing=%s workload=%s phase=%s put=%lld put_many=%lld stuff=%lld get=%lld\n",
	       pairing, w, ph, b->put - a->put, b->put_many - a->put_many,
	       b->stuff - a->stuff, b->get - a->get);
}

/*
 * view_bytes of our window starting at @start of @size, from
 * pseries_tce_ddw/<PE>/windows; -1 when absent (in-tree platform).
 */
static long long view_bytes(uint64_t start, uint64_t size)
{
	unsigned long long wstart, wsize, liobn, mapped, bytes;
	unsigned int num, shift, levels;
	char line[256];
	long long r = -1;
	glob_t g;
	size_t i;
	FILE *f;

	if (glob("/sys/kernel/debug/pseries_tce_ddw/*/windows", 0, NULL, &g))
		return -1;
	for (i = 0; i < g.gl_pathc && r < 0; i++) {
		f = fopen(g.gl_pathv[i], "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%u %llx %llx %u %u %llx %llu %llu",
				   &num, &wstart, &wsize, &shift, &levels,
				   &liobn, &mapped, &bytes) != 8)
				continue;
			if (wstart == start && wsize == size)
				r = (long long)bytes;
		}
		fclose(f);
	}
	globfree(&g);
	return r;
}

/* ---------------------------------------------------------- phases */

static void report(const char *w, const char *ph, uint64_t ns,
		   const char *extra)
{
	printf("# bench: pairing=%s workload=%s phase=%s ns=%" PRIu64 "%s%s\n",
	       pairing, w, ph, ns, extra ? " " : "", extra ? extra : "");
}

/* One timed phase: mark, hcall snapshot, run, report */
#define PHASE(w, ph, rc, expr)						\
	({								\
		struct hcalls _a, _b;					\
		uint64_t _t;						\
		mark(w, ph);						\
		hcalls_read(&_a);					\
		_t = now_ns();						\
		rc = (expr);						\
		_t = now_ns() - _t;					\
		hcalls_read(&_b);					\
		mark(w, "-");						\
		hcalls_report(w, ph, &_a, &_b);				\
		_t;							\
	})

static long create(unsigned int shift, uint64_t size, uint64_t *start)
{
	return spapr_create(dev.container, shift, size, 1, start);
}

static long map_chunks(uint64_t start, uint64_t len, uint64_t chunk)
{
	uint64_t off;
	long r = 0;

	for (off = 0; off < len && !r; off += chunk)
		r = dma_map(dev.container, buf + off, start + off, chunk,
			    DMA_RW);
	return r;
}

static long unmap_chunks(uint64_t start, uint64_t len, uint64_t chunk)
{
	uint64_t off;
	long r = 0;

	for (off = 0; off < len && !r; off += chunk)
		r = dma_unmap(dev.container, start + off, chunk);
	return r < 0 ? r : 0;
}

/*
 * Create a window of @size with pages of @shift, map 1 GiB in MAP_DMAs of
 * @chunk, unmap in UNMAP_DMAs of @chunk, remove: each phase timed.
 */
static bool one_gib(const char *w, unsigned int shift, uint64_t size,
		    uint64_t chunk, int reps)
{
	uint64_t t[4] = { 0 }, best[4] = { ~0ULL, ~0ULL, ~0ULL, ~0ULL };
	static const char * const names[4] = {
		"create", "map", "unmap", "remove",
	};
	char extra[64];
	uint64_t start = 0;
	long r = 0, r2;
	int i, k;

	for (i = 0; i < reps && !r; i++) {
		t[0] = PHASE(w, "create", r, create(shift, size, &start));
		if (r) {
			tap_rc(r, 0, "%s: create window (shift %u, %llu MiB)",
			       w, shift, (unsigned long long)(size >> 20));
			return false;
		}
		t[1] = PHASE(w, "map", r, map_chunks(start, SZ_1G, chunk));
		if (!r)
			t[2] = PHASE(w, "unmap", r,
				     unmap_chunks(start, SZ_1G, chunk));
		else
			tap_rc(r, 0, "%s: map 1 GiB", w);
		t[3] = PHASE(w, "remove", r2, spapr_remove(dev.container,
							    start));
		if (r2)
			tap_rc(r2, 0, "%s: remove window", w);
		for (k = 0; k < 4; k++)
			if (t[k] < best[k])
				best[k] = t[k];
	}
	if (r)
		return false;
	snprintf(extra, sizeof(extra), "chunk=%llu reps=%d shift=%u",
		 (unsigned long long)chunk, reps, shift);
	for (k = 0; k < 4; k++) {
		report(w, names[k], best[k], extra);
		printf("# figure: bench_%s_%s_%s_ns %" PRIu64 "\n", pairing, w,
		       names[k], best[k]);
	}
	return true;
}

static void workload_a(void)
{
	tap_ok(one_gib("a", 16, SZ_1G, SZ_1G, REPS),
	       "a: 1 GiB in 64K IOMMU pages, one MAP_DMA and one UNMAP_DMA");
}

static void workload_b(const struct vfio_iommu_spapr_tce_info *info)
{
	if (!buf_huge) {
		tap_skip("the buffer is not backed by 16M pages", "b: 16M IOMMU pages");
		return;
	}
	if (!(info->ddw.pgsizes & SZ_16M)) {
		tap_skip("the platform offers no 16M IOMMU pages", "b: 16M IOMMU pages");
		return;
	}
	tap_ok(one_gib("b", 24, SZ_1G, SZ_1G, REPS),
	       "b: 1 GiB in 16M IOMMU pages, one MAP_DMA and one UNMAP_DMA");
}

/*
 * The floor of the per-page pattern: as many container ioctls that do no
 * DMA work (VFIO_CHECK_EXTENSION) as workload c makes MAP_DMAs. What is
 * left above it is the backend's and the platform's per-call cost.
 */
static long null_ioctls(unsigned long n)
{
	unsigned long i;
	long r = 0;

	for (i = 0; i < n && r >= 0; i++)
		r = ioctl(dev.container, VFIO_CHECK_EXTENSION,
			  VFIO_SPAPR_TCE_v2_IOMMU);
	return r < 0 ? r : 0;
}

static void workload_c(void)
{
	uint64_t t;
	long r;

	t = PHASE("c", "floor", r, null_ioctls(SZ_1G / SZ_64K));
	report("c", "floor", t, "chunk=65536 reps=1 shift=16");
	tap_rc(r, 0, "c: %llu null ioctls (the syscall floor)",
	       (unsigned long long)(SZ_1G / SZ_64K));
	tap_ok(one_gib("c", 16, SZ_1G, SZ_64K, 1),
	       "c: 1 GiB mapped and unmapped 64K per ioctl");
}

static void workload_d(void)
{
	uint64_t t, start = 0;
	long long bytes;
	long r, r2;
	int i;

	/* Empty: create and remove */
	for (i = 0; i < REPS; i++) {
		t = PHASE("d", "create-empty", r, create(16, SZ_64G, &start));
		if (r) {
			tap_rc(r, 0, "d: create a 64 GiB window of 64K pages");
			return;
		}
		report("d", "create-empty", t, NULL);
		printf("# figure: bench_%s_d_create_empty_ns %" PRIu64 "\n",
		       pairing, t);
		t = PHASE("d", "remove-empty", r, spapr_remove(dev.container,
							       start));
		report("d", "remove-empty", t, NULL);
		printf("# figure: bench_%s_d_remove_empty_ns %" PRIu64 "\n",
		       pairing, t);
	}

	t = PHASE("d", "create", r, create(16, SZ_64G, &start));
	if (r) {
		tap_rc(r, 0, "d: create a 64 GiB window of 64K pages");
		return;
	}
	report("d", "create", t, NULL);
	t = PHASE("d", "map", r, map_chunks(start, SZ_1G, SZ_1G));
	report("d", "map", t, NULL);
	bytes = view_bytes(start, SZ_64G);
	printf("# bench-view: pairing=%s bytes=%lld flat=%llu entries=%llu mapped=%llu\n",
	       pairing, bytes, (SZ_64G >> 16) * 8ULL, SZ_64G >> 16,
	       SZ_1G >> 16);
	if (bytes > 0)
		tap_figure("bench_view_64g_1g_bytes", "%lld (flat %llu, 1/%llu)",
			   bytes, (SZ_64G >> 16) * 8ULL,
			   (SZ_64G >> 16) * 8ULL / (unsigned long long)bytes);
	t = PHASE("d", "unmap", r2, unmap_chunks(start, SZ_1G, SZ_1G));
	report("d", "unmap", t, NULL);
	r = r ? r : r2;
	t = PHASE("d", "remove", r2, spapr_remove(dev.container, start));
	report("d", "remove", t, NULL);
	r = r ? r : r2;
	tap_rc(r, 0, "d: 64 GiB window, 1 GiB mapped and unmapped");
}

static void workload_e(void)
{
	char extra[64], ph[32];
	uint64_t chunk, start, t;
	bool ok = true;
	long r;

	r = create(16, SZ_1G, &start);
	if (r) {
		tap_rc(r, 0, "e: create a 1 GiB window of 64K pages");
		return;
	}
	for (chunk = SZ_64K; chunk <= SZ_1G && ok; chunk <<= 2) {
		snprintf(ph, sizeof(ph), "map-%llu", (unsigned long long)chunk);
		t = PHASE("e", ph, r, map_chunks(start, SZ_1G, chunk));
		snprintf(extra, sizeof(extra), "chunk=%llu mibps=%.1f",
			 (unsigned long long)chunk,
			 1024.0 * 1e9 / (double)(t ? t : 1));
		report("e", "map", t, extra);
		ok = !r && !unmap_chunks(start, SZ_1G, SZ_1G);
	}
	spapr_remove(dev.container, start);
	tap_ok(ok, "e: map throughput against the MAP_DMA size");
}

static bool buffer_setup(void)
{
	const char *why = NULL;

	buf_len = SZ_1G;
	buf = buf_alloc_huge(&buf_len, 24, &why);
	if (buf && buf_len >= SZ_1G) {
		buf_huge = true;
		tap_diag("buffer: 1 GiB of 16M hugepages");
		return true;
	}
	if (buf)
		buf_free(buf, buf_len);
	tap_diag("buffer: ordinary pages (%s)", why ? why : "?");
	buf_len = SZ_1G;
	buf = buf_alloc(buf_len);
	return buf != NULL;
}

int main(int argc, char **argv)
{
	struct vfio_iommu_spapr_tce_info info = { 0 };
	const char *workloads = argc > 1 ? argv[1] : "abcde";
	char bdf[32];
	long r;

	tap_init("bench_tce");
	if (access("/sys/kernel/debug/kunit", F_OK) &&
	    access("/sys/kernel/debug/pseries_tce_ddw", F_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	pairing = pairing_name();
	if (pci_pick_device(argc > 2 ? 2 : 1, argc > 2 ? argv + 1 : argv,
			    bdf, sizeof(bdf)))
		tap_skip_all("no edu device");
	vfio_dev_init(&dev);
	r = vfio_open(&dev, bdf, VFIO_SPAPR_TCE_v2_IOMMU, true);
	if (r)
		tap_bail("vfio_open %s: %s", bdf, rc_str(r));
	r = spapr_get_info(dev.container, &info, sizeof(info));
	if (r < 0)
		tap_bail("GET_INFO: %s", rc_str(r));
	if (!buffer_setup())
		tap_bail("cannot allocate 1 GiB");
	r = spapr_register(dev.container, buf, SZ_1G);
	if (r < 0)
		tap_bail("REGISTER_MEMORY 1 GiB: %s", rc_str(r));
	tap_diag("pairing %s, device %s, page sizes 0x%llx", pairing, bdf,
		 (unsigned long long)info.ddw.pgsizes);

	if (strchr(workloads, 'a'))
		workload_a();
	if (strchr(workloads, 'b'))
		workload_b(&info);
	if (strchr(workloads, 'c'))
		workload_c();
	if (strchr(workloads, 'd'))
		workload_d();
	if (strchr(workloads, 'e'))
		workload_e();
	mark("end", "-");

	spapr_unregister(dev.container, buf, SZ_1G);
	vfio_close(&dev);
	buf_free(buf, buf_len);
	return tap_done();
}
