/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Narrow TCE programming interface.
 *
 * A TCE backend writes translation control entries of one logical I/O bus
 * number (LIOBN). Every operation returns a hypervisor status (H_SUCCESS,
 * H_PARAMETER, H_HARDWARE, ...), never an errno: callers turn it into an
 * errno with tce_hstatus_to_errno() at the point where they report it.
 *
 * Implementations: tce_hcall.c (pSeries hypercalls) and the in-memory fake
 * of the KUnit suites.
 */
#ifndef _TCE_BACKEND_H
#define _TCE_BACKEND_H

#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/types.h>
#include <asm/hvcall.h>

struct dentry;

/*
 * TCEs in one 4K TCE list page: the most one put_many() (H_PUT_TCE_INDIRECT)
 * or stuff() (H_STUFF_TCE) call takes under PAPR
 */
#define TCE_BACKEND_MAX_BATCH	512

/**
 * struct tce_backend_ops - write and read TCEs of one LIOBN
 * @put: write one TCE at I/O bus address @ioba.
 * @put_many: write @npages (1..TCE_BACKEND_MAX_BATCH) TCEs starting at
 *	@ioba from @tces, a 4K-aligned, physically contiguous, linear-map
 *	buffer of big-endian TCEs (H_PUT_TCE_INDIRECT takes its real address).
 * @stuff: write the same TCE value @tce, without permission bits (0 to
 *	clear), into @npages consecutive entries starting at @ioba; @npages
 *	is 1..TCE_BACKEND_MAX_BATCH, the PAPR limit of H_STUFF_TCE that
 *	PowerVM enforces (QEMU takes up to the window size, which only the
 *	stuff_max_tces opt-in of tce_window.c relies on).
 * @get: read the TCE at @ioba into @tce.
 *
 * @ioba is a bus address, that is the entry number shifted by the IOMMU
 * page shift of the window. All callbacks may be called with a spinlock
 * held and must not sleep.
 *
 * @put and @get are mandatory. @put_many and @stuff are optional: NULL
 * means the platform does not offer them, and the caller then writes the
 * entries one by one with @put (the caller knows the IOMMU page size needed
 * to step the bus address, the backend does not).
 */
struct tce_backend_ops {
	long (*put)(unsigned long liobn, unsigned long ioba, u64 tce);
	long (*put_many)(unsigned long liobn, unsigned long ioba,
			 const __be64 *tces, unsigned long npages);
	long (*stuff)(unsigned long liobn, unsigned long ioba, u64 tce,
		      unsigned long npages);
	long (*get)(unsigned long liobn, unsigned long ioba, u64 *tce);
};

/**
 * enum tce_call - what a &struct tce_call_stats counts
 * @TCE_CALL_PUT: put() calls (H_PUT_TCE).
 * @TCE_CALL_PUT_MANY: put_many() calls (H_PUT_TCE_INDIRECT).
 * @TCE_CALL_STUFF: stuff() calls (H_STUFF_TCE).
 * @TCE_CALL_GET: get() calls (H_GET_TCE).
 * @TCE_CALL_FAILED: calls of any kind that returned a status other than
 *	H_SUCCESS.
 * @NR_TCE_CALL_COUNTERS: number of counters.
 */
enum tce_call {
	TCE_CALL_PUT,
	TCE_CALL_PUT_MANY,
	TCE_CALL_STUFF,
	TCE_CALL_GET,
	TCE_CALL_FAILED,
	NR_TCE_CALL_COUNTERS
};

/**
 * struct tce_call_stats - live counters of TCE backend calls
 * @n: calls by &enum tce_call.
 */
struct tce_call_stats {
	atomic64_t n[NR_TCE_CALL_COUNTERS];
};

/**
 * struct tce_call_counts - a sum of &struct tce_call_stats read at one time
 * @n: calls by &enum tce_call.
 */
struct tce_call_counts {
	u64 n[NR_TCE_CALL_COUNTERS];
};

/**
 * tce_call_count() - count one backend call
 * @stats: the counters.
 * @call: what was called (not TCE_CALL_FAILED).
 * @hstatus: what it returned.
 *
 * Return: @hstatus, so that a call can be counted where it is made.
 */
static inline long tce_call_count(struct tce_call_stats *stats,
				  enum tce_call call, long hstatus)
{
	atomic64_inc(&stats->n[call]);
	if (hstatus != H_SUCCESS)
		atomic64_inc(&stats->n[TCE_CALL_FAILED]);
	return hstatus;
}

/**
 * tce_call_stats_add_to() - add the counters to a sum
 * @stats: the counters.
 * @sum: what they are added to.
 */
static inline void tce_call_stats_add_to(const struct tce_call_stats *stats,
					 struct tce_call_counts *sum)
{
	int i;

	for (i = 0; i < NR_TCE_CALL_COUNTERS; i++)
		sum->n[i] += atomic64_read(&stats->n[i]);
}

/**
 * tce_call_stats_fold() - add counters that stop counting to others
 * @dst: the counters that keep the total.
 * @src: the counters of something that goes away.
 */
static inline void tce_call_stats_fold(struct tce_call_stats *dst,
				       const struct tce_call_stats *src)
{
	int i;

	for (i = 0; i < NR_TCE_CALL_COUNTERS; i++)
		atomic64_add(atomic64_read(&src->n[i]), &dst->n[i]);
}

const struct tce_backend_ops *tce_hcall_backend(void);
void tce_hcall_add_totals(struct tce_call_counts *sum);
bool tce_firmware_should_fail(void);
void tce_firmware_fault_debugfs(struct dentry *parent);

/**
 * tce_hstatus_to_errno() - map a hypervisor status to an errno
 * @hstatus: status returned by a &struct tce_backend_ops callback.
 *
 * Return: 0 for H_SUCCESS, -EINVAL for H_PARAMETER, -ENOSPC for
 * H_NOT_ENOUGH_RESOURCES and -EIO for H_HARDWARE and anything else.
 */
static inline int tce_hstatus_to_errno(long hstatus)
{
	switch (hstatus) {
	case H_SUCCESS:
		return 0;
	case H_PARAMETER:
		return -EINVAL;
	case H_NOT_ENOUGH_RESOURCES:
		return -ENOSPC;
	case H_HARDWARE:
	default:
		return -EIO;
	}
}

#endif /* _TCE_BACKEND_H */
