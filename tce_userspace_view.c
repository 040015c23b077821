// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sparse per-window view of a TCE table: shadow TCE values, userspace
 * addresses and dirty bits, in chunks allocated on demand.
 * See include/tce_userspace_view.h for the contract.
 */

#include <linux/bitmap.h>
#include <linux/lockdep.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "tce_userspace_view.h"

#define CHUNK_ENTRIES		TCE_VIEW_CHUNK_ENTRIES
#define CHUNK_ARRAY_BYTES	(CHUNK_ENTRIES * sizeof(u64))

/**
 * struct tce_view_chunk - TCE_VIEW_CHUNK_ENTRIES consecutive entries
 * @tces: shadow TCE values, host byte order.
 * @uas: userspace addresses, big-endian; NULL until first requested.
 *	Published with release semantics, read locklessly.
 * @dirty: entries whose shadow was not written out yet.
 * @nr_set: number of non-zero values in @tces.
 * @lent: tce_view_useraddr() handed out a slot for writing: the chunk is
 *	kept until the view is destroyed (see the header).
 */
struct tce_view_chunk {
	u64 *tces;
	__be64 *uas;
	DECLARE_BITMAP(dirty, CHUNK_ENTRIES);
	unsigned int nr_set;
	bool lent;
};

/**
 * struct tce_view - the sparse view of one window
 * @lock: protects everything below but @dir slot reads by
 *	tce_view_useraddr(), which use acquire semantics.
 * @entries: number of entries of the window.
 * @nr_chunks: number of directory slots.
 * @nr_mapped: non-zero shadow values in the whole view.
 * @nr_dirty: dirty entries in the whole view.
 * @chunk_bytes: bytes held by allocated chunks.
 * @nid: NUMA node for allocations.
 * @dir: chunk pointers, NULL where nothing is allocated.
 */
struct tce_view {
	spinlock_t lock;	/* see the kernel-doc above */
	unsigned long entries;
	unsigned long nr_chunks;
	unsigned long nr_mapped;
	unsigned long nr_dirty;
	size_t chunk_bytes;
	int nid;
	struct tce_view_chunk **dir;
};

static unsigned long chunk_of(unsigned long idx)
{
	return idx / CHUNK_ENTRIES;
}

static unsigned long slot_of(unsigned long idx)
{
	return idx % CHUNK_ENTRIES;
}

static size_t chunk_size(const struct tce_view_chunk *chunk)
{
	return sizeof(*chunk) + CHUNK_ARRAY_BYTES +
	       (chunk->uas ? CHUNK_ARRAY_BYTES : 0);
}

static struct tce_view_chunk *chunk_alloc(int nid, gfp_t gfp)
{
	struct tce_view_chunk *chunk;

	/* Sized by what a user maps: charged to the user's memory cgroup */
	gfp |= __GFP_ACCOUNT;
	chunk = kzalloc_node(sizeof(*chunk), gfp, nid);
	if (!chunk)
		return NULL;

	chunk->tces = kzalloc_node(CHUNK_ARRAY_BYTES, gfp, nid);
	if (!chunk->tces) {
		kfree(chunk);
		return NULL;
	}
	return chunk;
}

static void chunk_free(struct tce_view_chunk *chunk)
{
	if (!chunk)
		return;
	kfree(chunk->uas);
	kfree(chunk->tces);
	kfree(chunk);
}

/* Called with the lock held: can the chunk be freed? */
static bool chunk_is_empty(const struct tce_view_chunk *chunk)
{
	if (chunk->lent || chunk->nr_set ||
	    !bitmap_empty(chunk->dirty, CHUNK_ENTRIES))
		return false;
	return !chunk->uas || !memchr_inv(chunk->uas, 0, CHUNK_ARRAY_BYTES);
}

/* Called with the lock held: publish @chunk in slot @c */
static void chunk_install(struct tce_view *view, unsigned long c,
			  struct tce_view_chunk *chunk)
{
	lockdep_assert_held(&view->lock);
	view->chunk_bytes += chunk_size(chunk);
	/* Pairs with useraddr_lookup(): the zeroed chunk is seen complete */
	smp_store_release(&view->dir[c], chunk);
}

/* Called with the lock held: unpublish slot @c, the caller frees it */
static struct tce_view_chunk *chunk_uninstall(struct tce_view *view,
					      unsigned long c)
{
	struct tce_view_chunk *chunk = view->dir[c];

	lockdep_assert_held(&view->lock);
	view->chunk_bytes -= chunk_size(chunk);
	WRITE_ONCE(view->dir[c], NULL);
	return chunk;
}

/* Called with the lock held: free the chunk if nothing is left in it */
static struct tce_view_chunk *chunk_reap_locked(struct tce_view *view,
						unsigned long c)
{
	struct tce_view_chunk *chunk = view->dir[c];

	lockdep_assert_held(&view->lock);
	if (!chunk || !chunk_is_empty(chunk))
		return NULL;
	return chunk_uninstall(view, c);
}

/*
 * What stores into a chunk changed: non-zero values gained (or lost,
 * negative) and entries newly dirty, added to the counters at once
 */
struct chunk_delta {
	long set;
	long dirty;
};

