// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite of the fake TCE backend itself: the other suites trust its
 * argument checks, its counters, its log and its failure rules.
 */

#include <kunit/test.h>
#include <linux/slab.h>
#include <asm/tce.h>

#include "tce_fake.h"

#define FAKE_LIOBN	0x7e2001UL
#define FAKE_START	BIT_ULL(59)
#define FAKE_SHIFT	16
#define PAGE_64K	BIT(FAKE_SHIFT)

static __be64 *fake_list(struct kunit *test)
{
	__be64 *list = kunit_kzalloc(test, 2 * 4096, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, list);
	return list;
}

static void fake_rejects_bad_arguments(struct kunit *test)
{
	const struct tce_backend_ops *ops = tce_fake_backend(TCE_FAKE_HAS_ALL);
	struct tce_fake *fake = tce_fake_create(test, FAKE_LIOBN, FAKE_START,
						1024, FAKE_SHIFT);
	const unsigned long end = FAKE_START + 1024 * PAGE_64K;
	__be64 *list = fake_list(test);
	u64 tce = 0;

	/* Unknown LIOBN */
	KUNIT_EXPECT_EQ(test, ops->put(FAKE_LIOBN + 1, FAKE_START, 0),
			H_PARAMETER);
	/* Out of the window, unaligned */
	KUNIT_EXPECT_EQ(test, ops->put(FAKE_LIOBN, FAKE_START - PAGE_64K, 0),
			H_PARAMETER);
	KUNIT_EXPECT_EQ(test, ops->put(FAKE_LIOBN, end, 0), H_PARAMETER);
	KUNIT_EXPECT_EQ(test, ops->put(FAKE_LIOBN, FAKE_START + 4096, 0),
			H_PARAMETER);
	KUNIT_EXPECT_EQ(test, ops->get(FAKE_LIOBN, end, &tce), H_PARAMETER);
	/* Reserved bits between the permissions and the page shift */
	KUNIT_EXPECT_EQ(test, ops->put(FAKE_LIOBN, FAKE_START, 0x1000 | 3),
			H_PARAMETER);
	KUNIT_EXPECT_EQ(test, ops->stuff(FAKE_LIOBN, FAKE_START, 0x1000, 1),
			H_PARAMETER);
	/* Batch sizes and the list alignment */
	KUNIT_EXPECT_EQ(test, ops->put_many(FAKE_LIOBN, FAKE_START, list, 0),
			H_PARAMETER);
	KUNIT_EXPECT_EQ(test, ops->put_many(FAKE_LIOBN, FAKE_START, list, 513),
			H_PARAMETER);
	KUNIT_EXPECT_EQ(test, ops->put_many(FAKE_LIOBN, FAKE_START, list + 1,
					    1), H_PARAMETER);
	KUNIT_EXPECT_EQ(test, ops->put_many(FAKE_LIOBN, end - PAGE_64K, list,
					    2), H_PARAMETER);
	KUNIT_EXPECT_EQ(test, ops->stuff(FAKE_LIOBN, FAKE_START, 0, 0),
			H_PARAMETER);
	KUNIT_EXPECT_EQ(test, ops->stuff(FAKE_LIOBN, end - PAGE_64K, 0, 2),
			H_PARAMETER);
	KUNIT_EXPECT_EQ(test, tce_fake_count(fake, TCE_FAKE_ANY), 12);
	KUNIT_EXPECT_EQ(test, fake->nr_failed, 12);
	KUNIT_EXPECT_EQ(test, tce_fake_refused(fake), 12);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(fake), 0);

	/* The limits themselves are fine; stuff may poison, without R/W */
	KUNIT_EXPECT_EQ(test, ops->put(FAKE_LIOBN, end - PAGE_64K,
				       0x40000000 | TCE_PCI_READ), H_SUCCESS);
	KUNIT_EXPECT_EQ(test, ops->stuff(FAKE_LIOBN, FAKE_START, 0x50000, 512),
			H_SUCCESS);
	list[0] = cpu_to_be64(0x60000 | TCE_PCI_WRITE);
	KUNIT_EXPECT_EQ(test, ops->put_many(FAKE_LIOBN, end - PAGE_64K, list,
					    1), H_SUCCESS);
	KUNIT_EXPECT_EQ(test, ops->get(FAKE_LIOBN, end - PAGE_64K, &tce),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce, 0x60000 | TCE_PCI_WRITE);
	KUNIT_EXPECT_EQ(test, tce_fake_read(fake, 511), 0x50000);
	KUNIT_EXPECT_EQ(test, tce_fake_read(fake, 512), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(fake), 513);
	KUNIT_EXPECT_EQ(test, tce_fake_refused(fake), 12);
}

