// SPDX-License-Identifier: GPL-2.0-only
/*
 * Limits and permissions:
 *  (a) TCE permissions, v2 and v1: a page mapped with only FLAG_READ
 *      (device may read it) is not written by an edu DMA to RAM, a page
 *      mapped with only FLAG_WRITE is not read by an edu DMA from RAM, a
 *      device write to an unmapped IOVA inside a window and to an IOVA in
 *      no window lands nowhere in our buffers; the container still works
 *      afterwards (remapped read/write, DMA lands);
 *  (b) RLIMIT_MEMLOCK: a child without CAP_IPC_LOCK (raw capset) and with
 *      a 256 KiB limit: REGISTER of 1 MiB -> ENOMEM, of 128 KiB -> 0, of
 *      another 256 KiB -> ENOMEM (the sum is charged), a huge REGISTER ->
 *      ENOMEM, v1 ENABLE (charges the whole 32-bit window) -> ENOMEM;
 *      VmLck unchanged by the failures;
 *  (c) IOVAs outside the windows are refused: MAP/UNMAP at the window
 *      ends, between the windows, at the top of the address space ->
 *      ENXIO; a MAP/UNMAP running past a window's end -> EINVAL (our
 *      backend; in-tree does not check); no TCE appears (debugfs); DMA
 *      works after;
 *  (d) a REGISTER of 2^50 bytes (root, no memlock limit) fails cleanly.
 *
 * Usage: test_limits [BDF]   (default 0001:00:00.0)
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SZ_4K	0x1000ull
#define SZ_64K	0x10000ull
#define SZ_1M	0x100000ull
#define SZ_1G	0x40000000ull
#define PG	SZ_64K
#define NPG	8
#define BUF_LEN	(NPG * PG)
#define DLEN	2048	/* one edu DMA (at most EDU_DMA_MAX) */

static char bdf[32] = "0001:00:00.0";
static bool ours;

static const char *tname(int type)
{
	return type == VFIO_SPAPR_TCE_IOMMU ? "v1" : "v2";
}

/* ------------------------------------------------------ (a) perms */

