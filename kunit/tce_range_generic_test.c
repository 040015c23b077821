// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite of the generic range operations (tce_range_generic.c), which
 * iommu_tce_xchg_range() and iommu_tce_clear_range() use on a table whose
 * iommu_table_ops have no range operations of their own, here driving the
 * entry-by-entry iommu_table_ops of a pseries_tce_ddw window over the fake
 * TCE backend. In tree they are built in (arch/powerpc/kernel/); out of
 * tree this module links its own copy (range_generic_under_test.c).
 */

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/bits.h>
#include <linux/err.h>
#include <linux/numa.h>
#include <linux/sizes.h>
#include <linux/string.h>
#include <asm/hvcall.h>
#include <asm/iommu.h>
#include <asm/tce.h>

#include "tce_fake.h"
#include "tce_window.h"

/*
 * The generic range operations driving this window's iommu_table_ops, with
 * the Nth backend call failing for every N until the operation passes. The
 * test keeps the references a caller following the contract of the range
 * operations (struct iommu_table_ops) would hold, per entry, for the old
 * TCE (ref_a) and the new one (ref_b); after each run, no reference was
 * dropped for a TCE the fake still holds, and every TCE the fake holds has
 * its reference.
 */
#define SWEEP_ENTRIES	2048
#define SWEEP_LO	100		/* the map: [SWEEP_LO, SWEEP_HI) */
#define SWEEP_HI	1300
#define SWEEP_OLD_HI	700		/* mapped before: [SWEEP_LO, SWEEP_OLD_HI) */
#define SWEEP_MAX_N	2000
#define SWEEP_SHIFT	16
#define SWEEP_START	BIT_ULL(59)
#define SWEEP_LIOBN	0x7e1002UL
#define SWEEP_UA	0x7fff00000000UL

struct sweep {
	struct kunit *test;
	struct tce_window *win;
	struct iommu_table *tbl;
	struct tce_fake *fake;
	unsigned long first;
	struct tce_range_entry *st;
	bool *ref_a;
	bool *ref_b;
	unsigned long bad;
	const char *what;
	unsigned long n;
};

static u64 sweep_tce(struct sweep *s, unsigned long idx, bool b)
{
	u64 hpa = ((0x100000UL + idx) << SWEEP_SHIFT) + (b ? SZ_1G : 0);

	return hpa | TCE_PCI_READ | (b ? TCE_PCI_WRITE : 0);
}

/* Fill @s->st with the values of [lo, hi): the new ones (@b) or the old */
static void sweep_fill(struct sweep *s, unsigned long lo, unsigned long hi,
		       bool b)
{
	unsigned long i;

	for (i = lo; i < hi; i++) {
		s->st[i - lo].tce = sweep_tce(s, i, b);
		s->st[i - lo].ua = SWEEP_UA + (i << SWEEP_SHIFT) +
				   (b ? SZ_1G : 0);
	}
}

/*
 * The caller drops the reference an entry handed back with user address
 * @ua held (the user address tells which: a v2 caller drops by it): the
 * fake must not map that page at that entry any more
 */
static void sweep_drop(struct sweep *s, unsigned long ua)
{
	unsigned long off = (ua - SWEEP_UA) >> SWEEP_SHIFT;
	unsigned long idx = off % (SZ_1G >> SWEEP_SHIFT);
	bool b = off != idx;

	if (tce_fake_read(s->fake, idx) == sweep_tce(s, idx, b) &&
	    s->bad++ < 4)
		KUNIT_FAIL(s->test, "%s, call %lu fails: entry %lu dropped, mapped",
			   s->what, s->n, idx);
	if (b)
		s->ref_b[idx] = false;
	else
		s->ref_a[idx] = false;
}

/* Every TCE the fake holds has its reference */
static void sweep_check(struct sweep *s)
{
	unsigned long i;
	u64 t;

	for (i = 0; i < SWEEP_ENTRIES; i++) {
		t = tce_fake_read(s->fake, i);
		if (!t || (t == sweep_tce(s, i, false) && s->ref_a[i]) ||
		    (t == sweep_tce(s, i, true) && s->ref_b[i]))
			continue;
		if (s->bad++ < 4)
			KUNIT_FAIL(s->test, "%s, call %lu fails: entry %lu maps %llx, no ref",
				   s->what, s->n, i, t);
	}
}

/* Clear the whole window, failing the @n-th call (0: none); false if it fired */
static bool sweep_clear(struct sweep *s, unsigned long n)
{
	unsigned long nr, k, e = 0;
	long walked = 0;

	if (n)
		tce_fake_fail(s->fake, TCE_FAKE_ANY, n, H_HARDWARE, 0);
	while (e < SWEEP_ENTRIES && walked >= 0) {
		nr = 0;
		walked = tce_range_generic_clear(s->tbl, s->first + e,
						 SWEEP_ENTRIES - e, s->st,
						 SWEEP_ENTRIES, &nr);
		for (k = 0; k < nr; k++)
			sweep_drop(s, s->st[k].ua);
		e += walked > 0 ? walked : 0;
	}
	tce_window_fetch_error(s->win);
	return walked >= 0 && (!n || !s->fake->rules[0].fired);
}

/*
 * Map the new TCEs over [SWEEP_LO, SWEEP_HI), failing the @n-th call and
 * the two after it: a refused write, the read of its rollback, and the
 * first write of the undo, which then leaves an entry stuck
 */