/*
 * One call that breaks a PAPR rule: H_PARAMETER, nothing written, logged as
 * refused (not injected) and counted.
 */
static void expect_refused(struct kunit *test, struct tce_fake *fake,
			   long rc, const char *rule)
{
	const struct tce_fake_call *call;
	unsigned long n = tce_fake_count(fake, TCE_FAKE_ANY);

	KUNIT_EXPECT_EQ_MSG(test, rc, H_PARAMETER, "%s", rule);
	KUNIT_EXPECT_EQ_MSG(test, tce_fake_refused(fake), n, "%s", rule);
	KUNIT_EXPECT_EQ_MSG(test, tce_fake_nonzero(fake), 0, "%s", rule);
	call = tce_fake_call(fake, n - 1);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_EQ_MSG(test, call->status, H_PARAMETER, "%s", rule);
	KUNIT_EXPECT_FALSE_MSG(test, call->injected, "%s", rule);
}

/*
 * The PAPR limits the firmware enforces (QEMU enforces fewer of them):
 * H_STUFF_TCE and H_PUT_TCE_INDIRECT take 1..512 entries, the list is
 * 4K aligned, the I/O bus address is aligned to the IOMMU page and the
 * range inside the window, and H_STUFF_TCE takes no permission bit.
 */
static void fake_enforces_papr_limits(struct kunit *test)
{
	const struct tce_backend_ops *ops = tce_fake_backend(TCE_FAKE_HAS_ALL);
	struct tce_fake *fake = tce_fake_create(test, FAKE_LIOBN, FAKE_START,
						2048, FAKE_SHIFT);
	__be64 *list = fake_list(test);
	unsigned long i;

	for (i = 0; i < 513; i++)
		list[i] = cpu_to_be64(((i + 1) << FAKE_SHIFT) | TCE_PCI_READ);
	/* Inside a 2048-entry window, yet over 512 entries */
	expect_refused(test, fake, ops->stuff(FAKE_LIOBN, FAKE_START, 0, 513),
		       "stuff of 513");
	expect_refused(test, fake, ops->stuff(FAKE_LIOBN, FAKE_START, 0, 2048),
		       "stuff of the whole window");
	expect_refused(test, fake, ops->put_many(FAKE_LIOBN, FAKE_START, list,
						 513), "put_many of 513");
	/* A list 8 bytes or 2K off a 4K boundary */
	expect_refused(test, fake, ops->put_many(FAKE_LIOBN, FAKE_START,
						 list + 1, 1), "list + 8");
	expect_refused(test, fake, ops->put_many(FAKE_LIOBN, FAKE_START,
						 list + 256, 1), "list + 2K");
	/* Bus addresses: unaligned to the 64K page, below, past the end */
	expect_refused(test, fake, ops->stuff(FAKE_LIOBN, FAKE_START + 4096, 0,
					      1), "stuff unaligned");
	expect_refused(test, fake, ops->put_many(FAKE_LIOBN, FAKE_START + 4096,
						 list, 1), "put_many unaligned");
	expect_refused(test, fake, ops->stuff(FAKE_LIOBN, FAKE_START - PAGE_64K,
					      0, 1), "stuff below");
	expect_refused(test, fake, ops->stuff(FAKE_LIOBN, FAKE_START +
					      2047 * PAGE_64K, 0, 2),
		       "stuff past the end");
	/* Permission bits: stuff clears or poisons, it does not map */
	expect_refused(test, fake, ops->stuff(FAKE_LIOBN, FAKE_START,
					      TCE_PCI_READ, 1), "stuff R");
	expect_refused(test, fake, ops->stuff(FAKE_LIOBN, FAKE_START,
					      0x70000 | TCE_PCI_WRITE, 1),
		       "stuff W");
	KUNIT_EXPECT_EQ(test, tce_fake_refused(fake), 11);

	/* 512 of each, from a 4K-aligned list, is fine */
	KUNIT_EXPECT_EQ(test, ops->put_many(FAKE_LIOBN, FAKE_START, list, 512),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, ops->stuff(FAKE_LIOBN, FAKE_START, 0, 512),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce_fake_refused(fake), 11);
	tce_fake_reset_log(fake);
	KUNIT_EXPECT_EQ(test, tce_fake_refused(fake), 0);
}

