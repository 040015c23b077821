// SPDX-License-Identifier: GPL-2.0-only
/*
 * A firmware refusal that persists. test_fail_nth fails one call, which the
 * paths that try a refused clear once more absorb. Here every firmware call
 * of our platform module (its TCE hypercalls and RTAS DDW calls) fails for
 * the duration of one step: the fault attributes of debugfs
 * pseries_tce_ddw/fail_firmware/ at probability 100, times -1, filtered to
 * this process (task-filter, /proc/self/make-it-fail), and then off again.
 * The rule: a refused clear leaks the page it points at, and says so; it
 * never frees it, and nothing else goes wrong (no WARN, oops, KASAN or
 * kmemleak report, now or at process exit).
 *  (a) UNMAP_DMA, v2 (a 64 MiB registration mapped through a 64K DDW) and
 *      v1 (4 MiB pinned through the default window): the UNMAP fails, the
 *      entries stay mapped with their references (v2: UNREGISTER is
 *      -EBUSY; v1: the page pins stay); once the failure stops a second
 *      UNMAP clears them, and the pins and VmLck come back.
 *  (b) release, v2 and v1 (64 MiB each): a child process maps, then
 *      closes its device, group and container with every call refused,
 *      and exits. dmesg says what leaked; the pages behind the uncleared
 *      entries are not freed at the exit (MemFree: v1 they keep their
 *      pins, v2 the references the registration handed over); the PE is
 *      no one's. Once the failure stops, the DDW the firmware would not
 *      remove is not forgotten: the PE has all its windows back (a
 *      container without the default window opens two DDWs), and a new
 *      container does DMA through a DDW of it and the default window. v2
 *      twice: the DDW beside the default window, and alone (the default
 *      window removed first, as DPDK does), where it takes the default
 *      window's LIOBN, which the default window gets back before the next
 *      DDW is created.
 *  (c) detach of a mirrored group, v2: the second edu's group joined the
 *      container before the MAP, so its tables mirror the DDW; it leaves
 *      (VFIO_GROUP_UNSET_CONTAINER) with every call refused, in a child
 *      process: the first group keeps its DMA and unmaps; the mirror's
 *      uncleared entries leak their pages, and the rest is as in (b), for
 *      the second PE.
 * The job's platform module unload (guest/run-jobs) must work after it, and
 * kmemleak must report nothing. The in-tree backend over our platform: (a)
 * v1 only, its UNMAP succeeding (it skips an entry it cannot clear, as
 * test_fail_nth says); it drops the last use of a v2 registration that is
 * still mapped without a word (UNREGISTER answers 0) and WARNs at release
 * (tce_iommu_release()), upstream code. Skips without the fault attributes
 * or without our platform module.
 *
 * Usage: test_fail_persist [edu-bdf [edu2-bdf]]
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SZ_4K		0x1000ull
#define SZ_64K		0x10000ull
#define SZ_4M		0x400000ull
#define SZ_64M		0x4000000ull
#define SZ_1G		0x40000000ull
#define FAIL_DIR	"/sys/kernel/debug/pseries_tce_ddw/fail_firmware/"

static const char *edu_bdf = "0001:00:00.0", *edu2_bdf = "0003:00:00.0";
static uint64_t seed;
/* the in-tree backend hears of no refused clear: see the top */
static bool ours;

/* ------------------------------------------------- the refusal, on/off */

static int fail_attr(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), FAIL_DIR "%s", name);
	return write_file(path, val);
}

/* Every firmware call of this process fails until refuse_off() */
static void refuse_on(void)
{
	if (fail_attr("task-filter", "Y") || fail_attr("interval", "1") ||
	    fail_attr("times", "-1") || fail_attr("probability", "100") ||
	    write_file("/proc/self/make-it-fail", "1"))
		tap_bail("cannot set %s", FAIL_DIR);
}

static void refuse_off(void)
{
	write_file("/proc/self/make-it-fail", "0");
	fail_attr("probability", "0");
}

/* ------------------------------------------------------------- dmesg */

