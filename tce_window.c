// SPDX-License-Identifier: GPL-2.0-only
/*
 * TCE window: iommu_table_ops over a sparse shadow and a TCE backend.
 * See include/tce_window.h.
 */

#include <linux/align.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/rculist.h>
#include <linux/slab.h>
#include <asm/iommu.h>
#include <asm/tce.h>

#include "tce_backend.h"
#include "tce_userspace_view.h"
#include "tce_window.h"

#define TCE_LIST_BYTES		(TCE_BACKEND_MAX_BATCH * sizeof(__be64))
#define TCE_PERM_BITS		((u64)(TCE_PCI_READ | TCE_PCI_WRITE))
#define WINDOW_MIN_SHIFT	12
#define WINDOW_MAX_SHIFT	40

/*
 * PAPR lets one H_STUFF_TCE clear at most 512 TCEs, as many as one
 * H_PUT_TCE_INDIRECT list holds; PowerVM answers H_PARAMETER beyond that
 * (the in-tree tce_freemulti_pSeriesLP() stops at 512 too). QEMU checks
 * the count against the window only, so a larger value saves calls there
 * and nowhere else.
 */
static unsigned long stuff_max_tces = TCE_BACKEND_MAX_BATCH;
module_param(stuff_max_tces, ulong, 0644);
MODULE_PARM_DESC(stuff_max_tces,
		 "Most TCEs cleared by one H_STUFF_TCE (default 512, the PAPR limit; 0 is taken as 512). A larger value is for QEMU only, PowerVM refuses it. Applies to windows created after the change.");

static struct iommu_table_ops tce_window_ops;

/**
 * tce_stuff_max() - the most entries one stuff() call should clear
 *
 * Return: the stuff_max_tces module parameter, TCE_BACKEND_MAX_BATCH (the
 * PAPR limit) unless a larger value was asked for, and never 0.
 */
unsigned long tce_stuff_max(void)
{
	return READ_ONCE(stuff_max_tces) ?: TCE_BACKEND_MAX_BATCH;
}

static struct tce_window *to_window(struct iommu_table *tbl)
{
	return container_of(tbl, struct tce_window, tbl);
}

/* Window-relative index of absolute entry @entry, or -1 when outside */
static long window_index(struct tce_window *win, unsigned long entry)
{
	unsigned long off = win->tbl.it_offset;

	if (entry < off || entry - off >= win->tbl.it_size)
		return -1;
	return entry - off;
}

static unsigned long index_ioba(struct tce_window *win, unsigned long idx)
{
	return (win->tbl.it_offset + idx) << win->tbl.it_page_shift;
}

/* The backend calls of a window, counted in the window */
static long window_put(struct tce_window *win, unsigned long ioba, u64 tce)
{
	return tce_call_count(&win->calls, TCE_CALL_PUT,
			      win->backend->put(win->liobn, ioba, tce));
}

static long window_put_many(struct tce_window *win, unsigned long ioba,
			    unsigned long n)
{
	return tce_call_count(&win->calls, TCE_CALL_PUT_MANY,
			      win->backend->put_many(win->liobn, ioba,
						     win->tce_list, n));
}

static long window_stuff(struct tce_window *win, unsigned long ioba,
			 unsigned long n)
{
	return tce_call_count(&win->calls, TCE_CALL_STUFF,
			      win->backend->stuff(win->liobn, ioba, 0, n));
}

static long window_get_tce(struct tce_window *win, unsigned long ioba,
			   u64 *tce)
{
	return tce_call_count(&win->calls, TCE_CALL_GET,
			      win->backend->get(win->liobn, ioba, tce));
}

static long put_one_by_one(struct tce_window *win, unsigned long ioba,
			   const u64 *tces, bool same, unsigned long n)
{
	unsigned long i, step = 1UL << win->tbl.it_page_shift;
	long rc;

	for (i = 0; i < n; i++) {
		rc = window_put(win, ioba + i * step, tces[same ? 0 : i]);
		if (rc)
			return rc;
	}
	return H_SUCCESS;
}

