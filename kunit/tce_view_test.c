// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite of the sparse userspace view (tce_userspace_view.c), flushed
 * through a sink that writes to the fake TCE backend.
 */

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/minmax.h>
#include <linux/numa.h>
#include <linux/slab.h>
#include <asm/tce.h>

#include "tce_fake.h"
#include "tce_userspace_view.h"

#define VIEW_LIOBN	0x7e0001UL
#define VIEW_SHIFT	12
#define PERM_RW		((u64)(TCE_PCI_READ | TCE_PCI_WRITE))

#define VIEW_RUNS	4

/**
 * struct view_env - a view, a fake table and the sink between them
 * @view: the view under test.
 * @fake: the fake table of the same number of entries, bus address 0.
 * @ops: backend operations the sink calls.
 * @list: 4K-aligned TCE list for put_many.
 * @nr_zero_runs: runs of zeros the view handed to the sink.
 * @zero_run: the first VIEW_RUNS of them, as { first index, length }.
 */
struct view_env {
	struct tce_view *view;
	struct tce_fake *fake;
	const struct tce_backend_ops *ops;
	__be64 *list;
	unsigned long nr_zero_runs;
	unsigned long zero_run[VIEW_RUNS][2];
};

/* A TCE for entry @idx: distinct per entry, page aligned, read/write */
static u64 view_tce(unsigned long idx)
{
	return ((0x40000000ULL + idx) << VIEW_SHIFT) | PERM_RW;
}

/*
 * A run of zeros (any length, it may span chunks), recorded and written as
 * a platform must: at most 512 entries a stuff
 */
static long sink_zeros(struct view_env *env, unsigned long idx,
		       unsigned long n)
{
	unsigned long k;
	long rc = H_SUCCESS;

	if (env->nr_zero_runs < VIEW_RUNS) {
		env->zero_run[env->nr_zero_runs][0] = idx;
		env->zero_run[env->nr_zero_runs][1] = n;
	}
	env->nr_zero_runs++;
	for (; n && rc == H_SUCCESS; n -= k, idx += k) {
		k = min(n, TCE_BACKEND_MAX_BATCH);
		rc = env->ops->stuff(VIEW_LIOBN, tce_fake_ioba(env->fake, idx),
				     0, k);
	}
	return rc;
}

static long sink_write(void *ctx, unsigned long idx, const u64 *tces,
		       unsigned long n)
{
	struct view_env *env = ctx;
	unsigned long ioba = tce_fake_ioba(env->fake, idx), i;

	if (n == 1)
		return env->ops->put(VIEW_LIOBN, ioba, tces ? tces[0] : 0);
	if (!tces)
		return sink_zeros(env, idx, n);
	/* A run of values stays within a chunk: one TCE list */
	if (WARN_ON(n > TCE_VIEW_CHUNK_ENTRIES))
		return H_PARAMETER;
	for (i = 0; i < n; i++)
		env->list[i] = cpu_to_be64(tces[i]);
	return env->ops->put_many(VIEW_LIOBN, ioba, env->list, n);
}

static long sink_read(void *ctx, unsigned long idx, u64 *tce)
{
	struct view_env *env = ctx;

	return env->ops->get(VIEW_LIOBN, tce_fake_ioba(env->fake, idx), tce);
}

static const struct tce_view_sink fake_sink = {
	.write = sink_write,
	.read = sink_read,
};

/* A sink that accepts everything and keeps nothing */
static long null_write(void *ctx, unsigned long idx, const u64 *tces,
		       unsigned long n)
{
	return H_SUCCESS;
}

static long null_read(void *ctx, unsigned long idx, u64 *tce)
{
	*tce = 0;
	return H_SUCCESS;
}

static const struct tce_view_sink null_sink = {
	.write = null_write,
	.read = null_read,
};

KUNIT_DEFINE_ACTION_WRAPPER(view_destroy_action, tce_view_destroy,
			    struct tce_view *);

static struct tce_view *view_new(struct kunit *test, unsigned long entries)
{
	struct tce_view *view = tce_view_create(entries, NUMA_NO_NODE);

	KUNIT_ASSERT_NOT_NULL(test, view);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							view_destroy_action,
							view), 0);
	return view;
}