/* /dev/kmsg from now on: read with kmsg_count() */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* A kernel report: WARNING, BUG, Oops, lockdep, KASAN, kmemleak */
static bool kmsg_is_report(const char *msg)
{
	static const char *const reports[] = {
		"WARNING:", "BUG:", "Oops", "possible circular",
		"KASAN", "kmemleak", "Call Trace",
	};
	unsigned int i;

	for (i = 0; i < sizeof(reports) / sizeof(reports[0]); i++)
		if (strstr(msg, reports[i]))
			return true;
	return false;
}

/*
 * The records since kmsg_open(): the kernel reports (returned, the first
 * printed as diagnostics) and, in *@leaks, our lines that say a page is
 * leaked. Closes @fd.
 */
static int kmsg_scan(int fd, int *leaks)
{
	char rec[1024], *msg;
	int reports = 0;
	ssize_t n;

	*leaks = 0;
	if (fd < 0)
		return -1;
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 ||
	       (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;	/* overwritten records: go on */
		rec[n] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		msg[strcspn(msg, "\n")] = 0;
		if (strstr(msg, "vfio-spapr-tce") && strstr(msg, "leaked")) {
			tap_diag("dmesg: %s", msg);
			++*leaks;
		}
		if (kmsg_is_report(msg) && reports++ < 6)
			tap_diag("dmesg: %s", msg);
	}
	close(fd);
	return reports;
}

/* -------------------------------------------------------- containers */

struct ctx {
	struct vfio_dev d;
	int type;
	uint8_t *buf;
	uint64_t len, start;
};

static bool v2(const struct ctx *c)
{
	return c->type == VFIO_SPAPR_TCE_v2_IOMMU;
}

static const char *type_name(int type)
{
	return type == VFIO_SPAPR_TCE_v2_IOMMU ? "v2" : "v1";
}

/* How a v2 container opens its DDW */
enum ddw_place {
	DDW_BESIDE_DEFAULT,	/* the default window stays */
	DDW_ALONE,		/* removed first, as DPDK does: the DDW may
				 * take the default window's LIOBN */
};

/*
 * v2: @len registered and mapped through a 1 GiB 64K DDW, placed as @place
 * says; v1: @len pinned and mapped at the start of the default window
 */
static int ctx_open(struct ctx *c, const char *bdf, int type,
		    enum ddw_place place, uint8_t *buf, uint64_t len)
{
	struct vfio_iommu_spapr_tce_info info;
	int r = vfio_open(&c->d, bdf, type, true);

	c->type = type;
	c->buf = buf;
	c->len = len;
	if (!r && v2(c) && place == DDW_ALONE)
		r = (int)spapr_remove_default(c->d.container);
	if (!r && v2(c))
		r = (int)spapr_register(c->d.container, buf, len);
	if (!r && v2(c))
		r = (int)spapr_create(c->d.container, 16, SZ_1G, 1, &c->start);
	if (!r && !v2(c))
		r = (int)spapr_get_info(c->d.container, &info, sizeof(info));
	if (!r && !v2(c)) {
		c->start = info.dma32_window_start;
		r = (int)iommu_enable(c->d.container);
	}
	if (!r)
		r = (int)dma_map(c->d.container, buf, c->start, len, DMA_RW);
	return r;
}

/* The edu copies one 4K page to the next 64K of the mapping */
static int ctx_dma(struct ctx *c)
{
	struct edu e;
	int r = edu_init(&e, &c->d);

	if (r)
		return r;
	fill_random(c->buf, SZ_4K, &seed);
	memset(c->buf + SZ_64K, 0, SZ_4K);
	r = edu_copy(&e, c->start, c->start + SZ_64K, SZ_4K);
	if (!r && memcmp(c->buf, c->buf + SZ_64K, SZ_4K))
		r = -EIO;
	return r;
}

static long long pe_key(const char *bdf, const char *file, const char *key)
{
	return ddw_debugfs_key(bdf, file, key);
}

static long long vmlck_ll(void)
{
	return vmlck_kb();
}

/* ------------------------------------------------------------ (a) unmap */

