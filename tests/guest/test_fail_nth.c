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
 *      calls take_ownership), whose host driver has a direct DDW. Refused
 *      or not, once the group is closed the nvme driver binds again and
 *      reads: the host's DMA window is back.
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
 * After each call the container is closed and the pins come back to where
 * they were. Skips without fail-nth or without our platform module.
 *
 * Usage: test_fail_nth [edu-bdf [nvme-bdf]]
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
#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define COUNT_FROM	1000000u
#define PICK_EDGE	4
#define PICK_MIDDLE	4

static const char *edu_bdf = "0001:00:00.0", *nvme_bdf = "0002:00:00.0";
static uint8_t *buf;
static uint64_t seed;
/* our backend reports what the in-tree one cannot (see check_map) */
static bool ours;

static int fail_nth_set(unsigned int n)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", n);
	return write_file(FAIL_NTH, s);
}

static long long fail_nth_get(void)
{
	return read_ll(FAIL_NTH);
}

/* A container over edu with a 1 GiB 64K DDW and buf registered */
struct ctx {
	struct vfio_dev d;
	uint64_t start;
	bool mapped;
};

typedef long (*op_fn)(struct ctx *c);

static int ctx_open(struct ctx *c, bool window, bool map)
{
	int r = vfio_open(&c->d, edu_bdf, VFIO_SPAPR_TCE_v2_IOMMU, true);

	c->mapped = false;
	if (!r)
		r = (int)spapr_register(c->d.container, buf, SZ_64M);
	if (!r && window)
		r = (int)spapr_create(c->d.container, 16, SZ_1G, 1, &c->start);
	if (!r && map) {
		r = (int)dma_map(c->d.container, buf, c->start, SZ_64M, DMA_RW);
		c->mapped = !r;
	}
	return r;
}

/* edu copies one 4K page to the next IOMMU page of the mapping at start */
static int ctx_dma(struct ctx *c)
{
	struct edu e;
	int r = edu_init(&e, &c->d);

	if (r)
		return r;
	fill_random(buf, SZ_4K, &seed);
	memset(buf + SZ_64K, 0, SZ_4K);
	r = edu_copy(&e, c->start, c->start + SZ_64K, SZ_4K);
	if (!r && memcmp(buf, buf + SZ_64K, SZ_4K))
		r = -EIO;
	return r;
}

static long op_create(struct ctx *c)
{
	return spapr_create(c->d.container, 16, SZ_1G, 1, &c->start);
}

static long op_map(struct ctx *c)
{
	return dma_map(c->d.container, buf, c->start, SZ_64M, DMA_RW);
}

static long op_unmap(struct ctx *c)
{
	return dma_unmap(c->d.container, c->start, SZ_64M);
}

/*
 * Run op with the nth fault site failing (0: count the sites instead).
 * Returns op's result; *sites gets the sites op passed when counting, and
 * whether the nth was reached otherwise (1 reached, 0 not).
 */
static long with_fail_nth(op_fn op, struct ctx *c, unsigned int n,
			  long long *sites)
{
	long long left;
	long r;

	if (fail_nth_set(n ? n : COUNT_FROM))
		tap_bail("writing %s", FAIL_NTH);
	r = op(c);
	left = fail_nth_get();
	fail_nth_set(0);
	*sites = n ? left == 0 : COUNT_FROM - left;
	return r;
}

/* The site numbers to fail: the edges and a few seeded ones between */
static unsigned int pick_sites(long long sites, unsigned int *pick)
{
	unsigned int n = 0, i;

	for (i = 1; i <= sites && i <= PICK_EDGE; i++)
		pick[n++] = i;
	for (i = 0; sites > 2 * PICK_EDGE && i < PICK_MIDDLE; i++)
		pick[n++] = PICK_EDGE + 1 +
			    xrand_below(&seed, sites - 2 * PICK_EDGE);
	for (i = PICK_EDGE; i > 0; i--)
		if (sites - i + 1 > PICK_EDGE)
			pick[n++] = sites - i + 1;
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
static long op_take(struct ctx *c)
{
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
		r = with_fail_nth(op_take, &c, n, sites);
	vfio_close(&c.d);
	return r;
}

static void test_take(void)
{
	unsigned int pick[PICK_EDGE * 2 + PICK_MIDDLE], n, i;
	long long sites = 0, reached;
	long r;

	if (system("modprobe nvme") || nvme_works()) {
		tap_skip("no nvme driver or it cannot read", "(a) take");
		return;
	}
	r = take_once(0, &sites);
	tap_ok(!r && sites > 0, "(a) take of %s: %lld fault sites, %s",
	       nvme_bdf, sites, rc_str(r));
	n = pick_sites(sites, pick);
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

struct one_call {
	const char *name;
	op_fn op;
	bool window, map;	/* the state op starts from */
	void (*check)(struct ctx *c, long r, const char *what);
};

static const struct one_call calls[] = {
	{ "(b) create", op_create, false, false, check_create },
	{ "(c) map", op_map, true, false, check_map },
	{ "(d) unmap", op_unmap, true, true, check_unmap },
};

static void test_one_call(const struct one_call *t, long long base_pin)
{
	unsigned int pick[PICK_EDGE * 2 + PICK_MIDDLE], n, i;
	long long sites = 0, reached, pin;
	char what[96];
	struct ctx c;
	long r;

	r = ctx_open(&c, t->window, t->map);
	if (!r)
		r = with_fail_nth(t->op, &c, 0, &sites);
	vfio_close(&c.d);
	if (!tap_ok(!r && sites > 0, "%s: %lld fault sites, %s", t->name,
		    sites, rc_str(r)))
		return;
	n = pick_sites(sites, pick);
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "%s, site %u of %lld failing",
			 t->name, pick[i], sites);
		r = ctx_open(&c, t->window, t->map);
		if (!tap_rc(r, 0, "%s: set-up", what)) {
			vfio_close(&c.d);
			continue;
		}
		r = with_fail_nth(t->op, &c, pick[i], &reached);
		if (!tap_ok(reached, "%s: reached", what)) {
			vfio_close(&c.d);
			continue;
		}
		t->check(&c, r, what);
		vfio_close(&c.d);
		pin = settle_ll(pinned_pages, base_pin);
		tap_ok(pin == base_pin, "%s: pins back after close (%lld, was %lld)",
		       what, pin, base_pin);
	}
}

int main(int argc, char **argv)
{
	long long base_pin;
	unsigned int i;

	tap_init("test_fail_nth");
	if (argc > 1)
		edu_bdf = argv[1];
	if (argc > 2)
		nvme_bdf = argv[2];
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
	base_pin = pinned_pages();
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		test_one_call(&calls[i], base_pin);
	pci_rebind(edu_bdf, NULL);
	buf_free(buf, SZ_64M);
	return tap_done();
}