/* Called with the lock held: store @val in @slot, counting in @d */
static void slot_store_locked(struct tce_view_chunk *chunk, unsigned int slot,
			      u64 val, struct chunk_delta *d)
{
	u64 old = chunk->tces[slot];

	if (old == val)
		return;
	d->set += !!val - !!old;
	chunk->tces[slot] = val;
	d->dirty += !__test_and_set_bit(slot, chunk->dirty);
}

/*
 * Called with the lock held: the hardware holds @val in @slot now (it was
 * written through), so the slot is clean
 */
static void slot_store_clean_locked(struct tce_view_chunk *chunk,
				    unsigned int slot, u64 val,
				    struct chunk_delta *d)
{
	d->set += !!val - !!chunk->tces[slot];
	chunk->tces[slot] = val;
	d->dirty -= __test_and_clear_bit(slot, chunk->dirty);
}

/* Called with the lock held */
static void delta_apply_locked(struct tce_view *view,
			       struct tce_view_chunk *chunk,
			       const struct chunk_delta *d)
{
	lockdep_assert_held(&view->lock);
	chunk->nr_set += d->set;
	view->nr_mapped += d->set;
	view->nr_dirty += d->dirty;
}

/* Called with the lock held: store @val in @slot, dirty if it changed */
static void shadow_store(struct tce_view *view, struct tce_view_chunk *chunk,
			 unsigned int slot, u64 val)
{
	struct chunk_delta d = { 0 };

	lockdep_assert_held(&view->lock);
	slot_store_locked(chunk, slot, val, &d);
	delta_apply_locked(view, chunk, &d);
}

/* Called with the lock held: slots [@slot, @slot + @n) are all dirty */
static void dirty_clear(struct tce_view *view, struct tce_view_chunk *chunk,
			unsigned int slot, unsigned int n)
{
	lockdep_assert_held(&view->lock);
	bitmap_clear(chunk->dirty, slot, n);
	view->nr_dirty -= n;
}

/* Slots [*@lo, *@hi) of chunk @c that fall in [@first, @last) */
static void chunk_span(unsigned long c, unsigned long first,
		       unsigned long last, unsigned int *lo, unsigned int *hi)
{
	unsigned long base = c * CHUNK_ENTRIES;

	*lo = max(first, base) - base;
	*hi = min(last, base + CHUNK_ENTRIES) - base;
}

/**
 * tce_view_directory_bytes() - size of the directory of a view
 * @entries: number of entries of the window.
 *
 * This is what a view costs at least, whatever is mapped; each chunk in use
 * adds about two 4K arrays.
 *
 * Return: bytes of the chunk directory for a window of @entries entries.
 */
size_t tce_view_directory_bytes(unsigned long entries)
{
	return DIV_ROUND_UP(entries, CHUNK_ENTRIES) *
	       sizeof(struct tce_view_chunk *);
}

/**
 * tce_view_max_bytes() - most memory a view of that size can hold
 * @entries: number of entries of the window.
 *
 * The directory, and every chunk allocated with both its arrays: what a
 * user who maps the whole window and sets every user address makes the
 * kernel allocate. VFIO charges this to locked_vm when it creates the
 * window, as it charges the whole userspace view of an in-tree table.
 *
 * Return: bytes of the directory and of all the chunks of the view.
 */
size_t tce_view_max_bytes(unsigned long entries)
{
	return tce_view_directory_bytes(entries) +
	       DIV_ROUND_UP(entries, CHUNK_ENTRIES) *
	       (sizeof(struct tce_view_chunk) + 2 * CHUNK_ARRAY_BYTES);
}

/**
 * tce_view_create() - create an empty view
 * @entries: number of entries of the window, at least 1.
 * @nid: NUMA node to allocate from, or NUMA_NO_NODE.
 *
 * Allocates the view and its directory only; chunks come on demand.
 *
 * Context: process context, may sleep.
 * Return: the view, or NULL when @entries is 0 or memory is short.
 */
struct tce_view *tce_view_create(unsigned long entries, int nid)
{
	struct tce_view *view;

	if (!entries)
		return NULL;

	view = kzalloc_node(sizeof(*view), GFP_KERNEL_ACCOUNT, nid);
	if (!view)
		return NULL;

	view->nr_chunks = DIV_ROUND_UP(entries, CHUNK_ENTRIES);
	view->dir = kvcalloc(view->nr_chunks, sizeof(*view->dir),
			     GFP_KERNEL_ACCOUNT);
	if (!view->dir) {
		kfree(view);
		return NULL;
	}
	spin_lock_init(&view->lock);
	view->entries = entries;
	view->nid = nid;
	return view;
}

/**
 * tce_view_destroy() - free a view and all its chunks
 * @view: the view, or NULL.
 *
 * Dirty entries are dropped: the caller flushes first if it cares.
 */
void tce_view_destroy(struct tce_view *view)
{
	unsigned long c;

	if (!view)
		return;

	for (c = 0; c < view->nr_chunks; c++)
		chunk_free(view->dir[c]);
	kvfree(view->dir);
	kfree(view);
}

/*
 * Called with the lock held: the chunk of slot @c; when the slot is empty
 * and @need is set, install *@spare there (taking it). NULL when the slot is
 * empty and no chunk could be installed.
 */
static struct tce_view_chunk *chunk_lookup_locked(struct tce_view *view,
						  unsigned long c, bool need,
						  struct tce_view_chunk **spare)
{
	struct tce_view_chunk *chunk = view->dir[c];

