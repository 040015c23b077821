// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioctl semantics of the sPAPR TCE VFIO IOMMU backend, v1
 * (VFIO_SPAPR_TCE_IOMMU) and v2 (VFIO_SPAPR_TCE_v2_IOMMU).
 *
 * Expected values are what the 6.12 in-tree drivers/vfio/vfio_iommu_spapr_tce.c
 * over the in-tree pSeries ops returns (our backend must be ABI compatible):
 *  - MAP/UNMAP with an IOVA in no window: -ENXIO (not -EINVAL);
 *  - MAP over an existing mapping: 0, the TCE is replaced (no -EBUSY);
 *  - UNMAP of a range never mapped (inside a window): 0;
 *  - unaligned IOVA in MAP/UNMAP (and UNMAP past the window end): in-tree
 *    returns 1 (iommu_tce_{put,clear}_param_check() are "a || b" macros, so
 *    the ioctl returns a positive 1, not -EINVAL): accepted as either;
 *  - v2 MAP before any REGISTER_MEMORY: -EPERM (container not enabled);
 *  - v2 MAP of memory not backed by pages >= the IOMMU page (16M TCE over
 *    64K pages): -EINVAL;
 *  - ENABLE/DISABLE/REGISTER/CREATE/REMOVE on the wrong version: -ENOTTY;
 *  - v1 MAP of PROT_READ memory with only FLAG_READ: in-tree -EFAULT
 *    (tce_iommu_use_page() derives the direction from the bare vaddr, so it
 *    always pins with FOLL_WRITE); 0 accepted too (pinning by direction).
 * Not exercised because in-tree misbehaves: MAP straddling a window end
 * (v2 writes past it_userspace), UNREGISTER while mapped (leaks the region
 * until mm teardown), two DDWs at once on pSeries (of_add_property -EEXIST
 * puts the PE on failed_ddw_pdn_list until reboot).
 *
 * Usage: test_ioctl [BDF]   (default: first 1234:11e8 edu device)
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define SZ_4K	0x1000ull
#define SZ_64K	0x10000ull
#define SZ_1M	0x100000ull
#define SZ_16M	0x1000000ull
#define SZ_256M	0x10000000ull
#define SZ_1G	0x40000000ull
#define FAR_IOVA (1ull << 40)	/* in no window on QEMU pseries */

#define BUF_LEN	(4 * SZ_64K)

static char bdf[32];
static size_t sys_pg;

struct win {
	const char *name;
	uint64_t start, size;
	uint64_t pg;
};

static void must_open(struct vfio_dev *d, int type)
{
	int r = vfio_open(d, bdf, type, false);

	if (r)
		tap_bail("vfio_open(%s, type %d): %s", bdf, type, rc_str(r));
}

static void *must_alloc(size_t len)
{
	void *p = buf_alloc(len);

	if (!p)
		tap_bail("cannot allocate %zu bytes", len);
	return p;
}

/* ------------------------------------------------ raw ioctl variants */

static long map_raw(int c, uint32_t argsz, uint32_t flags, const void *va,
		    uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = argsz, .flags = flags, .vaddr = (uintptr_t)va,
		.iova = iova, .size = size,
	};

	return vfio_ioctl(c, VFIO_IOMMU_MAP_DMA, &m);
}

static long unmap_raw(int c, uint32_t argsz, uint32_t flags, uint64_t iova,
		      uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = argsz, .flags = flags, .iova = iova, .size = size,
	};

	return vfio_ioctl(c, VFIO_IOMMU_UNMAP_DMA, &u);
}

static long reg_raw(int c, unsigned long req, uint32_t argsz, uint32_t flags,
		    const void *va, uint64_t size)
{
	struct vfio_iommu_spapr_register_memory r = {
		.argsz = argsz, .flags = flags, .vaddr = (uintptr_t)va,
		.size = size,
	};

	return vfio_ioctl(c, req, &r);
}

static long create_raw(int c, uint32_t argsz, uint32_t flags,
		       uint32_t shift, uint64_t size)
{
	struct vfio_iommu_spapr_tce_create cr = {
		.argsz = argsz, .flags = flags, .page_shift = shift,
		.window_size = size, .levels = 1,
	};

	return vfio_ioctl(c, VFIO_IOMMU_SPAPR_TCE_CREATE, &cr);
}

static long remove_raw(int c, uint32_t argsz, uint32_t flags, uint64_t start)
{
	struct vfio_iommu_spapr_tce_remove rm = {
		.argsz = argsz, .flags = flags, .start_addr = start,
	};

	return vfio_ioctl(c, VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm);
}

