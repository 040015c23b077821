/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * <asm/iommu.h> of the out-of-tree build: the kernel's, plus what the
 * series adds to it (tree/0001-iommu.diff): the range operations of a
 * table, there optional callbacks of struct iommu_table_ops (xchg_range,
 * clear_range; their contract is documented there), with
 * iommu_tce_xchg_range() and iommu_tce_clear_range() to call them.
 *
 * A module cannot add callbacks to the kernel's iommu_table_ops, so here
 * the two functions (iommu_tce_range.c, linked into the VFIO backend) find
 * the range operations of a table with symbol_get(tce_range_ops_of), which
 * pseries_tce_ddw exports (ddw_module.c) for the tables it made, and use
 * tce_range_generic.c on every other table, as the kernel's do on a table
 * without the callbacks. The module's Kbuild puts this directory before
 * the kernel's headers (NOSTDINC_FLAGS), so the sources include
 * <asm/iommu.h> in both builds.
 */
#ifndef _COMPAT_ASM_IOMMU_H
#define _COMPAT_ASM_IOMMU_H

#include_next <asm/iommu.h>

/**
 * struct tce_range_entry - one entry of a range operation
 * @tce: host physical address | TCE_PCI_READ/WRITE, 0 for no mapping.
 * @ua: user address kept in the table's userspace view, 0 for none.
 */
struct tce_range_entry {
	unsigned long tce;
	unsigned long ua;
};

/* In @st after a failed exchange: the entry keeps its new value */
#define TCE_RANGE_STUCK		(~0UL)

int iommu_tce_xchg_range(struct iommu_table *tbl, unsigned long entry,
			 unsigned long n, struct tce_range_entry *st);
long iommu_tce_clear_range(struct iommu_table *tbl, unsigned long entry,
			   unsigned long n, struct tce_range_entry *old,
			   unsigned long max, unsigned long *nr);
int tce_range_generic_xchg(struct iommu_table *tbl, unsigned long entry,
			   unsigned long n, struct tce_range_entry *st);
long tce_range_generic_clear(struct iommu_table *tbl, unsigned long entry,
			     unsigned long n, struct tce_range_entry *old,
			     unsigned long max, unsigned long *nr);

/**
 * struct tce_range_ops - the range operations of the tables of a module
 * @exchange: as iommu_table_ops.xchg_range in tree.
 * @clear: as iommu_table_ops.clear_range in tree.
 */
struct tce_range_ops {
	int (*exchange)(struct iommu_table *tbl, unsigned long entry,
			unsigned long n, struct tce_range_entry *st);
	long (*clear)(struct iommu_table *tbl, unsigned long entry,
		      unsigned long n, struct tce_range_entry *old,
		      unsigned long max, unsigned long *nr);
};

/*
 * Exported by pseries_tce_ddw: the range operations of @tbl when that
 * module made it (they stay valid while the table lives: a table of ours
 * holds a reference on the module), otherwise NULL.
 */
const struct tce_range_ops *tce_range_ops_of(struct iommu_table *tbl);

#endif /* _COMPAT_ASM_IOMMU_H */