	lockdep_assert_held(&view->lock);
	if (!chunk && need && *spare) {
		chunk = *spare;
		*spare = NULL;
		chunk_install(view, c, chunk);
	}
	return chunk;
}

/* A spare chunk when slot @c looks empty and one is needed */
static int chunk_prepare(struct tce_view *view, unsigned long c, bool need,
			 gfp_t gfp, struct tce_view_chunk **spare)
{
	if (!need || *spare || READ_ONCE(view->dir[c]))
		return 0;
	*spare = chunk_alloc(view->nid, gfp);
	return *spare ? 0 : -ENOMEM;
}

/**
 * tce_view_xchg() - exchange the shadow value of one entry
 * @view: the view.
 * @idx: entry index, relative to the window.
 * @tce: in: the new TCE value (0 clears); out: the previous value.
 * @gfp: allocation flags for a chunk when a non-zero value lands in an
 *	unallocated one (GFP_KERNEL from process context).
 *
 * Marks the entry dirty when the value changes. Nothing reaches the
 * hardware until tce_view_flush().
 *
 * Context: may sleep if @gfp allows it.
 * Return: 0, -EINVAL for an index out of the window, -ENOMEM.
 */
int tce_view_xchg(struct tce_view *view, unsigned long idx, u64 *tce,
		  gfp_t gfp)
{
	struct tce_view_chunk *chunk, *spare = NULL;
	unsigned long c = chunk_of(idx);
	unsigned int slot = slot_of(idx);
	bool need = *tce != 0;
	u64 old = 0;

	if (idx >= view->entries)
		return -EINVAL;

	/*
	 * Clearing an entry of an absent chunk changes nothing: no lock. A
	 * VFIO backend releasing a window exchanges every entry this way.
	 */
	if (!need && !READ_ONCE(view->dir[c])) {
		*tce = 0;
		return 0;
	}

	for (;;) {
		if (chunk_prepare(view, c, need, gfp, &spare))
			return -ENOMEM;

		spin_lock(&view->lock);
		chunk = chunk_lookup_locked(view, c, need, &spare);
		if (chunk || !need)
			break;
		/* The chunk seen above was freed meanwhile: allocate one */
		spin_unlock(&view->lock);
	}

	if (chunk) {
		old = chunk->tces[slot];
		shadow_store(view, chunk, slot, *tce);
	}
	spin_unlock(&view->lock);

	chunk_free(spare);
	*tce = old;
	return 0;
}

/**
 * tce_view_get() - read the shadow value of one entry
 * @view: the view.
 * @idx: entry index, relative to the window.
 *
 * Return: the value last stored by tce_view_xchg() (or restored by a
 * rollback), 0 for an unallocated chunk or an index out of the window.
 */
u64 tce_view_get(struct tce_view *view, unsigned long idx)
{
	struct tce_view_chunk *chunk;
	u64 val = 0;

	if (idx >= view->entries)
		return 0;

	spin_lock(&view->lock);
	chunk = view->dir[chunk_of(idx)];
	if (chunk)
		val = chunk->tces[slot_of(idx)];
	spin_unlock(&view->lock);
	return val;
}

static __be64 *useraddr_lookup(struct tce_view *view, unsigned long idx)
{
	struct tce_view_chunk *chunk;
	__be64 *uas;

	/* Pairs with chunk_install(): see the chunk fully initialised */
	chunk = smp_load_acquire(&view->dir[chunk_of(idx)]);
	if (!chunk)
		return NULL;
	/* Pairs with useraddr_alloc(): see the zeroed address array */
	uas = smp_load_acquire(&chunk->uas);
	return uas ? &uas[slot_of(idx)] : NULL;
}

/*
 * The address slot of @idx, allocating its chunk and address array when
 * missing. @lend: the caller writes through the slot without the lock, so
 * the chunk is marked to be kept (under the lock, where the reaper looks).
 */
static __be64 *useraddr_alloc(struct tce_view *view, unsigned long idx,
			      bool lend)
{
	struct tce_view_chunk *chunk, *spare = NULL;
	unsigned long c = chunk_of(idx);
	__be64 *uas = NULL, *slot = NULL;

	for (;;) {
		spin_lock(&view->lock);
		chunk = chunk_lookup_locked(view, c, true, &spare);
		if (chunk && !chunk->uas && uas) {
			view->chunk_bytes += CHUNK_ARRAY_BYTES;
			/* Pairs with useraddr_lookup(): publish the zeroed array */
			smp_store_release(&chunk->uas, uas);
			uas = NULL;
		}
		if (chunk && chunk->uas)
			break;
		spin_unlock(&view->lock);
		/* Allocate what was missing, then look again */
		if (chunk_prepare(view, c, true, GFP_KERNEL, &spare))
			goto out;
		if (!uas)
			uas = kzalloc_node(CHUNK_ARRAY_BYTES, GFP_KERNEL_ACCOUNT,
					   view->nid);
		if (!uas)
			goto out;
	}
	if (lend)
		chunk->lent = true;
	slot = &chunk->uas[slot_of(idx)];
	spin_unlock(&view->lock);
out:
	chunk_free(spare);
	kfree(uas);
	return slot;
}