#define MAP_MINSZ offsetofend(struct vfio_iommu_type1_dma_map, size)
#define UNMAP_MINSZ offsetofend(struct vfio_iommu_type1_dma_unmap, size)
#define REG_MINSZ offsetofend(struct vfio_iommu_spapr_register_memory, size)
#define CREATE_MINSZ offsetofend(struct vfio_iommu_spapr_tce_create, start_addr)
#define REMOVE_MINSZ offsetofend(struct vfio_iommu_spapr_tce_remove, start_addr)
#define INFO_MINSZ offsetofend(struct vfio_iommu_spapr_tce_info, dma32_window_size)
#ifndef offsetofend
#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))
#endif

/* A populated, filled, then PROT_READ page (not the zero page). */
static void *ro_page(void)
{
	void *p = must_alloc(sys_pg);

	memset(p, 0x3c, sys_pg);
	if (mprotect(p, sys_pg, PROT_READ))
		tap_bail("mprotect PROT_READ");
	return p;
}

/* -EINVAL, or 1 from the in-tree "a || b" param check macros */
static bool tap_einval_or_1(long rc, const char *n, const char *what)
{
	bool ok = tap_ok(rc == -EINVAL || rc == 1,
			 "%s: %s -> EINVAL (in-tree: 1)", n, what);

	if (!ok)
		tap_diag("  got %s", rc_str(rc));
	else if (rc == 1)
		tap_diag("  returned 1 like in-tree (param_check macro)");
	return ok;
}

/* ---------------------------------------------------------- sections */

static void test_extensions(void)
{
	struct vfio_dev d;
	int c, r;

	c = vfio_open_container();
	if (c < 0)
		tap_bail("open /dev/vfio/vfio: %s", rc_str(c));
	tap_rc(vfio_ioctl(c, VFIO_CHECK_EXTENSION, (void *)VFIO_SPAPR_TCE_IOMMU),
	       1, "CHECK_EXTENSION(SPAPR_TCE_IOMMU) = 1");
	tap_rc(vfio_ioctl(c, VFIO_CHECK_EXTENSION,
			  (void *)VFIO_SPAPR_TCE_v2_IOMMU),
	       1, "CHECK_EXTENSION(SPAPR_TCE_v2_IOMMU) = 1");
	tap_rc(vfio_ioctl(c, VFIO_CHECK_EXTENSION, (void *)VFIO_TYPE1_IOMMU),
	       0, "CHECK_EXTENSION(TYPE1_IOMMU) = 0");
	tap_diag("CHECK_EXTENSION(VFIO_EEH) = %s",
		 rc_str(vfio_ioctl(c, VFIO_CHECK_EXTENSION, (void *)VFIO_EEH)));
	tap_rc(vfio_ioctl(c, VFIO_SET_IOMMU, (void *)VFIO_SPAPR_TCE_v2_IOMMU),
	       -EINVAL, "SET_IOMMU without a group -> EINVAL");
	close(c);

	must_open(&d, 0);
	tap_rc(vfio_ioctl(d.container, VFIO_SET_IOMMU, (void *)VFIO_TYPE1_IOMMU),
	       -ENODEV, "SET_IOMMU(TYPE1) -> ENODEV");
	r = vfio_set_iommu(&d, VFIO_SPAPR_TCE_v2_IOMMU);
	tap_rc(r, 0, "SET_IOMMU(v2)");
	tap_rc(vfio_ioctl(d.container, VFIO_SET_IOMMU,
			  (void *)VFIO_SPAPR_TCE_v2_IOMMU),
	       -EINVAL, "second SET_IOMMU -> EINVAL");
	tap_rc(vfio_ioctl(d.container, VFIO_CHECK_EXTENSION,
			  (void *)VFIO_SPAPR_TCE_IOMMU),
	       1, "CHECK_EXTENSION(v1) after SET_IOMMU = 1");
	vfio_close(&d);
}

/* GET_INFO with full and short argsz; fills *info (full one). */
static void test_get_info(struct vfio_dev *d, bool v2,
			  struct vfio_iommu_spapr_tce_info *info)
{
	const char *v = v2 ? "v2" : "v1";
	struct vfio_iommu_spapr_tce_info s;
	unsigned int i;
	bool untouched = true;
	long r;