static long write_zeros(struct tce_window *win, unsigned long ioba,
			unsigned long n)
{
	static const u64 zero;
	unsigned long k;
	long rc = H_SUCCESS;

	if (!win->backend->stuff)
		return put_one_by_one(win, ioba, &zero, true, n);
	for (; n && rc == H_SUCCESS; n -= k) {
		k = min(n, win->stuff_max);
		rc = window_stuff(win, ioba, k);
		ioba += k << win->tbl.it_page_shift;
	}
	return rc;
}

static long write_values(struct tce_window *win, unsigned long ioba,
			 const u64 *tces, unsigned long n)
{
	unsigned long i;

	if (!win->backend->put_many)
		return put_one_by_one(win, ioba, tces, false, n);
	/* A run of values stays within a chunk: one TCE list page */
	if (WARN_ON_ONCE(n > TCE_BACKEND_MAX_BATCH))
		return H_PARAMETER;

	for (i = 0; i < n; i++)
		win->tce_list[i] = cpu_to_be64(tces[i]);
	return window_put_many(win, ioba, n);
}

/*
 * tce_view_sink::write: one run of zeros (@tces NULL, any length: one stuff
 * per stuff_max entries) or of values (at most a chunk: put_many), under
 * the view lock
 */
static long window_sink_write(void *ctx, unsigned long idx, const u64 *tces,
			      unsigned long n)
{
	struct tce_window *win = ctx;
	unsigned long ioba = index_ioba(win, idx);

	if (READ_ONCE(win->detached))
		return H_SUCCESS;
	if (n == 1)
		return window_put(win, ioba, tces ? tces[0] : 0);
	if (!tces)
		return write_zeros(win, ioba, n);
	return write_values(win, ioba, tces, n);
}

/* tce_view_sink::read: what the platform holds, for a rollback */
static long window_sink_read(void *ctx, unsigned long idx, u64 *tce)
{
	struct tce_window *win = ctx;

	if (READ_ONCE(win->detached)) {
		*tce = 0;
		return H_SUCCESS;
	}
	return window_get_tce(win, index_ioba(win, idx), tce);
}

static const struct tce_view_sink window_sink = {
	.write = window_sink_write,
	.read = window_sink_read,
};

/*
 * tce_view_sink::read of a flush that keeps what its caller set: nothing is
 * known of the hardware, so a refused entry stays in the shadow, dirty, and
 * the next flush of its range writes it again
 */
static long window_sink_unknown(void *ctx, unsigned long idx, u64 *tce)
{
	return H_HARDWARE;
}

static const struct tce_view_sink window_sink_keep = {
	.write = window_sink_write,
	.read = window_sink_unknown,
};

static void record_error(struct tce_window *win, unsigned long entry,
			 unsigned long pages, long hstatus, int err,
			 const char *shadow)
{
	atomic_cmpxchg(&win->error, 0, err);
	atomic_long_inc(&win->nr_errors);
	pr_err_ratelimited("liobn 0x%lx: writing TCEs %#lx..%#lx failed, hypervisor status %ld; shadow %s\n",
			   win->liobn, entry, entry + pages - 1, hstatus, shadow);
}

/* tce_window_flush() through @sink; @shadow says what a failure leaves */
static int window_flush(struct tce_window *win, unsigned long entry,
			unsigned long pages, const struct tce_view_sink *sink,
			const char *shadow)
{
	unsigned long off = win->tbl.it_offset;
	long hstatus;
	int err;

	if (entry < off) {
		if (pages <= off - entry)
			return 0;
		pages -= off - entry;
		entry = off;
	}

	hstatus = tce_view_flush(win->view, entry - off, pages, sink, win);
	err = tce_hstatus_to_errno(hstatus);
	if (err)
		record_error(win, entry, pages, hstatus, err, shadow);
	return err;
}

