// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency:
 *  (a) one v2 container (0001): NTHREADS threads map, unmap and remap
 *      disjoint ranges of one DDW and of the default window, each from its
 *      own slice of one registered buffer, while another thread calls
 *      GET_INFO in a loop (the answer must never change). Afterwards every
 *      thread's final mappings are checked page by page with edu DMA: each
 *      IOVA must reach exactly its own slice.
 *  (b) two containers on two PHBs (0001 and 0003) driven at the same time
 *      from two processes, each mapping/unmapping and checking edu DMA
 *      copies through its own device.
 * Then: pinned pages and our debugfs TCE counts back, DMA works.
 *
 * Usage: test_concurrency [ITERATIONS]   (per thread, default 300)
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SZ_4K	0x1000ull
#define SZ_64K	0x10000ull
#define SZ_1M	0x100000ull
#define SZ_1G	0x40000000ull

#define NTHREADS	4
#define SLICE		(16 * SZ_64K)	/* per thread, 16 IOMMU pages */
#define BUF_LEN		(NTHREADS * SLICE + 2 * SZ_64K)	/* + a DMA target */

static const char *bdf_a = "0001:00:00.0", *bdf_b = "0003:00:00.0";
static unsigned int iterations = 300;
static struct vfio_dev d;
static uint8_t *buf;
static uint64_t win32, ddw;
static volatile int stop_info;