	memset(info, 0xaa, sizeof(*info));
	r = spapr_get_info(d->container, info, sizeof(*info));
	if (!tap_rc(r, 0, "%s: GET_INFO full argsz", v))
		tap_bail("GET_INFO failed");
	tap_diag("%s: flags 0x%x dma32 0x%x+0x%x pgsizes 0x%llx windows %u levels %u",
		 v, info->flags, info->dma32_window_start,
		 info->dma32_window_size,
		 (unsigned long long)info->ddw.pgsizes,
		 info->ddw.max_dynamic_windows_supported, info->ddw.levels);
	tap_ok(info->dma32_window_size >= SZ_256M &&
	       !(info->dma32_window_size & (SZ_4K - 1)),
	       "%s: dma32 window size 0x%x is sane", v,
	       info->dma32_window_size);
	if (v2) {
		tap_ok(info->flags & VFIO_IOMMU_SPAPR_INFO_DDW,
		       "v2: GET_INFO reports VFIO_IOMMU_SPAPR_INFO_DDW");
		tap_ok((info->ddw.pgsizes & SZ_4K) && (info->ddw.pgsizes & SZ_64K),
		       "v2: pgsizes 0x%llx includes 4K and 64K",
		       (unsigned long long)info->ddw.pgsizes);
		tap_ok(info->ddw.max_dynamic_windows_supported >= 1,
		       "v2: max_dynamic_windows_supported %u >= 1",
		       info->ddw.max_dynamic_windows_supported);
		tap_ok(info->ddw.levels >= 1, "v2: levels %u >= 1",
		       info->ddw.levels);
	} else {
		tap_ok(info->flags == 0 && info->ddw.pgsizes == 0 &&
		       info->ddw.max_dynamic_windows_supported == 0 &&
		       info->ddw.levels == 0,
		       "v1: no DDW flag, ddw info zeroed");
	}

	memset(&s, 0x5a, sizeof(s));
	r = spapr_get_info(d->container, &s, INFO_MINSZ);
	tap_rc(r, 0, "%s: GET_INFO old short argsz (%zu)", v,
	       (size_t)INFO_MINSZ);
	for (i = 0; i < sizeof(s.ddw); i++)
		if (((uint8_t *)&s.ddw)[i] != 0x5a)
			untouched = false;
	tap_ok(untouched && s.dma32_window_size == info->dma32_window_size &&
	       s.dma32_window_start == info->dma32_window_start &&
	       s.flags == info->flags,
	       "%s: short argsz: dma32 fields filled, ddw not written", v);
	tap_rc(spapr_get_info(d->container, &s, INFO_MINSZ - 1), -EINVAL,
	       "%s: GET_INFO argsz too small -> EINVAL", v);
}

static bool good_roundtrip(int c, void *buf, uint64_t iova, uint64_t len)
{
	long a = dma_map(c, buf, iova, len, DMA_RW);
	long b = dma_unmap(c, iova, len);

	if (a || b)
		tap_diag("  roundtrip map %s unmap %s", rc_str(a), rc_str(b));
	return !a && !b;
}

/*
 * MAP/UNMAP semantics inside window w. buf and other: BUF_LEN bytes,
 * registered under v2.
 */