static bool all_bytes(const uint8_t *p, uint8_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void test_perms(int type)
{
	/* page 0 src RW, 1 READ-only, 2 WRITE-only, 3 dst RW, 4.. unmapped */
	struct vfio_iommu_spapr_tce_info info;
	struct vfio_dev d;
	struct edu e;
	uint8_t *b = buf_alloc(BUF_LEN);
	const char *t = tname(type);
	uint64_t w, seed = 7;
	int r;

	if (!b)
		tap_bail("alloc");
	r = vfio_open(&d, bdf, type, true);
	if (!r)
		r = (int)spapr_get_info(d.container, &info, sizeof(info));
	if (!r)
		r = (int)(type == VFIO_SPAPR_TCE_IOMMU ?
			  iommu_enable(d.container) :
			  spapr_register(d.container, b, BUF_LEN));
	if (!r)
		r = edu_init(&e, &d);
	w = info.dma32_window_start;
	if (!r)
		r = (int)dma_map(d.container, b, w, PG, DMA_RW);
	if (!r)
		r = (int)dma_map(d.container, b + PG, w + PG, PG,
				 VFIO_DMA_MAP_FLAG_READ);
	if (!r)
		r = (int)dma_map(d.container, b + 2 * PG, w + 2 * PG, PG,
				 VFIO_DMA_MAP_FLAG_WRITE);
	if (!r)
		r = (int)dma_map(d.container, b + 3 * PG, w + 3 * PG, PG,
				 DMA_RW);
	if (!tap_rc(r, 0, "(a) %s: RW, READ-only, WRITE-only, RW pages mapped",
		    t)) {
		vfio_close(&d);
		buf_free(b, BUF_LEN);
		return;
	}
	fill_random(b, DLEN, &seed);			/* P */
	memset(b + PG, 0x11, DLEN);			/* read-only page */
	memset(b + 2 * PG, 0x22, DLEN);		/* the secret */
	memset(b + 3 * PG, 0x33, DLEN);
	memset(b + 4 * PG, 0x44, 4 * PG);		/* never mapped */

	/* the device may read the READ-only page */
	r = edu_dma(&e, w + PG, 0, DLEN, false);
	if (!r)
		r = edu_dma(&e, w + 3 * PG, 0, DLEN, true);
	tap_ok(!r && all_bytes(b + 3 * PG, 0x11, DLEN),
	       "(a) %s: device reads the READ-only page (%s)", t, rc_str(r));

	/* the device must not write it */
	r = edu_dma(&e, w, 0, DLEN, false);		/* edu <- P */
	if (!r)
		r = edu_dma(&e, w + PG, 0, DLEN, true);
	tap_ok(!r && all_bytes(b + PG, 0x11, DLEN),
	       "(a) %s: device write to the READ-only page: buffer unchanged", t);

	/* the device must not read the WRITE-only page */
	memset(b + 3 * PG, 0x33, DLEN);
	r = edu_dma(&e, w + 2 * PG, 0, DLEN, false);	/* read attempt */
	if (!r)
		r = edu_dma(&e, w + 3 * PG, 0, DLEN, true);
	tap_ok(!r && !all_bytes(b + 3 * PG, 0x22, 16),
	       "(a) %s: device read of the WRITE-only page does not get its data",
	       t);
	/* but may write it */
	r = edu_dma(&e, w, 0, DLEN, false);
	if (!r)
		r = edu_dma(&e, w + 2 * PG, 0, DLEN, true);
	tap_ok(!r && !memcmp(b + 2 * PG, b, DLEN),
	       "(a) %s: device writes the WRITE-only page", t);

	/* writes to an unmapped IOVA of the window and to no window */
	r = edu_dma(&e, w + 5 * PG, 0, DLEN, true);
	if (!r)
		r = edu_dma(&e, info.dma32_window_start +
			    info.dma32_window_size, 0, DLEN, true);
	if (!r)
		r = edu_dma(&e, 1ull << 40, 0, DLEN, true);
	tap_ok(!r && all_bytes(b + 4 * PG, 0x44, 4 * PG) &&
	       all_bytes(b + PG, 0x11, DLEN),
	       "(a) %s: device writes to unmapped IOVAs land nowhere", t);

	/* the container still works: READ-only page remapped RW */
	r = (int)dma_map(d.container, b + PG, w + PG, PG, DMA_RW);
	if (!r)
		r = edu_copy(&e, w, w + PG, DLEN);
	tap_ok(!r && !memcmp(b, b + PG, DLEN),
	       "(a) %s: after remapping read/write the DMA lands (%s)", t,
	       rc_str(r));
	vfio_close(&d);
	buf_free(b, BUF_LEN);
}

/* ------------------------------------------------------ (b) memlock */

#define MAX_RES 16
struct result {
	char what[96];
	long got, expect;
};

struct results {
	int n;
	struct result r[MAX_RES];
};

static struct results *res;

static void record(const char *what, long got, long expect)
{
	if (res->n < MAX_RES) {
		snprintf(res->r[res->n].what, sizeof(res->r[0].what), "%s", what);
		res->r[res->n].got = got;
		res->r[res->n].expect = expect;
		res->n++;
	}
}

static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct c[2];

	if (syscall(SYS_capget, &h, c))
		return -errno;
	c[0].effective &= ~(1u << CAP_IPC_LOCK);
	c[0].permitted &= ~(1u << CAP_IPC_LOCK);
	c[0].inheritable &= ~(1u << CAP_IPC_LOCK);
	if (syscall(SYS_capset, &h, c))
		return -errno;
	return 0;
}