/**
 * tce_window_flush() - write the dirty TCEs of a range to the platform
 * @win: the window.
 * @entry: first absolute entry.
 * @pages: number of entries; the range is clipped to the window.
 *
 * On failure the shadow of the entries not written is rolled back to what
 * the platform holds, the error is logged (ratelimited) and kept as the
 * sticky error of the window (see tce_window_fetch_error()).
 *
 * Context: process or atomic context; takes the view spinlock.
 * Return: 0, or -EINVAL (H_PARAMETER), -ENOSPC (H_NOT_ENOUGH_RESOURCES),
 * -EIO (H_HARDWARE and any other status).
 */
int tce_window_flush(struct tce_window *win, unsigned long entry,
		     unsigned long pages)
{
	return window_flush(win, entry, pages, &window_sink, "rolled back");
}

/**
 * tce_window_clear_all() - clear every TCE of the window
 * @win: the window.
 *
 * Stores zero in every non-zero shadow entry and flushes the window, so no
 * TCE written through this window survives in the platform. Only the runs
 * that held a TCE are written (one stuff per 512 entries of a run);
 * absent chunks are skipped without a look, so clearing an empty window
 * makes no call and costs a walk of the chunk directory.
 *
 * Return: 0 or the errno of tce_window_flush().
 */
int tce_window_clear_all(struct tce_window *win)
{
	tce_view_clear_range(win->view, 0, win->tbl.it_size);
	return tce_window_flush(win, win->tbl.it_offset, win->tbl.it_size);
}

/**
 * tce_window_detach() - the platform window is gone
 * @win: the window.
 *
 * Later flushes clean the shadow without calling the backend, so a user
 * still holding the table cannot write TCEs of a removed (and possibly
 * reused) LIOBN.
 */
void tce_window_detach(struct tce_window *win)
{
	WRITE_ONCE(win->detached, true);
}

/**
 * tce_window_fetch_error() - read and reset the sticky flush error
 * @win: the window.
 *
 * tce_kill() returns nothing, so its failures are kept here.
 *
 * Return: the first flush error since the last fetch, or 0.
 */
int tce_window_fetch_error(struct tce_window *win)
{
	return atomic_xchg(&win->error, 0);
}

/**
 * tce_window_mapped() - number of non-zero TCEs in the shadow
 * @win: the window.
 *
 * Return: the count.
 */
unsigned long tce_window_mapped(struct tce_window *win)
{
	return tce_view_mapped(win->view);
}

/**
 * tce_window_view_bytes() - memory used by the shadow of the window
 * @win: the window.
 *
 * Return: bytes.
 */
size_t tce_window_view_bytes(struct tce_window *win)
{
	return tce_view_bytes(win->view);
}

static u64 make_tce(unsigned long hpa, enum dma_data_direction dir)
{
	u64 perm = iommu_direction_to_tce_perm(dir);

	return perm ? ((u64)hpa | perm) : 0;
}

/*
 * After a refused write-through the caller takes the entry for unchanged:
 * it keeps the page of @old and releases that of the TCE it asked for. The
 * rollback leaves the new TCE in the shadow, dirty, when the hypervisor
 * could not be read either (and the hypervisor's value when it could,
 * which is not @old if @old was still waiting for tce_kill()): the next
 * flush would then write a TCE whose page is gone. Put @old back, dirty
 * when it differs from the hypervisor's, so that the shadow is what the
 * caller holds references for. If that fails (no memory for a chunk the
 * rollback freed), the shadow is 0 and the next flush clears the entry:
 * the caller's page then leaks, it is never reached after its release.
 */
static void window_keep_old(struct tce_window *win, long idx, u64 old)
{
	u64 tce = old;

	if (tce_view_get(win->view, idx) != old)
		tce_view_xchg(win->view, idx, &tce, GFP_KERNEL);
}