static void map_semantics(struct vfio_dev *d, const struct win *w, bool v2,
			  void *buf, void *other)
{
	const char *n = w->name;
	int c = d->container;
	uint64_t pg = w->pg, iova = w->start + 16 * pg;
	uint8_t *b = buf;
	long long pin0 = pinned_pages();
	long r;

	tap_rc(dma_map(c, buf, iova, BUF_LEN, DMA_RW), 0,
	       "%s: MAP %llu pages RW", n, (unsigned long long)(BUF_LEN / pg));
	tap_rc(dma_map(c, other, iova, pg, DMA_RW), 0,
	       "%s: MAP over an existing mapping -> 0 (in-tree replaces)", n);
	tap_rc(dma_unmap(c, iova, BUF_LEN), 0, "%s: UNMAP", n);

	tap_rc(map_raw(c, MAP_MINSZ - 1, DMA_RW, buf, iova, BUF_LEN), -EINVAL,
	       "%s: MAP argsz too small -> EINVAL", n);
	tap_rc(map_raw(c, sizeof(struct vfio_iommu_type1_dma_map), 0, buf,
		       iova, BUF_LEN), -EINVAL,
	       "%s: MAP flags 0 (no direction) -> EINVAL", n);
	tap_rc(dma_map(c, buf, iova, BUF_LEN, DMA_RW | VFIO_DMA_MAP_FLAG_VADDR),
	       -EINVAL, "%s: MAP flags VADDR -> EINVAL", n);
	tap_rc(dma_map(c, buf, iova, BUF_LEN, VFIO_DMA_MAP_FLAG_READ | 0x80),
	       -EINVAL, "%s: MAP unknown flag 0x80 -> EINVAL", n);
	tap_rc(dma_map(c, buf, FAR_IOVA, BUF_LEN, DMA_RW), -ENXIO,
	       "%s: MAP IOVA 0x%llx in no window -> ENXIO", n,
	       (unsigned long long)FAR_IOVA);
	tap_rc(dma_map(c, buf, w->start + w->size, BUF_LEN, DMA_RW), -ENXIO,
	       "%s: MAP IOVA at window end -> ENXIO", n);
	tap_rc(dma_map(c, b + pg / 2, iova, BUF_LEN - pg, DMA_RW), -EINVAL,
	       "%s: MAP unaligned vaddr -> EINVAL", n);
	tap_rc(dma_map(c, buf, iova, BUF_LEN - pg / 2, DMA_RW), -EINVAL,
	       "%s: MAP unaligned size -> EINVAL", n);
	tap_einval_or_1(dma_map(c, buf, iova + pg / 2, BUF_LEN - pg, DMA_RW),
			n, "MAP unaligned IOVA");
	if (v2) {
		void *unreg = must_alloc(BUF_LEN);

		tap_rc(dma_map(c, unreg, iova, BUF_LEN, DMA_RW), -EINVAL,
		       "%s: v2 MAP of unregistered memory -> EINVAL", n);
		tap_rc(dma_map(c, b + BUF_LEN - pg, iova, 2 * pg, DMA_RW),
		       -EINVAL,
		       "%s: v2 MAP running past the registered region -> EINVAL",
		       n);
		buf_free(unreg, BUF_LEN);
	} else {
		uint8_t *hole = must_alloc(2 * sys_pg);
		void *ro;

		munmap(hole + sys_pg, sys_pg);
		tap_rc(dma_map(c, hole, iova, 2 * sys_pg, DMA_RW), -EFAULT,
		       "%s: v1 MAP over an unmapped hole -> EFAULT", n);
		munmap(hole, sys_pg);
		ro = ro_page();
		tap_rc(dma_map(c, ro, iova, sys_pg, DMA_RW), -EFAULT,
		       "%s: v1 MAP read-only memory device-writable -> EFAULT",
		       n);
		/* in-tree v1 always pins with FOLL_WRITE (the direction is
		 * taken from the bare vaddr), so even READ-only fails */
		r = dma_map(c, ro, iova, sys_pg, VFIO_DMA_MAP_FLAG_READ);
		tap_ok(r == -EFAULT || r == 0,
		       "%s: v1 MAP read-only memory device-read-only -> EFAULT (in-tree) or 0",
		       n);
		tap_diag("  got %s%s", rc_str(r), r ? "" :
			 " (pins by direction, unlike in-tree)");
		if (!r)
			tap_rc(dma_unmap(c, iova, sys_pg), 0, "%s: UNMAP it", n);
		munmap(ro, sys_pg);
	}
	tap_ok(good_roundtrip(c, buf, iova, BUF_LEN),
	       "%s: after the errors a good MAP+UNMAP at the same IOVA works",
	       n);

	tap_rc(dma_unmap(c, iova + 64 * pg, 4 * pg), 0,
	       "%s: UNMAP of a range never mapped -> 0", n);
	tap_rc(dma_unmap(c, FAR_IOVA, BUF_LEN), -ENXIO,
	       "%s: UNMAP IOVA in no window -> ENXIO", n);
	tap_rc(unmap_raw(c, UNMAP_MINSZ - 1, 0, iova, BUF_LEN), -EINVAL,
	       "%s: UNMAP argsz too small -> EINVAL", n);
	tap_rc(unmap_raw(c, sizeof(struct vfio_iommu_type1_dma_unmap),
			 VFIO_DMA_UNMAP_FLAG_ALL, iova, BUF_LEN), -EINVAL,
	       "%s: UNMAP flags ALL -> EINVAL", n);
	tap_rc(dma_unmap(c, iova, pg / 2), -EINVAL,
	       "%s: UNMAP unaligned size -> EINVAL", n);
	tap_einval_or_1(dma_unmap(c, iova + pg / 2, pg), n,
			"UNMAP unaligned IOVA");
	tap_einval_or_1(dma_unmap(c, w->start + w->size - pg, 2 * pg),
			n, "UNMAP running past the window end");

	/* nothing leaked: v2 regions unregister (mapped count back), v1 pins */
	if (v2) {
		r = spapr_unregister(c, buf, BUF_LEN);
		tap_rc(r, 0, "%s: no mapping left: UNREGISTER works", n);
		if (!r && spapr_register(c, buf, BUF_LEN))
			tap_bail("re-REGISTER failed");
	} else if (pin0 < 0) {
		tap_skip("no nr_foll_pin_* in /proc/vmstat",
			 "%s: pinned pages back", n);
	} else {
		long long pin1 = settle_ll(pinned_pages, pin0);

		tap_ok(pin1 == pin0, "%s: pinned pages back (%lld -> %lld)", n,
		       pin0, pin1);
	}
}