static void test_unmap(int type, uint64_t len)
{
	const char *t = type_name(type);
	long long pin0 = settle_ll(pinned_pages, -2), lck0 = vmlck_kb();
	long long pin_mapped, mapped;
	uint8_t *buf = buf_alloc(len);
	struct ctx c;
	long r;

	r = ctx_open(&c, edu_bdf, type, DDW_BESIDE_DEFAULT, buf, len);
	if (!tap_rc(r, 0, "(a) %s: set-up, %llu MiB mapped", t, (unsigned long long)(len >> 20)))
		goto out;
	pin_mapped = pinned_pages();
	refuse_on();
	r = dma_unmap(c.d.container, c.start, len);
	refuse_off();
	mapped = ddw_debugfs_mapped(edu_bdf);
	tap_ok((r < 0 || !ours) &&
	       mapped == (long long)(len >> (v2(&c) ? 16 : 12)),
	       "(a) %s: UNMAP with every clear refused %s (%s), entries kept (%lld mapped)",
	       t, ours ? "fails" : "returns", rc_str(r), mapped);
	tap_ok(pinned_pages() == pin_mapped,
	       "(a) %s: no page unpinned (%lld, %lld while mapped)", t,
	       pinned_pages(), pin_mapped);
	if (v2(&c))
		tap_rc(spapr_unregister(c.d.container, buf, len), -EBUSY,
		       "(a) v2: UNREGISTER refused while the entries map it");
	r = dma_unmap(c.d.container, c.start, len);
	mapped = ddw_debugfs_mapped(edu_bdf);
	tap_ok(!r && mapped == 0,
	       "(a) %s: the failure off, a second UNMAP clears them (%s, %lld mapped)",
	       t, rc_str(r), mapped);
	if (v2(&c))
		tap_rc(spapr_unregister(c.d.container, buf, len), 0,
		       "(a) v2: then UNREGISTER");
out:
	vfio_close(&c.d);
	tap_pins_back(pin0, t);
	tap_ok(settle_ll(vmlck_ll, lck0) == lck0, "(a) %s: VmLck back (%ld kB, was %lld)",
	       t, vmlck_kb(), lck0);
	buf_free(buf, len);
}

/* ---------------------------------------------------------- (b) release */

/*
 * The child: map, DMA, then close everything with every call refused and
 * exit (the exit drops the mm that held the registrations). Its status:
 * 0, or 1 when the set-up failed.
 */
static void release_child(int type, enum ddw_place place, uint64_t len)
{
	uint8_t *buf = buf_alloc(len);
	struct ctx c;
	int r;

	r = ctx_open(&c, edu_bdf, type, place, buf, len);
	if (!r)
		r = ctx_dma(&c);
	if (r) {
		tap_diag("(b) %s: child set-up: %s", type_name(type), rc_str(r));
		vfio_close(&c.d);
		_exit(1);
	}
	refuse_on();
	vfio_close(&c.d);
	refuse_off();
	_exit(0);
}

/*
 * A new container does DMA through a DDW of the PE, and through the
 * default window beside it, as a QEMU guest uses them
 */
static int fresh_ddw_dma(const char *bdf)
{
	struct vfio_iommu_spapr_tce_info info;
	uint8_t *buf = buf_alloc(SZ_4M);
	struct ctx c;
	int r = ctx_open(&c, bdf, VFIO_SPAPR_TCE_v2_IOMMU, DDW_BESIDE_DEFAULT,
			 buf, SZ_4M);

	if (!r)
		r = ctx_dma(&c);
	if (!r)
		r = (int)spapr_get_info(c.d.container, &info, sizeof(info));
	if (!r) {
		c.start = info.dma32_window_start;
		r = (int)dma_map(c.d.container, buf, c.start, 2 * SZ_64K,
				 DMA_RW);
	}
	if (!r)
		r = ctx_dma(&c);
	vfio_close(&c.d);
	buf_free(buf, SZ_4M);
	return r;
}

/*
 * The PE has all its windows: a v2 container without the default window
 * opens two DDWs (QEMU's PHB has two windows). A DDW the firmware kept
 * open at a release, if forgotten, holds one of them for good.
 */