static void __attribute__((noreturn)) memlock_child(void)
{
	struct rlimit rl = { 256 << 10, 256 << 10 };
	struct vfio_dev d;
	uint8_t *b = buf_alloc(2 * SZ_1M);
	long l0, r;

	record("drop CAP_IPC_LOCK (capset)", drop_ipc_lock(), 0);
	record("setrlimit(RLIMIT_MEMLOCK, 256K)",
	       setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0, 0);
	r = vfio_open(&d, bdf, VFIO_SPAPR_TCE_v2_IOMMU, false);
	record("v2 open without CAP_IPC_LOCK", r, 0);
	if (r || !b)
		_exit(1);
	l0 = vmlck_kb();
	record("REGISTER 1 MiB over a 256K limit",
	       spapr_register(d.container, b, SZ_1M), -ENOMEM);
	record("REGISTER 128 KiB", spapr_register(d.container, b, 2 * PG), 0);
	record("REGISTER another 256 KiB (sum 384K)",
	       spapr_register(d.container, b + SZ_1M, 4 * PG), -ENOMEM);
	record("REGISTER 2^40 bytes",
	       spapr_register(d.container, b + SZ_1M, 1ull << 40), -ENOMEM);
	record("VmLck raised by exactly 128K", vmlck_kb() - l0, 128);
	record("UNREGISTER 128 KiB", spapr_unregister(d.container, b, 2 * PG),
	       0);
	record("VmLck back", vmlck_kb() - l0, 0);
	vfio_close(&d);
	r = vfio_open(&d, bdf, VFIO_SPAPR_TCE_IOMMU, false);
	if (!r)
		r = iommu_enable(d.container);
	record("v1 ENABLE (charges the 32-bit window) over the limit", r,
	       -ENOMEM);
	record("VmLck back after v1", vmlck_kb() - l0, 0);
	vfio_close(&d);
	_exit(0);
}

static void test_memlock(void)
{
	int status, i;
	pid_t pid;

	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		tap_bail("mmap");
	res->n = 0;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork");
	if (!pid)
		memlock_child();
	waitpid(pid, &status, 0);
	for (i = 0; i < res->n; i++)
		tap_rc(res->r[i].got, res->r[i].expect, "(b) %s",
		       res->r[i].what);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "(b) child done (status 0x%x)", status);
	munmap(res, sizeof(*res));
}

/* ------------------------------------------------- (c) outside windows */