/**
 * tce_view_useraddr() - the userspace address slot of one entry
 * @view: the view.
 * @idx: entry index, relative to the window.
 * @alloc: allocate the chunk and its address array when missing; the
 *	chunk is then kept until the view is destroyed.
 *
 * The caller reads and writes the big-endian address through the returned
 * pointer without the view lock; see the locking rule in the header.
 *
 * Context: process context when @alloc (may sleep).
 * Return: the slot, or NULL when @idx is out of the window, when nothing
 * is allocated and !@alloc, or when the allocation failed.
 */
__be64 *tce_view_useraddr(struct tce_view *view, unsigned long idx,
			  bool alloc)
{
	if (idx >= view->entries)
		return NULL;

	if (!alloc)
		return useraddr_lookup(view, idx);

	might_sleep();
	return useraddr_alloc(view, idx, true);
}

/* Chunk @c and its address array, allocated if missing */
static int chunk_reserve(struct tce_view *view, unsigned long c)
{
	if (useraddr_lookup(view, c * CHUNK_ENTRIES))
		return 0;
	return useraddr_alloc(view, c * CHUNK_ENTRIES, false) ? 0 : -ENOMEM;
}

/*
 * Called with the lock held: exchange slots [lo, hi) of @chunk with @st.
 * @written: the new values are about to be written through, which leaves
 * the slots clean; otherwise the changed ones are dirty.
 */
static void chunk_swap_locked(struct tce_view *view,
			      struct tce_view_chunk *chunk, unsigned int lo,
			      unsigned int hi, struct tce_range_entry *st,
			      bool written)
{
	struct chunk_delta d = { 0 };
	unsigned int slot;
	unsigned long ua;
	u64 tce;

	lockdep_assert_held(&view->lock);
	for (slot = lo; slot < hi; slot++, st++) {
		tce = chunk->tces[slot];
		ua = be64_to_cpu(chunk->uas[slot]);
		if (written)
			slot_store_clean_locked(chunk, slot, st->tce, &d);
		else
			slot_store_locked(chunk, slot, st->tce, &d);
		chunk->uas[slot] = cpu_to_be64(st->ua);
		st->tce = tce;
		st->ua = ua;
	}
	delta_apply_locked(view, chunk, &d);
}

/*
 * Called with the lock held: slots [@lo, @hi) are all dirty now (@dirty),
 * or all hold in the hardware what the shadow says
 */
static void slots_mark_locked(struct tce_view *view,
			      struct tce_view_chunk *chunk, unsigned int lo,
			      unsigned int hi, bool dirty)
{
	unsigned int slot;

	lockdep_assert_held(&view->lock);
	for (slot = lo; slot < hi; slot++) {
		if (dirty)
			view->nr_dirty += !__test_and_set_bit(slot, chunk->dirty);
		else
			view->nr_dirty -= __test_and_clear_bit(slot, chunk->dirty);
	}
}

/*
 * Called with the lock held, after chunk_swap_locked(..., true): write
 * slots [lo, hi) of chunk @c through @w. If the write fails (-EIO, the
 * status in @w), swap @st back and leave every slot dirty, for the next
 * flush to put the old values back wherever the failed write reached.
 */
static int chunk_write_locked(struct tce_view *view, unsigned long c,
			      unsigned int lo, unsigned int hi,
			      struct tce_range_entry *st,
			      struct tce_view_writer *w)
{
	struct tce_view_chunk *chunk = view->dir[c];
	const u64 *vals = &chunk->tces[lo];
	long rc;

	lockdep_assert_held(&view->lock);
	/* Only zeros (an unmap): one run of zeros, a stuff */
	if (!memchr_inv(vals, 0, (hi - lo) * sizeof(*vals)))
		vals = NULL;
	rc = w->sink->write(w->ctx, c * CHUNK_ENTRIES + lo, vals, hi - lo);
	if (!rc)
		return 0;
	chunk_swap_locked(view, chunk, lo, hi, st, false);
	slots_mark_locked(view, chunk, lo, hi, true);
	w->hstatus = rc;
	return -EIO;
}

/*
 * Exchange slots [lo, hi) of chunk @c with @st, and write them through @w
 * unless it is NULL, freeing the chunk if that emptied it; -EAGAIN when
 * the chunk or its address array went away since it was reserved.
 */
static int chunk_xchg(struct tce_view *view, unsigned long c, unsigned int lo,
		      unsigned int hi, struct tce_range_entry *st,
		      struct tce_view_writer *w)
{
	struct tce_view_chunk *chunk, *dead = NULL;
	int ret = 0;

	spin_lock(&view->lock);
	chunk = view->dir[c];
	if (!chunk || !chunk->uas) {
		spin_unlock(&view->lock);
		return -EAGAIN;
	}
	chunk_swap_locked(view, chunk, lo, hi, st, !!w);
	if (w) {
		ret = chunk_write_locked(view, c, lo, hi, st, w);
		if (!ret && !chunk->nr_set)
			dead = chunk_reap_locked(view, c);
	}
	spin_unlock(&view->lock);
	chunk_free(dead);
	return ret;
}

/* Are the TCEs and user addresses of @st[0 .. @n - 1] all zero? */
static bool range_is_zero(const struct tce_range_entry *st, unsigned long n)
{
	return !memchr_inv(st, 0, n * sizeof(*st));
}