static int two_ddws(const char *bdf)
{
	uint64_t start[2];
	struct vfio_dev d;
	int r = vfio_open(&d, bdf, VFIO_SPAPR_TCE_v2_IOMMU, true);

	if (!r)
		r = (int)spapr_remove_default(d.container);
	if (!r)
		r = (int)spapr_create(d.container, 16, SZ_1G, 1, &start[0]);
	if (!r)
		r = (int)spapr_create(d.container, 16, SZ_1G, 1, &start[1]);
	vfio_close(&d);
	return r;
}

static void test_fresh_dma(const char *what, const char *bdf)
{
	tap_rc(fresh_ddw_dma(bdf), 0,
	       "%s: a new container does DMA through a DDW of %s and its default window",
	       what, bdf);
}

/*
 * After a release whose DDW the firmware kept: the PE gets all its windows
 * back, and its default window works beside a DDW. When the kept DDW took
 * the default window's LIOBN (@place DDW_ALONE), the default window comes
 * back first: the reset that brings it back removed the kept DDW, whose
 * LIOBN is now the default window's, which must not be removed as the
 * kept DDW at the next DDW's creation.
 */
static void test_pe_whole(const char *what, enum ddw_place place,
			  const char *bdf)
{
	if (place == DDW_ALONE)
		test_fresh_dma(what, bdf);
	tap_rc(two_ddws(bdf), 0,
	       "%s: %s has all its windows back: a container without the default window opens two DDWs",
	       what, bdf);
	if (place != DDW_ALONE)
		test_fresh_dma(what, bdf);
}

/*
 * The pages behind the entries no one could clear are not freed at the
 * exit (a leak, never a free): v1 they keep their pins, v2 the references
 * the registration handed over as it went, which no pin count shows. The
 * child's buffer is all mapped, so MemFree stays lower by about its size.
 * @child runs in the child and exits; @bdf's PE is then no one's.
 */
static void test_child(const char *what,
		       void (*child)(int type, enum ddw_place place,
				     uint64_t len),
		       int type, enum ddw_place place, uint64_t len,
		       const char *bdf)
{
	long long pin0 = settle_ll(pinned_pages, -2), pin;
	long free0 = meminfo_kb("MemFree"), gone;
	int kmsg = kmsg_open(), status = -1, leaks;
	pid_t pid = fork();

	if (pid == 0)
		child(type, place, len);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (!tap_ok(pid > 0 && WIFEXITED(status) && !WEXITSTATUS(status),
		    "%s: a child mapped %llu MiB, did DMA, left it with every call refused and exited",
		    what, (unsigned long long)(len >> 20))) {
		close(kmsg);
		return;
	}
	sleep(1);	/* the mm and the registrations go after the exit */
	tap_ok(kmsg_scan(kmsg, &leaks) == 0,
	       "%s: no WARN, BUG, oops, lockdep or KASAN report, nor at the exit",
	       what);
	tap_ok(leaks > 0, "%s: dmesg says what leaked (%d lines)", what, leaks);
	gone = free0 - meminfo_kb("MemFree");
	tap_ok(gone > (long)(len >> 11),
	       "%s: the %llu MiB behind the uncleared entries are not freed after the exit (MemFree %ld kB lower)",
	       what, (unsigned long long)(len >> 20), gone);
	kmsg = kmsg_open();
	tap_ok(pe_key(bdf, "windows", "owners") <= 0 &&
	       pe_key(bdf, "usage", "windows") <= 0,
	       "%s: %s is no one's (%lld owners, %lld windows)", what, bdf,
	       pe_key(bdf, "windows", "owners"), pe_key(bdf, "usage", "windows"));
	test_pe_whole(what, place, bdf);
	tap_ok(kmsg_scan(kmsg, &leaks) == 0, "%s: no kernel report after", what);
	/* v1: the leaked pages keep their pins; v2 pins only registrations */
	pin = settle_ll(pinned_pages, pin0);
	if (type == VFIO_SPAPR_TCE_v2_IOMMU)
		tap_ok(pin == pin0,
		       "%s: the registration went with the mm: pins back to %lld (%lld)",
		       what, pin0, pin);
	else
		tap_diag("%s: %lld pages left pinned (%lld, was %lld)", what,
			 pin - pin0, pin, pin0);
}

/* ------------------------------------------------ (c) mirrored detach */