static struct view_env *env_new(struct kunit *test, unsigned long entries)
{
	struct view_env *env = kunit_kzalloc(test, sizeof(*env), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, env);
	env->list = kunit_kzalloc(test, TCE_BACKEND_MAX_BATCH * sizeof(__be64),
				  GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, env->list);
	env->view = view_new(test, entries);
	env->fake = tce_fake_create(test, VIEW_LIOBN, 0, entries, VIEW_SHIFT);
	env->ops = tce_fake_backend(TCE_FAKE_HAS_ALL);
	return env;
}

static int view_set(struct tce_view *view, unsigned long idx, u64 val,
		    u64 *old)
{
	u64 tce = val;
	int ret = tce_view_xchg(view, idx, &tce, GFP_KERNEL);

	if (old)
		*old = tce;
	return ret;
}

static void map_range(struct kunit *test, struct tce_view *view,
		      unsigned long first, unsigned long n)
{
	unsigned long i;

	for (i = first; i < first + n; i++)
		KUNIT_ASSERT_EQ(test, view_set(view, i, view_tce(i), NULL), 0);
}

static void unmap_range(struct kunit *test, struct tce_view *view,
			unsigned long first, unsigned long n)
{
	unsigned long i;

	for (i = first; i < first + n; i++)
		KUNIT_ASSERT_EQ(test, view_set(view, i, 0, NULL), 0);
}

/* Every entry of the shadow equals the fake table */
static void expect_shadow_is_fake(struct kunit *test, struct view_env *env)
{
	unsigned long i, entries = tce_view_entries(env->view), bad = 0;

	for (i = 0; i < entries; i++) {
		u64 s = tce_view_get(env->view, i);
		u64 h = tce_fake_read(env->fake, i);

		if (s != h && bad++ < 4)
			KUNIT_FAIL(test, "entry %lu: shadow %#llx, table %#llx",
				   i, s, h);
	}
	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_EQ(test, tce_view_mapped(env->view),
			tce_fake_nonzero(env->fake));
}

static void view_create_geometry(struct kunit *test)
{
	struct tce_view *view;

	KUNIT_EXPECT_NULL(test, tce_view_create(0, NUMA_NO_NODE));
	tce_view_destroy(NULL);

	view = view_new(test, 1);
	KUNIT_EXPECT_EQ(test, tce_view_entries(view), 1);
	KUNIT_EXPECT_EQ(test, tce_view_mapped(view), 0);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 0);
	KUNIT_EXPECT_EQ(test, tce_view_directory_bytes(1), sizeof(void *));

	view = view_new(test, 513);
	KUNIT_EXPECT_EQ(test, tce_view_entries(view), 513);
	KUNIT_EXPECT_EQ(test, tce_view_directory_bytes(513),
			2 * sizeof(void *));
	KUNIT_EXPECT_EQ(test, tce_view_directory_bytes(512 * 2048),
			2048 * sizeof(void *));
	/* At most: every chunk with both its 4K arrays */
	KUNIT_EXPECT_GE(test, tce_view_max_bytes(513),
			tce_view_directory_bytes(513) + 2 * 2 * 4096);
	KUNIT_EXPECT_LT(test, tce_view_max_bytes(513),
			tce_view_directory_bytes(513) + 2 * (2 * 4096 + 512));
	/* Empty: the structure and its directory, no chunk */
	KUNIT_EXPECT_GE(test, tce_view_bytes(view),
			tce_view_directory_bytes(513));
	KUNIT_EXPECT_LT(test, tce_view_bytes(view),
			tce_view_directory_bytes(513) + 512);
	KUNIT_EXPECT_NULL(test, tce_view_useraddr(view, 0, false));
	KUNIT_EXPECT_EQ(test, tce_view_get(view, 512), 0);
}

static void view_map_unmap_single(struct kunit *test)
{
	struct view_env *env = env_new(test, 1024);
	struct tce_view *view = env->view;
	const struct tce_fake_call *call;
	u64 old;

	KUNIT_ASSERT_EQ(test, view_set(view, 5, view_tce(5), &old), 0);
	KUNIT_EXPECT_EQ(test, old, 0);
	KUNIT_EXPECT_EQ(test, tce_view_get(view, 5), view_tce(5));
	KUNIT_EXPECT_EQ(test, tce_view_mapped(view), 1);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 1);
	/* Nothing reaches the table before the flush */
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 5), 0);

	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 1024, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 5), view_tce(5));
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT), 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 1);
	call = tce_fake_call(env->fake, 0);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_EQ(test, call->ioba, 5UL << VIEW_SHIFT);
	KUNIT_EXPECT_EQ(test, call->tce, view_tce(5));
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 0);

	/* A second flush has nothing to do */
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 1024, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 1);

	/* Exchange: the old value comes back */
	KUNIT_ASSERT_EQ(test, view_set(view, 5, view_tce(6), &old), 0);
	KUNIT_EXPECT_EQ(test, old, view_tce(5));
	KUNIT_ASSERT_EQ(test, view_set(view, 5, 0, &old), 0);
	KUNIT_EXPECT_EQ(test, old, view_tce(6));
	KUNIT_EXPECT_EQ(test, tce_view_mapped(view), 0);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 5, 1, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 5), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT), 2);
	expect_shadow_is_fake(test, env);
}