static void test_v1(long base_lck)
{
	struct vfio_iommu_spapr_tce_info info;
	struct vfio_dev d;
	struct win w;
	void *buf, *other;
	long l0, l1;

	must_open(&d, VFIO_SPAPR_TCE_IOMMU);
	test_get_info(&d, false, &info);
	buf = must_alloc(BUF_LEN);
	other = must_alloc(BUF_LEN);

	tap_rc(dma_map(d.container, buf, info.dma32_window_start, BUF_LEN,
		       DMA_RW), -EPERM, "v1: MAP before ENABLE -> EPERM");
	tap_rc(spapr_register(d.container, buf, BUF_LEN), -ENOTTY,
	       "v1: REGISTER_MEMORY -> ENOTTY");
	tap_rc(spapr_create(d.container, 16, SZ_1G, 1, NULL), -ENOTTY,
	       "v1: TCE_CREATE -> ENOTTY");
	tap_rc(spapr_remove(d.container, 0), -ENOTTY, "v1: TCE_REMOVE -> ENOTTY");

	l0 = vmlck_kb();
	tap_rc(iommu_enable(d.container), 0, "v1: ENABLE");
	l1 = vmlck_kb();
	tap_ok(l1 - l0 == (long)(info.dma32_window_size >> 10),
	       "v1: ENABLE accounts the 32-bit window in VmLck (+%ld kB, want +%u)",
	       l1 - l0, info.dma32_window_size >> 10);
	tap_rc(iommu_enable(d.container), -EBUSY, "v1: second ENABLE -> EBUSY");

	w.name = "v1 dma32";
	w.start = info.dma32_window_start;
	w.size = info.dma32_window_size;
	w.pg = SZ_4K;
	map_semantics(&d, &w, false, buf, other);

	l0 = vmlck_kb();
	tap_rc(iommu_disable(d.container), 0, "v1: DISABLE");
	l1 = vmlck_kb();
	tap_ok(l0 - l1 == (long)(info.dma32_window_size >> 10),
	       "v1: DISABLE unaccounts the 32-bit window (-%ld kB)", l0 - l1);
	tap_rc(dma_map(d.container, buf, w.start, BUF_LEN, DMA_RW), -EPERM,
	       "v1: MAP after DISABLE -> EPERM");
	tap_rc(dma_unmap(d.container, w.start, BUF_LEN), -EPERM,
	       "v1: UNMAP after DISABLE -> EPERM");
	tap_rc(iommu_disable(d.container), 0, "v1: second DISABLE -> 0");
	tap_rc(iommu_enable(d.container), 0, "v1: ENABLE again");
	tap_rc(dma_map(d.container, buf, w.start, BUF_LEN, DMA_RW), 0,
	       "v1: MAP after re-ENABLE");
	/* close with the mapping and the enable accounting in place */
	vfio_close(&d);
	tap_ok(vmlck_kb() == base_lck, "v1: VmLck back to %ld kB after close",
	       base_lck);
	buf_free(buf, BUF_LEN);
	buf_free(other, BUF_LEN);
}