/*
 * The caller may release the page of the old TCE as soon as this returns
 * (the in-tree VFIO backend and KVM's TCE code do, before their
 * tce_kill()), so an entry that held a TCE is written through at once;
 * if the hypervisor refuses, the shadow gets the old TCE back, *@hpa and
 * *@direction are left alone and the error returned, and the caller keeps
 * the page. A new TCE over an empty entry waits for tce_kill(), which
 * writes a whole range of them in batches.
 */
static int window_xchg_no_kill(struct iommu_table *tbl, long index,
			       unsigned long *hpa,
			       enum dma_data_direction *direction)
{
	struct tce_window *win = to_window(tbl);
	long idx = window_index(win, index);
	u64 tce = make_tce(*hpa, *direction);
	int ret;

	if (idx < 0)
		return -EINVAL;

	ret = tce_view_xchg(win->view, idx, &tce, GFP_KERNEL);
	if (ret)
		return ret;
	if (tce) {
		ret = tce_window_flush(win, index, 1);
		if (ret) {
			window_keep_old(win, idx, tce);
			return ret;
		}
	}

	*direction = iommu_tce_direction(tce);
	*hpa = tce & ~TCE_PERM_BITS;
	return 0;
}

/*
 * The caller of tce_kill() cannot hear of a failure and counts the new TCEs
 * of the range as set (it holds their pages, and drops them when it
 * exchanges the entries again): a refused range keeps them in the shadow,
 * dirty, instead of rolling back to what the hypervisor holds. The device
 * cannot reach those pages, the caller's references stay balanced, and the
 * next flush of the range tries again.
 */
static void window_tce_kill(struct iommu_table *tbl, unsigned long index,
			    unsigned long pages)
{
	window_flush(to_window(tbl), index, pages, &window_sink_keep,
		     "kept for a retry");
}

static __be64 *window_useraddrptr(struct iommu_table *tbl, long index,
				  bool alloc)
{
	struct tce_window *win = to_window(tbl);
	long idx = window_index(win, index);

	if (idx < 0)
		return NULL;
	return tce_view_useraddr(win->view, idx, alloc);
}

static unsigned long window_get(struct iommu_table *tbl, long index)
{
	struct tce_window *win = to_window(tbl);
	long idx = window_index(win, index);

	return idx < 0 ? 0 : tce_view_get(win->view, idx);
}

static void window_clear(struct iommu_table *tbl, long index, long npages)
{
	struct tce_window *win = to_window(tbl);
	long idx = window_index(win, index);

	if (idx < 0 || npages <= 0)
		return;
	tce_view_clear_range(win->view, idx, npages);
	tce_window_flush(win, index, npages);
}

/*
 * Not used by the VFIO backends, which go through xchg_no_kill; provided so
 * the table is complete. May run in atomic context, hence GFP_ATOMIC.
 */
static int window_set(struct iommu_table *tbl, long index, long npages,
		      unsigned long uaddr, enum dma_data_direction direction,
		      unsigned long attrs)
{
	struct tce_window *win = to_window(tbl);
	unsigned long shift = tbl->it_page_shift;
	long idx = window_index(win, index), i;
	u64 tce;
	int ret = 0;

	if (idx < 0 || npages <= 0 || npages > tbl->it_size - idx)
		return -EINVAL;

	for (i = 0; i < npages && !ret; i++) {
		tce = make_tce(ALIGN_DOWN(__pa(uaddr), 1UL << shift), direction);
		ret = tce_view_xchg(win->view, idx + i, &tce, GFP_ATOMIC);
		uaddr += 1UL << shift;
	}
	if (ret) {
		window_clear(tbl, index, i);
		return ret;
	}
	return tce_window_flush(win, index, npages);
}

