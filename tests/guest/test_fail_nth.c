// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fail the Nth firmware call of one system call and check what the call
 * leaves behind. The fault sites are the platform module's TCE hypercalls
 * and RTAS DDW calls (tce_firmware_should_fail(), CONFIG_FAULT_INJECTION);
 * /proc/thread-self/fail-nth picks one. The sites of a call are counted
 * first (fail-nth set high, the call made, what is left read back); then
 * the first four, the last four and four seeded ones between are failed,
 * one call each:
 *  (a) take: VFIO_GROUP_SET_CONTAINER on the nvme PE (the DMA owner claim
 *      calls take_ownership), whose host driver has a direct DDW (checked
 *      first). Refused or not, once the group is closed the nvme driver
 *      binds again and reads: the host's DMA window is back.
 *  (b) create: TCE_CREATE of a 1 GiB 64K DDW. It fails, or it succeeds
 *      with a usable window; either way the container then has a window
 *      that does DMA (created again after a failure).
 *  (c) map: MAP_DMA of 64 MiB (1024 TCEs, two H_PUT_TCE_INDIRECT) fails
 *      whole with our backend: nothing mapped. The in-tree backend cannot
 *      hear of a refused batch (tce_kill() returns nothing): its MAP
 *      succeeds, the device cannot reach the pages, and its UNMAP later
 *      drops exactly the references it took. Then a MAP and a DMA work.
 *  (d) unmap: UNMAP_DMA of that mapping (our backend reports the error,
 *      the in-tree one skips the entry): the entries it could not clear
 *      stay mapped (their pages stay pinned: a leak, never a free); a
 *      second UNMAP clears them.
 *  (e) remove: TCE_REMOVE of the mapped DDW: whatever it returns, the PE
 *      is left with its default window only and nothing mapped, and a new
 *      DDW does DMA.
 *  (f) attach, mapped: a second group (another PE, edu2-bdf) set to the
 *      container whose DDW has the mapping: our backend would need mirror
 *      tables of the windows, which start empty, so it refuses (the
 *      in-tree one cannot share a pSeries table: refused too); A's
 *      mapping and DMA are intact and the second PE holds no window. Then
 *      (ours) the mapping goes and the second group joins: its mirrors
 *      are created, a MAP fills both, both devices DMA.
 *  (g) attach: the same with the windows empty: the mirrors are created
 *      (or the attach fails, leaving nothing on the second PE and the
 *      next attach works), a MAP fills both, both devices DMA.
 *  (h) release: the group and container closed with the DDW mapped: the
 *      PE is no one's (no owner, none of our windows) and a new
 *      container does DMA through it.
 *  (i) detach, mirrored: the second group, joined to the container
 *      before the MAP, so its tables mirror the first one's, leaves it
 *      (VFIO_GROUP_UNSET_CONTAINER): its mirrors are cleared and
 *      dropped, its PE released. The first group keeps its mapping, its
 *      DMA and a window that maps again; the second PE is no one's and
 *      a new container does DMA through a DDW of it. (Ours only: the
 *      in-tree backend cannot hold the two groups, see (f).)
 * After each call the container is closed and the pins and locked_vm
 * (VmLck) come back to where they were before it was opened. Skips
 * without fail-nth or without our platform module.
 *
 * Usage: test_fail_nth [edu-bdf [nvme-bdf [edu2-bdf]]]
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SZ_4K		0x1000ull
#define SZ_64K		0x10000ull
#define SZ_64M		0x4000000ull
#define SZ_1G		0x40000000ull

static const char *edu_bdf = "0001:00:00.0", *nvme_bdf = "0002:00:00.0";
static const char *edu2_bdf = "0003:00:00.0";
static uint8_t *buf;
static uint64_t seed;
/* pinned pages and VmLck (kB) with nothing of the sweep open */
static long long base_pin, base_lck;
/* our backend reports what the in-tree one cannot (see check_map) */
static bool ours;

/* The second PE's group (edu2): none, open in no container, joined */
enum second { NO_SECOND, SECOND_OPEN, SECOND_JOINED };

/*
 * A container over a device with a 1 GiB 64K DDW and buf registered; b:
 * the group of a second PE, when asked for
 */
