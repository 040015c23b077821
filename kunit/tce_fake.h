/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-memory fake of a TCE backend for the KUnit suites.
 *
 * A fake table stands for the TCE table of one LIOBN: an array of entries
 * covering the bus addresses [start, start + entries << page_shift). The
 * &struct tce_backend_ops callbacks only get a LIOBN, so the fakes live in
 * a small registry keyed by LIOBN.
 *
 * The callbacks validate their arguments as strictly as PAPR and PowerVM
 * (stricter than QEMU, which masks an unaligned I/O bus address and lets
 * H_STUFF_TCE clear a whole window) and answer H_PARAMETER for an unknown
 * LIOBN, an I/O bus address not aligned to the IOMMU page or a range not
 * inside the window, a put_many or stuff of 0 or more than
 * TCE_BACKEND_MAX_BATCH (512) entries, a TCE list that is not 4K aligned,
 * a TCE with bits set between the permission bits and the page shift, or a
 * stuff value with a permission bit (H_STUFF_TCE clears, as KVM enforces).
 * A refused call changes nothing and is counted (tce_fake_refused()). Every
 * call is counted per operation and recorded in a log (operation, I/O bus
 * address, count, values, status), and any call can be made to fail with
 * a chosen status: the Nth of one fake (tce_fake_fail()), or the Nth of
 * all fakes and of a test's own firmware calls (tce_fake_fail_nth()).
 */
#ifndef _TCE_FAKE_H
#define _TCE_FAKE_H

#include <linux/list.h>
#include <linux/types.h>

#include "tce_backend.h"

struct kunit;

/**
 * enum tce_fake_op - the operations of a TCE backend
 * @TCE_FAKE_PUT: &tce_backend_ops.put.
 * @TCE_FAKE_PUT_MANY: &tce_backend_ops.put_many.
 * @TCE_FAKE_STUFF: &tce_backend_ops.stuff.
 * @TCE_FAKE_GET: &tce_backend_ops.get.
 * @TCE_FAKE_NR_OPS: number of operations.
 * @TCE_FAKE_ANY: in a failure rule, a call of any operation.
 */
enum tce_fake_op {
	TCE_FAKE_PUT,
	TCE_FAKE_PUT_MANY,
	TCE_FAKE_STUFF,
	TCE_FAKE_GET,
	TCE_FAKE_NR_OPS,
	TCE_FAKE_ANY = TCE_FAKE_NR_OPS,
};

/* Backend features, for tce_fake_backend() */
#define TCE_FAKE_HAS_PUT_MANY	BIT(0)
#define TCE_FAKE_HAS_STUFF	BIT(1)
#define TCE_FAKE_HAS_ALL	(TCE_FAKE_HAS_PUT_MANY | TCE_FAKE_HAS_STUFF)

/* Failure rules a fake holds at once */
#define TCE_FAKE_MAX_RULES	4

/**
 * struct tce_fake_call - one recorded call
 * @op: the operation.
 * @seq: 1-based number of the call among all calls to this fake.
 * @ioba: I/O bus address argument.
 * @npages: number of entries (1 for put and get).
 * @tce: the value put or stuffed, the first value of a put_many, the value
 *	read by a get.
 * @vals: index of the first value of the call in the value log, valid
 *	when @nvals is not 0.
 * @nvals: number of values kept in the value log (@npages for put_many
 *	while the value log has room, 0 otherwise).
 * @status: the hypervisor status returned.
 * @injected: the status was injected by a failure rule.
 */
struct tce_fake_call {
	enum tce_fake_op op;
	unsigned long seq;
	unsigned long ioba;
	unsigned long npages;
	u64 tce;
	unsigned long vals;
	unsigned long nvals;
	long status;
	bool injected;
};

/**
 * struct tce_fake_rule - make one call fail
 * @op: operation the rule counts, or %TCE_FAKE_ANY.
 * @nth: the rule fires on the @nth (1-based) call of @op counted from the
 *	moment the rule was set; 0 when the slot is unused.
 * @seen: calls of @op counted so far.
 * @status: the hypervisor status to return.
 * @written: entries of the failing call written before it fails (clipped
 *	to its count), as a hypervisor that stops in the middle of a batch.
 * @fired: the rule has fired (it fires once).
 */
struct tce_fake_rule {
	enum tce_fake_op op;
	unsigned long nth;
	unsigned long seen;
	long status;
	unsigned long written;
	bool fired;
};

/**
 * struct tce_fake - a fake TCE table
 * @node: entry of the registry.
 * @liobn: the LIOBN it answers to.
 * @start: bus address of entry 0.
 * @entries: number of entries.
 * @page_shift: IOMMU page shift.
 * @tces: the entries, host byte order.
 * @calls: calls per &enum tce_fake_op, failed ones included.
 * @nr_calls: all calls.
 * @nr_failed: calls that did not return H_SUCCESS.
 * @nr_refused: calls refused with H_PARAMETER for breaking a PAPR rule.
 * @log: recorded calls, the first @log_cap of them.
 * @log_len: calls recorded in @log.
 * @log_cap: size of @log.
 * @val_log: values of the put_many calls recorded in @log.
 * @val_len: values recorded.
 * @val_cap: size of @val_log.
 * @rules: failure rules.
 */
struct tce_fake {
	struct list_head node;
	unsigned long liobn;
	u64 start;
	unsigned long entries;
	unsigned int page_shift;
	u64 *tces;
	unsigned long calls[TCE_FAKE_NR_OPS];
	unsigned long nr_calls;
	unsigned long nr_failed;
	unsigned long nr_refused;
	struct tce_fake_call *log;
	unsigned long log_len;
	unsigned long log_cap;
	u64 *val_log;
	unsigned long val_len;
	unsigned long val_cap;
	struct tce_fake_rule rules[TCE_FAKE_MAX_RULES];
};

struct tce_fake *tce_fake_create(struct kunit *test, unsigned long liobn,
				 u64 start, unsigned long entries,
				 unsigned int page_shift);
const struct tce_backend_ops *tce_fake_backend(unsigned int features);

void tce_fake_fail(struct tce_fake *fake, enum tce_fake_op op,
		   unsigned long nth, long status, unsigned long written);
void tce_fake_fail_nth(unsigned long nth, long status, unsigned long written);
long tce_fake_nth_point(void);
bool tce_fake_nth_fired(void);
void tce_fake_reset_log(struct tce_fake *fake);
unsigned long tce_fake_count(struct tce_fake *fake, enum tce_fake_op op);
unsigned long tce_fake_refused(struct tce_fake *fake);
const struct tce_fake_call *tce_fake_call(struct tce_fake *fake,
					  unsigned long i);
u64 tce_fake_call_value(struct tce_fake *fake,
			const struct tce_fake_call *call, unsigned long i);
u64 tce_fake_read(struct tce_fake *fake, unsigned long idx);
void tce_fake_write(struct tce_fake *fake, unsigned long idx, u64 tce);
unsigned long tce_fake_nonzero(struct tce_fake *fake);
unsigned long tce_fake_ioba(struct tce_fake *fake, unsigned long idx);
const char *tce_fake_op_name(enum tce_fake_op op);

#endif /* _TCE_FAKE_H */
