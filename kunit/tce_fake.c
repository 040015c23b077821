// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-memory fake of a TCE backend for the KUnit suites.
 * See tce_fake.h.
 */

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/align.h>
#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <asm/tce.h>

#include "tce_fake.h"

#define FAKE_LOG_CALLS		4096
#define FAKE_LOG_VALUES		32768
#define FAKE_LIST_ALIGN		4096
#define FAKE_PERM_BITS		((u64)(TCE_PCI_READ | TCE_PCI_WRITE))

/* The fakes alive, keyed by LIOBN; the lock also serialises their calls */
static LIST_HEAD(fake_registry);
static DEFINE_SPINLOCK(fake_lock);
/*
 * The rule of tce_fake_fail_nth(): it counts the calls of every fake and
 * the test's own points (tce_fake_nth_point()), under fake_lock
 */
static struct tce_fake_rule fake_nth_rule = { .op = TCE_FAKE_ANY };

static const char * const op_names[TCE_FAKE_NR_OPS + 1] = {
	[TCE_FAKE_PUT] = "put",
	[TCE_FAKE_PUT_MANY] = "put_many",
	[TCE_FAKE_STUFF] = "stuff",
	[TCE_FAKE_GET] = "get",
	[TCE_FAKE_ANY] = "any",
};

/**
 * tce_fake_op_name() - printable name of an operation
 * @op: the operation, or %TCE_FAKE_ANY.
 *
 * Return: a static string.
 */
const char *tce_fake_op_name(enum tce_fake_op op)
{
	return op <= TCE_FAKE_ANY ? op_names[op] : "?";
}

/* Called with fake_lock held */
static struct tce_fake *fake_find(unsigned long liobn)
{
	struct tce_fake *fake;

	list_for_each_entry(fake, &fake_registry, node)
		if (fake->liobn == liobn)
			return fake;
	return NULL;
}

/* Called with fake_lock held: does this call meet fake_nth_rule? */
static bool fake_nth_hit(void)
{
	struct tce_fake_rule *rule = &fake_nth_rule;

	if (!rule->nth || rule->fired || ++rule->seen != rule->nth)
		return false;
	rule->fired = true;
	return true;
}

/*
 * Called with fake_lock held: count the call, let the failure rules see
 * it. Returns the rule that makes it fail, or NULL.
 */
static struct tce_fake_rule *fake_account(struct tce_fake *fake,
					  enum tce_fake_op op)
{
	struct tce_fake_rule *hit = NULL, *rule;
	int i;

	fake->calls[op]++;
	fake->nr_calls++;

	for (i = 0; i < TCE_FAKE_MAX_RULES; i++) {
		rule = &fake->rules[i];
		if (!rule->nth || rule->fired)
			continue;
		if (rule->op != TCE_FAKE_ANY && rule->op != op)
			continue;
		if (++rule->seen == rule->nth && !hit) {
			rule->fired = true;
			hit = rule;
		}
	}
	if (fake_nth_hit() && !hit)
		hit = &fake_nth_rule;
	return hit;
}

/* Called with fake_lock held */
static void fake_log(struct tce_fake *fake, enum tce_fake_op op,
		     unsigned long ioba, unsigned long npages, u64 tce,
		     const __be64 *tces, long status, bool injected)
{
	struct tce_fake_call *call;
	unsigned long i;

	if (status != H_SUCCESS)
		fake->nr_failed++;
	if (status == H_PARAMETER && !injected)
		fake->nr_refused++;
	if (fake->log_len >= fake->log_cap)
		return;

	call = &fake->log[fake->log_len++];
	call->op = op;
	call->seq = fake->nr_calls;
	call->ioba = ioba;
	call->npages = npages;
	call->tce = tce;
	call->status = status;
	call->injected = injected;
	call->vals = 0;
	call->nvals = 0;
	if (!tces || npages > fake->val_cap - fake->val_len)
		return;

	call->vals = fake->val_len;
	call->nvals = npages;
	for (i = 0; i < npages; i++)
		fake->val_log[fake->val_len++] = be64_to_cpu(tces[i]);
}