struct ctx {
	struct vfio_dev d, b;
	uint64_t start;
	bool mapped;
};

typedef long (*op_fn)(void *arg);

static long op_attach(void *arg);

/* Joined, the second group's mirrors are made before the MAP fills them */
static int ctx_open(struct ctx *c, const char *bdf, bool window, bool map,
		    enum second second)
{
	int r = vfio_open(&c->d, bdf, VFIO_SPAPR_TCE_v2_IOMMU, true);

	c->mapped = false;
	vfio_dev_init(&c->b);
	snprintf(c->b.bdf, sizeof(c->b.bdf), "%s", edu2_bdf);
	if (!r)
		r = (int)spapr_register(c->d.container, buf, SZ_64M);
	if (!r && window)
		r = (int)spapr_create(c->d.container, 16, SZ_1G, 1, &c->start);
	if (!r && second)
		r = pci_bind_vfio(edu2_bdf);
	if (!r && second) {
		r = vfio_open_group(&c->b, edu2_bdf);
		c->b.group = r;
		r = r < 0 ? r : 0;
	}
	if (!r && second == SECOND_JOINED)
		r = (int)op_attach(c);
	if (!r && map) {
		r = (int)dma_map(c->d.container, buf, c->start, SZ_64M, DMA_RW);
		c->mapped = !r;
	}
	if (!r && map && second == SECOND_JOINED &&
	    ddw_debugfs_mapped(edu2_bdf) != (long long)(SZ_64M / SZ_64K))
		r = -EIO;	/* the mirror does not hold the mapping */
	return r;
}

/* The second group's device first: it keeps its group attached */
static void ctx_close(struct ctx *c)
{
	vfio_close(&c->b);
	vfio_close(&c->d);
}

/* A device copies one 4K page to the next IOMMU page of the mapping */
static int dev_dma(struct ctx *c, struct vfio_dev *d)
{
	struct edu e;
	int r = edu_init(&e, d);

	if (r)
		return r;
	fill_random(buf, SZ_4K, &seed);
	memset(buf + SZ_64K, 0, SZ_4K);
	r = edu_copy(&e, c->start, c->start + SZ_64K, SZ_4K);
	if (!r && memcmp(buf, buf + SZ_64K, SZ_4K))
		r = -EIO;
	return r;
}

static int ctx_dma(struct ctx *c)
{
	return dev_dma(c, &c->d);
}

static long op_create(void *arg)
{
	struct ctx *c = arg;

	return spapr_create(c->d.container, 16, SZ_1G, 1, &c->start);
}

static long op_map(void *arg)
{
	struct ctx *c = arg;

	return dma_map(c->d.container, buf, c->start, SZ_64M, DMA_RW);
}

static long op_unmap(void *arg)
{
	struct ctx *c = arg;

	return dma_unmap(c->d.container, c->start, SZ_64M);
}

static long op_remove(void *arg)
{
	struct ctx *c = arg;

	return spapr_remove(c->d.container, c->start);
}

/* The second group joins the container: its PE taken, mirrors made */
static long op_attach(void *arg)
{
	struct ctx *c = arg;

	return vfio_ioctl(c->b.group, VFIO_GROUP_SET_CONTAINER,
			  &c->d.container);
}

/* Device, group and container closed: detach, release, ownership back */
static long op_release(void *arg)
{
	struct ctx *c = arg;

	ctx_close(c);
	return 0;
}

/* The second group leaves: its mirrors cleared and dropped, PE released */
static long op_detach(void *arg)
{
	struct ctx *c = arg;

	return vfio_ioctl(c->b.group, VFIO_GROUP_UNSET_CONTAINER, NULL);
}

/* The sites but the @skip from @after + 1 on, at most FAIL_NTH_EDGE * 2 */
static unsigned int pick_around(long long sites, long long after,
				long long skip, unsigned int *pick)
{
	unsigned int n = 0;
	long long i;

	for (i = 1; i <= sites && n < FAIL_NTH_EDGE * 2; i++)
		if (i <= after || i > after + skip)
			pick[n++] = (unsigned int)i;
	return n;
}