/*
 * Exchange [first, last) with @st chunk by chunk, writing through @w
 * unless it is NULL; *@done: end of the work. A chunk that fails is left
 * as it was.
 */
static int view_xchg_chunks(struct tce_view *view, unsigned long first,
			    unsigned long last, struct tce_range_entry *st,
			    struct tce_view_writer *w, unsigned long *done)
{
	struct tce_range_entry *part;
	unsigned long c;
	unsigned int lo, hi;
	int ret;

	*done = first;
	for (c = chunk_of(first); c * CHUNK_ENTRIES < last; c++) {
		if (c != chunk_of(first))
			cond_resched();
		chunk_span(c, first, last, &lo, &hi);
		part = st + c * CHUNK_ENTRIES + lo - first;
		/* Zeros into an absent chunk: nothing changes, nothing is made */
		if (!READ_ONCE(view->dir[c]) && range_is_zero(part, hi - lo))
			ret = 0;
		else
			do {
				ret = chunk_reserve(view, c);
				if (!ret)
					ret = chunk_xchg(view, c, lo, hi, part,
							 w);
			} while (ret == -EAGAIN);
		if (ret)
			return ret;
		*done = c * CHUNK_ENTRIES + hi;
	}
	return 0;
}

/**
 * tce_view_xchg_range() - exchange the shadow values and user addresses of
 *	a range, and write the new values through
 * @view: the view.
 * @first: first entry index, relative to the window.
 * @count: number of entries.
 * @st: in: the new TCE value and user address of each entry; out: the
 *	previous ones.
 * @w: where the new values are written, chunk by chunk under the view
 *	lock (one run per chunk), so that no flush is needed; @w->hstatus
 *	gets the status of a failed write.
 *
 * Chunks and address arrays are allocated as needed, except that zeros
 * stored into an absent chunk change nothing; a chunk the exchange empties
 * is freed. Exchanging zeros in is thus an unmap, written with H_STUFF_TCE
 * or H_PUT_TCE. All or nothing: if an
 * allocation or a write fails, every entry exchanged is exchanged back, so
 * the view and @st are as they were; the entries whose values went back are
 * left dirty, and the next tce_view_flush() of the range puts the old
 * values back wherever a write reached.
 *
 * Context: process context, may sleep.
 * Return: 0, -EINVAL for a range not inside the window, -ENOMEM, or -EIO
 * when a write failed.
 */
int tce_view_xchg_range(struct tce_view *view, unsigned long first,
			unsigned long count, struct tce_range_entry *st,
			struct tce_view_writer *w)
{
	unsigned long done, undone;
	int ret;

	if (first >= view->entries || count > view->entries - first)
		return -EINVAL;
	w->hstatus = 0;
	ret = view_xchg_chunks(view, first, first + count, st, w, &done);
	/*
	 * An exchange is its own inverse. A chunk it emptied and freed is
	 * made again, which can fail only if memory ran out twice over.
	 */
	if (ret && done > first)
		WARN_ON(view_xchg_chunks(view, first, done, st, NULL, &undone));
	return ret;
}

/*
 * Called with the lock held: take slots [lo, hi) of @chunk, see below.
 * @taken gets a bit for each slot taken, in the order of @old.
 */
static unsigned int chunk_take_locked(struct tce_view *view,
				      struct tce_view_chunk *chunk,
				      unsigned int lo, unsigned int hi,
				      struct tce_range_entry *old,
				      unsigned long max, unsigned long *nr,
				      unsigned long *taken)
{
	struct chunk_delta d = { 0 };
	unsigned int slot;
	unsigned long ua;

	lockdep_assert_held(&view->lock);
	for (slot = lo; slot < hi && *nr < max; slot++) {
		ua = chunk->uas ? be64_to_cpu(chunk->uas[slot]) : 0;
		if (!chunk->tces[slot] && !ua)
			continue;
		old[*nr].tce = chunk->tces[slot];
		old[*nr].ua = ua;
		(*nr)++;
		__set_bit(slot, taken);
		slot_store_locked(chunk, slot, 0, &d);
		if (ua)
			chunk->uas[slot] = 0;
	}
	delta_apply_locked(view, chunk, &d);
	return slot - lo;
}

/*
 * Called with the lock held: give the slots set in @taken back what they
 * held, @old[0] for the first. They stay dirty, so the next flush puts the
 * old values back wherever the failed write reached.
 */
static void chunk_untake_locked(struct tce_view *view,
				struct tce_view_chunk *chunk,
				const unsigned long *taken,
				const struct tce_range_entry *old)
{
	struct chunk_delta d = { 0 };
	unsigned int slot;

	lockdep_assert_held(&view->lock);
	for_each_set_bit(slot, taken, CHUNK_ENTRIES) {
		slot_store_locked(chunk, slot, old->tce, &d);
		if (old->ua)
			chunk->uas[slot] = cpu_to_be64(old->ua);
		old++;
	}
	delta_apply_locked(view, chunk, &d);
}

/* Did any of the @n entries @old hold a TCE? */
static bool range_has_tce(const struct tce_range_entry *old, unsigned long n)
{
	while (n--)
		if (old[n].tce)
			return true;
	return false;
}