/* Entry index of @ioba for a batch of @npages, or -1 when out of window */
static long fake_index(struct tce_fake *fake, unsigned long ioba,
		       unsigned long npages)
{
	unsigned long idx;

	if (ioba < fake->start)
		return -1;
	if (!IS_ALIGNED(ioba - fake->start, 1UL << fake->page_shift))
		return -1;
	idx = (ioba - fake->start) >> fake->page_shift;
	if (idx >= fake->entries || npages > fake->entries - idx)
		return -1;
	return idx;
}

/* A TCE may carry the permission bits and a page-aligned real address */
static bool fake_tce_valid(struct tce_fake *fake, u64 tce)
{
	u64 reserved = ((1ULL << fake->page_shift) - 1) & ~FAKE_PERM_BITS;

	return !(tce & reserved);
}

/*
 * What H_STUFF_TCE accepts: 1..512 entries inside the window (PAPR; QEMU
 * would take up to the window size), a value without permission bits (KVM's
 * kvmppc_h_stuff_tce() refuses them: stuff clears or poisons, it does not
 * map). Returns the entry index of @ioba, or -1.
 */
static long fake_stuff_index(struct tce_fake *fake, unsigned long ioba,
			     u64 tce, unsigned long npages)
{
	if (!npages || npages > TCE_BACKEND_MAX_BATCH)
		return -1;
	if ((tce & FAKE_PERM_BITS) || !fake_tce_valid(fake, tce))
		return -1;
	return fake_index(fake, ioba, npages);
}

/*
 * What H_PUT_TCE_INDIRECT accepts: 1..512 entries inside the window, from a
 * 4K-aligned list (the TCEs themselves are checked one by one). Returns the
 * entry index of @ioba, or -1.
 */
static long fake_put_many_index(struct tce_fake *fake, unsigned long ioba,
				const __be64 *tces, unsigned long npages)
{
	if (!npages || npages > TCE_BACKEND_MAX_BATCH)
		return -1;
	if (!tces || !IS_ALIGNED((unsigned long)tces, FAKE_LIST_ALIGN))
		return -1;
	return fake_index(fake, ioba, npages);
}

static long fake_put(unsigned long liobn, unsigned long ioba, u64 tce)
{
	struct tce_fake_rule *rule;
	struct tce_fake *fake;
	long idx, rc = H_SUCCESS;

	spin_lock(&fake_lock);
	fake = fake_find(liobn);
	if (!fake) {
		spin_unlock(&fake_lock);
		return H_PARAMETER;
	}
	rule = fake_account(fake, TCE_FAKE_PUT);
	idx = fake_index(fake, ioba, 1);
	if (rule)
		rc = rule->status;
	else if (idx < 0 || !fake_tce_valid(fake, tce))
		rc = H_PARAMETER;
	else
		fake->tces[idx] = tce;
	fake_log(fake, TCE_FAKE_PUT, ioba, 1, tce, NULL, rc, rule);
	spin_unlock(&fake_lock);
	return rc;
}

static long fake_put_many(unsigned long liobn, unsigned long ioba,
			  const __be64 *tces, unsigned long npages)
{
	struct tce_fake_rule *rule;
	struct tce_fake *fake;
	unsigned long i, n;
	long idx, rc = H_SUCCESS;
	bool ok;

	spin_lock(&fake_lock);
	fake = fake_find(liobn);
	if (!fake) {
		spin_unlock(&fake_lock);
		return H_PARAMETER;
	}
	rule = fake_account(fake, TCE_FAKE_PUT_MANY);
	idx = fake_put_many_index(fake, ioba, tces, npages);
	ok = idx >= 0;
	n = ok ? npages : 0;
	if (rule) {
		rc = rule->status;
		n = min(n, rule->written);
	}
	for (i = 0; ok && i < n; i++) {
		if (!fake_tce_valid(fake, be64_to_cpu(tces[i]))) {
			rc = H_PARAMETER;
			break;
		}
		fake->tces[idx + i] = be64_to_cpu(tces[i]);
	}
	if (!ok)
		rc = rule ? rule->status : H_PARAMETER;
	fake_log(fake, TCE_FAKE_PUT_MANY, ioba, npages,
		 tces && npages ? be64_to_cpu(tces[0]) : 0,
		 npages <= TCE_BACKEND_MAX_BATCH ? tces : NULL, rc, rule);
	spin_unlock(&fake_lock);
	return rc;
}