static void window_free(struct iommu_table *tbl)
{
	struct tce_window *win = to_window(tbl);

	tce_view_destroy(win->view);
	win->view = NULL;
	kfree(win->tce_list);
	win->tce_list = NULL;
	/*
	 * iommu_table_free() kfree()s the window right after we return. The
	 * reference may be the module's last: what is left of this function
	 * after it does not sleep, and the module's unload waits for every
	 * task to pass a voluntary context switch before it frees our code
	 * (ddw_module.c).
	 */
	module_put(THIS_MODULE);
}

static struct iommu_table_ops tce_window_ops = {
	.set = window_set,
	.xchg_no_kill = window_xchg_no_kill,
	.tce_kill = window_tce_kill,
	.useraddrptr = window_useraddrptr,
	.clear = window_clear,
	.get = window_get,
	.free = window_free,
};

/* Window-relative index of [entry, entry + n), or -1 unless all inside */
static long window_range_index(struct tce_window *win, unsigned long entry,
			       unsigned long n)
{
	long idx = window_index(win, entry);

	if (idx < 0 || !n || n > win->tbl.it_size - idx)
		return -1;
	return idx;
}

/**
 * tce_window_xchg_range() - iommu_table_ops.xchg_range of a window
 * @tbl: the table of a window.
 * @entry: first absolute entry.
 * @n: number of entries.
 * @st: @n new values in, the old ones out.
 *
 * The new TCEs are written with one put_many per 512-entry chunk (put for
 * one entry, stuff when all are zero) under the chunk's lock; see struct
 * iommu_table_ops for the contract.
 *
 * Context: process context, may sleep.
 * Return: 0, -EINVAL for a range outside the window, -ENOMEM, or the errno
 * of the refused hypercall.
 */
int tce_window_xchg_range(struct iommu_table *tbl, unsigned long entry,
			  unsigned long n, struct tce_range_entry *st)
{
	struct tce_window *win = to_window(tbl);
	struct tce_view_writer w = { .sink = &window_sink, .ctx = win };
	long idx = window_range_index(win, entry, n);
	int ret;

	if (idx < 0)
		return -EINVAL;
	ret = tce_view_xchg_range(win->view, idx, n, st, &w);
	return w.hstatus ? tce_hstatus_to_errno(w.hstatus) : ret;
}

/**
 * tce_window_clear_range() - iommu_table_ops.clear_range of a window
 * @tbl: the table of a window.
 * @entry: first absolute entry.
 * @n: number of entries.
 * @old: what the cleared entries held, from @old[*@nr] on.
 * @max: size of @old.
 * @nr: entries in @old.
 *
 * Each chunk is cleared with one stuff from its first to its last used
 * entry under the chunk's lock; see struct iommu_table_ops for the
 * contract.
 *
 * Context: process or atomic context.
 * Return: entries gone through, or -EINVAL for a range outside the window,
 * or the errno of the refused hypercall.
 */
long tce_window_clear_range(struct iommu_table *tbl, unsigned long entry,
			    unsigned long n, struct tce_range_entry *old,
			    unsigned long max, unsigned long *nr)
{
	struct tce_window *win = to_window(tbl);
	struct tce_view_writer w = { .sink = &window_sink, .ctx = win };
	long idx = window_range_index(win, entry, n), walked;
	int err;

	if (idx < 0)
		return -EINVAL;
	walked = tce_view_take_range(win->view, idx, n, old, max, nr, &w);
	if (walked >= 0)
		return walked;
	err = tce_hstatus_to_errno(w.hstatus);
	record_error(win, entry, n, w.hstatus, err, "rolled back");
	return err;
}

static bool params_valid(const struct tce_window_params *p)
{
	if (p->page_shift < WINDOW_MIN_SHIFT || p->page_shift > WINDOW_MAX_SHIFT)
		return false;
	if (!is_power_of_2(p->size) || p->size < (1ULL << p->page_shift))
		return false;
	/* The last bus address must not wrap around 2^64 */
	if (p->start + (p->size - 1) < p->start)
		return false;
	return IS_ALIGNED(p->start, 1ULL << p->page_shift);
}