static void test_v2_register(long base_lck)
{
	struct vfio_iommu_spapr_tce_info info;
	struct vfio_dev d;
	uint8_t *buf, *buf2;
	void *ro;
	long l0, l1;

	must_open(&d, VFIO_SPAPR_TCE_v2_IOMMU);
	test_get_info(&d, true, &info);
	buf = must_alloc(SZ_1M);
	buf2 = must_alloc(SZ_1M);

	tap_rc(iommu_enable(d.container), -ENOTTY, "v2: ENABLE -> ENOTTY");
	tap_rc(iommu_disable(d.container), -ENOTTY, "v2: DISABLE -> ENOTTY");
	tap_rc(dma_map(d.container, buf, info.dma32_window_start, SZ_64K,
		       DMA_RW), -EPERM,
	       "v2: MAP before any REGISTER_MEMORY -> EPERM");

	l0 = vmlck_kb();
	tap_rc(spapr_register(d.container, buf, SZ_1M), 0, "v2: REGISTER 1MiB");
	l1 = vmlck_kb();
	tap_ok(l1 - l0 == (long)(SZ_1M >> 10),
	       "v2: VmLck up by the registered size (+%ld kB, want +%llu)",
	       l1 - l0, SZ_1M >> 10);
	tap_rc(spapr_register(d.container, buf, SZ_1M), -EBUSY,
	       "v2: REGISTER the same region again -> EBUSY");
	tap_rc(spapr_register(d.container, buf + sys_pg, sys_pg), -EINVAL,
	       "v2: REGISTER a region overlapping a registered one -> EINVAL");
	tap_rc(spapr_register(d.container, buf2 + SZ_4K, sys_pg), -EINVAL,
	       "v2: REGISTER unaligned vaddr -> EINVAL");
	tap_rc(spapr_register(d.container, buf2, sys_pg + SZ_4K), -EINVAL,
	       "v2: REGISTER unaligned size -> EINVAL");
	tap_rc(reg_raw(d.container, VFIO_IOMMU_SPAPR_REGISTER_MEMORY,
		       REG_MINSZ, 1, buf2, sys_pg), -EINVAL,
	       "v2: REGISTER flags 1 -> EINVAL");
	tap_rc(reg_raw(d.container, VFIO_IOMMU_SPAPR_REGISTER_MEMORY,
		       REG_MINSZ - 1, 0, buf2, sys_pg), -EINVAL,
	       "v2: REGISTER argsz too small -> EINVAL");
	ro = ro_page();
	tap_rc(spapr_register(d.container, ro, sys_pg), -EFAULT,
	       "v2: REGISTER read-only memory -> EFAULT");
	munmap(ro, sys_pg);
	tap_ok(vmlck_kb() == l1, "v2: failed REGISTERs leave VmLck alone");

	tap_rc(spapr_unregister(d.container, buf2, SZ_1M), -ENOENT,
	       "v2: UNREGISTER a region never registered -> ENOENT");
	tap_rc(spapr_unregister(d.container, buf, SZ_1M / 2), -ENOENT,
	       "v2: UNREGISTER with a different size -> ENOENT");
	tap_rc(spapr_unregister(d.container, buf + SZ_4K, SZ_1M), -EINVAL,
	       "v2: UNREGISTER unaligned vaddr -> EINVAL");
	tap_rc(reg_raw(d.container, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY,
		       REG_MINSZ, 1, buf, SZ_1M), -EINVAL,
	       "v2: UNREGISTER flags 1 -> EINVAL");
	tap_rc(spapr_unregister(d.container, buf, SZ_1M), 0, "v2: UNREGISTER");
	tap_ok(vmlck_kb() == l0, "v2: VmLck back down after UNREGISTER (%ld)",
	       vmlck_kb());
	tap_rc(spapr_unregister(d.container, buf, SZ_1M), -ENOENT,
	       "v2: UNREGISTER twice -> ENOENT");

	/* leave one registered for the close */
	tap_rc(spapr_register(d.container, buf2, SZ_1M), 0,
	       "v2: REGISTER again");
	vfio_close(&d);
	tap_ok(vmlck_kb() == base_lck,
	       "v2: VmLck back to %ld kB after close with a registered region",
	       base_lck);
	buf_free(buf, SZ_1M);
	buf_free(buf2, SZ_1M);
}