static void test_outside(void)
{
	struct vfio_iommu_spapr_tce_info info;
	struct vfio_dev d;
	uint8_t *b = buf_alloc(BUF_LEN);
	uint64_t ddw = 0, w, wend, dend;
	long long dbg0, dbg1;
	int r;

	r = vfio_open(&d, bdf, VFIO_SPAPR_TCE_v2_IOMMU, false);
	if (!r)
		r = (int)spapr_get_info(d.container, &info, sizeof(info));
	if (!r)
		r = (int)spapr_register(d.container, b, BUF_LEN);
	if (!r)
		r = (int)spapr_create(d.container, 16, SZ_1G, 1, &ddw);
	if (!tap_rc(r, 0, "(c) v2, REGISTER, 1 GiB 64K DDW at 0x%llx",
		    (unsigned long long)ddw)) {
		vfio_close(&d);
		return;
	}
	w = info.dma32_window_start;
	wend = w + info.dma32_window_size;
	dend = ddw + SZ_1G;
	dbg0 = ddw_debugfs_mapped(bdf);
	tap_rc(dma_map(d.container, b, wend, PG, DMA_RW), -ENXIO,
	       "(c) MAP at the end of the 32-bit window -> ENXIO");
	tap_rc(dma_map(d.container, b, dend, PG, DMA_RW), -ENXIO,
	       "(c) MAP at the end of the DDW -> ENXIO");
	tap_rc(dma_map(d.container, b, ddw - PG, PG, DMA_RW), -ENXIO,
	       "(c) MAP just below the DDW -> ENXIO");
	tap_rc(dma_map(d.container, b, (wend + ddw) / 2 & ~(PG - 1), PG,
		       DMA_RW), -ENXIO, "(c) MAP between the windows -> ENXIO");
	tap_rc(dma_map(d.container, b, ~0ull - PG + 1, PG, DMA_RW), -ENXIO,
	       "(c) MAP at the top of the bus address space -> ENXIO");
	tap_rc(dma_unmap(d.container, dend, PG), -ENXIO,
	       "(c) UNMAP at the end of the DDW -> ENXIO");
	if (ours) {
		tap_rc(dma_map(d.container, b, wend - PG, 2 * PG, DMA_RW),
		       -EINVAL, "(c) MAP running past the 32-bit window -> EINVAL");
		tap_rc(dma_map(d.container, b, dend - PG, 2 * PG, DMA_RW),
		       -EINVAL, "(c) MAP running past the DDW -> EINVAL");
		tap_rc(dma_map(d.container, b, dend - PG, ~0ull - PG + 1,
			       DMA_RW), -EINVAL,
		       "(c) MAP whose end wraps around -> EINVAL");
		tap_rc(dma_unmap(d.container, dend - PG, 2 * PG), -EINVAL,
		       "(c) UNMAP running past the DDW -> EINVAL");
	} else {
		tap_skip("in-tree backend does not check the end",
			 "(c) MAP/UNMAP running past a window");
	}
	dbg1 = ddw_debugfs_mapped(bdf);
	if (dbg0 < 0)
		tap_skip("no pseries_tce_ddw debugfs", "(c) no TCE appeared");
	else
		tap_ok(dbg1 == dbg0, "(c) no TCE appeared (debugfs %lld -> %lld)",
		       dbg0, dbg1);
	vfio_close(&d);
	buf_free(b, BUF_LEN);
	tap_rc(edu_fresh_dma(bdf, VFIO_SPAPR_TCE_v2_IOMMU), 0,
	       "(c) fresh open + DMA works after");
}

/* ----------------------------------------------- (d) a huge REGISTER */

static void test_huge_register(void)
{
	struct vfio_dev d;
	uint8_t *b = buf_alloc(PG);
	long l0 = vmlck_kb(), r;

	r = vfio_open(&d, bdf, VFIO_SPAPR_TCE_v2_IOMMU, false);
	if (!r)
		r = spapr_register(d.container, b, 1ull << 50);
	tap_ok(r == -ENOMEM || r == -EFAULT || r == -EINVAL,
	       "(d) root REGISTER of 2^50 bytes fails cleanly (%s)", rc_str(r));
	tap_ok(vmlck_kb() == l0, "(d) VmLck unchanged (%ld -> %ld)", l0,
	       vmlck_kb());
	vfio_close(&d);
	buf_free(b, PG);
}

int main(int argc, char **argv)
{
	long long pin0, pin;
	int r;

	tap_init("test_limits");
	if (argc > 1)
		snprintf(bdf, sizeof(bdf), "%s", argv[1]);
	if (access("/dev/vfio/vfio", F_OK))
		tap_skip_all("/dev/vfio/vfio missing (vfio not loaded)");
	r = backend_is_ours();
	if (r < 0)
		tap_skip_all("no sPAPR TCE backend loaded");
	ours = r == 1;
	if (sys_page_size() != PG)
		tap_skip_all("written for 64K pages (page size %zu)",
			     sys_page_size());
	if (pci_bind_vfio(bdf))
		tap_skip_all("%s not available", bdf);
	pin0 = pinned_pages();
	test_perms(VFIO_SPAPR_TCE_v2_IOMMU);
	test_perms(VFIO_SPAPR_TCE_IOMMU);
	test_memlock();
	test_outside();
	test_huge_register();
	pin = settle_ll(pinned_pages, pin0);
	tap_ok(pin0 < 0 || pin == pin0, "pinned pages back to %lld (%lld)",
	       pin0, pin);
	tap_rc(edu_fresh_dma(bdf, VFIO_SPAPR_TCE_v2_IOMMU), 0,
	       "fresh open + DMA works at the end");
	return tap_done();
}