/*
 * Called with the lock held: clear in the hardware the slots of chunk @c
 * set in @taken (@old: what they held), with one run of zeros from the
 * first to the last; all of them are zero in the shadow now. If the write
 * fails, give them back what they held and return -EIO (status in @w).
 */
static int chunk_clear_write_locked(struct tce_view *view, unsigned long c,
				    const unsigned long *taken,
				    const struct tce_range_entry *old,
				    unsigned long n, struct tce_view_writer *w)
{
	struct tce_view_chunk *chunk = view->dir[c];
	unsigned int lo = find_first_bit(taken, CHUNK_ENTRIES);
	unsigned int hi = find_last_bit(taken, CHUNK_ENTRIES) + 1;
	long rc;

	lockdep_assert_held(&view->lock);
	/* Only user addresses: the hardware holds nothing there */
	if (!range_has_tce(old, n))
		return 0;
	rc = w->sink->write(w->ctx, c * CHUNK_ENTRIES + lo, NULL, hi - lo);
	if (rc) {
		chunk_untake_locked(view, chunk, taken, old);
		w->hstatus = rc;
		return -EIO;
	}
	slots_mark_locked(view, chunk, lo, hi, false);
	return 0;
}

/*
 * Take slots [lo, hi) of chunk @c into @old and clear them in the hardware
 * through @w, freeing the chunk if that emptied it. Returns the slots gone
 * through, or -EIO when the hardware refused (the chunk is as it was).
 */
static long chunk_take(struct tce_view *view, unsigned long c,
		       unsigned int lo, unsigned int hi,
		       struct tce_range_entry *old, unsigned long max,
		       unsigned long *nr, struct tce_view_writer *w)
{
	DECLARE_BITMAP(taken, CHUNK_ENTRIES);
	struct tce_view_chunk *chunk, *dead = NULL;
	unsigned long first = *nr;
	long ret;

	bitmap_zero(taken, CHUNK_ENTRIES);
	spin_lock(&view->lock);
	chunk = view->dir[c];
	if (!chunk) {
		spin_unlock(&view->lock);
		return hi - lo;
	}
	ret = chunk_take_locked(view, chunk, lo, hi, old, max, nr, taken);
	if (*nr > first &&
	    chunk_clear_write_locked(view, c, taken, old + first, *nr - first,
				     w)) {
		*nr = first;
		ret = -EIO;
	}
	if (ret >= 0)
		dead = chunk_reap_locked(view, c);
	spin_unlock(&view->lock);
	chunk_free(dead);
	return ret;
}

/**
 * tce_view_take_range() - clear the used entries of a range in the view
 *	and in the hardware, keeping what they held
 * @view: the view.
 * @first: first entry index, relative to the window.
 * @count: number of entries; the range is clipped to the window.
 * @old: where to store the TCE value and user address of each entry
 *	cleared.
 * @max: room in @old.
 * @nr: entries of @old in use; grows by one per entry cleared.
 * @w: where the zeros are written, one run per chunk (from its first to
 *	its last used entry) under the view lock; @w->hstatus gets the status
 *	of a failed write.
 *
 * An entry is used when it holds a TCE value or a user address. When this
 * returns, the hardware no longer holds the TCE of any entry counted in
 * @old, so what they referenced can be released. A chunk whose write fails
 * is left as it was (its entries keep their values and user addresses and
 * are not counted in @old) and the take stops there; the chunks before it
 * stay cleared and counted. Chunks left empty are freed; absent chunks are
 * skipped without a lock.
 *
 * Context: process or atomic context; takes the view spinlock.
 * Return: how many entries from @first on were gone through: @count, or
 * fewer when @old became full; -EIO when a write failed.
 */
long tce_view_take_range(struct tce_view *view, unsigned long first,
			 unsigned long count, struct tce_range_entry *old,
			 unsigned long max, unsigned long *nr,
			 struct tce_view_writer *w)
{
	unsigned long last, c;
	unsigned int lo, hi;
	long n;

	w->hstatus = 0;
	if (first >= view->entries)
		return count;
	last = first + min(count, view->entries - first);
	for (c = chunk_of(first); c * CHUNK_ENTRIES < last; c++) {
		if (!READ_ONCE(view->dir[c]))
			continue;
		chunk_span(c, first, last, &lo, &hi);
		n = chunk_take(view, c, lo, hi, old, max, nr, w);
		if (n < 0)
			return n;
		if (n < hi - lo)
			return c * CHUNK_ENTRIES + lo + n - first;
	}
	return count;
}

/**
 * tce_view_clear_range() - store zero into a range of entries
 * @view: the view.
 * @first: first entry index, relative to the window.
 * @count: number of entries; the range is clipped to the window.
 *
 * Entries that held a non-zero value become dirty; flush the range to
 * clear them in the hardware. Never allocates.
 */
void tce_view_clear_range(struct tce_view *view, unsigned long first,
			  unsigned long count)
{
	struct tce_view_chunk *chunk;
	unsigned long last, c;
	unsigned int lo, hi, i;

	if (first >= view->entries)
		return;
	last = first + min(count, view->entries - first);

	for (c = chunk_of(first); c * CHUNK_ENTRIES < last; c++) {
		if (!READ_ONCE(view->dir[c]))
			continue;
		chunk_span(c, first, last, &lo, &hi);
		spin_lock(&view->lock);
		chunk = view->dir[c];
		for (i = lo; chunk && chunk->nr_set && i < hi; i++)
			shadow_store(view, chunk, i, 0);
		spin_unlock(&view->lock);
	}
}

