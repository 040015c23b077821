// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommu_tce_xchg_range() and iommu_tce_clear_range() of the out-of-tree
 * VFIO backend (see asm/iommu.h here): the range operations of
 * pseries_tce_ddw on a table it made, the generic ones
 * (tce_range_generic.c) on any other table.
 *
 * pseries_tce_ddw's tce_range_ops_of() is looked up with symbol_get(), so
 * that the backend neither depends on that module nor keeps it loaded. A
 * lookup searches every exported name, and one per range operation was
 * most of a one-page MAP_DMA (make bench), so the address found is kept:
 *
 * - it is stored while the reference symbol_get() took is held, so the
 *   module is live then and cannot begin to unload (under a spinlock:
 *   iommu_tce_clear_range() does not promise its callers it may sleep);
 * - a module notifier forgets it when its module goes (MODULE_STATE_GOING,
 *   before the module's memory is freed);
 * - it is read and called under rcu_read_lock(): free_module() waits for
 *   a grace period after that notifier, so a call that read it before it
 *   was forgotten ends before the code goes.
 *
 * The operations it returns stay valid after rcu_read_unlock() for as long
 * as the caller holds the table, which pins the module that made it.
 *
 * A lookup that finds nothing is remembered too (our backend over the
 * in-tree ops paid it on every range operation), until a module goes live
 * (MODULE_STATE_LIVE, after which symbol_get() finds its symbols): the
 * notifier counts those, and a failed lookup is remembered only when none
 * went live since before it began.
 */

#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>

#include <asm/iommu.h>

#include "iommu_tce_range.h"

/*
 * The kept tce_range_ops_of(), NULL when unknown; written under ops_of_lock.
 * A void pointer, which RCU's accessors take: they cannot mark a function.
 */
static void __rcu *kept_ops_of;
/* No tce_range_ops_of() found since the last module went live */
static bool ops_of_absent;
/* Modules gone live since load; under ops_of_lock */
static unsigned long modules_gone_live;
static DEFINE_SPINLOCK(ops_of_lock);

static void ops_of_keep(typeof(tce_range_ops_of) *fn)
{
	spin_lock(&ops_of_lock);
	rcu_assign_pointer(kept_ops_of, fn);
	spin_unlock(&ops_of_lock);
}

/* Remember that a lookup begun when @live modules had gone live found nothing */
static void ops_of_keep_absent(unsigned long live)
{
	spin_lock(&ops_of_lock);
	if (live == modules_gone_live)
		WRITE_ONCE(ops_of_absent, true);
	spin_unlock(&ops_of_lock);
}

static unsigned long ops_of_modules_gone_live(void)
{
	unsigned long live;

	spin_lock(&ops_of_lock);
	live = modules_gone_live;
	spin_unlock(&ops_of_lock);
	return live;
}

static int ops_of_module_event(struct notifier_block *nb, unsigned long state,
			       void *data)
{
	struct module *mod = data;
	void *fn;

	if (state != MODULE_STATE_GOING && state != MODULE_STATE_LIVE)
		return NOTIFY_DONE;
	spin_lock(&ops_of_lock);
	if (state == MODULE_STATE_LIVE) {
		/* its symbols can be found now */
		modules_gone_live++;
		WRITE_ONCE(ops_of_absent, false);
	} else {
		fn = rcu_dereference_protected(kept_ops_of,
					       lockdep_is_held(&ops_of_lock));
		if (fn && within_module((unsigned long)fn, mod))
			RCU_INIT_POINTER(kept_ops_of, NULL);
	}
	spin_unlock(&ops_of_lock);
	return NOTIFY_OK;
}

static struct notifier_block ops_of_module_nb = {
	.notifier_call = ops_of_module_event,
};

/**
 * iommu_tce_range_init() - start following modules that go live or go
 *
 * Called by the backend's module init before it registers with VFIO.
 *
 * Return: 0 or a negative errno.
 */
int iommu_tce_range_init(void)
{
	return register_module_notifier(&ops_of_module_nb);
}

/**
 * iommu_tce_range_exit() - stop following modules that go live or go
 *
 * Called by the backend's module exit after it unregistered from VFIO, so
 * that no range operation runs any more.
 */
void iommu_tce_range_exit(void)
{
	unregister_module_notifier(&ops_of_module_nb);
}

/*
 * The first lookup, the first after pseries_tce_ddw was unloaded, or the
 * first after a module went live. The count is read under the lock, which
 * the notifier of a module gone live takes after the module's state is
 * LIVE: a lookup that begins after the notifier finds the module.
 */
static const struct tce_range_ops *range_ops_lookup(struct iommu_table *tbl)
{
	unsigned long live = ops_of_modules_gone_live();
	typeof(tce_range_ops_of) *fn = symbol_get(tce_range_ops_of);
	const struct tce_range_ops *ops;

	if (!fn) {
		ops_of_keep_absent(live);
		return NULL;
	}
	ops = fn(tbl);
	ops_of_keep(fn);
	/* by address: symbol_put() would look the name up again */
	symbol_put_addr(fn);
	return ops;
}

/* The range operations of pseries_tce_ddw for @tbl, or NULL */
static const struct tce_range_ops *range_ops_of(struct iommu_table *tbl)
{
	typeof(tce_range_ops_of) *fn;
	const struct tce_range_ops *ops;

	rcu_read_lock();
	fn = rcu_dereference(kept_ops_of);
	ops = fn ? fn(tbl) : NULL;
	rcu_read_unlock();
	if (fn || READ_ONCE(ops_of_absent))
		return ops;
	return range_ops_lookup(tbl);
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
