/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sparse per-window view of a TCE table.
 *
 * For each entry of a window the view keeps the TCE value last stored (the
 * shadow, host byte order, including the TCE_PCI_READ/WRITE bits) and the
 * userspace address the VFIO backend records for it (big-endian, written by
 * the backend through tce_view_useraddr()). Entries are grouped in chunks of
 * TCE_VIEW_CHUNK_ENTRIES; a chunk is allocated on the first non-zero store
 * or user-address request and freed by tce_view_flush() once it holds no
 * TCE, no user address and nothing left to flush, unless a user-address
 * slot of it was handed out for writing (see Locking). A directory of
 * chunk pointers gives O(1) lookup, so memory follows what is mapped.
 *
 * Every entry whose shadow changed since it was last written out is dirty.
 * tce_view_flush() hands the dirty runs to a &struct tce_view_sink (the TCE
 * window writes them to the hypervisor, the KUnit suites to a fake) and
 * rolls the shadow back to what the sink reads back when a write fails.
 * Runs of values are cut at chunk boundaries (one 4K TCE list each), runs
 * of zeros are not. tce_view_xchg_range() writes its new values through the
 * sink itself, one run per chunk, and leaves nothing dirty when it succeeds.
 *
 * Indices are relative to the window: 0 .. entries - 1.
 *
 * Locking: the view serialises tce_view_xchg(), tce_view_get(),
 * tce_view_clear_range() and tce_view_flush() with an internal spinlock;
 * the sink callbacks run under it. tce_view_useraddr() returns a pointer the
 * caller dereferences without the lock. With @alloc (the table's
 * useraddrptr with alloc, IOMMU_TABLE_USERSPACE_ENTRY()) the chunk of that
 * slot is marked, under the lock, never to be freed before
 * tce_view_destroy(): KVM's in-kernel TCE path (book3s_64_vio.c) takes
 * such a pointer, then exchanges the entry (which may sleep) and writes
 * the address, under no lock of ours, while the VFIO backend or another
 * vCPU flushes the same chunk. A pointer taken without @alloc is valid
 * only while the slot is non-zero or the chunk is kept, and only against
 * flushes the caller serialises with (the VFIO container lock does for
 * the backend's own sequences). tce_view_xchg_range() and
 * tce_view_take_range() write addresses under the lock and keep nothing.
 * tce_view_xchg() with a sleeping @gfp and tce_view_useraddr() with @alloc
 * may sleep.
 */
#ifndef _TCE_USERSPACE_VIEW_H
#define _TCE_USERSPACE_VIEW_H

#include <linux/gfp.h>
#include <linux/types.h>
#include <asm/iommu.h>

/* Entries per chunk: one 4K page of 64-bit TCEs */
#define TCE_VIEW_CHUNK_ENTRIES	512

struct tce_view;

/**
 * struct tce_view_sink - where tce_view_flush() writes dirty entries
 * @write: write @n entries starting at index @idx. For a run of values
 *	@tces holds their shadow values and @n is at most
 *	TCE_VIEW_CHUNK_ENTRIES (a run of values never crosses a chunk
 *	boundary); the runs of tce_view_flush() are never mixed, those of
 *	tce_view_xchg_range() may hold zeros among the values. For a run of
 *	zeros @tces is NULL and @n may be anything up to the window size (a
 *	run of zeros spans chunks). Returns a hypervisor status, H_SUCCESS
 *	when all @n entries were written.
 * @read: read back the value the hardware holds for entry @idx into @tce,
 *	used to roll the shadow back after a failed @write. Returns a
 *	hypervisor status.
 *
 * Both run under the view spinlock and must not sleep.
 */
struct tce_view_sink {
	long (*write)(void *ctx, unsigned long idx, const u64 *tces,
		      unsigned long n);
	long (*read)(void *ctx, unsigned long idx, u64 *tce);
};

/**
 * struct tce_view_writer - where tce_view_xchg_range() writes its values
 * @sink: the sink; only its @write is used.
 * @ctx: passed to @sink.
 * @hstatus: out: the hypervisor status of a failed write, 0 otherwise.
 */
struct tce_view_writer {
	const struct tce_view_sink *sink;
	void *ctx;
	long hstatus;
};

struct tce_view *tce_view_create(unsigned long entries, int nid);
void tce_view_destroy(struct tce_view *view);

int tce_view_xchg(struct tce_view *view, unsigned long idx, u64 *tce,
		  gfp_t gfp);
u64 tce_view_get(struct tce_view *view, unsigned long idx);
__be64 *tce_view_useraddr(struct tce_view *view, unsigned long idx,
			  bool alloc);
int tce_view_xchg_range(struct tce_view *view, unsigned long first,
			unsigned long count, struct tce_range_entry *st,
			struct tce_view_writer *w);
long tce_view_take_range(struct tce_view *view, unsigned long first,
			 unsigned long count, struct tce_range_entry *old,
			 unsigned long max, unsigned long *nr,
			 struct tce_view_writer *w);
void tce_view_clear_range(struct tce_view *view, unsigned long first,
			  unsigned long count);
long tce_view_flush(struct tce_view *view, unsigned long first,
		    unsigned long count, const struct tce_view_sink *sink,
		    void *ctx);

unsigned long tce_view_entries(const struct tce_view *view);
unsigned long tce_view_mapped(struct tce_view *view);
unsigned long tce_view_dirty(struct tce_view *view);
size_t tce_view_bytes(struct tce_view *view);
size_t tce_view_directory_bytes(unsigned long entries);
size_t tce_view_max_bytes(unsigned long entries);

#endif /* _TCE_USERSPACE_VIEW_H */