static void table_init(struct iommu_table *tbl,
		       const struct tce_window_params *p)
{
	unsigned long entries = p->size >> p->page_shift;

	tbl->it_busno = p->busno;
	tbl->it_index = p->liobn;
	tbl->it_offset = p->start >> p->page_shift;
	tbl->it_size = entries;
	tbl->it_page_shift = p->page_shift;
	tbl->it_type = TCE_PCI;
	tbl->it_blocksize = 16;
	/*
	 * No indirect levels, but the view is made of blocks of
	 * TCE_VIEW_CHUNK_ENTRIES counted from it_offset: where the
	 * useraddrptr() of an entry is NULL (!alloc), its whole block is
	 * unmapped, so the VFIO backends may skip it.
	 */
	tbl->it_level_size = TCE_VIEW_CHUNK_ENTRIES;
	tbl->it_nid = p->nid;
	/* What the in-tree VFIO backend uncharges from locked_vm on free */
	tbl->it_allocated_size = tce_view_max_bytes(entries);
	tbl->it_ops = &tce_window_ops;
	INIT_LIST_HEAD_RCU(&tbl->it_group_list);
	kref_init(&tbl->it_kref);
}

static void window_release_parts(struct tce_window *win)
{
	tce_view_destroy(win->view);
	kfree(win->tce_list);
	kfree(win);
}

/**
 * tce_window_create() - create a window with an empty shadow
 * @params: geometry; see &struct tce_window_params.
 * @backend: TCE backend the window writes through.
 *
 * The platform window must exist and hold no TCE: the shadow starts all
 * zero and is trusted from then on. The table starts with one reference
 * (kref_init) and holds a module reference until it is freed.
 *
 * Context: process context, may sleep.
 * Return: the window, ERR_PTR(-EINVAL) for a bad geometry,
 * ERR_PTR(-ENOMEM), or ERR_PTR(-ENODEV) when the module is going away.
 */
struct tce_window *tce_window_create(const struct tce_window_params *params,
				     const struct tce_backend_ops *backend)
{
	struct tce_window *win;

	if (!params_valid(params) || !backend || !backend->put || !backend->get)
		return ERR_PTR(-EINVAL);

	win = kzalloc_node(sizeof(*win), GFP_KERNEL, params->nid);
	if (!win)
		return ERR_PTR(-ENOMEM);

	/* kmalloc() of a power of two is naturally aligned */
	win->tce_list = kzalloc_node(TCE_LIST_BYTES, GFP_KERNEL, params->nid);
	win->view = tce_view_create(params->size >> params->page_shift,
				    params->nid);
	if (!win->tce_list || !win->view ||
	    WARN_ON(!IS_ALIGNED((unsigned long)win->tce_list, TCE_LIST_BYTES))) {
		window_release_parts(win);
		return ERR_PTR(-ENOMEM);
	}

	if (!try_module_get(THIS_MODULE)) {
		window_release_parts(win);
		return ERR_PTR(-ENODEV);
	}

	win->liobn = params->liobn;
	win->backend = backend;
	win->stuff_max = tce_stuff_max();
	table_init(&win->tbl, params);
	return win;
}

/**
 * tce_window_from_table() - the window of a table, if it is one
 * @tbl: any iommu_table, or NULL.
 *
 * Return: the window, or NULL when @tbl was not made by tce_window_create().
 */
struct tce_window *tce_window_from_table(struct iommu_table *tbl)
{
	if (!tbl || tbl->it_ops != &tce_window_ops)
		return NULL;
	return to_window(tbl);
}

/**
 * tce_window_put() - drop a reference on the window table
 * @win: the window, or NULL.
 *
 * The last put frees the shadow, the window and the module reference.
 */
void tce_window_put(struct tce_window *win)
{
	if (win)
		iommu_tce_table_put(&win->tbl);
}