static void view_out_of_range(struct kunit *test)
{
	struct view_env *env = env_new(test, 600);
	struct tce_view *view = env->view;
	u64 old = 0xdead;

	KUNIT_EXPECT_EQ(test, view_set(view, 600, view_tce(1), &old), -EINVAL);
	KUNIT_EXPECT_EQ(test, view_set(view, ~0UL, view_tce(1), &old),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, tce_view_get(view, 600), 0);
	KUNIT_EXPECT_NULL(test, tce_view_useraddr(view, 600, true));
	KUNIT_EXPECT_NULL(test, tce_view_useraddr(view, ~0UL, true));
	tce_view_clear_range(view, 600, 10);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 600, 10, &fake_sink, env),
			H_SUCCESS);

	/* The last entry works, and ranges are clipped to the window */
	KUNIT_ASSERT_EQ(test, view_set(view, 599, view_tce(599), NULL), 0);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 599, ~0UL, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 599), view_tce(599));
	tce_view_clear_range(view, 590, ~0UL);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 1);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 590, 1000, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 599), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 2);
	expect_shadow_is_fake(test, env);
}

static void view_zero_needs_no_chunk(struct kunit *test)
{
	struct tce_view *view = view_new(test, 4096);
	size_t empty = tce_view_bytes(view);
	u64 old = 0x1234;

	KUNIT_ASSERT_EQ(test, view_set(view, 1000, 0, &old), 0);
	KUNIT_EXPECT_EQ(test, old, 0);
	KUNIT_EXPECT_EQ(test, tce_view_bytes(view), empty);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 0);
	tce_view_clear_range(view, 0, 4096);
	KUNIT_EXPECT_EQ(test, tce_view_bytes(view), empty);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 0);
}

/* Runs: values with put_many, zeros with stuff, a lone entry with put */
static void view_flush_runs(struct kunit *test)
{
	struct view_env *env = env_new(test, 2048);
	struct tce_view *view = env->view;
	const struct tce_fake_call *call;
	unsigned long i;

	/* 500..1100 crosses two chunk boundaries: 3 runs */
	map_range(test, view, 500, 601);
	/* a lone entry */
	map_range(test, view, 1500, 1);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 602);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 2048, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 3);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT), 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 4);
	call = tce_fake_call(env->fake, 0);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_EQ(test, call->ioba, 500UL << VIEW_SHIFT);
	KUNIT_EXPECT_EQ(test, call->npages, 12);
	call = tce_fake_call(env->fake, 1);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_EQ(test, call->ioba, 512UL << VIEW_SHIFT);
	KUNIT_EXPECT_EQ(test, call->npages, 512);
	for (i = 0; i < 512; i++)
		KUNIT_EXPECT_EQ(test, tce_fake_call_value(env->fake, call, i),
				view_tce(512 + i));
	call = tce_fake_call(env->fake, 2);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_EQ(test, call->ioba, 1024UL << VIEW_SHIFT);
	KUNIT_EXPECT_EQ(test, call->npages, 77);
	for (i = 0; i < 2048; i++)
		KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, i),
				(i >= 500 && i <= 1100) || i == 1500 ?
				view_tce(i) : 0);

	/* Unmap a hole in the middle: one stuff, then one put to re-map */
	tce_fake_reset_log(env->fake);
	unmap_range(test, view, 600, 100);
	map_range(test, view, 650, 1);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 2048, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 2);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT), 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_GET), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 3);
	expect_shadow_is_fake(test, env);
}

