// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite of iommu_tce_xchg_range() and iommu_tce_clear_range(), which
 * the VFIO backend calls: on a table whose iommu_table_ops have range
 * operations (xchg_range, clear_range, as a pseries_tce_ddw window's do)
 * they go through them, on any other through the generic ones over
 * xchg_no_kill. The two differ in their hypercalls: clearing a range of
 * mapped entries is one H_STUFF_TCE per 512-entry chunk through the
 * window's clear_range, one call per entry through xchg_no_kill, which
 * writes through every entry that held a TCE.
 *
 * In tree only: out of tree the callbacks are not members of the kernel's
 * iommu_table_ops, and the two functions are the VFIO backend's
 * (include/compat/).
 */

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/numa.h>
#include <asm/iommu.h>
#include <asm/tce.h>

#include "tce_fake.h"
#include "tce_window.h"

#define OPS_ENTRIES	4096
#define OPS_SHIFT	16
#define OPS_START	BIT_ULL(59)
#define OPS_LIOBN	0x7e1003UL
#define OPS_UA		0x7fff00000000UL

struct ops_env {
	struct tce_fake *fake;
	struct tce_window *win;
	struct iommu_table *tbl;
	unsigned long first;
	struct tce_range_entry *st;
};

KUNIT_DEFINE_ACTION_WRAPPER(ops_window_put, tce_window_put,
			    struct tce_window *);

static struct ops_env *ops_env_new(struct kunit *test)
{
	struct tce_window_params p = {
		.liobn = OPS_LIOBN,
		.start = OPS_START,
		.size = (u64)OPS_ENTRIES << OPS_SHIFT,
		.page_shift = OPS_SHIFT,
		.busno = 1,
		.nid = NUMA_NO_NODE,
	};
	struct ops_env *env = kunit_kzalloc(test, sizeof(*env), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, env);
	env->fake = tce_fake_create(test, OPS_LIOBN, OPS_START, OPS_ENTRIES,
				    OPS_SHIFT);
	env->win = tce_window_create(&p, tce_fake_backend(TCE_FAKE_HAS_ALL));
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, env->win);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, ops_window_put,
							env->win), 0);
	env->tbl = &env->win->tbl;
	env->first = OPS_START >> OPS_SHIFT;
	env->st = kunit_kcalloc(test, OPS_ENTRIES, sizeof(*env->st),
				GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, env->st);
	return env;
}

/* Map every entry through iommu_tce_xchg_range(), then clear them all */
static void ops_map_clear(struct kunit *test, struct ops_env *env)
{
	unsigned long i, nr = 0;

	for (i = 0; i < OPS_ENTRIES; i++) {
		env->st[i].tce = ((0x100000UL + i) << OPS_SHIFT) |
				 TCE_PCI_READ | TCE_PCI_WRITE;
		env->st[i].ua = OPS_UA + (i << OPS_SHIFT);
	}
	KUNIT_ASSERT_EQ(test, iommu_tce_xchg_range(env->tbl, env->first,
						   OPS_ENTRIES, env->st), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), OPS_ENTRIES);
	tce_fake_reset_log(env->fake);
	KUNIT_EXPECT_EQ(test, iommu_tce_clear_range(env->tbl, env->first,
						    OPS_ENTRIES, env->st,
						    OPS_ENTRIES, &nr),
			OPS_ENTRIES);
	KUNIT_EXPECT_EQ(test, nr, OPS_ENTRIES);
	KUNIT_EXPECT_EQ(test, env->st[OPS_ENTRIES - 1].ua,
			OPS_UA + ((OPS_ENTRIES - 1UL) << OPS_SHIFT));
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 0);
}

/*
 * A window has range operations, and the two functions use them: the
 * clear is one H_STUFF_TCE per chunk, nothing else.
 */
static void range_ops_of_window_used(struct kunit *test)
{
	struct ops_env *env = ops_env_new(test);

	KUNIT_EXPECT_TRUE(test,
			  env->tbl->it_ops->xchg_range == tce_window_xchg_range);
	KUNIT_EXPECT_TRUE(test,
			  env->tbl->it_ops->clear_range == tce_window_clear_range);
	ops_map_clear(test, env);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF),
			OPS_ENTRIES / 512);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY),
			OPS_ENTRIES / 512);
}

/*
 * The same window's ops without range operations: the generic ones do the
 * same work entry by entry, a write-through per mapped entry cleared.
 */
static void range_ops_generic_without(struct kunit *test)
{
	/* Static: the window's put may need it after a failed assertion */
	static struct iommu_table_ops plain;
	struct ops_env *env = ops_env_new(test);
	struct iommu_table_ops *own = env->tbl->it_ops;

	plain = *own;
	plain.xchg_range = NULL;
	plain.clear_range = NULL;
	env->tbl->it_ops = &plain;
	ops_map_clear(test, env);
	env->tbl->it_ops = own;
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY),
			OPS_ENTRIES);
}

static struct kunit_case tce_range_ops_cases[] = {
	KUNIT_CASE(range_ops_of_window_used),
	KUNIT_CASE(range_ops_generic_without),
	{}
};

static struct kunit_suite tce_range_ops_suite = {
	.name = "tce_range_ops",
	.test_cases = tce_range_ops_cases,
};

kunit_test_suites(&tce_range_ops_suite);