/*
 * Length of the run starting at dirty @slot: consecutive dirty entries
 * below @hi that are all zero or all non-zero.
 */
static unsigned int run_length(const struct tce_view_chunk *chunk,
			       unsigned int slot, unsigned int hi)
{
	bool zero = !chunk->tces[slot];
	unsigned int end = slot + 1;

	/* All zero or all set: the run is the dirty run, a word at a time */
	if (!chunk->nr_set || chunk->nr_set == CHUNK_ENTRIES)
		return find_next_zero_bit(chunk->dirty, hi, slot) - slot;
	while (end < hi && test_bit(end, chunk->dirty) &&
	       !chunk->tces[end] == zero)
		end++;
	return end - slot;
}

/**
 * struct flush_state - a flush in progress
 * @view: the view.
 * @sink: where the runs go.
 * @ctx: the sink's context.
 * @last: end of the flushed range (exclusive).
 * @zero_first: first entry of the pending run of zeros.
 * @zero_len: entries of the pending run of zeros, 0 when there is none.
 * @failed: first entry not written when a write failed.
 * @reap: a chunk flushed may have become empty: look for chunks to free.
 *
 * A run of zeros may go on in the next chunk, so it is written only once
 * it ends; until then its dirty bits stay set and the view lock stays held.
 */
struct flush_state {
	struct tce_view *view;
	const struct tce_view_sink *sink;
	void *ctx;
	unsigned long last;
	unsigned long zero_first;
	unsigned long zero_len;
	unsigned long failed;
	bool reap;
};

/* Called with the lock held: clean [first, first + n), chunk by chunk */
static void range_clean_locked(struct tce_view *view, unsigned long first,
			       unsigned long n)
{
	unsigned long end = first + n, c;
	unsigned int lo, hi;

	lockdep_assert_held(&view->lock);
	for (c = chunk_of(first); c * CHUNK_ENTRIES < end; c++) {
		chunk_span(c, first, end, &lo, &hi);
		dirty_clear(view, view->dir[c], lo, hi - lo);
	}
}

/* Called with the lock held: write the pending run of zeros, if any */
static long zero_run_write_locked(struct flush_state *st)
{
	long rc;

	lockdep_assert_held(&st->view->lock);
	if (!st->zero_len)
		return 0;
	rc = st->sink->write(st->ctx, st->zero_first, NULL, st->zero_len);
	if (rc) {
		st->failed = st->zero_first;
	} else {
		range_clean_locked(st->view, st->zero_first, st->zero_len);
		st->zero_len = 0;
	}
	return rc;
}

/*
 * Called with the lock held: write the dirty runs of slots [lo, hi) of
 * chunk @c. Runs of values are written at once; a run of zeros extends or
 * replaces the pending one.
 */
static long chunk_flush_locked(struct flush_state *st, unsigned long c,
			       unsigned int lo, unsigned int hi)
{
	struct tce_view_chunk *chunk = st->view->dir[c];
	unsigned long base = c * CHUNK_ENTRIES;
	unsigned int slot, n;
	long rc;

	lockdep_assert_held(&st->view->lock);
	slot = find_next_bit(chunk->dirty, hi, lo);
	while (slot < hi) {
		n = run_length(chunk, slot, hi);
		if (!chunk->tces[slot] && st->zero_len &&
		    st->zero_first + st->zero_len == base + slot) {
			st->zero_len += n;
		} else {
			rc = zero_run_write_locked(st);
			if (rc)
				return rc;
			if (!chunk->tces[slot]) {
				st->zero_first = base + slot;
				st->zero_len = n;
			} else {
				rc = st->sink->write(st->ctx, base + slot,
						     &chunk->tces[slot], n);
				if (rc) {
					st->failed = base + slot;
					return rc;
				}
				dirty_clear(st->view, chunk, slot, n);
			}
		}
		slot = find_next_bit(chunk->dirty, hi, slot + n);
	}
	return 0;
}

/* Called with the lock held: drop dirty entries of [lo, hi) to the hardware */
static void chunk_rollback_locked(struct tce_view *view,
				  struct tce_view_chunk *chunk,
				  unsigned long base, unsigned int lo,
				  unsigned int hi,
				  const struct tce_view_sink *sink, void *ctx)
{
	unsigned int slot;
	u64 val;

	lockdep_assert_held(&view->lock);
	for_each_set_bit_from(lo, chunk->dirty, hi) {
		slot = lo;
		if (sink->read(ctx, base + slot, &val))
			continue;	/* unknown: stays dirty, retried later */
		/* The slot is dirty: storing leaves it so, then it is cleaned */
		shadow_store(view, chunk, slot, val);
		dirty_clear(view, chunk, slot, 1);
	}
}

/*
 * Per chunk of [first, last): roll the dirty entries back to what the
 * hardware holds (when @sink is set), then free the chunk if it became
 * empty.
 */
