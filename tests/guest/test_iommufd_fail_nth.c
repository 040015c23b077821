// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fail the Nth fault site of one IOMMUFD call through a pSeries paging
 * domain (the series kernel, issue 17) and check what the call leaves
 * behind. The sites are fail-nth's: the platform's RTAS DDW calls and TCE
 * hypercalls (tce_firmware_should_fail()), IOMMUFD's own
 * (IOMMUFD_TEST's fail_iommufd) and the slab allocations failslab may
 * fail. The sites of a call are counted first (fail-nth set
 * high, the call made, what is left read back); then the first four, the
 * last four and four seeded ones between fail, one call each, on 0001:
 *  (a) attach: VFIO_DEVICE_ATTACH_IOMMUFD_PT of a bound device to an
 *      empty IOAS, whose paging domain opens a DDW through RTAS. It fails
 *      and nothing is left (the IOAS's range untouched), or it attaches;
 *      then an ATTACH (again), a MAP and an edu copy work;
 *  (b) map: IOMMU_IOAS_MAP of 64 MiB (1024 64K TCEs, two batches): it
 *      fails whole (no TCE in the window, UNMAP of everything finds
 *      nothing, no page pinned), or it maps; then a MAP (again) and an
 *      edu copy work;
 *  (c) unmap: IOMMU_IOAS_UNMAP of that mapping. Refused before the
 *      domain is reached, the mapping is whole and a second UNMAP works;
 *      else IOMMUFD unpins once the domain returns: the UNMAP succeeds
 *      whatever the hypervisor did, and what it could not clear stays in
 *      the window with its pages kept (the domain refuses further maps).
 * After each call everything is closed, the pins come back to where they
 * were, and a fresh IOAS on the device maps and DMAs.
 *
 * Usage: test_iommufd_fail_nth [BDF]   (default 0001:00:00.0)
 */
#define _GNU_SOURCE
#include "iommufd_helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SZ_4K	0x1000ull
#define SZ_64K	0x10000ull
#define SZ_64M	0x4000000ull
#define MAP_AT	(16 * SZ_64K)

static const char *bdf = "0001:00:00.0";
static uint8_t *buf;
static uint64_t seed;

/* An IOAS with the device bound, attached or not, buf mapped or not */
struct ctx {
	struct iofd_sess s;
	struct iofd_dev x;
	uint64_t iova;
};

static int ctx_open(struct ctx *c, bool attach, bool map)
{
	int r;

	iofd_dev_init(&c->x);
	r = iofd_sess_open(&c->s);
	if (!r)
		r = iofd_dev_setup(&c->x, c->s.fd, bdf, attach ? c->s.ioas : 0);
	if (!r && attach)
		r = (int)iofd_sess_ranges(&c->s);
	c->iova = c->s.range.start + MAP_AT;
	if (!r && map)
		r = (int)iommufd_map_fixed(c->s.fd, c->s.ioas, buf, SZ_64M,
					   c->iova, IOAS_RW);
	return r;
}

static void ctx_close(struct ctx *c)
{
	iofd_dev_close(&c->x);
	iofd_sess_close(&c->s);
}

/* edu copies one 4K page to the next IOMMU page of the mapping */
static int ctx_dma(struct ctx *c)
{
	struct edu e;
	int r = edu_init(&e, &c->x.d);

	if (r)
		return r;
	return edu_copy_check(&e, buf, c->iova, buf + SZ_64K,
			      c->iova + SZ_64K, SZ_4K, &seed);
}

static long op_attach(void *arg)
{
	struct ctx *c = arg;

	return vfio_cdev_attach(&c->x, c->s.ioas);
}

static long op_map(void *arg)
{
	struct ctx *c = arg;

	return iommufd_map_fixed(c->s.fd, c->s.ioas, buf, SZ_64M, c->iova,
				 IOAS_RW);
}

static long op_unmap(void *arg)
{
	struct ctx *c = arg;

	return iommufd_unmap(c->s.fd, c->s.ioas, c->iova, SZ_64M, NULL);
}

/* ---------------------------------------------- after the failing call */

static void check_attach(struct ctx *c, long r, const char *what,
			 long long base_pin)
{
	if (r) {
		tap_ok(!iofd_sess_ranges(&c->s) && c->s.nranges == 1 &&
		       !c->s.range.start && c->s.range.last == ~0ull,
		       "%s: refused (%s), the IOAS's range untouched", what,
		       rc_str(r));
		r = op_attach(c);
	}
	if (!r)
		r = iofd_sess_ranges(&c->s);
	c->iova = c->s.range.start + MAP_AT;
	if (!r)
		r = op_map(c);
	if (!r)
		r = ctx_dma(c);
	tap_rc(r, 0, "%s: ATTACH, MAP and DMA after", what);
	(void)base_pin;	/* checked once closed */
}

static void check_map(struct ctx *c, long r, const char *what,
		      long long base_pin)
{
	long long mapped = ddw_debugfs_mapped(bdf), pin;
	uint64_t n = 0;

	if (r) {
		long u = iommufd_unmap(c->s.fd, c->s.ioas, 0, ~0ull, &n);

		pin = settle_ll(pinned_pages, base_pin);
		tap_ok(mapped <= 0 && !u && !n && pin == base_pin,
		       "%s: fails whole (%s): %lld TCEs, %llu bytes mapped, pins %lld (was %lld)",
		       what, rc_str(r), mapped, (unsigned long long)n, pin,
		       base_pin);
		r = op_map(c);
	}
	if (!r)
		r = ctx_dma(c);
	tap_rc(r, 0, "%s: MAP and DMA after", what);
}

static void check_unmap(struct ctx *c, long r, const char *what,
			long long base_pin)
{
	long long mapped = ddw_debugfs_mapped(bdf);

	(void)base_pin;	/* checked once closed */
	if (r) {
		/* refused before the domain was reached: all still mapped */
		tap_ok(mapped == (long long)(SZ_64M / SZ_64K),
		       "%s: refused (%s), the mapping whole (%lld TCEs)", what,
		       rc_str(r), mapped);
		tap_rc(op_unmap(c), 0, "%s: UNMAP again", what);
		return;
	}
	tap_ok(true, "%s: UNMAP succeeds", what);
	tap_diag("%s: %lld TCEs left in the window, MAP after: %s", what,
		 mapped, rc_str(op_map(c)));
}

/* ------------------------------------------------------ one call, swept */

struct one_call {
	const char *name;
	long (*op)(void *arg);
	bool attach, map;	/* the state op starts from */
	/* what must hold after op returned r with a site failing */
	void (*check)(struct ctx *c, long r, const char *what,
		      long long base_pin);
};

static const struct one_call calls[] = {
	{ "(a) attach", op_attach, false, false, check_attach },
	{ "(b) map", op_map, true, false, check_map },
	{ "(c) unmap", op_unmap, true, true, check_unmap },
};

/* The call with its nth site failing, checked, all closed, pins back */
static void fail_one(const struct one_call *t, unsigned int nth,
		     long long sites, long long base_pin)
{
	long long reached = 0, pin;
	struct ctx c;
	char what[96];
	long r;

	snprintf(what, sizeof(what), "%s, site %u of %lld failing", t->name,
		 nth, sites);
	r = ctx_open(&c, t->attach, t->map);
	if (tap_rc(r, 0, "%s: set-up", what)) {
		r = fail_nth_call(t->op, &c, nth, &reached);
		if (tap_ok(reached, "%s: reached", what))
			t->check(&c, r, what, base_pin);
	}
	ctx_close(&c);
	pin = settle_ll(pinned_pages, base_pin);
	tap_ok(pin == base_pin, "%s: pins back after close (%lld, was %lld)",
	       what, pin, base_pin);
	tap_rc(iofd_fresh_dma(bdf, &seed), 0, "%s: a fresh IOAS DMAs", what);
}

static void sweep(const struct one_call *t, long long base_pin)
{
	unsigned int pick[FAIL_NTH_PICKS], n, i;
	long long sites = 0;
	struct ctx c;
	long r;

	r = ctx_open(&c, t->attach, t->map);
	if (!r)
		r = fail_nth_call(t->op, &c, 0, &sites);
	ctx_close(&c);
	if (!tap_ok(!r && sites > 0, "%s: %lld fault sites, %s", t->name,
		    sites, rc_str(r)))
		return;
	n = fail_nth_pick(sites, pick, &seed);
	for (i = 0; i < n; i++)
		fail_one(t, pick[i], sites, base_pin);
}

int main(int argc, char **argv)
{
	long long base_pin;
	int old = 0, r;
	unsigned int i;

	tap_init("test_iommufd_fail_nth");
	if (argc > 1)
		bdf = argv[1];
	if (access(FAIL_NTH, W_OK))
		tap_bail("no %s: a kernel without CONFIG_FAULT_INJECTION",
			 FAIL_NTH);
	if (access("/dev/iommu", F_OK))
		tap_bail("/dev/iommu missing: a kernel without IOMMUFD");
	/* The message of each forced failure, not its stack dump */
	write_file("/sys/kernel/debug/pseries_tce_ddw/fail_firmware/verbose", "1");
	write_file("/sys/kernel/debug/failslab/verbose", "1");
	write_file("/sys/kernel/debug/fail_iommufd/verbose", "1");
	seed = test_seed();
	r = iommufd_unsafe_interrupts(1, &old);
	tap_diag("device %s seed 0x%llx; pSeries does not claim isolated MSI: iommufd allow_unsafe_interrupts=1 for this run (was %d): %s",
		 bdf, (unsigned long long)seed, old, rc_str(r));
	buf = buf_alloc(SZ_64M);
	if (!buf)
		tap_bail("allocating 64 MiB");
	base_pin = pinned_pages();
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		sweep(&calls[i], base_pin);
	buf_free(buf, SZ_64M);
	iommufd_unsafe_interrupts(old, NULL);
	return tap_done();
}