static void view_clear_range(struct kunit *test)
{
	struct view_env *env = env_new(test, 2048);
	struct tce_view *view = env->view;
	const struct tce_fake_call *call;
	unsigned long i;

	map_range(test, view, 0, 2048);
	KUNIT_ASSERT_EQ(test, tce_view_flush(view, 0, 2048, &fake_sink, env),
			H_SUCCESS);
	tce_fake_reset_log(env->fake);

	tce_view_clear_range(view, 100, 1000);
	KUNIT_EXPECT_EQ(test, tce_view_mapped(view), 1048);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 1000);
	for (i = 0; i < 2048; i++)
		KUNIT_EXPECT_EQ(test, tce_view_get(view, i),
				i >= 100 && i < 1100 ? 0 : view_tce(i));
	/* Nothing written yet */
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 2048);

	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 2048, &fake_sink, env),
			H_SUCCESS);
	/* 100..1099 across three chunks: one run of zeros, two stuff */
	KUNIT_EXPECT_EQ(test, env->nr_zero_runs, 1);
	KUNIT_EXPECT_EQ(test, env->zero_run[0][0], 100);
	KUNIT_EXPECT_EQ(test, env->zero_run[0][1], 1000);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 2);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 2);
	call = tce_fake_call(env->fake, 1);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_EQ(test, call->ioba, 612UL << VIEW_SHIFT);
	KUNIT_EXPECT_EQ(test, call->npages, 488);
	expect_shadow_is_fake(test, env);
}

/*
 * Runs of zeros span chunks, but only dirty ones: an absent chunk or a
 * clean entry ends the run, a run of values in the next chunk too.
 */
static void view_zero_runs_span_chunks(struct kunit *test)
{
	struct view_env *env = env_new(test, 8192);
	struct tce_view *view = env->view;
	const struct tce_fake_call *call;

	map_range(test, view, 0, 8192);
	KUNIT_ASSERT_EQ(test, tce_view_flush(view, 0, 8192, &fake_sink, env),
			H_SUCCESS);
	tce_fake_reset_log(env->fake);
	unmap_range(test, view, 0, 8192);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 8192, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, env->nr_zero_runs, 1);
	KUNIT_EXPECT_EQ(test, env->zero_run[0][0], 0);
	KUNIT_EXPECT_EQ(test, env->zero_run[0][1], 8192);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 16);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 16);
	expect_shadow_is_fake(test, env);

	/* Chunks 0, 2 and 3 mapped, 1 absent: 0..511 and 1024..2047 */
	map_range(test, view, 0, 512);
	map_range(test, view, 1024, 1024);
	KUNIT_ASSERT_EQ(test, tce_view_flush(view, 0, 8192, &fake_sink, env),
			H_SUCCESS);
	tce_fake_reset_log(env->fake);
	env->nr_zero_runs = 0;
	tce_view_clear_range(view, 0, 8192);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 8192, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, env->nr_zero_runs, 2);
	KUNIT_EXPECT_EQ(test, env->zero_run[1][0], 1024);
	KUNIT_EXPECT_EQ(test, env->zero_run[1][1], 1024);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 3);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 3);
	call = tce_fake_call(env->fake, 1);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_EQ(test, call->ioba, 1024UL << VIEW_SHIFT);
	KUNIT_EXPECT_EQ(test, call->npages, 512);

	/* Zeros up to a chunk end, then values: a stuff and a put_many */
	map_range(test, view, 0, 1024);
	KUNIT_ASSERT_EQ(test, tce_view_flush(view, 0, 8192, &fake_sink, env),
			H_SUCCESS);
	tce_fake_reset_log(env->fake);
	unmap_range(test, view, 0, 512);
	unmap_range(test, view, 512, 512);
	map_range(test, view, 512, 100);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 8192, &fake_sink, env),
			H_SUCCESS);
	/* 0..511 stuff, 512..611 put_many, 612..1023 stuff */
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 2);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 1);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_ANY), 3);
	expect_shadow_is_fake(test, env);

	/* A flush of a sub-range stops the run at the range's end */
	tce_fake_reset_log(env->fake);
	unmap_range(test, view, 512, 100);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 550, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 62);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 8192, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_STUFF), 2);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 0);
	KUNIT_EXPECT_EQ(test, tce_view_mapped(view), 0);
	expect_shadow_is_fake(test, env);
}

/* Only the dirty entries of the flushed range are written */
static void view_flush_partial_range(struct kunit *test)
{
	struct view_env *env = env_new(test, 1024);
	struct tce_view *view = env->view;

	map_range(test, view, 0, 1024);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 256, 512, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 512);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 512);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 255), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 256), view_tce(256));
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 767), view_tce(767));
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 768), 0);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 1024, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 0);
	expect_shadow_is_fake(test, env);
}

