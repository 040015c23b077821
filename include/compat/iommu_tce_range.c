// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommu_tce_xchg_range() and iommu_tce_clear_range() of the out-of-tree
 * VFIO backend (see asm/iommu.h here): the range operations of
 * pseries_tce_ddw on a table it made, looked up with symbol_get() so that
 * the backend neither depends on that module nor keeps it loaded, the
 * generic ones (tce_range_generic.c) on any other table.
 */

#include <linux/module.h>

#include <asm/iommu.h>

/*
 * The range operations of pseries_tce_ddw for @tbl, or NULL. The module
 * reference symbol_get() took is dropped at once: the operations stay
 * valid while the caller holds @tbl, which pins the module that made it.
 * It is dropped by address: symbol_put() would look the name up again,
 * and the two lookups were most of a one-page MAP_DMA (make bench).
 */
static const struct tce_range_ops *range_ops_of(struct iommu_table *tbl)
{
	const struct tce_range_ops *(*ops_of)(struct iommu_table *tbl);
	const struct tce_range_ops *ops;

	ops_of = symbol_get(tce_range_ops_of);
	if (!ops_of)
		return NULL;
	ops = ops_of(tbl);
	symbol_put_addr(ops_of);
	return ops;
}

/**
 * iommu_tce_xchg_range() - exchange the TCEs and user addresses of a range
 * @tbl: the table.
 * @entry: first absolute entry.
 * @n: number of entries.
 * @st: @n new values in, the old ones out.
 *
 * Context: process context, may sleep.
 * Return: 0 or a negative errno.
 */
int iommu_tce_xchg_range(struct iommu_table *tbl, unsigned long entry,
			 unsigned long n, struct tce_range_entry *st)
{
	const struct tce_range_ops *ops = range_ops_of(tbl);

	if (ops)
		return ops->exchange(tbl, entry, n, st);
	return tce_range_generic_xchg(tbl, entry, n, st);
}

/**
 * iommu_tce_clear_range() - clear the entries of a range that hold something
 * @tbl: the table.
 * @entry: first absolute entry.
 * @n: number of entries.
 * @old: what the cleared entries held, from @old[*@nr] on.
 * @max: size of @old.
 * @nr: entries in @old.
 *
 * Context: process context.
 * Return: entries gone through, or a negative errno.
 */
long iommu_tce_clear_range(struct iommu_table *tbl, unsigned long entry,
			   unsigned long n, struct tce_range_entry *old,
			   unsigned long max, unsigned long *nr)
{
	const struct tce_range_ops *ops = range_ops_of(tbl);

	if (ops)
		return ops->clear(tbl, entry, n, old, max, nr);
	return tce_range_generic_clear(tbl, entry, n, old, max, nr);
}