static void fake_counts_and_log(struct kunit *test)
{
	const struct tce_backend_ops *ops = tce_fake_backend(TCE_FAKE_HAS_ALL);
	struct tce_fake *fake = tce_fake_create(test, FAKE_LIOBN, 0, 4096, 12);
	const struct tce_fake_call *call;
	__be64 *list = fake_list(test);
	unsigned long i;
	u64 tce;

	for (i = 0; i < 512; i++)
		list[i] = cpu_to_be64(((i + 1) << 12) | TCE_PCI_READ);
	KUNIT_EXPECT_EQ(test, ops->put_many(0, 0, list, 1), H_PARAMETER);
	KUNIT_EXPECT_EQ(test, ops->put_many(FAKE_LIOBN, 512 << 12, list, 512),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, ops->stuff(FAKE_LIOBN, 600 << 12, 0, 10),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, ops->put(FAKE_LIOBN, 7 << 12, 0x9000 | 2),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, ops->get(FAKE_LIOBN, 7 << 12, &tce), H_SUCCESS);

	/* A call to an unknown LIOBN reaches no fake */
	KUNIT_EXPECT_EQ(test, tce_fake_count(fake, TCE_FAKE_ANY), 4);
	KUNIT_EXPECT_EQ(test, tce_fake_count(fake, TCE_FAKE_PUT_MANY), 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(fake, TCE_FAKE_STUFF), 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(fake, TCE_FAKE_PUT), 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(fake, TCE_FAKE_GET), 1);

	call = tce_fake_call(fake, 0);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_EQ(test, call->op, TCE_FAKE_PUT_MANY);
	KUNIT_EXPECT_STREQ(test, tce_fake_op_name(call->op), "put_many");
	KUNIT_EXPECT_EQ(test, call->seq, 1);
	KUNIT_EXPECT_EQ(test, call->ioba, 512 << 12);
	KUNIT_EXPECT_EQ(test, call->npages, 512);
	KUNIT_EXPECT_EQ(test, call->nvals, 512);
	for (i = 0; i < 512; i++)
		KUNIT_EXPECT_EQ(test, tce_fake_call_value(fake, call, i),
				((i + 1) << 12) | TCE_PCI_READ);
	call = tce_fake_call(fake, 1);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_EQ(test, call->op, TCE_FAKE_STUFF);
	KUNIT_EXPECT_EQ(test, call->npages, 10);
	KUNIT_EXPECT_EQ(test, call->nvals, 0);
	call = tce_fake_call(fake, 3);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_EQ(test, call->op, TCE_FAKE_GET);
	KUNIT_EXPECT_EQ(test, call->tce, 0x9000 | 2);
	KUNIT_EXPECT_NULL(test, tce_fake_call(fake, 4));

	tce_fake_reset_log(fake);
	KUNIT_EXPECT_EQ(test, tce_fake_count(fake, TCE_FAKE_ANY), 0);
	KUNIT_EXPECT_NULL(test, tce_fake_call(fake, 0));
	/* The table is kept */
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(fake), 503);
	tce_fake_write(fake, 3, 0x3000);
	KUNIT_EXPECT_EQ(test, tce_fake_read(fake, 3), 0x3000);
	KUNIT_EXPECT_EQ(test, tce_fake_count(fake, TCE_FAKE_ANY), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_ioba(fake, 3), 3 << 12);
}