struct worker {
	pthread_t th;
	int idx;
	uint64_t seed;
	unsigned long ops, errors;
	long first_error;
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The IOVA of thread t's page p in the window at base */
static uint64_t slot_iova(uint64_t base, int t, uint64_t p)
{
	return base + SZ_1M + (uint64_t)t * SLICE + p * SZ_64K;
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	uint8_t *slice = buf + (size_t)w->idx * SLICE;
	unsigned int i;

	for (i = 0; i < iterations; i++) {
		uint64_t x = xrand(&w->seed);
		uint64_t base = (x & 1) ? ddw : win32;
		uint64_t p = (x >> 4) % 16, n = 1 + (x >> 12) % (16 - p);
		long r;

		r = dma_map(d.container, slice + p * SZ_64K,
			    slot_iova(base, w->idx, p), n * SZ_64K, DMA_RW);
		w->ops++;
		if (!r && (x >> 20) % 2) {
			r = dma_unmap(d.container, slot_iova(base, w->idx, p),
				      n * SZ_64K);
			w->ops++;
		}
		if (r) {
			if (!w->errors++)
				w->first_error = r;
		}
	}
	/* leave the whole slice mapped in both windows for the check */
	if (dma_map(d.container, slice, slot_iova(win32, w->idx, 0), SLICE,
		    DMA_RW) ||
	    dma_map(d.container, slice, slot_iova(ddw, w->idx, 0), SLICE,
		    DMA_RW))
		w->errors++;
	return NULL;
}

struct info_thread {
	pthread_t th;
	unsigned long calls, changed, failed;
	struct vfio_iommu_spapr_tce_info ref;
};

static void *info_fn(void *arg)
{
	struct info_thread *it = arg;

	while (!stop_info) {
		struct vfio_iommu_spapr_tce_info info;

		memset(&info, 0xa5, sizeof(info));
		if (spapr_get_info(d.container, &info, sizeof(info)))
			it->failed++;
		else if (memcmp(&info, &it->ref, sizeof(info)))
			it->changed++;
		it->calls++;
	}
	return NULL;
}

static void part_a(void)
{
	struct worker w[NTHREADS];
	struct info_thread it = { 0 };
	struct edu e;
	unsigned long ops = 0, errors = 0, bad = 0, checked = 0;
	uint8_t *dst;
	uint64_t seed = test_seed(), dst_iova;
	double t0, dt;
	int t, r;
	uint64_t p;

	printf("# seed %llu\n", (unsigned long long)seed);
	buf = buf_alloc(BUF_LEN);
	if (!buf)
		tap_bail("alloc");
	dst = buf + NTHREADS * SLICE;
	r = vfio_open(&d, bdf_a, VFIO_SPAPR_TCE_v2_IOMMU, true);
	if (!r)
		r = (int)spapr_get_info(d.container, &it.ref, sizeof(it.ref));
	if (!r)
		r = (int)spapr_register(d.container, buf, BUF_LEN);
	if (!r)
		r = (int)spapr_create(d.container, 16, SZ_1G, 1, &ddw);
	if (!r)
		r = edu_init(&e, &d);
	if (!tap_rc(r, 0, "(a) v2 container, REGISTER, 64K DDW, edu"))
		tap_bail("set-up");
	it.ref.argsz = sizeof(it.ref);
	win32 = it.ref.dma32_window_start;
	dst_iova = win32;
	if (dma_map(d.container, dst, dst_iova, SZ_64K, DMA_RW))
		tap_bail("map dst");
	for (t = 0; t < NTHREADS; t++)
		fill_random(buf + (size_t)t * SLICE, SLICE, &seed);

	t0 = now();
	pthread_create(&it.th, NULL, info_fn, &it);
	for (t = 0; t < NTHREADS; t++) {
		w[t] = (struct worker){ .idx = t, .seed = xrand(&seed) };
		pthread_create(&w[t].th, NULL, worker_fn, &w[t]);
	}
	for (t = 0; t < NTHREADS; t++) {
		pthread_join(w[t].th, NULL);
		ops += w[t].ops;
		errors += w[t].errors;
		if (w[t].errors)
			tap_diag("thread %d: %lu errors, first %s", t,
				 w[t].errors, rc_str(w[t].first_error));
	}
	stop_info = 1;
	pthread_join(it.th, NULL);
	dt = now() - t0;
	tap_ok(errors == 0, "(a) %d threads: %lu MAP/UNMAP on disjoint ranges, %lu failed",
	       NTHREADS, ops, errors);
	tap_ok(it.calls > 0 && !it.changed && !it.failed,
	       "(a) concurrent GET_INFO: %lu calls, %lu changed, %lu failed",
	       it.calls, it.changed, it.failed);

	/* every page of every thread, through both windows */
	for (t = 0; t < NTHREADS; t++) {
		for (p = 0; p < 16; p++) {
			uint64_t base = (p & 1) ? ddw : win32;

			memset(dst, 0, SZ_4K);
			r = edu_copy(&e, slot_iova(base, t, p), dst_iova, SZ_4K);
			checked++;
			if (r || memcmp(dst, buf + (size_t)t * SLICE + p * SZ_64K,
					SZ_4K)) {
				if (!bad++)
					tap_diag("thread %d page %llu (%s): %s", t,
						 (unsigned long long)p,
						 (p & 1) ? "ddw" : "win32",
						 r ? rc_str(r) : "wrong data");
			}
		}
	}
	tap_ok(!bad, "(a) edu DMA reads each thread's slice at its IOVAs (%lu pages, %lu wrong)",
	       checked, bad);
	tap_figure("concurrency_map_unmap_per_s", "%.0f", (double)ops / dt);
	tap_figure("concurrency_get_info_calls", "%lu", it.calls);
	vfio_close(&d);
	buf_free(buf, BUF_LEN);
}

/* One process per PHB: map, DMA copy, check, unmap, for iterations */
static void __attribute__((noreturn)) driver(const char *bdf, uint64_t seed)
{
	struct vfio_iommu_spapr_tce_info info;
	struct vfio_dev dv;
	struct edu e;
	const size_t len = 8 * SZ_64K;
	uint8_t *b = buf_alloc(len);
	unsigned int i, n = iterations / 4 + 1;
	uint64_t dw = 0;
	int r;

	r = !b ? -ENOMEM : vfio_open(&dv, bdf, VFIO_SPAPR_TCE_v2_IOMMU, true);
	if (!r)
		r = (int)spapr_get_info(dv.container, &info, sizeof(info));
	if (!r)
		r = (int)spapr_register(dv.container, b, len);
	if (!r)
		r = (int)spapr_create(dv.container, 16, SZ_1G, 1, &dw);
	if (!r)
		r = edu_init(&e, &dv);
	if (r)
		_exit(2);
	for (i = 0; i < n; i++) {
		uint64_t base = (i & 1) ? dw : info.dma32_window_start;
		uint64_t x = xrand(&seed), src = (x % 4) * SZ_64K;
		uint64_t dst = 4 * SZ_64K + ((x >> 8) % 4) * SZ_64K;

		fill_random(b + src, SZ_4K, &seed);
		memset(b + dst, 0, SZ_4K);
		if (dma_map(dv.container, b, base, len, DMA_RW))
			_exit(3);
		if (edu_copy(&e, base + src, base + dst, SZ_4K))
			_exit(4);
		if (memcmp(b + src, b + dst, SZ_4K))
			_exit(5);
		if (dma_unmap(dv.container, base, len))
			_exit(6);
	}
	vfio_close(&dv);
	_exit(0);
}

static void part_b(void)
{
	const char *bdfs[2] = { bdf_a, bdf_b };
	pid_t pid[2];
	int i, status;
	double t0 = now();

	for (i = 0; i < 2; i++) {
		fflush(stdout);
		pid[i] = fork();
		if (pid[i] < 0)
			tap_bail("fork");
		if (!pid[i])
			driver(bdfs[i], test_seed() + (uint64_t)i);
	}
	for (i = 0; i < 2; i++) {
		waitpid(pid[i], &status, 0);
		tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "(b) %s driven concurrently: %u map/DMA/check/unmap rounds (exit %d)",
		       bdfs[i], iterations / 4 + 1,
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	tap_diag("(b) took %.1fs", now() - t0);
}

static long long dbg_sum(void)
{
	long long a = ddw_debugfs_mapped(bdf_a), b = ddw_debugfs_mapped(bdf_b);

	return a < 0 ? a : b < 0 ? b : a + b;
}

int main(int argc, char **argv)
{
	long long pin0, pin, dbg;
	long lck0;

	tap_init("test_concurrency");
	if (argc > 1)
		iterations = (unsigned int)atoi(argv[1]);
	if (access("/dev/vfio/vfio", F_OK))
		tap_skip_all("/dev/vfio/vfio missing (vfio not loaded)");
	if (backend_is_ours() < 0)
		tap_skip_all("no sPAPR TCE backend loaded");
	if (pci_bind_vfio(bdf_a) || pci_bind_vfio(bdf_b))
		tap_skip_all("edu devices %s and %s needed", bdf_a, bdf_b);
	lck0 = vmlck_kb();
	pin0 = pinned_pages();

	part_a();
	part_b();

	tap_ok(vmlck_kb() == lck0, "VmLck back to %ld kB (%ld)", lck0,
	       vmlck_kb());
	pin = settle_ll(pinned_pages, pin0);
	tap_ok(pin0 < 0 || pin == pin0, "pinned pages back to %lld (%lld)", pin0,
	       pin);
	dbg = settle_ll(dbg_sum, 0);
	if (dbg == -ENOENT)
		tap_skip("no pseries_tce_ddw debugfs", "debugfs tces_mapped 0");
	else
		tap_ok(dbg == 0, "debugfs tces_mapped of both PEs back to 0 (%lld)",
		       dbg);
	tap_rc(edu_fresh_dma(bdf_a, VFIO_SPAPR_TCE_v2_IOMMU), 0,
	       "%s: fresh open + DMA works", bdf_a);
	tap_rc(edu_fresh_dma(bdf_b, VFIO_SPAPR_TCE_v2_IOMMU), 0,
	       "%s: fresh open + DMA works", bdf_b);
	return tap_done();
}
