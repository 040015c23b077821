/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Range operations on the TCE tables of pseries_tce_ddw.
 *
 * A VFIO backend maps and clears through iommu_tce_xchg_no_kill() one entry
 * at a time, and keeps the user address of each entry through
 * it_ops->useraddrptr(). On a table of ours both live in the sparse view
 * (tce_userspace_view.h), so the same work can be done for a whole range
 * with one lock per chunk of the view. The backend finds these operations
 * with symbol_get(tce_range_ops_of), so that it still loads and runs over
 * platform ops that are not ours (through tce_range_generic_ops, which do
 * the same entry by entry on the iommu_table_ops). The returned operations
 * stay valid while the caller holds the table: a table of ours pins the
 * module that made it.
 *
 * Both write the hardware before they return: an exchange its new TCEs (one
 * H_PUT_TCE_INDIRECT per 512 entries), a clear its zeros (one H_STUFF_TCE
 * per 512-entry chunk), so neither needs iommu_tce_kill(), and what a
 * cleared entry referenced can be released as soon as the clear returns.
 * Neither marks pages dirty; that is the caller's business.
 */
#ifndef _ASM_POWERPC_TCE_RANGE_H
#define _ASM_POWERPC_TCE_RANGE_H

#include <linux/types.h>

struct iommu_table;

/**
 * struct tce_range_entry - one entry of a table as a range operation sees it
 * @tce: host physical address | TCE_PCI_READ/WRITE, 0 for no mapping.
 * @ua: user address kept in the userspace view, 0 for none.
 */
struct tce_range_entry {
	unsigned long tce;
	unsigned long ua;
};

/*
 * In @st after a failed exchange: the entry could not be put back and keeps
 * its new TCE and user address (see &tce_range_ops.exchange).
 */
#define TCE_RANGE_STUCK		(~0UL)

/**
 * struct tce_range_ops - range operations on one kind of table
 * @exchange: exchange entries @entry .. @entry + @n - 1 (absolute entry
 *	numbers) with @st[0 .. @n - 1] and write the new TCEs to the
 *	hardware: on success each @st[i] holds the previous TCE and user
 *	address of its entry. All or nothing: on failure (-EINVAL for a
 *	range outside the window, -ENOMEM, or the errno of a failed
 *	hypercall) the table and @st are as they were; after a failed
 *	hypercall the hardware holds the old TCEs again only once the caller
 *	has called iommu_tce_kill() on the range. One exception: an entry
 *	the table refuses to take its old value back keeps the new one, and
 *	its @st gets TCE_RANGE_STUCK as TCE, so that the caller keeps what
 *	the new value references (a leak, never a use-after-free). Process
 *	context, may sleep.
 * @clear: clear the entries of @entry .. @entry + @n - 1 that hold a TCE or
 *	a user address, in the table and in the hardware, storing what they
 *	held in @old[*@nr ..] and counting them in *@nr, until *@nr reaches
 *	@max. Returns how many entries it went through (@n, or fewer when
 *	@old became full), or a negative errno: -EINVAL for a range outside
 *	the window, or that of a hypercall the hardware refused. Per entry:
 *	an entry counted in @old is cleared in the hardware; an entry the
 *	hardware may still map is not counted and keeps its TCE and user
 *	address, so the caller keeps what it references. Process or atomic
 *	context.
 */
struct tce_range_ops {
	int (*exchange)(struct iommu_table *tbl, unsigned long entry,
			unsigned long n, struct tce_range_entry *st);
	long (*clear)(struct iommu_table *tbl, unsigned long entry,
		      unsigned long n, struct tce_range_entry *old,
		      unsigned long max, unsigned long *nr);
};

const struct tce_range_ops *tce_range_ops_of(struct iommu_table *tbl);

/*
 * The same operations for any table, on the iommu_table_ops contract
 * (xchg_no_kill, useraddrptr, tce_kill): tce_range_generic.c, part of the
 * VFIO backend. Process context only.
 */
extern const struct tce_range_ops tce_range_generic_ops;

#endif /* _ASM_POWERPC_TCE_RANGE_H */