static void view_useraddr(struct kunit *test)
{
	struct view_env *env = env_new(test, 2048);
	struct tce_view *view = env->view;
	__be64 *ua, *again;
	size_t before;

	/* Never mapped: no slot without alloc */
	KUNIT_EXPECT_NULL(test, tce_view_useraddr(view, 0, false));
	KUNIT_EXPECT_NULL(test, tce_view_useraddr(view, 2047, false));

	before = tce_view_bytes(view);
	ua = tce_view_useraddr(view, 700, true);
	KUNIT_ASSERT_NOT_NULL(test, ua);
	KUNIT_EXPECT_EQ(test, be64_to_cpu(*ua), 0);
	/* A chunk and its address array */
	KUNIT_EXPECT_GE(test, tce_view_bytes(view), before + 2 * 4096);
	*ua = cpu_to_be64(0x7fff12340000ULL);
	again = tce_view_useraddr(view, 700, false);
	KUNIT_EXPECT_PTR_EQ(test, again, ua);
	KUNIT_EXPECT_PTR_EQ(test, tce_view_useraddr(view, 700, true), ua);
	/* Neighbours share the chunk; other chunks are still absent */
	KUNIT_EXPECT_PTR_EQ(test, tce_view_useraddr(view, 701, false), ua + 1);
	KUNIT_EXPECT_NULL(test, tce_view_useraddr(view, 511, false));
	KUNIT_EXPECT_NULL(test, tce_view_useraddr(view, 1024, false));

	/* Mapping does not touch the address, the caller owns it */
	KUNIT_ASSERT_EQ(test, view_set(view, 700, view_tce(700), NULL), 0);
	KUNIT_EXPECT_EQ(test, be64_to_cpu(*ua), 0x7fff12340000ULL);
	KUNIT_ASSERT_EQ(test, tce_view_flush(view, 0, 2048, &fake_sink, env),
			H_SUCCESS);
	ua = tce_view_useraddr(view, 700, false);
	KUNIT_ASSERT_NOT_NULL(test, ua);
	KUNIT_EXPECT_EQ(test, be64_to_cpu(*ua), 0x7fff12340000ULL);

	/* Unmap: the chunk lives while the address is set */
	KUNIT_ASSERT_EQ(test, view_set(view, 700, 0, NULL), 0);
	KUNIT_ASSERT_EQ(test, tce_view_flush(view, 0, 2048, &fake_sink, env),
			H_SUCCESS);
	ua = tce_view_useraddr(view, 700, false);
	KUNIT_ASSERT_NOT_NULL(test, ua);
	*ua = 0;
	KUNIT_ASSERT_EQ(test, tce_view_flush(view, 0, 2048, &fake_sink, env),
			H_SUCCESS);
	/*
	 * Empty now, but a slot of it was handed out for writing (KVM writes
	 * through such a pointer under no lock of ours): kept until the view
	 * is destroyed, at the same address
	 */
	KUNIT_EXPECT_PTR_EQ(test, tce_view_useraddr(view, 700, false), ua);
	KUNIT_EXPECT_GE(test, tce_view_bytes(view), before + 2 * 4096);
}

