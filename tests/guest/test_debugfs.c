// SPDX-License-Identifier: GPL-2.0-only
/*
 * What an operator reads in /sys/kernel/debug/pseries_tce_ddw/ matches what
 * was done through VFIO. Run under ours-ours (or any pairing with our
 * platform module; without it: skip).
 *
 * Opens the edu device's group (sPAPR TCE v2), creates a DDW of known
 * geometry (4K IOMMU pages, 1 GiB), maps NR_TCES TCEs and checks the PE's
 * debugfs files:
 *  - windows: the row at the start address CREATE returned has that size,
 *    page shift and 1 level, tces_mapped NR_TCES, mapped_bytes
 *    NR_TCES << shift, 0 < view_bytes < flat_bytes (the size a flat table
 *    would take);
 *  - usage: the PE totals, mapped_sys_pages = mapped bytes in system pages;
 *  - hcalls (per PE): the map grew the PE's H_PUT_TCE_INDIRECT count by
 *    exactly ceil(NR_TCES / 512) and its H_PUT_TCE count not at all, the
 *    unmap its H_STUFF_TCE count by exactly ceil(NR_TCES / 512) (PAPR's
 *    512 a call) and nothing failed; the counts stay after the
 *    window is removed; another PE's counts do not move; the module-wide
 *    total (top-level hcalls) grew as much and, once the test is done, is
 *    the sum of the PE files; one ibm,create-pe-dma-window, then one
 *    ibm,remove-pe-dma-window;
 *  - after UNMAP tces_mapped is 0 and view_bytes back to its empty size,
 *    after REMOVE the row is gone, after close the PE has no window of ours
 *    and nothing mapped.
 *
 * Usage: test_debugfs [BDF]   (default: first 1234:11e8 device)
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DBG_ROOT	"/sys/kernel/debug/pseries_tce_ddw"
#define WIN_SHIFT	12			/* 4K IOMMU pages */
#define WIN_SIZE	(1ULL << 30)
#define NR_TCES		1300ULL			/* 3 put_many, 3 stuff */
#define BATCH		512ULL

struct win_row {
	bool found;
	uint64_t start, size, page_shift, levels, tces, view, mapped_bytes,
		 flat;
	char kind[16];
};

struct hcalls {
	long long put, put_many, stuff, get, failed;
	long long rtas_create, rtas_remove;
};

static char pe_dir[512];
static char other_dir[512];	/* another PE, or "" */

/* The PE directory of bdf: "DOMAIN:BUS-<node>" */
static int find_pe_dir(const char *bdf)
{
	char prefix[16];
	struct dirent *de;
	DIR *dir = opendir(DBG_ROOT);
	int r = -ENOENT;

	if (!dir)
		return -errno;
	snprintf(prefix, sizeof(prefix), "%.7s-", bdf);
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(pe_dir, sizeof(pe_dir), "%s/%s", DBG_ROOT, de->d_name);
		r = 0;
		break;
	}
	closedir(dir);
	return r;
}

/* Another PE directory than pe_dir, for the "no change" checks */
static void find_other_pe_dir(void)
{
	struct dirent *de;
	DIR *dir = opendir(DBG_ROOT);

	other_dir[0] = 0;
	if (!dir)
		return;
	while ((de = readdir(dir)) && !other_dir[0]) {
		if (de->d_type != DT_DIR || !strchr(de->d_name, '-'))
			continue;
		snprintf(other_dir, sizeof(other_dir), "%s/%s", DBG_ROOT,
			 de->d_name);
		if (!strcmp(other_dir, pe_dir))
			other_dir[0] = 0;
	}
	closedir(dir);
}

static FILE *dir_open(const char *dir, const char *file)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return fopen(path, "r");
}

static FILE *pe_open(const char *file)
{
	return dir_open(pe_dir, file);
}

/* Column index of name in the "num ..." header, or -1 */
static int col_of(char cols[][32], int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(cols[i], name))
			return i;
	return -1;
}

