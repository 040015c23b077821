// SPDX-License-Identifier: GPL-2.0-only
/*
 * The range operations of iommu_table_ops (xchg_range, clear_range) for a
 * table without them, built only on the entry-by-entry contract:
 * it_ops->xchg_no_kill() per entry, it_ops->useraddrptr() for the user
 * address of each entry when the table keeps them, and iommu_tce_kill()
 * for the range before returning, so that both operations have written
 * the hardware when they return, as struct iommu_table_ops asks.
 * iommu_tce_xchg_range() and iommu_tce_clear_range() use them on every
 * table whose ops have no range operations of their own.
 *
 * The exchange goes through it_ops->xchg_no_kill() rather than
 * iommu_tce_xchg_no_kill(): the latter only adds marking the old page
 * dirty, which the range operations leave to the caller (it needs the mm,
 * which a range operation does not get).
 */

#include <linux/dma-direction.h>
#include <linux/errno.h>
#include <linux/printk.h>

#include <asm/iommu.h>
#include <asm/tce.h>

#define GENERIC_PERM_MASK	(TCE_PCI_READ | TCE_PCI_WRITE)

/* Is [entry, entry + n) inside the table? */
static bool generic_range_ok(const struct iommu_table *tbl,
			     unsigned long entry, unsigned long n)
{
	return entry >= tbl->it_offset && n &&
	       entry - tbl->it_offset < tbl->it_size &&
	       n <= tbl->it_size - (entry - tbl->it_offset);
}

/* The user-address slot of @entry (made if @alloc), NULL without one */
static __be64 *generic_slot(struct iommu_table *tbl, unsigned long entry,
			    bool alloc)
{
	if (!tbl->it_ops->useraddrptr)
		return NULL;
	return tbl->it_ops->useraddrptr(tbl, entry, alloc);
}

/*
 * Exchange the TCE and user address of @entry with @e. A zero user address
 * is stored before the exchange, which may free a slot it empties; a new
 * one after it, in a slot made first. On failure nothing changed.
 */
static int generic_xchg_one(struct iommu_table *tbl, unsigned long entry,
			    struct tce_range_entry *e)
{
	enum dma_data_direction dir = iommu_tce_direction(e->tce);
	unsigned long hpa = dir == DMA_NONE ? 0 : e->tce & ~GENERIC_PERM_MASK;
	__be64 *pua = generic_slot(tbl, entry, e->ua);
	unsigned long ua = pua ? be64_to_cpu(*pua) : 0;
	long ret;

	if (e->ua && tbl->it_ops->useraddrptr && !pua)
		return -ENOMEM;
	if (!e->ua && pua)
		*pua = 0;
	ret = tbl->it_ops->xchg_no_kill(tbl, entry, &hpa, &dir);
	if (ret) {
		if (!e->ua && pua)
			*pua = cpu_to_be64(ua);
		return ret;
	}
	if (e->ua && pua)
		*pua = cpu_to_be64(e->ua);
	e->tce = dir == DMA_NONE ? 0 : hpa | iommu_direction_to_tce_perm(dir);
	e->ua = ua;
	return 0;
}

/*
 * Exchange back the first @n entries of a failed exchange. An entry the
 * table refuses to take back keeps its new value: its @st says so with
 * TCE_RANGE_STUCK.
 */
static void generic_undo(struct iommu_table *tbl, unsigned long entry,
			 unsigned long n, struct tce_range_entry *st)
{
	while (n--) {
		if (!generic_xchg_one(tbl, entry + n, &st[n]))
			continue;
		pr_err_ratelimited("tce_range: entry %lx of liobn %lx cannot be put back, its new page stays referenced\n",
				   entry + n, tbl->it_index);
		st[n].tce = TCE_RANGE_STUCK;
	}
}

/**
 * tce_range_generic_xchg() - iommu_table_ops.xchg_range on xchg_no_kill
 * @tbl: the table.
 * @entry: first absolute entry.
 * @n: number of entries.
 * @st: @n new values in, the old ones out.
 *
 * See struct iommu_table_ops.
 *
 * Context: process context, may sleep.
 * Return: 0 or a negative errno.
 */
int tce_range_generic_xchg(struct iommu_table *tbl, unsigned long entry,
			   unsigned long n, struct tce_range_entry *st)
{
	unsigned long i;
	int ret = 0;

	if (!generic_range_ok(tbl, entry, n))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		ret = generic_xchg_one(tbl, entry + i, &st[i]);
		if (ret)
			break;
	}
	if (ret)
		generic_undo(tbl, entry, i, st);
	if (i)
		iommu_tce_kill(tbl, entry, i);
	return ret;
}

/*
 * Entries known to hold nothing from @entry on, by the table's user
 * addresses: 0 when @entry may hold something (always without them). A
 * table keeps no slot for a whole block of it_level_size entries that
 * hold nothing.
 */
static unsigned long generic_empty_span(struct iommu_table *tbl,
					unsigned long entry)
{
	unsigned long block = tbl->it_level_size;
	__be64 *pua;

	if (!tbl->it_ops->useraddrptr)
		return 0;
	pua = generic_slot(tbl, entry, false);
	if (pua)
		return *pua ? 0 : 1;
	if (!block || !is_power_of_2(block))
		return 1;
	return block - ((entry - tbl->it_offset) & (block - 1));
}

/**
 * tce_range_generic_clear() - iommu_table_ops.clear_range on xchg_no_kill
 * @tbl: the table.
 * @entry: first absolute entry.
 * @n: number of entries.
 * @old: what the cleared entries held, from @old[*@nr] on.
 * @max: size of @old.
 * @nr: entries in @old.
 *
 * See struct iommu_table_ops.
 *
 * Context: process context, may sleep.
 * Return: entries gone through, or a negative errno.
 */
long tce_range_generic_clear(struct iommu_table *tbl, unsigned long entry,
			     unsigned long n, struct tce_range_entry *old,
			     unsigned long max, unsigned long *nr)
{
	unsigned long e = entry, end = entry + n, lo = end, hi = 0, skip;
	struct tce_range_entry cur;
	int ret = 0;

	if (!generic_range_ok(tbl, entry, n))
		return -EINVAL;
	for (; e < end && *nr < max; e += skip) {
		skip = min(generic_empty_span(tbl, e), end - e);
		if (skip)
			continue;
		skip = 1;
		cur = (struct tce_range_entry){ 0 };
		ret = generic_xchg_one(tbl, e, &cur);
		if (ret)
			break;
		if (!cur.tce && !cur.ua)
			continue;
		old[(*nr)++] = cur;
		lo = min(lo, e);
		hi = e;
	}
	/* What was taken into @old is cleared in the hardware now */
	if (lo < end)
		iommu_tce_kill(tbl, lo, hi - lo + 1);
	return ret ? ret : e - entry;
}