/*
 * The child: a v2 container over the edu and the second edu, whose group
 * joins before the MAP, so that its tables mirror the DDW; the second
 * group leaves (VFIO_GROUP_UNSET_CONTAINER) with every call refused, and
 * the first keeps its mapping and DMA, unmaps and closes; then the exit.
 */
static void detach_child(int type, enum ddw_place place, uint64_t len)
{
	uint8_t *buf = buf_alloc(len);
	struct vfio_dev b;
	struct ctx c;
	int r;

	(void)place;	/* the DDW beside the default window */
	vfio_dev_init(&b);
	r = vfio_open(&c.d, edu_bdf, type, true);
	c.type = type;
	c.buf = buf;
	c.len = len;
	if (!r)
		r = (int)spapr_register(c.d.container, buf, len);
	if (!r)
		r = (int)spapr_create(c.d.container, 16, SZ_1G, 1, &c.start);
	if (!r)
		r = pci_bind_vfio(edu2_bdf);
	if (!r)
		r = b.group = vfio_open_group(&b, edu2_bdf);
	if (r >= 0)
		r = (int)vfio_ioctl(b.group, VFIO_GROUP_SET_CONTAINER,
				    &c.d.container);
	if (!r)
		r = (int)dma_map(c.d.container, buf, c.start, len, DMA_RW);
	if (!r && ddw_debugfs_mapped(edu2_bdf) != (long long)(len >> 16))
		r = -EIO;	/* the mirror does not hold the mapping */
	if (!r)
		r = ctx_dma(&c);
	if (!r) {
		refuse_on();
		r = (int)vfio_ioctl(b.group, VFIO_GROUP_UNSET_CONTAINER, NULL);
		refuse_off();
	}
	if (!r)
		r = ctx_dma(&c);
	if (!r)
		r = (int)dma_unmap(c.d.container, c.start, len);
	if (r)
		tap_diag("(c) child: %s", rc_str(r));
	vfio_close(&b);
	vfio_close(&c.d);
	_exit(r ? 1 : 0);
}

int main(int argc, char **argv)
{
	tap_init("test_fail_persist");
	if (argc > 1)
		edu_bdf = argv[1];
	if (argc > 2)
		edu2_bdf = argv[2];
	if (!platform_is_ours())
		tap_skip_all("the fault sites are in our platform module");
	ddw_debugfs_mapped(edu_bdf);	/* mounts debugfs */
	if (access(FAIL_DIR "probability", W_OK))
		tap_skip_all("no %s: the kernel has no CONFIG_FAULT_INJECTION_DEBUG_FS",
			     FAIL_DIR);
	/* The message of each forced failure, not its stack dump */
	fail_attr("verbose", "1");
	seed = test_seed();
	tap_diag("seed %llu", (unsigned long long)seed);
	kmemleak_clear();

	ours = backend_is_ours() == 1;
	if (ours)
		test_unmap(VFIO_SPAPR_TCE_v2_IOMMU, SZ_64M);
	test_unmap(VFIO_SPAPR_TCE_IOMMU, SZ_4M);
	if (ours) {
		test_child("(b) v2 release", release_child,
			   VFIO_SPAPR_TCE_v2_IOMMU, DDW_BESIDE_DEFAULT, SZ_64M,
			   edu_bdf);
		test_child("(b) v2 release, DDW alone", release_child,
			   VFIO_SPAPR_TCE_v2_IOMMU, DDW_ALONE, SZ_64M, edu_bdf);
		test_child("(b) v1 release", release_child,
			   VFIO_SPAPR_TCE_IOMMU, DDW_BESIDE_DEFAULT, SZ_64M,
			   edu_bdf);
		test_child("(c) v2 mirrored detach", detach_child,
			   VFIO_SPAPR_TCE_v2_IOMMU, DDW_BESIDE_DEFAULT, SZ_64M,
			   edu2_bdf);
		pci_rebind(edu2_bdf, NULL);
	} else {
		tap_skip("the in-tree backend: see the top of this file",
			 "(a) v2, (b), (c)");
	}

	tap_ok(kmemleak_scan(10) <= 0, "kmemleak reports nothing");
	pci_rebind(edu_bdf, NULL);
	return tap_done();
}