/*
 * The row of the window starting at start (any window if start is ~0),
 * and the number of window rows in *nr. Columns are found by name.
 */
static int read_window(uint64_t start, struct win_row *w, int *nr)
{
	char line[512], cols[24][32], val[24][32], *tok, *save;
	int ncol = 0, n, c;
	FILE *f = pe_open("windows");

	memset(w, 0, sizeof(*w));
	*nr = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		n = 0;
		for (tok = strtok_r(line, " \t\n", &save); tok && n < 24;
		     tok = strtok_r(NULL, " \t\n", &save))
			snprintf(val[n++], sizeof(val[0]), "%s", tok);
		if (!ncol) {
			if (n && !strcmp(val[0], "num")) {
				memcpy(cols, val, sizeof(cols));
				ncol = n;
			}
			continue;
		}
		if (!n || val[0][0] < '0' || val[0][0] > '9')
			continue;
		(*nr)++;
		c = col_of(cols, ncol, "start");
		if (c < 0 || c >= n)
			continue;
		if (start != ~0ULL && strtoull(val[c], NULL, 0) != start)
			continue;
		w->found = true;
#define FIELD(name, dst) \
		do { c = col_of(cols, ncol, name); \
		     if (c >= 0 && c < n) dst = strtoull(val[c], NULL, 0); } while (0)
		FIELD("start", w->start);
		FIELD("size", w->size);
		FIELD("page_shift", w->page_shift);
		FIELD("levels", w->levels);
		FIELD("tces_mapped", w->tces);
		FIELD("view_bytes", w->view);
		FIELD("mapped_bytes", w->mapped_bytes);
		FIELD("flat_bytes", w->flat);
#undef FIELD
		c = col_of(cols, ncol, "kind");
		if (c >= 0 && c < n)
			snprintf(w->kind, sizeof(w->kind), "%s", val[c]);
	}
	fclose(f);
	return ncol ? 0 : -EPROTO;
}

/* "key value" line of dir/file; -ENOENT when absent */
static long long read_key_in(const char *dir, const char *file,
			     const char *key)
{
	return key_file_read(dir_open(dir, file), key);
}

/* "key value" line of a file of our PE */
static long long read_key(const char *file, const char *key)
{
	return read_key_in(pe_dir, file, key);
}

/* The hcalls file of a PE directory, or the top-level one (DBG_ROOT) */
static void read_hcalls_in(const char *dir, struct hcalls *h)
{
	h->put = read_key_in(dir, "hcalls", "put");
	h->put_many = read_key_in(dir, "hcalls", "put_many");
	h->stuff = read_key_in(dir, "hcalls", "stuff");
	h->get = read_key_in(dir, "hcalls", "get");
	h->failed = read_key_in(dir, "hcalls", "failed");
	h->rtas_create = read_key_in(dir, "hcalls", "create-pe-dma-window");
	h->rtas_remove = read_key_in(dir, "hcalls", "remove-pe-dma-window");
}

static void read_hcalls(struct hcalls *h)
{
	read_hcalls_in(pe_dir, h);
}

static bool hcalls_equal(const struct hcalls *a, const struct hcalls *b)
{
	return a->put == b->put && a->put_many == b->put_many &&
	       a->stuff == b->stuff && a->get == b->get &&
	       a->failed == b->failed;
}

/* The TCE hypercall counts of every PE directory, added up */
static void sum_pe_hcalls(struct hcalls *sum)
{
	char dir[600];
	struct hcalls h;
	struct dirent *de;
	DIR *d = opendir(DBG_ROOT);

	memset(sum, 0, sizeof(*sum));
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strchr(de->d_name, '-'))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", DBG_ROOT, de->d_name);
		read_hcalls_in(dir, &h);
		sum->put += h.put;
		sum->put_many += h.put_many;
		sum->stuff += h.stuff;
		sum->get += h.get;
		sum->failed += h.failed;
	}
	closedir(d);
}