/* ---------------------------------------------------------- (a) take */

static int nvme_block_read(void)
{
	glob_t g;
	uint8_t *blk = buf_alloc(SZ_4K);
	int fd = -1, r = -ENOENT;

	for (int i = 0; i < 1500 && r == -ENOENT; i++) {
		if (!glob("/dev/nvme*n1", 0, NULL, &g)) {
			fd = open(g.gl_pathv[0], O_RDONLY | O_DIRECT);
			r = fd < 0 ? -errno : 0;
			globfree(&g);
		}
		if (r == -ENOENT)
			usleep(20000);
	}
	if (!r)
		r = pread(fd, blk, SZ_4K, 0) == (ssize_t)SZ_4K ? 0 : -EIO;
	if (fd >= 0)
		close(fd);
	buf_free(blk, SZ_4K);
	return r;
}

/* The nvme driver takes the device and reads a block; then it lets go */
static int nvme_works(void)
{
	int r = pci_rebind(nvme_bdf, "nvme");

	if (!r)
		r = nvme_block_read();
	pci_release_driver(nvme_bdf);
	return r;
}

/* The group's first container claims DMA ownership: take_ownership */
static long op_take(void *arg)
{
	struct ctx *c = arg;

	return vfio_ioctl(c->d.group, VFIO_GROUP_SET_CONTAINER, &c->d.container);
}

static long take_once(unsigned int n, long long *sites)
{
	struct ctx c;
	long r;

	vfio_dev_init(&c.d);
	snprintf(c.d.bdf, sizeof(c.d.bdf), "%s", nvme_bdf);
	r = pci_bind_vfio(nvme_bdf);
	if (!r) {
		r = vfio_open_container();
		c.d.container = (int)r;
	}
	if (r >= 0) {
		r = vfio_open_group(&c.d, nvme_bdf);
		c.d.group = (int)r;
	}
	if (r >= 0)
		r = fail_nth_call(op_take, &c, n, sites);
	vfio_close(&c.d);
	return r;
}

static void test_take(void)
{
	unsigned int pick[FAIL_NTH_PICKS], n, i;
	long long sites = 0, reached;
	const char *kind;
	long r;

	if (system("modprobe nvme") || nvme_works()) {
		tap_skip("no nvme driver or it cannot read", "(a) take");
		return;
	}
	kind = host_ddw_kind(nvme_bdf);
	if (!tap_ok(!strcmp(kind, "direct"),
		    "(a) the nvme driver has a direct-mapping host DDW (%s)",
		    kind))
		return;
	r = take_once(0, &sites);
	tap_ok(!r && sites > 0, "(a) take of %s: %lld fault sites, %s",
	       nvme_bdf, sites, rc_str(r));
	tap_rc(nvme_works(), 0, "(a) take and release: nvme reads after");
	n = fail_nth_pick(sites, pick, &seed);
	for (i = 0; i < n; i++) {
		r = take_once(pick[i], &reached);
		tap_rc(nvme_works(), 0,
		       "(a) take with site %u of %lld failing (%s%s): nvme reads after",
		       pick[i], sites, rc_str(r), reached ? "" : ", not reached");
	}
	if (system("modprobe -r nvme"))
		tap_diag("modprobe -r nvme failed");
}

/* ------------------------------------------------- (b)-(d) one call */

/*
 * After op failed at site nth: what must hold, and the container must
 * still do DMA (after a failed create or map, make it again).
 */
static void check_create(struct ctx *c, long r, const char *what)
{
	if (r)
		r = op_create(c);
	if (!r)
		r = op_map(c);
	if (!r)
		r = ctx_dma(c);
	tap_rc(r, 0, "%s: a window does DMA after", what);
}

static void check_map(struct ctx *c, long r, const char *what)
{
	long long mapped = ddw_debugfs_mapped(edu_bdf);

	if (ours)
		tap_ok(r < 0 && mapped == 0, "%s: fails whole (%s, %lld mapped)",
		       what, rc_str(r), mapped);
	else if (!r)
		/* it cannot hear of a failed tce_kill(): it unmaps what it set */
		r = op_unmap(c);
	r = op_map(c);
	if (!r)
		r = ctx_dma(c);
	tap_rc(r, 0, "%s: MAP again and DMA", what);
}