static long fake_stuff(unsigned long liobn, unsigned long ioba, u64 tce,
		       unsigned long npages)
{
	struct tce_fake_rule *rule;
	struct tce_fake *fake;
	unsigned long i, n;
	long idx, rc = H_SUCCESS;
	bool ok;

	spin_lock(&fake_lock);
	fake = fake_find(liobn);
	if (!fake) {
		spin_unlock(&fake_lock);
		return H_PARAMETER;
	}
	rule = fake_account(fake, TCE_FAKE_STUFF);
	idx = fake_stuff_index(fake, ioba, tce, npages);
	ok = idx >= 0;
	n = ok ? npages : 0;
	if (rule) {
		rc = rule->status;
		n = min(n, rule->written);
	} else if (!ok) {
		rc = H_PARAMETER;
	}
	for (i = 0; i < n; i++)
		fake->tces[idx + i] = tce;
	fake_log(fake, TCE_FAKE_STUFF, ioba, npages, tce, NULL, rc, rule);
	spin_unlock(&fake_lock);
	return rc;
}

static long fake_get(unsigned long liobn, unsigned long ioba, u64 *tce)
{
	struct tce_fake_rule *rule;
	struct tce_fake *fake;
	long idx, rc = H_SUCCESS;

	spin_lock(&fake_lock);
	fake = fake_find(liobn);
	if (!fake) {
		spin_unlock(&fake_lock);
		return H_PARAMETER;
	}
	rule = fake_account(fake, TCE_FAKE_GET);
	idx = fake_index(fake, ioba, 1);
	if (rule)
		rc = rule->status;
	else if (idx < 0)
		rc = H_PARAMETER;
	else
		*tce = fake->tces[idx];
	fake_log(fake, TCE_FAKE_GET, ioba, 1, rc ? 0 : *tce, NULL, rc, rule);
	spin_unlock(&fake_lock);
	return rc;
}

static const struct tce_backend_ops fake_ops[] = {
	[0] = {
		.put = fake_put,
		.get = fake_get,
	},
	[TCE_FAKE_HAS_PUT_MANY] = {
		.put = fake_put,
		.put_many = fake_put_many,
		.get = fake_get,
	},
	[TCE_FAKE_HAS_STUFF] = {
		.put = fake_put,
		.stuff = fake_stuff,
		.get = fake_get,
	},
	[TCE_FAKE_HAS_ALL] = {
		.put = fake_put,
		.put_many = fake_put_many,
		.stuff = fake_stuff,
		.get = fake_get,
	},
};

/**
 * tce_fake_backend() - backend operations over the registered fakes
 * @features: %TCE_FAKE_HAS_PUT_MANY and/or %TCE_FAKE_HAS_STUFF; without
 *	them the matching callbacks are NULL, as on a platform without
 *	H_PUT_TCE_INDIRECT or H_STUFF_TCE.
 *
 * Return: static operations; every callback finds its fake by LIOBN.
 */
const struct tce_backend_ops *tce_fake_backend(unsigned int features)
{
	return &fake_ops[features & TCE_FAKE_HAS_ALL];
}

static void fake_destroy(void *data)
{
	struct tce_fake *fake = data;

	spin_lock(&fake_lock);
	list_del(&fake->node);
	spin_unlock(&fake_lock);
	kvfree(fake->val_log);
	kvfree(fake->log);
	kvfree(fake->tces);
	kfree(fake);
}

/**
 * tce_fake_create() - create and register a fake TCE table
 * @test: the test; the fake is unregistered and freed when it ends.
 * @liobn: LIOBN the fake answers to; must not be in use by another fake.
 * @start: bus address of entry 0, aligned to the page size.
 * @entries: number of entries, at least 1.
 * @page_shift: IOMMU page shift.
 *
 * All entries start at 0 (no translation), no call is logged, no rule set.
 * Fails the test (assertion) when memory is short or @liobn is taken.
 *
 * Context: process context, may sleep.
 * Return: the fake.
 */