/* Memory grows with what is mapped and shrinks back when unmapped */
static void view_bytes_grow_shrink(struct kunit *test)
{
	struct view_env *env = env_new(test, 8192);
	struct tce_view *view = env->view;
	size_t empty = tce_view_bytes(view), one, three;
	unsigned long i;
	__be64 *ua;

	map_range(test, view, 10, 1);
	one = tce_view_bytes(view);
	KUNIT_EXPECT_GT(test, one, empty);
	/* The rest of the chunk is free */
	map_range(test, view, 11, 501);
	KUNIT_EXPECT_EQ(test, tce_view_bytes(view), one);
	map_range(test, view, 3000, 1);
	map_range(test, view, 8191, 1);
	three = tce_view_bytes(view);
	KUNIT_EXPECT_EQ(test, three - empty, 3 * (one - empty));
	for (i = 0; i < 8192; i += 1000) {
		ua = tce_view_useraddr(view, i, true);
		KUNIT_ASSERT_NOT_NULL(test, ua);
		*ua = cpu_to_be64(0x7fff00000000ULL + (i << 12));
	}
	KUNIT_EXPECT_GT(test, tce_view_bytes(view), three);
	KUNIT_ASSERT_EQ(test, tce_view_flush(view, 0, 8192, &fake_sink, env),
			H_SUCCESS);
	/* Chunks holding only an address survive the flush */
	KUNIT_EXPECT_GT(test, tce_view_bytes(view), three);

	/* Unmapping frees nothing before the flush has written the zeros */
	tce_view_clear_range(view, 0, 8192);
	for (i = 0; i < 8192; i += 1000) {
		ua = tce_view_useraddr(view, i, false);
		KUNIT_ASSERT_NOT_NULL(test, ua);
		*ua = 0;
	}
	KUNIT_EXPECT_GT(test, tce_view_bytes(view), three);
	KUNIT_ASSERT_EQ(test, tce_view_flush(view, 0, 8192, &fake_sink, env),
			H_SUCCESS);
	/*
	 * Back to the 9 chunks whose address slots were handed out (0, 1000,
	 * ... 8000), which stay until the view is destroyed; the others went
	 */
	KUNIT_EXPECT_EQ(test, tce_view_bytes(view) - empty,
			9 * (one - empty + 4096));
	KUNIT_EXPECT_EQ(test, tce_view_mapped(view), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 0);
}

/*
 * 64GiB window of 64K pages (1M entries) with 1GiB mapped, each entry
 * with its user address: the sparse view stays under 1/16 of a flat
 * array of TCEs and user addresses.
 */
static void view_sparse_vs_flat(struct kunit *test)
{
	const unsigned long entries = (64UL << 30) >> 16;
	const unsigned long mapped = (1UL << 30) >> 16;
	const unsigned long first = 200000;
	struct tce_view *view = view_new(test, entries);
	size_t flat = entries * (sizeof(u64) + sizeof(__be64));
	size_t empty = tce_view_bytes(view), full;
	unsigned long i;
	__be64 *ua;

	for (i = first; i < first + mapped; i++) {
		ua = tce_view_useraddr(view, i, true);
		KUNIT_ASSERT_NOT_NULL(test, ua);
		*ua = cpu_to_be64(0x10000000000ULL + (i << 16));
		KUNIT_ASSERT_EQ(test, view_set(view, i, view_tce(i), NULL), 0);
	}
	KUNIT_ASSERT_EQ(test, tce_view_flush(view, 0, entries, &null_sink,
					     NULL), H_SUCCESS);
	full = tce_view_bytes(view);
	KUNIT_EXPECT_EQ(test, tce_view_mapped(view), mapped);
	kunit_info(test, "view of 64GiB/64K with 1GiB mapped: %zu bytes, flat %zu (1/%zu)\n",
		   full, flat, flat / full);
	KUNIT_EXPECT_LE(test, full * 16, flat);

	for (i = first; i < first + mapped; i++) {
		ua = tce_view_useraddr(view, i, false);
		KUNIT_ASSERT_NOT_NULL(test, ua);
		*ua = 0;
		KUNIT_ASSERT_EQ(test, view_set(view, i, 0, NULL), 0);
	}
	KUNIT_ASSERT_EQ(test, tce_view_flush(view, 0, entries, &null_sink,
					     NULL), H_SUCCESS);
	/* The chunks whose address slots were handed out stay */
	KUNIT_EXPECT_EQ(test, tce_view_bytes(view), full);
	KUNIT_EXPECT_GT(test, full, empty);
}

/*
 * The second batch fails after 100 of its entries were written: the
 * shadow is rolled back to what the table holds, and nothing is dirty.
 */
static void view_flush_failure_rollback(struct kunit *test)
{
	struct view_env *env = env_new(test, 1536);
	struct tce_view *view = env->view;
	unsigned long i;

	map_range(test, view, 0, 1536);
	tce_fake_fail(env->fake, TCE_FAKE_PUT_MANY, 2, H_HARDWARE, 100);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 1536, &fake_sink, env),
			H_HARDWARE);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_PUT_MANY), 2);
	/* The entries of the failed batch and after it are read back */
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_GET), 1024);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 0);
	KUNIT_EXPECT_EQ(test, tce_view_mapped(view), 612);
	for (i = 0; i < 1536; i++)
		KUNIT_EXPECT_EQ(test, tce_view_get(view, i),
				i < 612 ? view_tce(i) : 0);
	expect_shadow_is_fake(test, env);

	/* Mapping again completes the job */
	map_range(test, view, 612, 1536 - 612);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 1536, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce_fake_nonzero(env->fake), 1536);
	expect_shadow_is_fake(test, env);
}