static void check_unmap(struct ctx *c, long r, const char *what)
{
	long long mapped = ddw_debugfs_mapped(edu_bdf);

	/* The in-tree backend skips what it cannot clear without a word */
	tap_ok((r < 0 || !ours) && mapped > 0,
	       "%s: %s (%s), uncleared entries kept (%lld mapped)", what,
	       ours ? "reported" : "returned", rc_str(r), mapped);
	r = op_unmap(c);
	mapped = ddw_debugfs_mapped(edu_bdf);
	tap_ok(!r && mapped == 0, "%s: UNMAP again clears them (%s, %lld mapped)",
	       what, rc_str(r), mapped);
}

/* A PE's counts in our platform's debugfs: our windows, its owners */
static long long pe_windows(const char *bdf)
{
	return ddw_debugfs_key(bdf, "usage", "windows");
}

static long long pe_owners(const char *bdf)
{
	return ddw_debugfs_key(bdf, "windows", "owners");
}

/*
 * Our backend keeps a window it could not empty, with the entries left and
 * their references, and reports it; a second REMOVE empties and removes
 * it. The in-tree backend removes it all the same (see main()).
 */
static void check_remove(struct ctx *c, long r, const char *what)
{
	long long wins = pe_windows(edu_bdf);
	long long mapped = ddw_debugfs_mapped(edu_bdf);

	if (r) {
		tap_ok(ours && wins == 2 && mapped > 0,
		       "%s: %s, the DDW kept with what it could not clear (%lld windows, %lld mapped)",
		       what, rc_str(r), wins, mapped);
		r = op_remove(c);
		wins = pe_windows(edu_bdf);
		mapped = ddw_debugfs_mapped(edu_bdf);
	}
	/* the default window stays; the DDW goes, with its entries */
	tap_ok(!r && wins == 1 && mapped == 0,
	       "%s: removed (%s, %lld windows, %lld mapped)", what, rc_str(r),
	       wins, mapped);
	r = op_create(c);
	if (!r)
		r = op_map(c);
	if (!r)
		r = ctx_dma(c);
	tap_rc(r, 0, "%s: a new DDW does DMA", what);
}

/* The second group is in the container: MAP fills both tables, both DMA */
static void check_mirrored(struct ctx *c, const char *what)
{
	long long a, b;
	long r = op_map(c);

	a = ddw_debugfs_mapped(edu_bdf);
	b = ddw_debugfs_mapped(edu2_bdf);
	tap_ok(!r && a == (long long)(SZ_64M / SZ_64K) && a == b,
	       "%s: one MAP fills both tables (%s, %lld and %lld mapped)",
	       what, rc_str(r), a, b);
	r = vfio_get_device(&c->b);
	if (!r)
		r = dev_dma(c, &c->b);
	tap_rc(r, 0, "%s: DMA through %s", what, edu2_bdf);
	tap_rc(ctx_dma(c), 0, "%s: DMA through %s", what, edu_bdf);
}

static void check_attach(struct ctx *c, long r, const char *what)
{
	long long mapped = ddw_debugfs_mapped(edu_bdf);

	if (c->mapped) {
		/* a new mirror starts empty: refused while the DDW is mapped */
		tap_ok(r < 0 && mapped == (long long)(SZ_64M / SZ_64K),
		       "%s: refused (%s), the mapping kept (%lld mapped)",
		       what, rc_str(r), mapped);
		tap_rc(ctx_dma(c), 0, "%s: DMA through %s", what, edu_bdf);
		if (!r)
			return;
		tap_rc(op_unmap(c), 0, "%s: UNMAP", what);
	}
	if (r) {
		tap_ok(pe_windows(edu2_bdf) <= 0 && pe_owners(edu2_bdf) <= 0,
		       "%s: %s, nothing left on %s (%lld windows, %lld owners)",
		       what, rc_str(r), edu2_bdf, pe_windows(edu2_bdf),
		       pe_owners(edu2_bdf));
		if (!ours) {
			/* the in-tree backend shares one table: -EPERM */
			r = op_map(c);
			tap_rc(r ? r : ctx_dma(c), 0, "%s: MAP and DMA through %s",
			       what, edu_bdf);
			return;
		}
		r = op_attach(c);
		if (!tap_rc(r, 0, "%s: the next attach joins", what))
			return;
	}
	check_mirrored(c, what);
}