/* Another PE's counts did not move between @a and now */
static void check_other_pe(const struct hcalls *a, const char *when)
{
	struct hcalls b;

	if (!other_dir[0]) {
		tap_skip("no other PE in debugfs",
			 "hcalls of another PE unchanged %s", when);
		return;
	}
	read_hcalls_in(other_dir, &b);
	tap_ok(hcalls_equal(a, &b),
	       "hcalls of another PE (%s) unchanged %s: put_many %lld -> %lld, stuff %lld -> %lld, put %lld -> %lld",
	       other_dir + strlen(DBG_ROOT) + 1, when, a->put_many,
	       b.put_many, a->stuff, b.stuff, a->put, b.put);
}

static void diag_file(const char *file)
{
	char line[512];
	FILE *f = pe_open(file);

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		tap_diag("%s: %.*s", file, (int)strcspn(line, "\n"), line);
	fclose(f);
}

int main(int argc, char **argv)
{
	const uint64_t batches = (NR_TCES + BATCH - 1) / BATCH;
	const uint64_t map_len = NR_TCES << WIN_SHIFT;
	struct vfio_iommu_spapr_tce_info info;
	struct hcalls h0, h1, h2, h3, hu, o0, t1, t2, sum;
	struct win_row w;
	struct vfio_dev d;
	uint64_t start = 0, view_empty, sys_pages;
	size_t ps = sys_page_size(), buf_len;
	long long pin0, pin1;
	char bdf[32];
	void *buf;
	int nr;
	long r;

	tap_init("test_debugfs");
	if (pci_pick_device(argc, argv, bdf, sizeof(bdf)))
		tap_skip_all("no edu device (1234:11e8) found");
	ddw_debugfs_mapped(bdf);	/* mounts debugfs if needed */
	if (!platform_is_ours() || access(DBG_ROOT, F_OK))
		tap_skip_all("pseries_tce_ddw not loaded (pairing %s)",
			     pairing_name());
	if (!tap_rc(find_pe_dir(bdf), 0, "PE directory of %s: %s", bdf, pe_dir))
		return tap_done();
	find_other_pe_dir();
	tap_diag("other PE: %s", other_dir[0] ? other_dir : "none");
	read_hcalls_in(other_dir, &o0);

	vfio_dev_init(&d);
	r = vfio_open(&d, bdf, VFIO_SPAPR_TCE_v2_IOMMU, false);
	if (!tap_rc(r, 0, "open %s (sPAPR TCE v2)", bdf))
		tap_bail("cannot open the group");
	r = spapr_get_info(d.container, &info, sizeof(info));
	tap_rc(r, 0, "GET_INFO");
	if (!(info.ddw.pgsizes & (1ULL << WIN_SHIFT)) ||
	    !info.ddw.max_dynamic_windows_supported)
		tap_bail("no DDW with 4K pages offered (pgsizes %#llx)",
			 (unsigned long long)info.ddw.pgsizes);

	buf_len = (map_len + ps - 1) & ~(ps - 1);
	buf = buf_alloc(buf_len);
	if (!buf)
		tap_bail("no memory");
	pin0 = pinned_pages();
	tap_rc(spapr_register(d.container, buf, buf_len), 0,
	       "REGISTER_MEMORY %zu bytes", buf_len);
	pin1 = pinned_pages();

	read_hcalls(&h0);
	tap_ok(h0.put_many >= 0 && h0.stuff >= 0 && h0.rtas_create >= 0,
	       "hcalls readable (put_many %lld, stuff %lld, create %lld)",
	       h0.put_many, h0.stuff, h0.rtas_create);
	r = spapr_create(d.container, WIN_SHIFT, WIN_SIZE, 1, &start);
	if (!tap_rc(r, 0, "CREATE 4K pages, 1 GiB, 1 level: start %#" PRIx64,
		    start))
		tap_bail("no window");

	/* geometry */
	read_window(start, &w, &nr);
	if (!tap_ok(w.found, "windows: a row at start %#" PRIx64, start)) {
		diag_file("windows");
		tap_bail("window not in debugfs");
	}
	tap_ok(w.size == WIN_SIZE, "windows: size %#" PRIx64 " (CREATE %#llx)",
	       w.size, WIN_SIZE);
	tap_ok(w.page_shift == WIN_SHIFT, "windows: page_shift %" PRIu64,
	       w.page_shift);
	tap_ok(w.levels == 1, "windows: levels %" PRIu64, w.levels);
	tap_ok(!strcmp(w.kind, "ddw"), "windows: kind %s", w.kind);
	tap_ok(w.tces == 0, "windows: tces_mapped 0 before MAP (%" PRIu64 ")",
	       w.tces);
	tap_ok(w.flat == (WIN_SIZE >> WIN_SHIFT) * 8,
	       "windows: flat_bytes %" PRIu64 " = entries * 8", w.flat);
	view_empty = w.view;
	read_hcalls(&h1);
	read_hcalls_in(DBG_ROOT, &t1);
	tap_ok(h1.rtas_create == h0.rtas_create + 1,
	       "hcalls: one ibm,create-pe-dma-window (%lld -> %lld)",
	       h0.rtas_create, h1.rtas_create);

	/* map */
	r = dma_map(d.container, buf, start, map_len, DMA_RW);
	tap_rc(r, 0, "MAP_DMA %llu TCEs", NR_TCES);
	read_hcalls(&h2);
	read_hcalls_in(DBG_ROOT, &t2);
	read_window(start, &w, &nr);
	diag_file("windows");
	diag_file("usage");
	diag_file("hcalls");
	tap_ok(w.tces == NR_TCES, "windows: tces_mapped %" PRIu64 " (mapped %llu)",
	       w.tces, NR_TCES);
	tap_ok(w.mapped_bytes == map_len,
	       "windows: mapped_bytes %" PRIu64 " = TCEs << page_shift",
	       w.mapped_bytes);
	tap_ok(w.view > 0 && w.view < w.flat,
	       "windows: 0 < view_bytes %" PRIu64 " < flat_bytes %" PRIu64,
	       w.view, w.flat);
	tap_ok(w.view > view_empty, "windows: view_bytes grew (%" PRIu64
	       " -> %" PRIu64 ")", view_empty, w.view);
	tap_ok(read_key("usage", "tces_mapped") == (long long)NR_TCES,
	       "usage: tces_mapped %lld", read_key("usage", "tces_mapped"));
	sys_pages = (map_len + ps - 1) / ps;
	tap_ok(read_key("usage", "mapped_sys_pages") == (long long)sys_pages,
	       "usage: mapped_sys_pages %lld = %llu bytes / %zu",
	       read_key("usage", "mapped_sys_pages"),
	       (unsigned long long)map_len, ps);
	tap_ok(h2.put_many - h1.put_many == (long long)batches,
	       "hcalls of the PE: put_many grew by %lld on MAP (ceil(%llu / 512) = %llu)",
	       h2.put_many - h1.put_many, NR_TCES,
	       (unsigned long long)batches);
	tap_ok(h2.put == h1.put, "hcalls of the PE: put grew by %lld (expected 0)",
	       h2.put - h1.put);
	tap_ok(h2.failed == h1.failed, "hcalls of the PE: no failed call");
	tap_ok(t2.put_many - t1.put_many == h2.put_many - h1.put_many,
	       "top-level hcalls: put_many grew by %lld, as the PE's",
	       t2.put_many - t1.put_many);
	tap_figure("debugfs_map_tces", "%llu", NR_TCES);
	tap_figure("debugfs_map_put_many", "%lld", h2.put_many - h1.put_many);
	tap_figure("debugfs_map_put", "%lld", h2.put - h1.put);
	tap_figure("debugfs_view_bytes", "%" PRIu64 " of flat %" PRIu64,
		   w.view, w.flat);
	if (pin0 >= 0 && pin1 >= 0)
		tap_figure("debugfs_pinned_by_register",
			   "%lld system pages (usage: %llu mapped)",
			   pin1 - pin0, (unsigned long long)sys_pages);

	/* unmap */
	r = dma_unmap(d.container, start, map_len);
	tap_rc(r, 0, "UNMAP_DMA");
	read_hcalls(&h3);
	read_window(start, &w, &nr);
	tap_ok(w.tces == 0, "windows: tces_mapped 0 after UNMAP (%" PRIu64 ")",
	       w.tces);
	tap_ok(w.view == view_empty, "windows: view_bytes back to %" PRIu64
	       " (%" PRIu64 ")", view_empty, w.view);
	/* One contiguous unmap is one run of zeros: 512 per H_STUFF_TCE */
	tap_ok(h3.stuff - h2.stuff == (long long)batches,
	       "hcalls of the PE: stuff grew by %lld on UNMAP (ceil(%llu / 512) = %llu)",
	       h3.stuff - h2.stuff, NR_TCES, (unsigned long long)batches);
	tap_ok(h3.failed == h2.failed, "hcalls of the PE: no failed call on UNMAP");
	tap_ok(h3.put == h2.put && h3.put_many == h2.put_many,
	       "hcalls of the PE: no put/put_many on UNMAP (%lld/%lld)",
	       h3.put - h2.put, h3.put_many - h2.put_many);
	tap_figure("debugfs_unmap_stuff", "%lld", h3.stuff - h2.stuff);
	check_other_pe(&o0, "by MAP and UNMAP");
	hu = h3;

	/* remove */
	tap_rc(spapr_remove(d.container, start), 0, "REMOVE");
	read_window(start, &w, &nr);
	tap_ok(!w.found, "windows: the row is gone after REMOVE");
	read_hcalls(&h3);
	tap_ok(h3.rtas_remove >= h1.rtas_remove + 1,
	       "hcalls: ibm,remove-pe-dma-window called (%lld -> %lld)",
	       h1.rtas_remove, h3.rtas_remove);
	tap_ok(hcalls_equal(&hu, &h3),
	       "hcalls of the PE kept after REMOVE (put_many %lld, stuff %lld)",
	       h3.put_many, h3.stuff);

	spapr_unregister(d.container, buf, buf_len);
	vfio_close(&d);
	buf_free(buf, buf_len);
	pci_rebind(bdf, NULL);
	read_window(~0ULL, &w, &nr);
	diag_file("windows");
	tap_ok(read_key("usage", "tces_mapped") == 0,
	       "after close: usage tces_mapped 0 (%lld)",
	       read_key("usage", "tces_mapped"));
	tap_ok(read_key("windows", "owners") == 0,
	       "after close: owners 0 (%lld)", read_key("windows", "owners"));
	tap_ok(read_key("usage", "windows") == 0,
	       "after close: no window of ours left (%lld)",
	       read_key("usage", "windows"));
	read_hcalls(&h3);
	tap_ok(h3.put_many >= hu.put_many && h3.stuff >= hu.stuff,
	       "after close: hcalls of the PE kept (put_many %lld, stuff %lld)",
	       h3.put_many, h3.stuff);
	check_other_pe(&o0, "after close");
	sum_pe_hcalls(&sum);
	read_hcalls_in(DBG_ROOT, &t2);
	tap_ok(hcalls_equal(&sum, &t2),
	       "top-level hcalls = sum of the PEs (put_many %lld = %lld, stuff %lld = %lld, put %lld = %lld)",
	       t2.put_many, sum.put_many, t2.stuff, sum.stuff, t2.put,
	       sum.put);
	return tap_done();
}