struct tce_fake *tce_fake_create(struct kunit *test, unsigned long liobn,
				 u64 start, unsigned long entries,
				 unsigned int page_shift)
{
	struct tce_fake *fake;
	bool taken;
	int ret;

	KUNIT_ASSERT_GT(test, entries, 0);
	KUNIT_ASSERT_TRUE(test, IS_ALIGNED(start, 1ULL << page_shift));

	fake = kzalloc_obj(*fake);
	KUNIT_ASSERT_NOT_NULL(test, fake);
	INIT_LIST_HEAD(&fake->node);
	fake->liobn = liobn;
	fake->start = start;
	fake->entries = entries;
	fake->page_shift = page_shift;
	fake->log_cap = FAKE_LOG_CALLS;
	fake->val_cap = FAKE_LOG_VALUES;
	fake->tces = kvcalloc(entries, sizeof(*fake->tces), GFP_KERNEL);
	fake->log = kvcalloc(fake->log_cap, sizeof(*fake->log), GFP_KERNEL);
	fake->val_log = kvcalloc(fake->val_cap, sizeof(*fake->val_log),
				 GFP_KERNEL);

	spin_lock(&fake_lock);
	taken = fake_find(liobn);
	if (!taken)
		list_add(&fake->node, &fake_registry);
	spin_unlock(&fake_lock);

	ret = kunit_add_action_or_reset(test, fake_destroy, fake);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_ASSERT_FALSE_MSG(test, taken, "LIOBN %#lx already has a fake",
			       liobn);
	KUNIT_ASSERT_NOT_NULL(test, fake->tces);
	KUNIT_ASSERT_NOT_NULL(test, fake->log);
	KUNIT_ASSERT_NOT_NULL(test, fake->val_log);
	return fake;
}

/**
 * tce_fake_fail() - make a future call fail
 * @fake: the fake.
 * @op: operation to count, or %TCE_FAKE_ANY for every call.
 * @nth: fail the @nth call of @op from now on (1 is the next one).
 * @status: hypervisor status the failing call returns.
 * @written: for put_many and stuff, entries written before the failure
 *	(0: nothing changes in the table).
 *
 * Up to %TCE_FAKE_MAX_RULES rules may be pending; each fires once.
 */
void tce_fake_fail(struct tce_fake *fake, enum tce_fake_op op,
		   unsigned long nth, long status, unsigned long written)
{
	struct tce_fake_rule *rule;
	int i;

	spin_lock(&fake_lock);
	for (i = 0; i < TCE_FAKE_MAX_RULES; i++) {
		rule = &fake->rules[i];
		if (rule->nth && !rule->fired)
			continue;
		rule->op = op;
		rule->nth = nth;
		rule->seen = 0;
		rule->status = status;
		rule->written = written;
		rule->fired = false;
		break;
	}
	spin_unlock(&fake_lock);
	WARN_ON(i == TCE_FAKE_MAX_RULES);
}

/**
 * tce_fake_fail_nth() - make the Nth call of any fake fail
 * @nth: fail the @nth call from now on (1 is the next one), counting the
 *	calls of every fake and the points of tce_fake_nth_point(); 0 turns
 *	the rule off.
 * @status: hypervisor status the failing call returns.
 * @written: for put_many and stuff, entries written before the failure
 *	(0: the failing call changes nothing).
 *
 * One such rule exists, for a fail-the-Nth sweep over an operation that
 * reaches several fakes (a window and its mirrors). It fires once.
 */
void tce_fake_fail_nth(unsigned long nth, long status, unsigned long written)
{
	spin_lock(&fake_lock);
	fake_nth_rule.nth = nth;
	fake_nth_rule.seen = 0;
	fake_nth_rule.status = status;
	fake_nth_rule.written = written;
	fake_nth_rule.fired = false;
	spin_unlock(&fake_lock);
}

/**
 * tce_fake_nth_point() - count a firmware call the fakes do not see
 *
 * For a test's own firmware calls (the RTAS calls of a mock platform), so
 * that tce_fake_fail_nth() counts them with the TCE calls.
 *
 * Return: the status the call must fail with, or H_SUCCESS.
 */
long tce_fake_nth_point(void)
{
	long status = H_SUCCESS;

	spin_lock(&fake_lock);
	if (fake_nth_hit())
		status = fake_nth_rule.status;
	spin_unlock(&fake_lock);
	return status;
}

/**
 * tce_fake_nth_fired() - has the rule of tce_fake_fail_nth() fired?
 *
 * Return: true once the Nth call has failed.
 */
bool tce_fake_nth_fired(void)
{
	bool fired;

	spin_lock(&fake_lock);
	fired = fake_nth_rule.fired;
	spin_unlock(&fake_lock);
	return fired;
}

