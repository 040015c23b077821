/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A TCE window: an iommu_table whose iommu_table_ops keep the TCEs in a
 * sparse shadow (tce_userspace_view.h) and write them to the platform
 * through a TCE backend (tce_backend.h) in batches.
 *
 * xchg_no_kill() of a new TCE into an empty entry changes the shadow only;
 * one that replaces or clears a TCE writes the entry through before it
 * returns, since its caller may release the old page at once. tce_kill()
 * writes the dirty entries of a range: runs of zeros with stuff() (runs
 * span chunks; one call clears at most 512 entries, the PAPR limit), one
 * put_many() per run of up to 512 values within a chunk, put() for a lone
 * entry. it_level_size is the chunk size of the view (512), so that the
 * VFIO backends can skip a whole block whose useraddrptr() is NULL. Entry numbers are absolute:
 * entry i is the TCE of bus address i << it_page_shift, and the window
 * covers entries it_offset .. it_offset + it_size - 1.
 *
 * The table holds a reference on the module that created it until its
 * last iommu_tce_table_put().
 */
#ifndef _TCE_WINDOW_H
#define _TCE_WINDOW_H

#include <linux/atomic.h>
#include <linux/types.h>
#include <asm/iommu.h>

#include "tce_backend.h"

struct tce_view;

/**
 * struct tce_window - a TCE window and its shadow
 * @tbl: the table handed to the IOMMU users. Must stay the first member:
 *	iommu_table_free() kfree()s the table pointer of a table without
 *	it_map, which is how the window itself is freed.
 * @liobn: logical I/O bus number of the window.
 * @backend: how TCEs reach the platform.
 * @view: shadow TCEs, user addresses and dirty bits.
 * @tce_list: 4K-aligned buffer of big-endian TCEs for put_many(),
 *	used under the view lock.
 * @stuff_max: most entries one stuff() clears, at least 1: 512 (PAPR)
 *	unless the stuff_max_tces module parameter asked for more (QEMU
 *	only) when the window was created.
 * @detached: the platform window is gone; flushes only clean the shadow.
 * @error: first flush error (negative errno) not yet fetched, or 0.
 * @nr_errors: flush failures since creation.
 * @calls: backend calls made for this window since creation, by type
 *	(a PE adds them to its own when the window goes away).
 */
struct tce_window {
	struct iommu_table tbl;
	unsigned long liobn;
	const struct tce_backend_ops *backend;
	struct tce_view *view;
	__be64 *tce_list;
	unsigned long stuff_max;
	bool detached;
	atomic_t error;
	atomic_long_t nr_errors;
	struct tce_call_stats calls;
};

/**
 * struct tce_window_params - geometry of a new window
 * @liobn: logical I/O bus number (goes to it_index too).
 * @start: bus address of the first byte; a multiple of the page size.
 * @size: bytes, a power of two and at least one page.
 * @page_shift: IOMMU page shift, 12 .. 40.
 * @busno: PCI bus number for it_busno.
 * @nid: NUMA node for allocations, or NUMA_NO_NODE.
 */
struct tce_window_params {
	unsigned long liobn;
	u64 start;
	u64 size;
	unsigned int page_shift;
	unsigned long busno;
	int nid;
};

struct tce_window *tce_window_create(const struct tce_window_params *params,
				     const struct tce_backend_ops *backend);
struct tce_window *tce_window_from_table(struct iommu_table *tbl);
void tce_window_put(struct tce_window *win);

int tce_window_flush(struct tce_window *win, unsigned long entry,
		     unsigned long pages);
int tce_window_clear_all(struct tce_window *win);
void tce_window_detach(struct tce_window *win);
int tce_window_fetch_error(struct tce_window *win);

unsigned long tce_window_mapped(struct tce_window *win);
size_t tce_window_view_bytes(struct tce_window *win);
unsigned long tce_stuff_max(void);
int tce_window_xchg_range(struct iommu_table *tbl, unsigned long entry,
			  unsigned long n, struct tce_range_entry *st);
long tce_window_clear_range(struct iommu_table *tbl, unsigned long entry,
			    unsigned long n, struct tce_range_entry *old,
			    unsigned long max, unsigned long *nr);

#endif /* _TCE_WINDOW_H */
