// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs of the pSeries DDW platform ops, under pseries_tce_ddw/: the TCE
 * hypercalls of all PEs (hcalls), the firmware fault injection attributes
 * (fail_firmware/, tce_hcall.c), and a directory per PE with its windows,
 * what they map (usage) and what it cost (hcalls). docs/operator.md
 * describes the files. See ddw.h.
 */

#include <linux/debugfs.h>
#include <linux/lockdep.h>
#include <linux/math.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/seq_file.h>
#include <asm/pci-bridge.h>

#include "ddw.h"
#include "tce_window.h"

static struct dentry *ddw_debugfs_root;

static void windows_show_slot(struct seq_file *m, int num,
			      struct ddw_slot *slot)
{
	struct tce_window *win = slot->win;
	struct iommu_table *tbl = &win->tbl;
	unsigned long mapped = tce_window_mapped(win);

	lockdep_assert_held(&ddw_mutex);
	seq_printf(m, "%d %#llx %#llx %lu 1 %#lx %lu %zu %s %ld %llu %llu\n",
		   num, (u64)tbl->it_offset << tbl->it_page_shift,
		   (u64)tbl->it_size << tbl->it_page_shift, tbl->it_page_shift,
		   win->liobn, mapped, tce_window_view_bytes(win),
		   slot->is_default ? "default" : "ddw",
		   atomic_long_read(&win->nr_errors),
		   (u64)mapped << tbl->it_page_shift,
		   (u64)tbl->it_size * sizeof(__be64));
}