static void test_v2_windows(long base_lck)
{
	struct vfio_iommu_spapr_tce_info info;
	struct vfio_dev d;
	struct win w;
	uint64_t start = 0;
	void *buf, *other;
	long l0, l1, r, want;
	int c;

	must_open(&d, VFIO_SPAPR_TCE_v2_IOMMU);
	c = d.container;
	test_get_info(&d, true, &info);
	buf = must_alloc(BUF_LEN);
	other = must_alloc(BUF_LEN);
	if (spapr_register(c, buf, BUF_LEN) || spapr_register(c, other, BUF_LEN))
		tap_bail("REGISTER failed");

	/* the default window exists implicitly (created on first use) */
	w.name = "v2 default";
	w.start = info.dma32_window_start;
	w.size = info.dma32_window_size;
	w.pg = SZ_4K;
	map_semantics(&d, &w, true, buf, other);

	tap_rc(create_raw(c, CREATE_MINSZ - 1, 0, 16, SZ_1G), -EINVAL,
	       "v2: CREATE argsz too small -> EINVAL");
	tap_rc(create_raw(c, CREATE_MINSZ, 1, 16, SZ_1G), -EINVAL,
	       "v2: CREATE flags 1 -> EINVAL");
	tap_rc(spapr_create(c, 13, SZ_1G, 1, NULL), -EINVAL,
	       "v2: CREATE page_shift 13 (not in pgsizes) -> EINVAL");

	l0 = vmlck_kb();
	r = spapr_create(c, 16, SZ_1G, 1, &start);
	if (!tap_rc(r, 0, "v2: CREATE 64K pages, 1GiB"))
		tap_bail("cannot create a DDW");
	l1 = vmlck_kb();
	tap_diag("v2: DDW 64K at 0x%llx, VmLck +%ld kB",
		 (unsigned long long)start, l1 - l0);
	tap_ok(start != info.dma32_window_start && !(start & (SZ_1G - 1)),
	       "v2: DDW start 0x%llx is a new, window aligned bus address",
	       (unsigned long long)start);
	/*
	 * A user who maps the whole window makes the kernel keep a user
	 * address per entry (8 bytes): CREATE charges at least that, in
	 * whole pages, as the in-tree backend charges an in-tree table.
	 */
	want = (long)(SZ_1G / SZ_64K * 8 / sys_page_size() * sys_page_size() / 1024);
	tap_ok(l1 - l0 >= want,
	       "v2: CREATE charges the window's view to VmLck (+%ld kB, want >= +%ld)",
	       l1 - l0, want);
	tap_rc(spapr_create(c, 12, SZ_256M, 1, NULL), -ENOSPC,
	       "v2: CREATE a third window -> ENOSPC");
	tap_rc(spapr_remove(c, FAR_IOVA), -EINVAL,
	       "v2: REMOVE a window start that does not exist -> EINVAL");
	tap_rc(remove_raw(c, REMOVE_MINSZ - 1, 0, start), -EINVAL,
	       "v2: REMOVE argsz too small -> EINVAL");
	tap_rc(remove_raw(c, REMOVE_MINSZ, 1, start), -EINVAL,
	       "v2: REMOVE flags 1 -> EINVAL");

	w.name = "v2 DDW 64K";
	w.start = start;
	w.size = SZ_1G;
	w.pg = SZ_64K;
	map_semantics(&d, &w, true, buf, other);

	/* remove with a mapping present */
	tap_rc(dma_map(c, buf, start, BUF_LEN, DMA_RW), 0,
	       "v2: MAP in the DDW before REMOVE");
	tap_rc(spapr_remove(c, start), 0, "v2: REMOVE the 64K DDW (mapped)");
	tap_ok(vmlck_kb() == l0, "v2: VmLck back after REMOVE (%ld, want %ld)",
	       vmlck_kb(), l0);
	tap_rc(spapr_remove(c, start), -EINVAL, "v2: REMOVE twice -> EINVAL");
	tap_rc(dma_map(c, buf, start, BUF_LEN, DMA_RW), -ENXIO,
	       "v2: MAP in the removed window -> ENXIO");
	tap_rc(spapr_unregister(c, buf, BUF_LEN), 0,
	       "v2: REMOVE dropped the mappings (UNREGISTER works)");
	if (spapr_register(c, buf, BUF_LEN))
		tap_bail("re-REGISTER failed");

	/* 16M IOMMU pages over 64K-page memory must not be mappable */
	if (info.ddw.pgsizes & (1ull << 24)) {
		uint8_t *big = must_alloc(SZ_16M);

		if (spapr_register(c, big, SZ_16M))
			tap_bail("REGISTER 16MiB failed");
		r = spapr_create(c, 24, SZ_1G, 1, &start);
		if (tap_rc(r, 0, "v2: CREATE 16M pages, 1GiB")) {
			tap_rc(dma_map(c, big, start, SZ_16M, DMA_RW), -EINVAL,
			       "v2: MAP small-page memory as a 16M TCE -> EINVAL");
			tap_rc(spapr_remove(c, start), 0,
			       "v2: REMOVE the 16M DDW");
		}
		tap_rc(spapr_unregister(c, big, SZ_16M), 0,
		       "v2: UNREGISTER the 16MiB (nothing left mapped)");
		buf_free(big, SZ_16M);
	} else {
		tap_skip("16M not in pgsizes", "v2: 16M TCE over small pages");
	}

	r = spapr_create(c, 12, SZ_256M, 1, &start);
	if (tap_rc(r, 0, "v2: CREATE 4K pages, 256MiB")) {
		tap_diag("v2: DDW 4K at 0x%llx", (unsigned long long)start);
		w.name = "v2 DDW 4K";
		w.start = start;
		w.size = SZ_256M;
		w.pg = SZ_4K;
		map_semantics(&d, &w, true, buf, other);
		tap_rc(spapr_remove(c, start), 0, "v2: REMOVE the 4K DDW");
	}

	/* remove the default window, re-create it at its place */
	tap_rc(spapr_remove(c, info.dma32_window_start), 0,
	       "v2: REMOVE the default window");
	tap_rc(dma_map(c, buf, info.dma32_window_start, BUF_LEN, DMA_RW),
	       -ENXIO, "v2: MAP in the removed default window -> ENXIO");
	start = ~0ull;
	r = spapr_create(c, 12, info.dma32_window_size, 1, &start);
	tap_rc(r, 0, "v2: CREATE 4K window of the default window's size");
	tap_ok(!r && start == info.dma32_window_start,
	       "v2: it is placed at the default window start 0x%x (got 0x%llx)",
	       info.dma32_window_start, (unsigned long long)start);
	if (!r)
		tap_ok(good_roundtrip(c, buf, start, BUF_LEN),
		       "v2: MAP+UNMAP in the re-created default window");

	/* close with a DDW, a mapping and registered memory */
	r = spapr_create(c, 16, SZ_1G, 1, &start);
	tap_rc(r, 0, "v2: CREATE 64K DDW again");
	if (!r)
		tap_rc(dma_map(c, buf, start, BUF_LEN, DMA_RW), 0,
		       "v2: MAP in it");
	vfio_close(&d);
	tap_ok(vmlck_kb() == base_lck, "v2: VmLck back to %ld kB after close",
	       base_lck);
	buf_free(buf, BUF_LEN);
	buf_free(other, BUF_LEN);
}

