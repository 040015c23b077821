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

#include <linux/errno.h>
#include <linux/types.h>
#include <asm/hvcall.h>

/* TCEs in one 4K TCE list page, the most one put_many() call accepts */
#define TCE_BACKEND_MAX_BATCH	512

/**
 * struct tce_backend_ops - write and read TCEs of one LIOBN
 * @put: write one TCE at I/O bus address @ioba.
 * @put_many: write @npages (1..TCE_BACKEND_MAX_BATCH) TCEs starting at
 *	@ioba from @tces, a 4K-aligned, physically contiguous, linear-map
 *	buffer of big-endian TCEs (H_PUT_TCE_INDIRECT takes its real address).
 * @stuff: write the same TCE value @tce into @npages consecutive entries
 *	starting at @ioba; @npages is at least 1 and at most what is left of
 *	the window (H_STUFF_TCE has no 512 limit, that is the TCE list of
 *	H_PUT_TCE_INDIRECT).
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
 * struct tce_hcall_stats - hypercalls made by the hypercall backend
 * @put: H_PUT_TCE calls.
 * @put_many: H_PUT_TCE_INDIRECT calls.
 * @stuff: H_STUFF_TCE calls.
 * @get: H_GET_TCE calls.
 * @failed: calls that returned a status other than H_SUCCESS.
 */
struct tce_hcall_stats {
	u64 put;
	u64 put_many;
	u64 stuff;
	u64 get;
	u64 failed;
};

const struct tce_backend_ops *tce_hcall_backend(void);
void tce_hcall_read_stats(struct tce_hcall_stats *stats);

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