static int windows_show(struct seq_file *m, void *unused)
{
	struct ddw_pe *pe = m->private;
	int i;

	mutex_lock(&ddw_mutex);
	seq_printf(m, "owners %u default_window %s ddw %s reset %s host_record %s stale_ddws %u\n",
		   pe->owners, pe->default_present ? "present" : "removed",
		   pe->has_ddw ? "yes" : "no", pe->has_reset ? "yes" : "no",
		   pe->host_record_stale ? "stale" : "ok", pe->nr_stale);
	seq_puts(m, "num start size page_shift levels liobn tces_mapped view_bytes kind flush_errors mapped_bytes flat_bytes\n");
	for (i = 0; i < NR_WINDOWS; i++)
		if (pe->slot[i].win)
			windows_show_slot(m, i, &pe->slot[i]);
	mutex_unlock(&ddw_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(windows);

/*
 * Totals of the windows of a PE. We see TCEs, not pins: the VFIO backend
 * pins (at REGISTER_MEMORY for v2, at MAP_DMA for v1) and charges
 * locked_vm. What the TCEs reach is mapped_bytes; mapped_sys_pages is that
 * in system pages (rounded up per window): the pages the mappings keep
 * pinned when each system page is mapped once, by whole TCEs. It is an
 * estimate when a page is mapped twice or a TCE covers part of a page.
 */
static int usage_show(struct seq_file *m, void *unused)
{
	struct ddw_pe *pe = m->private;
	u64 tces = 0, bytes = 0, sys_pages = 0, view = 0, flat = 0;
	int i, nr = 0;

	mutex_lock(&ddw_mutex);
	for (i = 0; i < NR_WINDOWS; i++) {
		struct tce_window *win = pe->slot[i].win;
		u64 b;

		if (!win)
			continue;
		nr++;
		b = (u64)tce_window_mapped(win) << win->tbl.it_page_shift;
		tces += tce_window_mapped(win);
		bytes += b;
		sys_pages += DIV_ROUND_UP_ULL(b, PAGE_SIZE);
		view += tce_window_view_bytes(win);
		flat += (u64)win->tbl.it_size * sizeof(__be64);
	}
	mutex_unlock(&ddw_mutex);
	seq_printf(m, "windows %d\ntces_mapped %llu\nmapped_bytes %llu\n", nr,
		   tces, bytes);
	seq_printf(m, "mapped_sys_pages %llu\nsys_page_size %lu\n", sys_pages,
		   PAGE_SIZE);
	seq_printf(m, "view_bytes %llu\nflat_bytes %llu\n", view, flat);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(usage);

static const char * const tce_call_name[NR_TCE_CALL_COUNTERS] = {
	[TCE_CALL_PUT] = "put",
	[TCE_CALL_PUT_MANY] = "put_many",
	[TCE_CALL_STUFF] = "stuff",
	[TCE_CALL_GET] = "get",
	[TCE_CALL_FAILED] = "failed",
};

static void calls_show(struct seq_file *m, const struct tce_call_counts *c)
{
	int i;

	for (i = 0; i < NR_TCE_CALL_COUNTERS; i++)
		seq_printf(m, "%s %llu\n", tce_call_name[i], c->n[i]);
}

/* TCE hypercalls of a PE since load: closed windows and open ones */
static void pe_calls(struct ddw_pe *pe, struct tce_call_counts *sum)
{
	int i;

	mutex_lock(&ddw_mutex);
	tce_call_stats_add_to(&pe->calls, sum);
	for (i = 0; i < NR_WINDOWS; i++)
		if (pe->slot[i].win)
			tce_call_stats_add_to(&pe->slot[i].win->calls, sum);
	mutex_unlock(&ddw_mutex);
}

static int hcalls_show(struct seq_file *m, void *unused)
{
	struct ddw_pe *pe = m->private;
	struct tce_call_counts c = { };
	int i;

	pe_calls(pe, &c);
	seq_puts(m, "# TCE hypercalls of this PE since module load\n");
	calls_show(m, &c);
	seq_puts(m, "# RTAS calls of this PE: calls failed\n");
	for (i = 0; i < NR_RTAS_KINDS; i++)
		seq_printf(m, "%s %lld %lld\n", ddw_rtas_kind_name[i],
			   atomic64_read(&pe->rtas_calls[i]),
			   atomic64_read(&pe->rtas_failed[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hcalls);

/* The top-level hcalls file: every PE together */
static int total_hcalls_show(struct seq_file *m, void *unused)
{
	struct tce_call_counts c = { };

	tce_hcall_add_totals(&c);
	seq_puts(m, "# TCE hypercalls since module load, all PEs\n");
	calls_show(m, &c);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(total_hcalls);

/**
 * ddw_pe_debugfs_add() - the debugfs directory of a PE
 * @pe: the PE, managed.
 */
void ddw_pe_debugfs_add(struct ddw_pe *pe)
{
	char name[64];

	snprintf(name, sizeof(name), "%04x:%02lx-%pOFP",
		 pe->phb->global_number, pe->busno, pe->np);
	pe->dbg = debugfs_create_dir(name, ddw_debugfs_root);
	debugfs_create_file("windows", 0444, pe->dbg, pe, &windows_fops);
	debugfs_create_file("hcalls", 0444, pe->dbg, pe, &hcalls_fops);
	debugfs_create_file("usage", 0444, pe->dbg, pe, &usage_fops);
}

/**
 * ddw_pe_debugfs_remove() - remove the debugfs directory of a PE
 * @pe: the PE.
 *
 * Context: without ddw_mutex: waits for the readers of the files, which
 * take it.
 */
void ddw_pe_debugfs_remove(struct ddw_pe *pe)
{
	lockdep_assert_not_held(&ddw_mutex);
	debugfs_remove_recursive(pe->dbg);
	pe->dbg = NULL;
}

/**
 * ddw_debugfs_init() - the top-level debugfs directory and files
 *
 * Before any PE is added.
 */
void ddw_debugfs_init(void)
{
	ddw_debugfs_root = debugfs_create_dir("pseries_tce_ddw", NULL);
	debugfs_create_file("hcalls", 0444, ddw_debugfs_root, NULL,
			    &total_hcalls_fops);
	tce_firmware_fault_debugfs(ddw_debugfs_root);
}

/**
 * ddw_debugfs_remove() - remove every debugfs file, those of the PEs too
 *
 * Context: without ddw_mutex, as ddw_pe_debugfs_remove().
 */
void ddw_debugfs_remove(void)
{
	lockdep_assert_not_held(&ddw_mutex);
	debugfs_remove_recursive(ddw_debugfs_root);
	ddw_debugfs_root = NULL;
}