/*
 * PAPR: when ibm,remove-pe-dma-window removes the last window of a PE and
 * it is not the default window, the platform restores the default window.
 * A user who removed the default window and then the PE's last DDW must
 * still get every window the PE has: a default window the platform
 * restored must not hold one of them. @alone: the default window removed
 * before any use, as DPDK does; QEMU then gives the DDW the default
 * window's LIOBN, and its removal restores nothing. Either way the host
 * gets its default window back: a v1 container does DMA through it.
 */
static void test_v2_last_ddw_removed(bool alone)
{
	const char *t = alone ? "v2 last DDW, alone" : "v2 last DDW";
	struct vfio_iommu_spapr_tce_info info;
	uint64_t start[2] = { ~0ull, ~0ull };
	struct vfio_dev d;
	int c;

	/*
	 * The in-tree platform of 6.12 keeps the restored default window
	 * (-ENODEV for the second DDW) and then leaves the host without one
	 * (the v1 DMA fails), which breaks the jobs after this one
	 */
	if (!platform_is_ours()) {
		tap_skip("the in-tree platform loses the default window",
			 "%s", t);
		return;
	}
	must_open(&d, VFIO_SPAPR_TCE_v2_IOMMU);
	c = d.container;
	if (spapr_get_info(c, &info, sizeof(info)) ||
	    info.ddw.max_dynamic_windows_supported < 2) {
		tap_skip("fewer than two DDWs", "%s: two DDWs after its REMOVE",
			 t);
		vfio_close(&d);
		return;
	}
	if (alone)
		tap_rc(spapr_remove(c, info.dma32_window_start), 0,
		       "%s: REMOVE the default window before any use", t);
	tap_rc(spapr_create(c, 16, SZ_1G, 1, &start[0]), 0,
	       "%s: CREATE a 64K DDW", t);
	if (!alone)
		tap_rc(spapr_remove(c, info.dma32_window_start), 0,
		       "%s: REMOVE the default window beside it", t);
	tap_rc(spapr_remove(c, start[0]), 0,
	       "%s: REMOVE the DDW, the PE's last window", t);
	tap_rc(spapr_create(c, 16, SZ_1G, 1, &start[0]), 0,
	       "%s: CREATE a 64K DDW again", t);
	tap_rc(spapr_create(c, 16, SZ_1G, 1, &start[1]), 0,
	       "%s: and a second one: the PE has both its windows (at 0x%llx, 0x%llx)",
	       t, (unsigned long long)start[0], (unsigned long long)start[1]);
	vfio_close(&d);
	tap_rc(edu_fresh_dma(bdf, VFIO_SPAPR_TCE_IOMMU), 0,
	       "%s: then a v1 container does DMA through the default window",
	       t);
}

int main(int argc, char **argv)
{
	long base_lck;
	long long base_pin;
	int r;

	tap_init("test_ioctl");
	sys_pg = sys_page_size();
	if (pci_pick_device(argc, argv, bdf, sizeof(bdf)))
		tap_skip_all("no device (argument or 1234:11e8) found");
	if (access("/dev/vfio/vfio", F_OK))
		tap_skip_all("/dev/vfio/vfio missing (vfio not loaded)");
	tap_diag("device %s, group %d, page size %zu", bdf,
		 pci_iommu_group(bdf), sys_pg);
	if (sys_pg > BUF_LEN / 2)
		tap_skip_all("page size %zu too large for this test", sys_pg);
	r = pci_bind_vfio(bdf);
	if (!tap_rc(r, 0, "bind %s to vfio-pci", bdf))
		tap_bail("cannot bind");

	base_lck = vmlck_kb();
	base_pin = pinned_pages();
	test_extensions();
	test_v1(base_lck);
	test_v2_register(base_lck);
	test_v2_windows(base_lck);
	test_v2_last_ddw_removed(false);
	test_v2_last_ddw_removed(true);

	tap_ok(vmlck_kb() == base_lck, "VmLck at the end %ld == baseline %ld",
	       vmlck_kb(), base_lck);
	if (base_pin >= 0) {
		long long pin = settle_ll(pinned_pages, base_pin);

		tap_ok(pin == base_pin,
		       "pinned pages at the end %lld == baseline %lld",
		       pin, base_pin);
	}
	return tap_done();
}