static bool sweep_map(struct sweep *s, unsigned long n)
{
	unsigned long i, ua;
	int ret;

	sweep_fill(s, SWEEP_LO, SWEEP_HI, true);
	for (i = SWEEP_LO; i < SWEEP_HI; i++)
		s->ref_b[i] = true;
	tce_fake_fail(s->fake, TCE_FAKE_ANY, n, H_HARDWARE, 0);
	for (i = 1; n && i <= 2; i++)
		tce_fake_fail(s->fake, TCE_FAKE_ANY, n + i, H_HARDWARE, 0);
	ret = tce_range_generic_xchg(s->tbl, s->first + SWEEP_LO,
				     SWEEP_HI - SWEEP_LO, s->st);
	/*
	 * Success: the old values go. Failure: @st is as it was, and the
	 * caller drops the references it took for the new values, but
	 * those of the entries stuck with them.
	 */
	for (i = 0; i < SWEEP_HI - SWEEP_LO; i++) {
		ua = SWEEP_UA + ((SWEEP_LO + i) << SWEEP_SHIFT) + SZ_1G;
		if (!ret && s->st[i].ua)
			sweep_drop(s, s->st[i].ua);
		if (!ret || s->st[i].tce == TCE_RANGE_STUCK)
			continue;
		if (s->st[i].ua != ua && s->bad++ < 4)
			KUNIT_FAIL(s->test, "map, call %lu failing: entry %lu not as it was",
				   n, SWEEP_LO + i);
		sweep_drop(s, ua);
	}
	tce_window_fetch_error(s->win);
	return !ret && !s->fake->rules[0].fired;
}

static void sweep_premap(struct sweep *s)
{
	unsigned long i;

	sweep_fill(s, SWEEP_LO, SWEEP_OLD_HI, false);
	KUNIT_ASSERT_EQ(s->test, tce_range_generic_xchg(s->tbl,
							s->first + SWEEP_LO,
							SWEEP_OLD_HI - SWEEP_LO,
							s->st), 0);
	for (i = SWEEP_LO; i < SWEEP_OLD_HI; i++)
		s->ref_a[i] = true;
}

KUNIT_DEFINE_ACTION_WRAPPER(sweep_window_put, tce_window_put,
			    struct tce_window *);

/* A window of pseries_tce_ddw over a fake table, for its iommu_table_ops */
static void sweep_window(struct sweep *s)
{
	struct tce_window_params p = {
		.liobn = SWEEP_LIOBN,
		.start = SWEEP_START,
		.size = (u64)SWEEP_ENTRIES << SWEEP_SHIFT,
		.page_shift = SWEEP_SHIFT,
		.busno = 1,
		.nid = NUMA_NO_NODE,
	};

	s->fake = tce_fake_create(s->test, SWEEP_LIOBN, SWEEP_START,
				  SWEEP_ENTRIES, SWEEP_SHIFT);
	s->win = tce_window_create(&p, tce_fake_backend(TCE_FAKE_HAS_ALL));
	KUNIT_ASSERT_NOT_ERR_OR_NULL(s->test, s->win);
	KUNIT_ASSERT_EQ(s->test, kunit_add_action_or_reset(s->test,
							   sweep_window_put,
							   s->win), 0);
	s->tbl = &s->win->tbl;
	s->first = SWEEP_START >> SWEEP_SHIFT;
}

static struct sweep *sweep_new(struct kunit *test)
{
	struct sweep *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, s);
	s->test = test;
	sweep_window(s);
	s->st = kunit_kcalloc(test, SWEEP_ENTRIES, sizeof(*s->st), GFP_KERNEL);
	s->ref_a = kunit_kcalloc(test, SWEEP_ENTRIES, sizeof(bool), GFP_KERNEL);
	s->ref_b = kunit_kcalloc(test, SWEEP_ENTRIES, sizeof(bool), GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, s->st && s->ref_a && s->ref_b);
	return s;
}

/*
 * One run: the map (@clear false) or a clear after a map, failing call @n
 * of it; then back to an empty window. True when the run passed and the
 * failure did not fire: the sweep is over.
 */
static bool sweep_once(struct sweep *s, bool clear, unsigned long n)
{
	bool done;

	sweep_premap(s);
	if (clear)
		KUNIT_ASSERT_TRUE(s->test, sweep_map(s, 0));
	s->what = clear ? "clear" : "map";
	s->n = n;
	done = clear ? sweep_clear(s, n) : sweep_map(s, n);
	sweep_check(s);
	s->what = "reset";
	while (!sweep_clear(s, 0))
		;
	/* What stuck entries kept went with the reset's clear */
	memset(s->ref_a, 0, SWEEP_ENTRIES * sizeof(bool));
	memset(s->ref_b, 0, SWEEP_ENTRIES * sizeof(bool));
	KUNIT_ASSERT_EQ(s->test, tce_fake_nonzero(s->fake), 0);
	return done;
}

static void sweep_all(struct kunit *test, bool clear)
{
	struct sweep *s = sweep_new(test);
	unsigned long n;
	bool done = false;

	for (n = 1; n <= SWEEP_MAX_N && !done; n++)
		done = sweep_once(s, clear, n);
	KUNIT_EXPECT_TRUE(test, done);
	KUNIT_EXPECT_EQ(test, s->bad, 0);
}

static void generic_range_fail_nth_map(struct kunit *test)
{
	sweep_all(test, false);
}

static void generic_range_fail_nth_clear(struct kunit *test)
{
	sweep_all(test, true);
}

static struct kunit_case tce_range_generic_cases[] = {
	KUNIT_CASE_SLOW(generic_range_fail_nth_map),
	KUNIT_CASE_SLOW(generic_range_fail_nth_clear),
	{}
};

static struct kunit_suite tce_range_generic_suite = {
	.name = "tce_range_generic",
	.test_cases = tce_range_generic_cases,
};

kunit_test_suites(&tce_range_generic_suite);