static void fake_failure_rules(struct kunit *test)
{
	const struct tce_backend_ops *ops = tce_fake_backend(TCE_FAKE_HAS_ALL);
	struct tce_fake *fake = tce_fake_create(test, FAKE_LIOBN, 0, 1024, 12);
	const struct tce_fake_call *call;
	__be64 *list = fake_list(test);
	unsigned long i;

	for (i = 0; i < 512; i++)
		list[i] = cpu_to_be64((i + 1) << 12 | TCE_PCI_READ);

	/* The 2nd call of any kind */
	tce_fake_fail(fake, TCE_FAKE_ANY, 2, H_HARDWARE, 0);
	/* The 2nd put_many, after 100 entries */
	tce_fake_fail(fake, TCE_FAKE_PUT_MANY, 2, H_NOT_ENOUGH_RESOURCES, 100);
	KUNIT_EXPECT_EQ(test, ops->put(FAKE_LIOBN, 0, 0x1000 | 1), H_SUCCESS);
	KUNIT_EXPECT_EQ(test, ops->put(FAKE_LIOBN, 4096, 0x1000 | 1),
			H_HARDWARE);
	KUNIT_EXPECT_EQ(test, tce_fake_read(fake, 1), 0);
	KUNIT_EXPECT_EQ(test, ops->put(FAKE_LIOBN, 4096, 0x1000 | 1),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, ops->put_many(FAKE_LIOBN, 0, list, 512),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, ops->put_many(FAKE_LIOBN, 512 << 12, list, 512),
			H_NOT_ENOUGH_RESOURCES);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(fake), 612);
	KUNIT_EXPECT_EQ(test, tce_fake_read(fake, 611), 100 << 12 | 1);
	KUNIT_EXPECT_EQ(test, ops->put_many(FAKE_LIOBN, 512 << 12, list, 512),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, fake->nr_failed, 2);
	call = tce_fake_call(fake, 4);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_TRUE(test, call->injected);
	KUNIT_EXPECT_EQ(test, call->status, H_NOT_ENOUGH_RESOURCES);

	/* A stuff that stops half way, a get that fails */
	tce_fake_fail(fake, TCE_FAKE_STUFF, 1, H_PARAMETER, 12);
	tce_fake_fail(fake, TCE_FAKE_GET, 1, H_HARDWARE, 0);
	KUNIT_EXPECT_EQ(test, ops->stuff(FAKE_LIOBN, 0, 0, 512), H_PARAMETER);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(fake), 1024 - 12);
	KUNIT_EXPECT_EQ(test, ops->get(FAKE_LIOBN, 0, &(u64){ 0 }), H_HARDWARE);
}

/* Without put_many and stuff the backend has only put and get */
static void fake_feature_sets(struct kunit *test)
{
	const struct tce_backend_ops *ops;

	ops = tce_fake_backend(0);
	KUNIT_EXPECT_NOT_NULL(test, ops->put);
	KUNIT_EXPECT_NOT_NULL(test, ops->get);
	KUNIT_EXPECT_NULL(test, ops->put_many);
	KUNIT_EXPECT_NULL(test, ops->stuff);
	ops = tce_fake_backend(TCE_FAKE_HAS_STUFF);
	KUNIT_EXPECT_NULL(test, ops->put_many);
	KUNIT_EXPECT_NOT_NULL(test, ops->stuff);
	ops = tce_fake_backend(TCE_FAKE_HAS_PUT_MANY);
	KUNIT_EXPECT_NOT_NULL(test, ops->put_many);
	KUNIT_EXPECT_NULL(test, ops->stuff);
	ops = tce_fake_backend(TCE_FAKE_HAS_ALL);
	KUNIT_EXPECT_NOT_NULL(test, ops->put_many);
	KUNIT_EXPECT_NOT_NULL(test, ops->stuff);
}

/* Two LIOBNs, two tables */
static void fake_two_liobns(struct kunit *test)
{
	const struct tce_backend_ops *ops = tce_fake_backend(TCE_FAKE_HAS_ALL);
	struct tce_fake *a = tce_fake_create(test, FAKE_LIOBN, 0, 16, 12);
	struct tce_fake *b = tce_fake_create(test, FAKE_LIOBN + 1, FAKE_START,
					     16, 24);

	KUNIT_EXPECT_EQ(test, ops->put(FAKE_LIOBN, 4096, 0x5000 | 1),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, ops->put(FAKE_LIOBN + 1, FAKE_START + (1 << 24),
				       (7ULL << 24) | 2), H_SUCCESS);
	/* b has 16M pages: a 4K-aligned address is not a valid TCE there */
	KUNIT_EXPECT_EQ(test, ops->put(FAKE_LIOBN + 1, FAKE_START,
				       0x5000 | 1), H_PARAMETER);
	KUNIT_EXPECT_EQ(test, tce_fake_read(a, 1), 0x5000 | 1);
	KUNIT_EXPECT_EQ(test, tce_fake_read(b, 1), (7ULL << 24) | 2);
	KUNIT_EXPECT_EQ(test, tce_fake_count(a, TCE_FAKE_ANY), 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(b, TCE_FAKE_ANY), 2);
}

static struct kunit_case tce_fake_cases[] = {
	KUNIT_CASE(fake_rejects_bad_arguments),
	KUNIT_CASE(fake_enforces_papr_limits),
	KUNIT_CASE(fake_counts_and_log),
	KUNIT_CASE(fake_failure_rules),
	KUNIT_CASE(fake_feature_sets),
	KUNIT_CASE(fake_two_liobns),
	{}
};

static struct kunit_suite tce_fake_suite = {
	.name = "tce_fake",
	.test_cases = tce_fake_cases,
};

kunit_test_suites(&tce_fake_suite);