static void view_rollback(struct tce_view *view, unsigned long first,
			  unsigned long last, const struct tce_view_sink *sink,
			  void *ctx)
{
	struct tce_view_chunk *chunk, *dead;
	unsigned int lo, hi;
	unsigned long c;

	for (c = chunk_of(first); c * CHUNK_ENTRIES < last; c++) {
		if (!READ_ONCE(view->dir[c]))
			continue;
		chunk_span(c, first, last, &lo, &hi);
		spin_lock(&view->lock);
		chunk = view->dir[c];
		if (chunk && sink)
			chunk_rollback_locked(view, chunk, c * CHUNK_ENTRIES,
					      lo, hi, sink, ctx);
		dead = chunk_reap_locked(view, c);
		spin_unlock(&view->lock);
		chunk_free(dead);
	}
}

/*
 * Flush chunk @c and, for as long as a run of zeros goes on at a chunk
 * end, the chunks after it, under one hold of the lock. Returns the next
 * chunk to look at; *@rc is the status of a failed write.
 */
static unsigned long flush_from(struct flush_state *st, unsigned long first,
				unsigned long c, long *rc)
{
	struct tce_view *view = st->view;
	unsigned long base;
	unsigned int lo, hi;

	spin_lock(&view->lock);
	do {
		base = c * CHUNK_ENTRIES;
		chunk_span(c, first, st->last, &lo, &hi);
		if (view->dir[c]) {
			*rc = chunk_flush_locked(st, c, lo, hi);
			st->reap |= !view->dir[c]->nr_set;
		}
		/* The pending run of zeros ends unless the chunk ends dirty */
		if (!*rc && st->zero_len &&
		    (st->zero_first + st->zero_len != base + CHUNK_ENTRIES ||
		     base + CHUNK_ENTRIES >= st->last))
			*rc = zero_run_write_locked(st);
		c++;
	} while (!*rc && st->zero_len);
	spin_unlock(&view->lock);
	return c;
}

/**
 * tce_view_flush() - write the dirty entries of a range through a sink
 * @view: the view.
 * @first: first entry index, relative to the window.
 * @count: number of entries; the range is clipped to the window.
 * @sink: where to write; see &struct tce_view_sink.
 * @ctx: passed to the sink callbacks.
 *
 * Dirty entries are grouped in runs of zeros and runs of non-zero values
 * and handed to @sink->write. A run of values never crosses a chunk
 * boundary; a run of zeros goes on across chunks for as long as the dirty
 * entries are zero (the view lock stays held while it does), so clearing
 * any number of consecutive entries is one write. Written entries become
 * clean. Chunks of the range left empty are freed. Absent chunks cost no
 * lock.
 *
 * When a write fails, the flush stops; every entry of the range still dirty
 * from the failed run on is read back with @sink->read, its shadow set to
 * what the hardware holds and its dirty bit cleared (an entry whose read
 * fails stays dirty). The caller thus finds the shadow matching the
 * hardware and the range clean.
 *
 * Return: H_SUCCESS, or the status of the failed write.
 */
long tce_view_flush(struct tce_view *view, unsigned long first,
		    unsigned long count, const struct tce_view_sink *sink,
		    void *ctx)
{
	struct flush_state st = { .view = view, .sink = sink, .ctx = ctx };
	unsigned long c;
	long rc = 0;

	if (first >= view->entries)
		return 0;
	st.last = first + min(count, view->entries - first);

	c = chunk_of(first);
	if (!READ_ONCE(view->nr_dirty)) {
		c = DIV_ROUND_UP(st.last, CHUNK_ENTRIES);	/* only reap */
		st.reap = true;
	}
	while (c * CHUNK_ENTRIES < st.last && !rc) {
		if (READ_ONCE(view->dir[c]))
			c = flush_from(&st, first, c, &rc);
		else
			c++;
	}

	/* Free what went empty; after a failure, roll back what is left */
	if (rc)
		view_rollback(view, st.failed, st.last, sink, ctx);
	if (rc || st.reap)
		view_rollback(view, first, rc ? st.failed : st.last, NULL,
			      NULL);
	return rc;
}

/**
 * tce_view_entries() - number of entries of the window
 * @view: the view.
 *
 * Return: the @entries given to tce_view_create().
 */
unsigned long tce_view_entries(const struct tce_view *view)
{
	return view->entries;
}

/**
 * tce_view_mapped() - number of entries with a non-zero shadow value
 * @view: the view.
 *
 * Return: the count, dirty or not.
 */
unsigned long tce_view_mapped(struct tce_view *view)
{
	unsigned long n;

	spin_lock(&view->lock);
	n = view->nr_mapped;
	spin_unlock(&view->lock);
	return n;
}

/**
 * tce_view_dirty() - number of entries not yet written out
 * @view: the view.
 *
 * Return: the count of dirty entries.
 */
unsigned long tce_view_dirty(struct tce_view *view)
{
	unsigned long n;

	spin_lock(&view->lock);
	n = view->nr_dirty;
	spin_unlock(&view->lock);
	return n;
}

/**
 * tce_view_bytes() - memory held by the view
 * @view: the view.
 *
 * Return: bytes of the view structure, its directory and its chunks.
 */
size_t tce_view_bytes(struct tce_view *view)
{
	size_t bytes;

	spin_lock(&view->lock);
	bytes = view->chunk_bytes;
	spin_unlock(&view->lock);
	return bytes + sizeof(*view) + tce_view_directory_bytes(view->entries);
}