/* An unmap that fails leaves the shadow holding what is still mapped */
static void view_unmap_failure_rollback(struct kunit *test)
{
	struct view_env *env = env_new(test, 1024);
	struct tce_view *view = env->view;
	size_t bytes;

	map_range(test, view, 0, 1024);
	KUNIT_ASSERT_EQ(test, tce_view_flush(view, 0, 1024, &fake_sink, env),
			H_SUCCESS);
	bytes = tce_view_bytes(view);
	tce_view_clear_range(view, 0, 1024);
	/* One run for the two chunks, its second stuff stops after 10 */
	tce_fake_fail(env->fake, TCE_FAKE_STUFF, 2, H_PARAMETER, 10);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 1024, &fake_sink, env),
			H_PARAMETER);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 0);
	KUNIT_EXPECT_EQ(test, tce_view_mapped(view), 502);
	KUNIT_EXPECT_EQ(test, tce_view_get(view, 521), 0);
	KUNIT_EXPECT_EQ(test, tce_view_get(view, 522), view_tce(522));
	/* The first chunk went empty and was freed */
	KUNIT_EXPECT_LT(test, tce_view_bytes(view), bytes);
	expect_shadow_is_fake(test, env);
}

/* When the read back fails too, the entry stays dirty for a retry */
static void view_rollback_read_fails(struct kunit *test)
{
	struct view_env *env = env_new(test, 512);
	struct tce_view *view = env->view;

	map_range(test, view, 0, 512);
	tce_fake_fail(env->fake, TCE_FAKE_PUT_MANY, 1, H_NOT_ENOUGH_RESOURCES,
		      0);
	tce_fake_fail(env->fake, TCE_FAKE_GET, 3, H_HARDWARE, 0);
	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 512, &fake_sink, env),
			H_NOT_ENOUGH_RESOURCES);
	KUNIT_EXPECT_EQ(test, tce_fake_count(env->fake, TCE_FAKE_GET), 512);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 1);
	KUNIT_EXPECT_EQ(test, tce_view_mapped(view), 1);
	KUNIT_EXPECT_EQ(test, tce_view_get(view, 2), view_tce(2));

	KUNIT_EXPECT_EQ(test, tce_view_flush(view, 0, 512, &fake_sink, env),
			H_SUCCESS);
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 0);
	KUNIT_EXPECT_EQ(test, tce_fake_read(env->fake, 2), view_tce(2));
	expect_shadow_is_fake(test, env);
}

/* Destroying a view with dirty entries and addresses frees everything */
static void view_destroy_busy(struct kunit *test)
{
	struct tce_view *view = tce_view_create(4096, NUMA_NO_NODE);
	unsigned long i;

	KUNIT_ASSERT_NOT_NULL(test, view);
	for (i = 0; i < 4096; i += 7) {
		u64 tce = view_tce(i);

		KUNIT_EXPECT_EQ(test, tce_view_xchg(view, i, &tce, GFP_KERNEL),
				0);
		KUNIT_EXPECT_NOT_NULL(test, tce_view_useraddr(view, i, true));
	}
	KUNIT_EXPECT_EQ(test, tce_view_dirty(view), 586);
	tce_view_destroy(view);
}

static struct kunit_case tce_view_cases[] = {
	KUNIT_CASE(view_create_geometry),
	KUNIT_CASE(view_map_unmap_single),
	KUNIT_CASE(view_out_of_range),
	KUNIT_CASE(view_zero_needs_no_chunk),
	KUNIT_CASE(view_flush_runs),
	KUNIT_CASE(view_clear_range),
	KUNIT_CASE(view_zero_runs_span_chunks),
	KUNIT_CASE(view_flush_partial_range),
	KUNIT_CASE(view_useraddr),
	KUNIT_CASE(view_bytes_grow_shrink),
	KUNIT_CASE(view_sparse_vs_flat),
	KUNIT_CASE(view_flush_failure_rollback),
	KUNIT_CASE(view_unmap_failure_rollback),
	KUNIT_CASE(view_rollback_read_fails),
	KUNIT_CASE(view_destroy_busy),
	{}
};

static struct kunit_suite tce_view_suite = {
	.name = "tce_userspace_view",
	.test_cases = tce_view_cases,
};

kunit_test_suites(&tce_view_suite);