static void check_release(struct ctx *c, long r, const char *what)
{
	long long owners = pe_owners(edu_bdf), wins = pe_windows(edu_bdf);

	(void)c;
	tap_ok(!r && owners == 0 && wins == 0,
	       "%s: the PE is no one's (%lld owners, %lld windows)", what,
	       owners, wins);
	tap_rc(edu_fresh_dma(edu_bdf, VFIO_SPAPR_TCE_v2_IOMMU), 0,
	       "%s: a new container does DMA", what);
}

/*
 * The first group keeps its mapping and DMA, and its window maps again:
 * what the second group's mirrors could not clear was theirs, not its.
 * The second PE holds nothing of ours and serves a new container's DDW.
 */
static void check_detach(struct ctx *c, long r, const char *what)
{
	long long mapped = ddw_debugfs_mapped(edu_bdf);
	long long wins = pe_windows(edu2_bdf), owners = pe_owners(edu2_bdf);
	struct ctx f;

	tap_ok(!r && mapped == (long long)(SZ_64M / SZ_64K) && wins <= 0 &&
	       owners <= 0,
	       "%s: detached (%s), %s keeps its mapping (%lld mapped), %s is no one's (%lld windows, %lld owners)",
	       what, rc_str(r), edu_bdf, mapped, edu2_bdf, wins, owners);
	tap_rc(ctx_dma(c), 0, "%s: DMA through %s", what, edu_bdf);
	r = op_unmap(c);
	if (!r)
		r = op_map(c);
	if (!r)
		r = ctx_dma(c);
	tap_rc(r, 0, "%s: UNMAP, MAP again and DMA through %s", what, edu_bdf);
	vfio_close(&c->b);	/* a group has one opener */
	r = ctx_open(&f, edu2_bdf, true, true, NO_SECOND);
	if (!r)
		r = ctx_dma(&f);
	ctx_close(&f);
	tap_rc(r, 0, "%s: a new container does DMA through a DDW of %s", what,
	       edu2_bdf);
}

struct one_call {
	const char *name;
	op_fn op;
	bool window, map;		/* the state op starts from */
	enum second second;
	bool may_refuse;		/* without a failure too */
	int intree_clears_after;	/* its first sites, -1: none (below) */
	void (*check)(struct ctx *c, long r, const char *what);
};

static const struct one_call calls[] = {
	{ "(b) create", op_create, false, false, NO_SECOND, false, -1,
	  check_create },
	{ "(c) map", op_map, true, false, NO_SECOND, false, -1, check_map },
	{ "(d) unmap", op_unmap, true, true, NO_SECOND, false, -1,
	  check_unmap },
	/* in-tree: the DDW's clears, then its removal */
	{ "(e) remove", op_remove, true, true, NO_SECOND, false, 0,
	  check_remove },
	{ "(f) attach, mapped", op_attach, true, true, SECOND_OPEN, true, -1,
	  check_attach },
	{ "(g) attach", op_attach, true, false, SECOND_OPEN, true, -1,
	  check_attach },
	/* in-tree: the default window's removal, the DDW's clears, ... */
	{ "(h) release", op_release, true, true, NO_SECOND, false, 1,
	  check_release },
	{ "(i) detach, mirrored", op_detach, true, true, SECOND_JOINED, false,
	  -1, check_detach },
};

static long long vmlck_ll(void)
{
	return vmlck_kb();
}

/*
 * After the close: pins and locked_vm where they were before the sweep.
 * A leak is reported once: the later checks start from what it left.
 * The in-tree backend keeps the locked_vm charge of a table whose
 * creation failed (tce_iommu_create_table() charges it first and does
 * not give it back): with it, @create_failed lets VmLck grow.
 */