/**
 * tce_fake_reset_log() - forget the calls made so far
 * @fake: the fake.
 *
 * Clears the log and the call counters; the table and the pending failure
 * rules are kept.
 */
void tce_fake_reset_log(struct tce_fake *fake)
{
	spin_lock(&fake_lock);
	memset(fake->calls, 0, sizeof(fake->calls));
	fake->nr_calls = 0;
	fake->nr_failed = 0;
	fake->nr_refused = 0;
	fake->log_len = 0;
	fake->val_len = 0;
	spin_unlock(&fake_lock);
}

/**
 * tce_fake_count() - calls of one operation since the last reset
 * @fake: the fake.
 * @op: the operation, or %TCE_FAKE_ANY for all calls.
 *
 * Return: the number of calls, failed ones included.
 */
unsigned long tce_fake_count(struct tce_fake *fake, enum tce_fake_op op)
{
	unsigned long n;

	spin_lock(&fake_lock);
	n = op == TCE_FAKE_ANY ? fake->nr_calls : fake->calls[op];
	spin_unlock(&fake_lock);
	return n;
}

/**
 * tce_fake_refused() - calls the fake refused as the hypervisor would
 * @fake: the fake.
 *
 * Return: calls since the last reset that broke a PAPR rule and got
 * H_PARAMETER (a failure rule's injected status is not counted).
 */
unsigned long tce_fake_refused(struct tce_fake *fake)
{
	unsigned long n;

	spin_lock(&fake_lock);
	n = fake->nr_refused;
	spin_unlock(&fake_lock);
	return n;
}

/**
 * tce_fake_call() - one recorded call
 * @fake: the fake.
 * @i: 0-based position in the log.
 *
 * Return: the record, or NULL past the end of the log.
 */
const struct tce_fake_call *tce_fake_call(struct tce_fake *fake,
					  unsigned long i)
{
	return i < fake->log_len ? &fake->log[i] : NULL;
}

/**
 * tce_fake_call_value() - one value passed to a recorded put_many
 * @fake: the fake.
 * @call: a record from tce_fake_call().
 * @i: 0-based position in the batch.
 *
 * Return: the value (host byte order), or 0 when it was not kept.
 */
u64 tce_fake_call_value(struct tce_fake *fake,
			const struct tce_fake_call *call, unsigned long i)
{
	return i < call->nvals ? fake->val_log[call->vals + i] : 0;
}

/**
 * tce_fake_read() - the value an entry holds in the fake table
 * @fake: the fake.
 * @idx: entry index, 0 .. entries - 1.
 *
 * Return: the value, or 0 for an index out of the table.
 */
u64 tce_fake_read(struct tce_fake *fake, unsigned long idx)
{
	u64 val;

	if (idx >= fake->entries)
		return 0;
	spin_lock(&fake_lock);
	val = fake->tces[idx];
	spin_unlock(&fake_lock);
	return val;
}

/**
 * tce_fake_write() - change an entry behind the backend's back
 * @fake: the fake.
 * @idx: entry index, 0 .. entries - 1.
 * @tce: the value.
 *
 * Neither counted nor logged, as firmware or another user changing the
 * table.
 */
void tce_fake_write(struct tce_fake *fake, unsigned long idx, u64 tce)
{
	if (idx >= fake->entries)
		return;
	spin_lock(&fake_lock);
	fake->tces[idx] = tce;
	spin_unlock(&fake_lock);
}

/**
 * tce_fake_nonzero() - entries of the fake table holding a translation
 * @fake: the fake.
 *
 * Return: the number of non-zero entries.
 */
unsigned long tce_fake_nonzero(struct tce_fake *fake)
{
	unsigned long i, n = 0;

	spin_lock(&fake_lock);
	for (i = 0; i < fake->entries; i++)
		n += !!fake->tces[i];
	spin_unlock(&fake_lock);
	return n;
}

/**
 * tce_fake_ioba() - bus address of an entry
 * @fake: the fake.
 * @idx: entry index.
 *
 * Return: start + (@idx << page_shift).
 */
unsigned long tce_fake_ioba(struct tce_fake *fake, unsigned long idx)
{
	return fake->start + ((u64)idx << fake->page_shift);
}

MODULE_DESCRIPTION("KUnit suites of the pSeries TCE window and userspace view");
MODULE_LICENSE("GPL");