static void check_back(const char *what, bool create_failed)
{
	long long pin = settle_ll(pinned_pages, base_pin);
	long long lck = settle_ll(vmlck_ll, base_lck);

	if (!ours && create_failed && pin == base_pin && lck > base_lck) {
		tap_diag("%s: the in-tree backend kept %lld kB of locked_vm",
			 what, lck - base_lck);
		base_lck = lck;
	}
	if (!tap_ok(pin == base_pin && lck == base_lck,
		    "%s: pins and VmLck back after close (%lld, was %lld; %lld kB, was %lld)",
		    what, pin, base_pin, lck, base_lck)) {
		base_pin = pin;
		base_lck = lck;
	}
}

static void test_one_call(const struct one_call *t)
{
	unsigned int pick[FAIL_NTH_PICKS], n, i;
	long long sites = 0, reached, clears = SZ_64M / SZ_64K;
	char what[96];
	struct ctx c;
	long r;

	/* the in-tree backend refuses the second group: see (f) */
	if (!ours && t->second == SECOND_JOINED) {
		tap_skip("the in-tree backend cannot mirror a window on a second PE",
			 "%s", t->name);
		return;
	}
	r = ctx_open(&c, edu_bdf, t->window, t->map, t->second);
	if (!r)
		r = fail_nth_call(t->op, &c, 0, &sites);
	ctx_close(&c);
	if (!tap_ok((!r || t->may_refuse) && sites > 0,
		    "%s: %lld fault sites, %s", t->name, sites, rc_str(r)))
		return;
	/*
	 * The in-tree backend clears entry by entry, each a fault site over
	 * our ops; one it cannot clear at REMOVE or release it skips, and
	 * the window goes: the entry's reference is never dropped, and its
	 * tce_iommu_release() WARNs (drivers/vfio/vfio_iommu_spapr_tce.c,
	 * WARN_ON(tce_iommu_prereg_free())). Not ours to fix: fail the
	 * sites around its clears only.
	 */
	if (!ours && t->intree_clears_after >= 0) {
		tap_diag("%s: in-tree backend, its %lld clears (sites %d to %lld) not failed: a refused one leaks that entry's reference and WARNs at release",
			 t->name, clears, t->intree_clears_after + 1,
			 t->intree_clears_after + clears);
		n = pick_around(sites, t->intree_clears_after, clears, pick);
	} else {
		n = fail_nth_pick(sites, pick, &seed);
	}
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "%s, site %u of %lld failing",
			 t->name, pick[i], sites);
		r = ctx_open(&c, edu_bdf, t->window, t->map, t->second);
		if (!tap_rc(r, 0, "%s: set-up", what)) {
			ctx_close(&c);
			continue;
		}
		r = fail_nth_call(t->op, &c, pick[i], &reached);
		if (!tap_ok(reached, "%s: reached", what)) {
			ctx_close(&c);
			continue;
		}
		t->check(&c, r, what);
		ctx_close(&c);
		check_back(what, t->op == op_create && r < 0);
	}
}

int main(int argc, char **argv)
{
	unsigned int i;

	tap_init("test_fail_nth");
	if (argc > 1)
		edu_bdf = argv[1];
	if (argc > 2)
		nvme_bdf = argv[2];
	if (argc > 3)
		edu2_bdf = argv[3];
	if (access(FAIL_NTH, W_OK))
		tap_skip_all("no %s: the kernel has no CONFIG_FAULT_INJECTION",
			     FAIL_NTH);
	if (!platform_is_ours())
		tap_skip_all("the fault sites are in our platform module");
	/* The message of each forced failure, not its stack dump */
	write_file("/sys/kernel/debug/pseries_tce_ddw/fail_firmware/verbose", "1");
	ours = backend_is_ours() == 1;
	seed = test_seed();
	tap_diag("seed %llu", (unsigned long long)seed);
	buf = buf_alloc(SZ_64M);
	if (!buf)
		tap_bail("allocating 64 MiB");

	test_take();
	base_pin = settle_ll(pinned_pages, 0);	/* deferred unpins of (a) */
	base_lck = vmlck_kb();
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		test_one_call(&calls[i]);
	pci_rebind(edu_bdf, NULL);
	pci_rebind(edu2_bdf, NULL);
	buf_free(buf, SZ_64M);
	return tap_done();
}
