// SPDX-License-Identifier: GPL-2.0-only
/*
 * pSeries dynamic DMA windows for VFIO: iommu_table_group_ops over the
 * RTAS DDW calls and TCE windows with a sparse shadow.
 *
 * At load the ops of every pSeries PE (partitionable endpoint) not owned by
 * a DMA user are swapped for ours; at unload the originals come back. A PE
 * whose last PCI function is removed is dropped at once, before the in-tree
 * code frees its table group with its device-tree node. The
 * device-tree conventions of the in-tree platform code are kept
 * ("ibm,dma-window", "ibm,dma-window-saved", "linux,dma64-ddr-window-info")
 * so that it finds each PE as it expects once we are done with it.
 *
 * Interop limit: the in-tree code also tracks the host DDWs it creates in a
 * private list (dma_win_list) we cannot reach. When take_ownership removes
 * such a window, the stale list entry stays: if a host driver is bound again
 * to the device later, the in-tree code believes its DDW still exists and,
 * for a direct-mapping DDW, DMAs through it. So release_ownership re-creates
 * a removed direct-mapping DDW at the same bus address and maps all RAM
 * again; when the platform places it elsewhere, it is removed and the host
 * driver of that PE cannot DMA until reboot (logged). A dynamic host DDW
 * is not re-created: the stale entry sends the host to tables[0], which
 * works.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/align.h>
#include <linux/debugfs.h>
#include <linux/ioport.h>
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/pci.h>
#include <linux/seq_file.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/firmware.h>
#include <asm/iommu.h>
#include <asm/machdep.h>
#include <asm/pci-bridge.h>
#include <asm/rtas.h>
#include <asm/tce.h>

#include "tce_backend.h"
#include "tce_range.h"
#include "tce_userspace_view.h"
#include "tce_window.h"

#define DMA_WINDOW_PROP		"ibm,dma-window"
#define DMA_WINDOW_SAVED_PROP	"ibm,dma-window-saved"
#define DDW_APPLICABLE_PROP	"ibm,ddw-applicable"
#define DDW_EXTENSIONS_PROP	"ibm,ddw-extensions"

#define NR_WINDOWS		IOMMU_TABLE_GROUP_MAX_TABLES
#define DEFAULT_PAGE_SHIFT	IOMMU_PAGE_SHIFT_4K
#define MIN_PAGE_SHIFT		12
#define MAX_PAGE_SHIFT		40
/*
 * Most TCEs one window may have. Platforms count TCEs in 32 bits (QEMU
 * truncates larger windows and leaves its state broken), and 2^31 4K TCEs
 * already address 8 TiB.
 */
#define MAX_WINDOW_TCES_ORDER	31

/* Indices in "ibm,ddw-applicable" */
enum ddw_token {
	DDW_QUERY,
	DDW_CREATE,
	DDW_REMOVE,
	DDW_NR_TOKENS
};

/* Indices in "ibm,ddw-extensions"; index 0 is the number of extensions */
enum ddw_ext {
	DDW_EXT_COUNT,
	DDW_EXT_RESET,
	DDW_EXT_QUERY_OUT,
};

enum ddw_rtas_kind {
	RTAS_QUERY,
	RTAS_CREATE,
	RTAS_REMOVE,
	RTAS_RESET,
	NR_RTAS_KINDS
};

static const char * const rtas_kind_name[NR_RTAS_KINDS] = {
	[RTAS_QUERY] = "query-pe-dma-window",
	[RTAS_CREATE] = "create-pe-dma-window",
	[RTAS_REMOVE] = "remove-pe-dma-window",
	[RTAS_RESET] = "reset-pe-dma-windows",
};

/*
 * Value of "linux,dma64-ddr-window-info": the same layout, padding
 * included, as the in-tree struct dynamic_dma_window_prop, which reads it.
 */
struct ddw_prop {
	__be32 liobn;
	__be64 dma_base;
	__be32 tce_shift;
	__be32 window_shift;
};

static_assert(sizeof(struct ddw_prop) == 24);

struct ddw_query {
	u32 windows_available;
	u64 largest_block;
	u32 page_sizes;
};

struct ddw_created {
	u32 liobn;
	u64 start;
};

struct default_window {
	u32 liobn;
	u64 start;
	u64 size;
};

/* A direct-mapping DDW of the host removed at take_ownership */
struct host_direct_ddw {
	bool valid;
	u64 dma_base;
	u32 page_shift;
	u32 window_shift;
};

/* table_group fields we override, saved to restore at unload */
struct group_fields {
	u32 tce32_start;
	u32 tce32_size;
	u64 pgsizes;
	u32 max_dynamic_windows_supported;
	u32 max_levels;
};

/**
 * struct ddw_slot - one window of a PE opened through our ops
 * @win: the window, also in table_group->tables[] (which holds a ref).
 * @prop: DT property added for it, or NULL.
 * @is_default: it is the default 32-bit window.
 */
struct ddw_slot {
	struct tce_window *win;
	struct property *prop;
	bool is_default;
};

struct ddw_owner {
	struct list_head node;
	struct device *dev;
	bool owning;
};

/**
 * struct ddw_pe - our state for one PE
 * @node: in pe_list.
 * @table_group: the PE's table group.
 * @orig_ops: its ops before ours.
 * @managed: our ops are installed (false: skipped at load).
 * @np: the PE node (holds "ibm,dma-window"); referenced.
 * @phb: PCI host bridge.
 * @cfg_addr: RTAS config address of a device of the PE.
 * @busno: bus number for it_busno.
 * @tokens: "ibm,ddw-applicable" RTAS tokens.
 * @has_ddw: @tokens are valid.
 * @reset_token: ibm,reset-pe-dma-windows token.
 * @has_reset: @reset_token is valid.
 * @query_nret: outputs of ibm,query-pe-dma-window, status included.
 * @saved: table_group fields before ours.
 * @owners: devices that took ownership and did not release it.
 * @owner_list: &struct ddw_owner of this ownership period.
 * @default_table: in-tree default table kept while owned (holds a ref).
 * @default_present: the platform default window exists.
 * @host_direct: host direct-mapping DDW to re-create at release.
 * @slot: windows opened through our ops.
 * @rtas_calls: RTAS calls made, by kind.
 * @rtas_failed: RTAS calls that failed, by kind.
 * @calls: TCE hypercalls of the windows closed since load, and of the
 *	platform windows we write without a window of ours (host DDW and
 *	leftover clearing, host direct DDW restore); those of the open
 *	windows are in their &tce_window.calls.
 * @dbg: debugfs directory.
 */
struct ddw_pe {
	struct list_head node;
	struct iommu_table_group *table_group;
	struct iommu_table_group_ops *orig_ops;
	bool managed;
	struct device_node *np;
	struct pci_controller *phb;
	u32 cfg_addr;
	unsigned long busno;
	u32 tokens[DDW_NR_TOKENS];
	bool has_ddw;
	u32 reset_token;
	bool has_reset;
	int query_nret;
	struct group_fields saved;
	unsigned int owners;
	struct list_head owner_list;
	struct iommu_table *default_table;
	bool default_present;
	struct host_direct_ddw host_direct;
	struct ddw_slot slot[NR_WINDOWS];
	atomic64_t rtas_calls[NR_RTAS_KINDS];
	atomic64_t rtas_failed[NR_RTAS_KINDS];
	struct tce_call_stats calls;
	struct dentry *dbg;
};

/* Serialises window create/remove, ownership and the PE list */
static DEFINE_MUTEX(ddw_mutex);
static LIST_HEAD(pe_list);
static struct dentry *ddw_debugfs_root;
static struct iommu_table_group_ops ddw_ops;

/* ---- RTAS ---------------------------------------------------------- */

static int rtas_status_to_errno(int status)
{
	switch (status) {
	case 0:
		return 0;
	case -3:	/* parameter error */
		return -EINVAL;
	default:	/* -1 hardware error, vendor codes */
		return -EIO;
	}
}

static u32 buid_hi(const struct ddw_pe *pe)
{
	return upper_32_bits(pe->phb->buid);
}

static u32 buid_lo(const struct ddw_pe *pe)
{
	return lower_32_bits(pe->phb->buid);
}

static int count_rtas(struct ddw_pe *pe, enum ddw_rtas_kind kind, int status)
{
	atomic64_inc(&pe->rtas_calls[kind]);
	if (status) {
		atomic64_inc(&pe->rtas_failed[kind]);
		pr_warn("%pOF: ibm,%s returned %d\n", pe->np,
			rtas_kind_name[kind], status);
	}
	return status;
}

/*
 * One RTAS DDW call of @kind: retried while the firmware is busy, counted,
 * and a fault site (tce_firmware_should_fail()) that fails as the
 * firmware's hardware error (-1) does. Evaluates to the RTAS status.
 */
#define ddw_rtas(pe, kind, token, nargs, nret, out, ...)			\
({									\
	int __status = -1;						\
									\
	if (!tce_firmware_should_fail()) {				\
		do {							\
			__status = rtas_call(token, nargs, nret, out,	\
					     __VA_ARGS__);		\
		} while (rtas_busy_delay(__status));			\
	}								\
	count_rtas(pe, kind, __status);					\
})

static int rtas_query(struct ddw_pe *pe, struct ddw_query *q)
{
	int out[5] = { 0 };
	int status;

	status = ddw_rtas(pe, RTAS_QUERY, pe->tokens[DDW_QUERY], 3,
			  pe->query_nret, out, pe->cfg_addr, buid_hi(pe),
			  buid_lo(pe));
	if (status)
		return rtas_status_to_errno(status);

	q->windows_available = out[0];
	if (pe->query_nret == 6) {
		q->largest_block = ((u64)(u32)out[1] << 32) | (u32)out[2];
		q->page_sizes = out[3];
	} else {
		q->largest_block = (u32)out[1];
		q->page_sizes = out[2];
	}
	return 0;
}

static int rtas_create(struct ddw_pe *pe, unsigned int page_shift,
		       unsigned int window_shift, struct ddw_created *c)
{
	int out[3] = { 0 };
	int status;

	status = ddw_rtas(pe, RTAS_CREATE, pe->tokens[DDW_CREATE], 5, 4, out,
			  pe->cfg_addr, buid_hi(pe), buid_lo(pe), page_shift,
			  window_shift);
	if (status)
		return rtas_status_to_errno(status);

	c->liobn = out[0];
	c->start = ((u64)(u32)out[1] << 32) | (u32)out[2];
	return 0;
}

static int rtas_remove(struct ddw_pe *pe, u32 liobn)
{
	return rtas_status_to_errno(ddw_rtas(pe, RTAS_REMOVE,
					     pe->tokens[DDW_REMOVE], 1, 1,
					     NULL, liobn));
}

static int rtas_reset(struct ddw_pe *pe)
{
	return rtas_status_to_errno(ddw_rtas(pe, RTAS_RESET, pe->reset_token,
					     3, 1, NULL, pe->cfg_addr,
					     buid_hi(pe), buid_lo(pe)));
}

/* "IO Page Sizes" bits of ibm,query-pe-dma-window, bit 8 (2M) out of order */
static const u8 query_page_shifts[] = { 12, 16, 24, 25, 26, 27, 28, 34, 21 };

static u64 query_pgsizes(u32 page_sizes)
{
	u64 mask = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(query_page_shifts); i++)
		if (page_sizes & BIT(i))
			mask |= 1ULL << query_page_shifts[i];
	return mask;
}

/* ---- device tree --------------------------------------------------- */

static u32 dt_cells(struct device_node *np, const char *name, int fallback)
{
	u32 cells;

	if (of_property_read_u32(np, name, &cells))
		return fallback;
	return cells;
}

static int default_window_parse(struct device_node *np, const char *name,
				struct default_window *w)
{
	const __be32 *p;
	u32 acells, scells;
	int len;

	p = of_get_property(np, name, &len);
	if (!p)
		return -ENOENT;

	acells = dt_cells(np, "ibm,#dma-address-cells", of_n_addr_cells(np));
	scells = dt_cells(np, "ibm,#dma-size-cells", of_n_size_cells(np));
	if (acells > 2 || scells > 2 ||
	    len < (1 + acells + scells) * sizeof(__be32))
		return -EINVAL;

	w->liobn = be32_to_cpup(p);
	w->start = of_read_number(p + 1, acells);
	w->size = of_read_number(p + 1 + acells, scells);
	return 0;
}

/* The default window, from the live property or the saved copy */
static int pe_default_window(struct ddw_pe *pe, struct default_window *w)
{
	if (!default_window_parse(pe->np, DMA_WINDOW_PROP, w))
		return 0;
	return default_window_parse(pe->np, DMA_WINDOW_SAVED_PROP, w);
}

static struct property *property_alloc(const char *name, const void *value,
				       int length)
{
	struct property *prop;

	prop = kzalloc(sizeof(*prop), GFP_KERNEL);
	if (!prop)
		return NULL;

	prop->name = kstrdup(name, GFP_KERNEL);
	prop->value = kmemdup(value, length, GFP_KERNEL);
	prop->length = length;
	if (!prop->name || !prop->value) {
		kfree(prop->name);
		kfree(prop->value);
		kfree(prop);
		return NULL;
	}
	return prop;
}

static void property_free(struct property *prop)
{
	kfree(prop->name);
	kfree(prop->value);
	kfree(prop);
}

/* Add a new property; it is never freed once added (OF keeps dead ones) */
static struct property *property_add(struct device_node *np, const char *name,
				     const void *value, int length)
{
	struct property *prop = property_alloc(name, value, length);
	int ret;

	if (!prop)
		return ERR_PTR(-ENOMEM);

	ret = of_add_property(np, prop);
	if (ret) {
		property_free(prop);
		return ERR_PTR(ret);
	}
	return prop;
}

static int property_copy(struct device_node *np, const char *from,
			 const char *to)
{
	struct property *src = of_find_property(np, from, NULL);

	if (!src)
		return -ENOENT;
	if (of_find_property(np, to, NULL))
		return 0;
	return PTR_ERR_OR_ZERO(property_add(np, to, src->value, src->length));
}

static void property_remove(struct device_node *np, const char *name)
{
	struct property *prop = of_find_property(np, name, NULL);

	if (prop && of_remove_property(np, prop))
		pr_warn("%pOF: cannot remove %s\n", np, name);
}

static struct property *ddw_property_add(struct ddw_pe *pe, const char *name,
					 u32 liobn, u64 dma_base,
					 u32 page_shift, u32 window_shift)
{
	struct ddw_prop val = {
		.liobn = cpu_to_be32(liobn),
		.dma_base = cpu_to_be64(dma_base),
		.tce_shift = cpu_to_be32(page_shift),
		.window_shift = cpu_to_be32(window_shift),
	};

	return property_add(pe->np, name, &val, sizeof(val));
}

static struct property *window_property_add(struct ddw_pe *pe,
					    struct tce_window *win)
{
	struct iommu_table *tbl = &win->tbl;

	return ddw_property_add(pe, DMA64_PROPNAME, win->liobn,
				(u64)tbl->it_offset << tbl->it_page_shift,
				tbl->it_page_shift,
				ilog2(tbl->it_size) + tbl->it_page_shift);
}

/* ---- platform windows ---------------------------------------------- */

/* Clear @n entries from @ioba: one H_STUFF_TCE, or one H_PUT_TCE each */
static long platform_clear_run(struct ddw_pe *pe,
			       const struct tce_backend_ops *be, u32 liobn,
			       u64 ioba, unsigned int shift, u64 n)
{
	long rc = H_SUCCESS;
	u64 k;

	if (be->stuff)
		return tce_call_count(&pe->calls, TCE_CALL_STUFF,
				      be->stuff(liobn, ioba, 0, n));
	for (k = 0; k < n && rc == H_SUCCESS; k++)
		rc = tce_call_count(&pe->calls, TCE_CALL_PUT,
				    be->put(liobn, ioba + (k << shift), 0));
	return rc;
}

/*
 * Stuff zeros into a platform window we have no shadow for, at most
 * tce_stuff_max() (the PAPR 512) entries a call
 */
static int platform_window_clear(struct ddw_pe *pe, u32 liobn, u64 start,
				 unsigned int shift, u64 entries)
{
	const struct tce_backend_ops *be = tce_hcall_backend();
	u64 max = be->stuff ? tce_stuff_max() : TCE_BACKEND_MAX_BATCH;
	u64 done, n;
	long rc = H_SUCCESS;

	for (done = 0; done < entries && rc == H_SUCCESS; done += n) {
		n = min(entries - done, max);
		rc = platform_clear_run(pe, be, liobn, start + (done << shift),
					shift, n);
		cond_resched();
	}
	return tce_hstatus_to_errno(rc);
}

/* Drop tables of the in-tree code but keep its default table aside */
static void intree_tables_detach(struct ddw_pe *pe, u32 default_liobn)
{
	struct iommu_table_group *tg = pe->table_group;
	struct iommu_table *tbl;
	int i;

	for (i = 0; i < NR_WINDOWS; i++) {
		tbl = tg->tables[i];
		if (!tbl)
			continue;
		tg->tables[i] = NULL;
		if (!pe->default_table && tbl->it_index == default_liobn)
			pe->default_table = tbl;	/* our ref now */
		else
			iommu_tce_table_put(tbl);
	}
}

/* Same test as the in-tree iommu_table_in_use(), which is not exported */
static bool intree_table_busy(struct iommu_table *tbl)
{
	unsigned long start = tbl->it_offset ? 0 : 1;
	unsigned long rs, re, bit;

	if (!tbl->it_map)
		return false;

	rs = tbl->it_reserved_start - tbl->it_offset;
	re = tbl->it_reserved_end - tbl->it_offset;
	if (tbl->it_reserved_start == tbl->it_reserved_end) {
		rs = tbl->it_size;
		re = tbl->it_size;
	}

	bit = find_next_bit(tbl->it_map, rs, start);
	if (bit < rs)
		return true;
	return find_next_bit(tbl->it_map, tbl->it_size, re) < tbl->it_size;
}

/*
 * Remove the default window so its resources go to DDWs. Only when the
 * platform can bring it back (ibm,reset-pe-dma-windows); otherwise it is
 * kept and reused as window 0.
 */
static int default_window_remove(struct ddw_pe *pe)
{
	struct default_window w;
	int ret;

	if (!pe->has_ddw || !pe->has_reset || !pe->default_present)
		return 0;
	if (default_window_parse(pe->np, DMA_WINDOW_PROP, &w))
		return 0;

	ret = rtas_remove(pe, w.liobn);
	if (ret)
		return ret;

	pe->default_present = false;
	if (property_copy(pe->np, DMA_WINDOW_PROP, DMA_WINDOW_SAVED_PROP))
		pr_warn("%pOF: cannot save %s\n", pe->np, DMA_WINDOW_PROP);
	property_remove(pe->np, DMA_WINDOW_PROP);
	return 0;
}

/* Bring the default window back (it comes back clean) */
static int default_window_restore(struct ddw_pe *pe)
{
	int ret;

	if (pe->default_present)
		return 0;
	if (!pe->has_reset)
		return -ENODEV;

	ret = rtas_reset(pe);
	if (ret)
		return ret;

	pe->default_present = true;
	ret = property_copy(pe->np, DMA_WINDOW_SAVED_PROP, DMA_WINDOW_PROP);
	if (ret)
		pr_warn("%pOF: cannot restore %s: %d\n", pe->np,
			DMA_WINDOW_PROP, ret);
	return 0;
}

struct direct_map {
	const struct tce_backend_ops *be;
	struct tce_call_stats *calls;
	__be64 *list;
	u32 liobn;
	u64 dma_base;
	unsigned int shift;
};

#define DIRECT_MAP_PERM	((u64)(TCE_PCI_READ | TCE_PCI_WRITE))

/* Map RAM address @addr at dma_base + @addr with one H_PUT_TCE */
static long direct_map_one(struct direct_map *dm, u64 addr)
{
	return tce_call_count(dm->calls, TCE_CALL_PUT,
			      dm->be->put(dm->liobn, dm->dma_base + addr,
					  addr | DIRECT_MAP_PERM));
}

static long direct_map_batch(struct direct_map *dm, u64 addr, unsigned long n)
{
	u64 step = 1ULL << dm->shift;
	unsigned long i;
	long rc = H_SUCCESS;

	if (!dm->be->put_many) {
		for (i = 0; i < n && rc == H_SUCCESS; i++)
			rc = direct_map_one(dm, addr + i * step);
		return rc;
	}
	for (i = 0; i < n; i++)
		dm->list[i] = cpu_to_be64((addr + i * step) | DIRECT_MAP_PERM);
	return tce_call_count(dm->calls, TCE_CALL_PUT_MANY,
			      dm->be->put_many(dm->liobn, dm->dma_base + addr,
					       dm->list, n));
}

/*
 * walk_iomem_res_desc() callback, @res a System RAM resource clipped to
 * the window: map it 1:1 at dma_base + address. (Not
 * walk_system_ram_range(): powerpc stopped exporting it in 6.13.)
 */
static int direct_map_ram(struct resource *res, void *arg)
{
	struct direct_map *dm = arg;
	u64 start = ALIGN_DOWN(res->start, 1ULL << dm->shift);
	u64 end = ALIGN(res->end + 1, 1ULL << dm->shift);
	unsigned long n;

	for (; start < end; start += (u64)n << dm->shift) {
		n = min_t(u64, (end - start) >> dm->shift, TCE_BACKEND_MAX_BATCH);
		if (direct_map_batch(dm, start, n))
			return -EIO;
		cond_resched();
	}
	return 0;
}

static int direct_map_all_ram(struct ddw_pe *pe, u32 liobn,
			      const struct host_direct_ddw *h)
{
	struct direct_map dm = {
		.be = tce_hcall_backend(),
		.calls = &pe->calls,
		.liobn = liobn,
		.dma_base = h->dma_base,
		.shift = h->page_shift,
	};
	int ret;

	/* One 4K TCE list: kmalloc() of a power of two is naturally aligned */
	dm.list = kcalloc(TCE_BACKEND_MAX_BATCH, sizeof(__be64), GFP_KERNEL);
	if (!dm.list)
		return -ENOMEM;
	ret = walk_iomem_res_desc(IORES_DESC_NONE,
				  IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0,
				  (1ULL << h->window_shift) - 1, &dm,
				  direct_map_ram);
	kfree(dm.list);
	return ret;
}

/*
 * Put back the host direct-mapping DDW removed at take_ownership, at the
 * same bus address, so the in-tree code's stale record of it is true again.
 */
static void host_direct_ddw_recreate(struct ddw_pe *pe)
{
	struct host_direct_ddw *h = &pe->host_direct;
	struct ddw_created c;
	struct ddw_query q;

	if (!h->valid)
		return;
	h->valid = false;

	if (rtas_query(pe, &q) || !q.windows_available ||
	    rtas_create(pe, h->page_shift, h->window_shift, &c))
		goto failed;
	if (c.start != h->dma_base || direct_map_all_ram(pe, c.liobn, h) ||
	    IS_ERR(ddw_property_add(pe, DIRECT64_PROPNAME, c.liobn, c.start,
				    h->page_shift, h->window_shift))) {
		rtas_remove(pe, c.liobn);
		goto failed;
	}
	pr_info("%pOF: host direct DMA window 0x%x restored at %#llx\n",
		pe->np, c.liobn, c.start);
	return;

failed:
	pr_err("%pOF: host direct DMA window not restored, a host driver of this PE cannot DMA until reboot\n",
	       pe->np);
}

/*
 * Remove a DDW the host made for this PE ("linux,direct64-ddr-window-info"
 * or "linux,dma64-ddr-window-info"): clear its TCEs, remove it, drop the
 * property; a direct-mapping one is recorded for host_direct_ddw_recreate().
 * When the firmware keeps the window, the host may still use it: a direct
 * mapping is written back, the property stays and the errno is returned.
 */
static int host_ddw_remove(struct ddw_pe *pe, const char *name)
{
	bool direct = !strcmp(name, DIRECT64_PROPNAME);
	const struct ddw_prop *p;
	struct host_direct_ddw h;
	u32 liobn;
	int len, ret;

	p = of_get_property(pe->np, name, &len);
	if (!p)
		return 0;

	if (len >= sizeof(*p) && pe->has_ddw) {
		liobn = be32_to_cpu(p->liobn);
		h = (struct host_direct_ddw){
			.dma_base = be64_to_cpu(p->dma_base),
			.page_shift = be32_to_cpu(p->tce_shift),
			.window_shift = be32_to_cpu(p->window_shift),
		};
		h.valid = h.page_shift >= MIN_PAGE_SHIFT &&
			  h.window_shift >= h.page_shift && h.window_shift < 64;
		if (h.valid &&
		    platform_window_clear(pe, liobn, h.dma_base, h.page_shift,
					  1ULL << (h.window_shift - h.page_shift)))
			pr_warn("%pOF: clearing host DDW 0x%x failed\n",
				pe->np, liobn);
		ret = rtas_remove(pe, liobn);
		if (ret) {
			if (direct && h.valid && direct_map_all_ram(pe, liobn, &h))
				pr_err("%pOF: host direct DMA window 0x%x neither removed nor mapped again, a host driver of this PE cannot DMA until reboot\n",
				       pe->np, liobn);
			return ret;
		}
		if (direct)
			pe->host_direct = h;
		pr_info("%pOF: removed host DMA window 0x%x (%s)\n", pe->np,
			liobn, name);
	}
	property_remove(pe->np, name);
	return 0;
}

/* ---- windows opened through our ops -------------------------------- */

static bool ddw_open(struct ddw_pe *pe)
{
	int i;

	for (i = 0; i < NR_WINDOWS; i++)
		if (pe->slot[i].win && !pe->slot[i].is_default)
			return true;
	return false;
}

static struct tce_window *window_new(struct ddw_pe *pe, u32 liobn, u64 start,
				     unsigned int page_shift, u64 size)
{
	struct tce_window_params params = {
		.liobn = liobn,
		.start = start,
		.size = size,
		.page_shift = page_shift,
		.busno = pe->busno,
		.nid = pe->phb->node,
	};

	return tce_window_create(&params, tce_hcall_backend());
}

/**
 * tce_range_ops_of() - range operations for a table made by this code
 * @tbl: any iommu_table.
 *
 * For VFIO backends, which look it up with symbol_get() so that they do not
 * depend on this module; see include/tce_range.h.
 *
 * Return: the operations, or NULL when @tbl is not ours.
 */
const struct tce_range_ops *tce_range_ops_of(struct iommu_table *tbl)
{
	return tbl ? tce_window_range_ops(tbl) : NULL;
}
EXPORT_SYMBOL_GPL(tce_range_ops_of);

static int open_default_window(struct ddw_pe *pe, u64 size,
			       struct ddw_slot *slot)
{
	bool was_present = pe->default_present;
	struct tce_window *win;
	struct default_window w;
	int ret;

	ret = default_window_restore(pe);
	if (ret)
		return ret;

	ret = default_window_parse(pe->np, DMA_WINDOW_PROP, &w);
	if (ret)
		goto undo;

	/* A kept window may hold TCEs the host leaked: start clean */
	if (was_present) {
		ret = platform_window_clear(pe, w.liobn, w.start,
					    DEFAULT_PAGE_SHIFT,
					    size >> DEFAULT_PAGE_SHIFT);
		if (ret)
			goto undo;
	}

	win = window_new(pe, w.liobn, w.start, DEFAULT_PAGE_SHIFT, size);
	if (IS_ERR(win)) {
		ret = PTR_ERR(win);
		goto undo;
	}

	*slot = (struct ddw_slot){ .win = win, .is_default = true };
	return 0;

undo:
	if (!was_present)
		default_window_remove(pe);
	return ret;
}

/*
 * Check the query against the request. -ENOSPC only when no window slot
 * is left; a request larger than the largest block the platform offers is
 * -EINVAL, as in-tree, so the user retries with a smaller window.
 */
static int ddw_check_query(const struct ddw_query *q, unsigned int page_shift,
			   u64 window_size)
{
	if (!q->windows_available)
		return -ENOSPC;
	if (!(query_pgsizes(q->page_sizes) & (1ULL << page_shift)))
		return -EINVAL;
	if (q->largest_block < (window_size >> page_shift))
		return -EINVAL;
	return 0;
}

/* Would a window at [@start, @start + @size) overlap one already open? */
static bool window_overlaps(struct ddw_pe *pe, u64 start, u64 size)
{
	const struct iommu_table *tbl;
	u64 first, end;
	int i;

	for (i = 0; i < NR_WINDOWS; i++) {
		if (!pe->slot[i].win)
			continue;
		tbl = &pe->slot[i].win->tbl;
		first = (u64)tbl->it_offset << tbl->it_page_shift;
		end = first + ((u64)tbl->it_size << tbl->it_page_shift);
		if (start < end && first < start + size)
			return true;
	}
	return false;
}

/*
 * Let go of a window whose platform window is gone or about to be: no more
 * hypercalls through it, and the PE keeps what it cost.
 */
static void window_drop(struct ddw_pe *pe, struct tce_window *win)
{
	tce_window_detach(win);
	tce_call_stats_fold(&pe->calls, &win->calls);
	tce_window_put(win);
}

static int open_ddw(struct ddw_pe *pe, unsigned int page_shift,
		    u64 window_size, struct ddw_slot *slot)
{
	struct tce_window *win;
	struct property *prop;
	struct ddw_created c;
	struct ddw_query q;
	int ret;

	ret = rtas_query(pe, &q);
	if (ret)
		return ret;
	ret = ddw_check_query(&q, page_shift, window_size);
	if (ret)
		return ret;

	ret = rtas_create(pe, page_shift, ilog2(window_size), &c);
	if (ret)
		return ret;
	if (window_overlaps(pe, c.start, window_size)) {
		pr_warn("%pOF: platform placed a new window at 0x%llx over an open one\n",
			pe->np, c.start);
		rtas_remove(pe, c.liobn);
		return -EBUSY;
	}

	win = window_new(pe, c.liobn, c.start, page_shift, window_size);
	if (IS_ERR(win)) {
		rtas_remove(pe, c.liobn);
		return PTR_ERR(win);
	}

	/* One DDW property per node: a second DDW goes without */
	prop = window_property_add(pe, win);
	if (IS_ERR(prop) && PTR_ERR(prop) != -EEXIST) {
		window_drop(pe, win);
		rtas_remove(pe, c.liobn);
		return PTR_ERR(prop);
	}

	*slot = (struct ddw_slot){ .win = win,
				   .prop = IS_ERR(prop) ? NULL : prop };
	return 0;
}

/* Close window @num: clear leftovers, remove it, drop tables[num] */
static int close_window(struct ddw_pe *pe, int num)
{
	struct ddw_slot *slot = &pe->slot[num];
	struct tce_window *win = slot->win;
	int ret = 0;

	if (tce_window_mapped(win)) {
		pr_warn("%pOF: window %d closed with %lu TCEs, clearing\n",
			pe->np, num, tce_window_mapped(win));
		tce_window_clear_all(win);
	}

	if (!slot->is_default)
		ret = rtas_remove(pe, win->liobn);
	else if (pe->has_ddw && pe->has_reset)
		ret = default_window_remove(pe);

	if (slot->prop && of_remove_property(pe->np, slot->prop))
		pr_warn("%pOF: cannot remove %s\n", pe->np, DMA64_PROPNAME);

	pe->table_group->tables[num] = NULL;
	*slot = (struct ddw_slot){ };
	window_drop(pe, win);
	return ret;
}

/* ---- PE lookup and ownership --------------------------------------- */

static struct ddw_pe *pe_find(struct iommu_table_group *tg)
{
	struct ddw_pe *pe;

	lockdep_assert_held(&ddw_mutex);
	list_for_each_entry(pe, &pe_list, node)
		if (pe->table_group == tg)
			return pe;
	return NULL;
}

static struct ddw_owner *owner_find(struct ddw_pe *pe, struct device *dev)
{
	struct ddw_owner *o;

	list_for_each_entry(o, &pe->owner_list, node)
		if (o->dev == dev)
			return o;
	return NULL;
}

/* First owner: clear the PE of host windows, keep the default table */
static int pe_take(struct ddw_pe *pe)
{
	struct default_window w = { };
	int ret;

	if (!try_module_get(THIS_MODULE))
		return -ENODEV;

	ret = host_ddw_remove(pe, DIRECT64_PROPNAME);
	if (!ret)
		ret = host_ddw_remove(pe, DMA64_PROPNAME);
	if (!ret) {
		pe_default_window(pe, &w);
		ret = default_window_remove(pe);
	}
	if (ret) {
		/* Refused: the host keeps its DMA, its direct DDW comes back */
		host_direct_ddw_recreate(pe);
		module_put(THIS_MODULE);
		return ret;
	}

	intree_tables_detach(pe, w.liobn);
	return 0;
}

/* Last owner gone: close our windows, restore the default window and table */
static void pe_release(struct ddw_pe *pe)
{
	struct iommu_table_group *tg = pe->table_group;
	int i;

	for (i = 0; i < NR_WINDOWS; i++)
		if (pe->slot[i].win)
			close_window(pe, i);

	if (!pe->default_present && default_window_restore(pe))
		pr_err("%pOF: default DMA window not restored, host DMA will fail\n",
		       pe->np);
	host_direct_ddw_recreate(pe);

	if (pe->default_table && !tg->tables[0]) {
		if (intree_table_busy(pe->default_table))
			pr_warn("%pOF: default table has allocations\n", pe->np);
		tg->tables[0] = pe->default_table;
		pe->default_table = NULL;
	}
	module_put(THIS_MODULE);
}

static long ddw_take_ownership(struct iommu_table_group *tg,
			       struct device *dev)
{
	struct ddw_owner *o;
	struct ddw_pe *pe;
	long ret = 0;

	mutex_lock(&ddw_mutex);
	pe = pe_find(tg);
	if (WARN_ON(!pe)) {
		ret = -ENODEV;
		goto out;
	}

	o = owner_find(pe, dev);
	if (o && o->owning)
		goto out;	/* already ours */
	if (!o) {
		o = kzalloc(sizeof(*o), GFP_KERNEL);
		if (!o) {
			ret = -ENOMEM;
			goto out;
		}
		o->dev = get_device(dev);
		list_add_tail(&o->node, &pe->owner_list);
	}

	if (!pe->owners) {
		ret = pe_take(pe);
		if (ret) {
			list_del(&o->node);
			put_device(o->dev);
			kfree(o);
			goto out;
		}
	}
	o->owning = true;
	pe->owners++;
	set_iommu_table_base(dev, NULL);
out:
	mutex_unlock(&ddw_mutex);
	return ret;
}

/* After the last release: every device of the period gets tables[0] back */
static void owners_reset_table_base(struct ddw_pe *pe)
{
	struct ddw_owner *o, *tmp;

	list_for_each_entry_safe(o, tmp, &pe->owner_list, node) {
		set_iommu_table_base(o->dev, pe->table_group->tables[0]);
		list_del(&o->node);
		put_device(o->dev);
		kfree(o);
	}
}

static void ddw_release_ownership(struct iommu_table_group *tg,
				  struct device *dev)
{
	struct iommu_table_group_ops *orig = NULL;
	struct ddw_owner *o;
	struct ddw_pe *pe;

	mutex_lock(&ddw_mutex);
	pe = pe_find(tg);
	if (WARN_ON(!pe))
		goto out;

	o = owner_find(pe, dev);
	if (!o || !o->owning) {
		/* Taken by the in-tree ops before we were installed */
		if (!pe->owners)
			orig = pe->orig_ops;
		goto out;
	}

	o->owning = false;
	if (--pe->owners)
		goto out;

	pe_release(pe);
	owners_reset_table_base(pe);
out:
	mutex_unlock(&ddw_mutex);
	if (orig && orig->release_ownership)
		orig->release_ownership(tg, dev);
}

/* ---- windows: the group ops ---------------------------------------- */

static bool page_shift_valid(u32 page_shift)
{
	return page_shift >= MIN_PAGE_SHIFT && page_shift <= MAX_PAGE_SHIFT;
}

static bool window_geometry_valid(u32 page_shift, u64 window_size)
{
	return page_shift_valid(page_shift) && is_power_of_2(window_size) &&
	       window_size >= (1ULL << page_shift);
}

/*
 * Bytes the view of such a window needs up front: its chunk directory.
 * Chunks (about 8K per 512 entries in use) are allocated on demand and not
 * part of this figure, which the VFIO backend charges to locked_vm.
 */
static unsigned long ddw_get_table_size(__u32 page_shift, __u64 window_size,
					__u32 levels)
{
	if (levels > 1 || !window_geometry_valid(page_shift, window_size))
		return 0;
	return tce_view_directory_bytes(window_size >> page_shift);
}

static int check_create(struct iommu_table_group *tg, int num,
			u32 page_shift, u64 window_size, u32 levels)
{
	if (num < 0 || num >= NR_WINDOWS || levels > 1)
		return -EINVAL;
	if (!window_geometry_valid(page_shift, window_size))
		return -EINVAL;
	if (!(tg->pgsizes & (1ULL << page_shift)))
		return -EINVAL;
	if (ilog2(window_size) - page_shift > MAX_WINDOW_TCES_ORDER)
		return -EINVAL;
	return 0;
}

/*
 * Window 0 with 4K pages that fits the default window is the default
 * window, unless bringing it back (ibm,reset-pe-dma-windows) would destroy
 * an open DDW.
 */
static bool wants_default_window(struct ddw_pe *pe, int num, u32 page_shift,
				 u64 window_size)
{
	return num == 0 && page_shift == DEFAULT_PAGE_SHIFT &&
	       window_size <= pe->table_group->tce32_size &&
	       (pe->default_present || !ddw_open(pe));
}

static int open_window(struct ddw_pe *pe, int num, u32 page_shift,
		       u64 window_size, struct ddw_slot *slot)
{
	if (wants_default_window(pe, num, page_shift, window_size))
		return open_default_window(pe, window_size, slot);
	if (!pe->has_ddw)
		return num == 0 ? -EINVAL : -ENOSPC;
	return open_ddw(pe, page_shift, window_size, slot);
}

static long ddw_create_table(struct iommu_table_group *tg, int num,
			     __u32 page_shift, __u64 window_size,
			     __u32 levels, struct iommu_table **ptbl)
{
	struct ddw_slot slot;
	struct ddw_pe *pe;
	long ret;

	ret = check_create(tg, num, page_shift, window_size, levels);
	if (ret)
		return ret;

	mutex_lock(&ddw_mutex);
	pe = pe_find(tg);
	if (WARN_ON(!pe) || !pe->owners) {
		ret = -EPERM;
		goto out;
	}
	if (pe->slot[num].win || tg->tables[num]) {
		ret = -EBUSY;
		goto out;
	}

	ret = open_window(pe, num, page_shift, window_size, &slot);
	if (ret)
		goto out;

	pe->slot[num] = slot;
	tg->tables[num] = &slot.win->tbl;	/* the creation reference */
	*ptbl = iommu_tce_table_get(&slot.win->tbl);
out:
	mutex_unlock(&ddw_mutex);
	return ret;
}

static long ddw_set_window(struct iommu_table_group *tg, int num,
			   struct iommu_table *tbl)
{
	if (num < 0 || num >= NR_WINDOWS)
		return -EINVAL;
	/* create_table() programmed the window already */
	return tbl == tg->tables[num] ? 0 : -EPERM;
}

static long ddw_unset_window(struct iommu_table_group *tg, int num)
{
	struct ddw_pe *pe;
	long ret = 0;

	if (num < 0 || num >= NR_WINDOWS)
		return -EINVAL;

	mutex_lock(&ddw_mutex);
	pe = pe_find(tg);
	if (WARN_ON(!pe) || !tg->tables[num])
		goto out;
	if (tce_window_from_table(tg->tables[num]) != pe->slot[num].win) {
		ret = -EPERM;	/* not a window we opened */
		goto out;
	}
	ret = close_window(pe, num);
out:
	mutex_unlock(&ddw_mutex);
	return ret;
}

static struct iommu_table_group_ops ddw_ops = {
	.get_table_size = ddw_get_table_size,
	.create_table = ddw_create_table,
	.set_window = ddw_set_window,
	.unset_window = ddw_unset_window,
	.take_ownership = ddw_take_ownership,
	.release_ownership = ddw_release_ownership,
};

/* ---- debugfs ------------------------------------------------------- */

static void windows_show_slot(struct seq_file *m, int num,
			      struct ddw_slot *slot)
{
	struct tce_window *win = slot->win;
	struct iommu_table *tbl = &win->tbl;
	unsigned long mapped = tce_window_mapped(win);

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
	seq_printf(m, "owners %u default_window %s ddw %s reset %s\n",
		   pe->owners, pe->default_present ? "present" : "removed",
		   pe->has_ddw ? "yes" : "no", pe->has_reset ? "yes" : "no");
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
		seq_printf(m, "%s %lld %lld\n", rtas_kind_name[i],
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

static void pe_debugfs_add(struct ddw_pe *pe)
{
	char name[64];

	snprintf(name, sizeof(name), "%04x:%02lx-%pOFP",
		 pe->phb->global_number, pe->busno, pe->np);
	pe->dbg = debugfs_create_dir(name, ddw_debugfs_root);
	debugfs_create_file("windows", 0444, pe->dbg, pe, &windows_fops);
	debugfs_create_file("hcalls", 0444, pe->dbg, pe, &hcalls_fops);
	debugfs_create_file("usage", 0444, pe->dbg, pe, &usage_fops);
}

/* ---- install / uninstall ------------------------------------------- */

static void pe_read_tokens(struct ddw_pe *pe)
{
	u32 count = 0, val;

	pe->has_ddw = !of_property_read_u32_array(pe->np, DDW_APPLICABLE_PROP,
						  pe->tokens, DDW_NR_TOKENS);

	pe->query_nret = 5;
	of_property_read_u32_index(pe->np, DDW_EXTENSIONS_PROP, DDW_EXT_COUNT,
				   &count);
	if (count >= DDW_EXT_RESET &&
	    !of_property_read_u32_index(pe->np, DDW_EXTENSIONS_PROP,
					DDW_EXT_RESET, &val)) {
		pe->reset_token = val;
		pe->has_reset = true;
	}
	if (count >= DDW_EXT_QUERY_OUT &&
	    !of_property_read_u32_index(pe->np, DDW_EXTENSIONS_PROP,
					DDW_EXT_QUERY_OUT, &val) && val == 1)
		pe->query_nret = 6;
}

static bool host_ddw_present(struct ddw_pe *pe)
{
	return of_find_property(pe->np, DIRECT64_PROPNAME, NULL) ||
	       of_find_property(pe->np, DMA64_PROPNAME, NULL);
}

/*
 * What we offer: 4K plus the DDW page sizes; as many windows as there are
 * free slots plus those take_ownership frees (the default window, a host
 * DDW), at most NR_WINDOWS; 0 without DDW support.
 */
static void pe_compute_fields(struct ddw_pe *pe, struct group_fields *f)
{
	struct default_window w;
	struct ddw_query q;
	u32 windows;

	*f = pe->saved;
	f->pgsizes = SZ_4K;
	f->max_levels = 1;
	f->max_dynamic_windows_supported = 0;

	if (!pe_default_window(pe, &w)) {
		f->tce32_start = w.start;
		f->tce32_size = w.size;
	}

	if (!pe->has_ddw || rtas_query(pe, &q)) {
		pe->has_ddw = false;
		return;
	}

	windows = q.windows_available + pe->default_present +
		  host_ddw_present(pe);
	f->max_dynamic_windows_supported = clamp(windows, 1U, (u32)NR_WINDOWS);
	f->pgsizes |= query_pgsizes(q.page_sizes);
}

static void group_fields_save(struct iommu_table_group *tg,
			      struct group_fields *f)
{
	f->tce32_start = tg->tce32_start;
	f->tce32_size = tg->tce32_size;
	f->pgsizes = tg->pgsizes;
	f->max_dynamic_windows_supported = tg->max_dynamic_windows_supported;
	f->max_levels = tg->max_levels;
}

static void group_fields_apply(struct iommu_table_group *tg,
			       const struct group_fields *f)
{
	tg->tce32_start = f->tce32_start;
	tg->tce32_size = f->tce32_size;
	tg->pgsizes = f->pgsizes;
	tg->max_dynamic_windows_supported = f->max_dynamic_windows_supported;
	tg->max_levels = f->max_levels;
}

/* The node of @pdev or of a parent that carries the table group */
static struct device_node *pe_node_of(struct pci_dev *pdev)
{
	struct device_node *dn;

	for (dn = pci_device_to_OF_node(pdev); dn && PCI_DN(dn); dn = dn->parent)
		if (PCI_DN(dn)->table_group)
			return dn;
	return NULL;
}

static struct ddw_pe *pe_alloc(struct pci_dev *pdev, struct device_node *np)
{
	struct pci_dn *dev_pdn = PCI_DN(pci_device_to_OF_node(pdev));
	struct ddw_pe *pe;

	pe = kzalloc(sizeof(*pe), GFP_KERNEL);
	if (!pe)
		return NULL;

	pe->np = of_node_get(np);
	pe->table_group = PCI_DN(np)->table_group;
	pe->phb = dev_pdn->phb;
	pe->cfg_addr = (dev_pdn->busno << 16) | (dev_pdn->devfn << 8);
	pe->busno = pe->phb->bus ? pe->phb->bus->number : 0;
	pe->default_present = !!of_find_property(np, DMA_WINDOW_PROP, NULL);
	INIT_LIST_HEAD(&pe->owner_list);
	return pe;
}

static void pe_free(struct ddw_pe *pe)
{
	of_node_put(pe->np);
	kfree(pe);
}

/* iommu_group_for_each_dev() callback: bound to a DMA API driver? */
static int dev_uses_dma_api(struct device *dev, void *unused)
{
	struct device_driver *drv = READ_ONCE(dev->driver);

	return drv && dev_is_pci(dev) && !to_pci_driver(drv)->driver_managed_dma;
}

/*
 * iommu_group_dma_owner_claimed() is also true while a kernel driver that
 * uses the DMA API is bound; only a claim without such a driver is a user
 * (VFIO) owning the group, whose windows the in-tree ops set up.
 */
static bool group_user_owned(struct iommu_group *group)
{
	return iommu_group_dma_owner_claimed(group) &&
	       !iommu_group_for_each_dev(group, NULL, dev_uses_dma_api);
}

static bool pe_skip(struct iommu_table_group *tg, struct device_node *np)
{
	if (!tg->group || !tg->ops) {
		pr_info("%pOF: no IOMMU group or ops, not managed\n", np);
		return true;
	}
	if (group_user_owned(tg->group)) {
		pr_info("%pOF: IOMMU group %d already has a DMA owner, not managed\n",
			np, iommu_group_id(tg->group));
		return true;
	}
	return false;
}

static void pe_install(struct ddw_pe *pe)
{
	struct iommu_table_group *tg = pe->table_group;
	struct group_fields f;

	pe_read_tokens(pe);
	group_fields_save(tg, &pe->saved);
	pe_compute_fields(pe, &f);

	mutex_lock(&ddw_mutex);
	pe->orig_ops = tg->ops;
	group_fields_apply(tg, &f);
	WRITE_ONCE(tg->ops, &ddw_ops);
	pe->managed = true;
	mutex_unlock(&ddw_mutex);

	pe_debugfs_add(pe);
	pr_info("%pOF: managed, group %d, ddw %s, reset %s, pgsizes %#llx, windows %u\n",
		pe->np, iommu_group_id(tg->group), pe->has_ddw ? "yes" : "no",
		pe->has_reset ? "yes" : "no", f.pgsizes,
		f.max_dynamic_windows_supported);
}

static void pe_add_for_dev(struct pci_dev *pdev)
{
	struct device_node *np = pe_node_of(pdev);
	struct iommu_table_group *tg;
	struct ddw_pe *pe;

	if (!np)
		return;
	tg = PCI_DN(np)->table_group;

	mutex_lock(&ddw_mutex);
	pe = pe_find(tg);
	mutex_unlock(&ddw_mutex);
	if (pe)
		return;		/* another function of a known PE */

	pe = pe_alloc(pdev, np);
	if (!pe)
		return;

	/* Listed even when skipped, so other functions skip it too */
	mutex_lock(&ddw_mutex);
	list_add_tail(&pe->node, &pe_list);
	mutex_unlock(&ddw_mutex);

	if (!pe_skip(tg, np))
		pe_install(pe);
}

static void pe_uninstall(struct ddw_pe *pe)
{
	struct iommu_table_group *tg = pe->table_group;

	lockdep_assert_held(&ddw_mutex);
	if (!pe->managed)
		return;
	WARN_ON(pe->owners);
	WRITE_ONCE(tg->ops, pe->orig_ops);
	group_fields_apply(tg, &pe->saved);
}

/* Is a PCI function of @pe's PE still present? */
static bool pe_has_functions(struct ddw_pe *pe)
{
	struct pci_dev *pdev = NULL;

	for_each_pci_dev(pdev) {
		if (pe_node_of(pdev) == pe->np) {
			pci_dev_put(pdev);
			return true;
		}
	}
	return false;
}

/*
 * A PCI function went (DLPAR, hot-unplug, sysfs "remove"). When it was the
 * last one of its PE, the PE's device-tree node goes next, and with it the
 * table group, which the in-tree code frees: give the group its own ops
 * back and forget the PE now. An owned PE keeps its functions (VFIO holds
 * them until its user is gone).
 */
static int pe_bus_notify(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	struct ddw_pe *pe, *tmp;
	LIST_HEAD(gone);

	if (action != BUS_NOTIFY_REMOVED_DEVICE)
		return NOTIFY_DONE;

	mutex_lock(&ddw_mutex);
	list_for_each_entry_safe(pe, tmp, &pe_list, node) {
		if (pe_has_functions(pe))
			continue;
		pe_uninstall(pe);
		list_move(&pe->node, &gone);
	}
	mutex_unlock(&ddw_mutex);

	/* Outside the lock: removing debugfs files waits for their readers */
	list_for_each_entry_safe(pe, tmp, &gone, node) {
		pr_info("%pOF: last PCI function removed, PE dropped\n", pe->np);
		debugfs_remove_recursive(pe->dbg);
		pe_free(pe);
	}
	return NOTIFY_OK;
}

static struct notifier_block pe_bus_nb = {
	.notifier_call = pe_bus_notify,
};

static void pes_remove_all(void)
{
	struct ddw_pe *pe, *tmp;

	debugfs_remove_recursive(ddw_debugfs_root);
	ddw_debugfs_root = NULL;

	mutex_lock(&ddw_mutex);
	list_for_each_entry_safe(pe, tmp, &pe_list, node) {
		pe_uninstall(pe);
		list_del(&pe->node);
		pe_free(pe);
	}
	mutex_unlock(&ddw_mutex);
}

static int __init pseries_tce_ddw_init(void)
{
	struct pci_dev *pdev = NULL;
	int ret;

	if (!machine_is(pseries) || !firmware_has_feature(FW_FEATURE_LPAR)) {
		pr_err("not a pSeries LPAR, nothing to manage\n");
		return -ENODEV;
	}

	ddw_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("hcalls", 0444, ddw_debugfs_root, NULL,
			    &total_hcalls_fops);
	tce_firmware_fault_debugfs(ddw_debugfs_root);

	/* No function comes or goes between the scan and the notifier */
	pci_lock_rescan_remove();
	for_each_pci_dev(pdev)
		pe_add_for_dev(pdev);
	ret = bus_register_notifier(&pci_bus_type, &pe_bus_nb);
	pci_unlock_rescan_remove();
	if (ret)
		pes_remove_all();
	return ret;
}

static void __exit pseries_tce_ddw_exit(void)
{
	bus_unregister_notifier(&pci_bus_type, &pe_bus_nb);
	pes_remove_all();
}

module_init(pseries_tce_ddw_init);
module_exit(pseries_tce_ddw_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pSeries dynamic DMA windows with batched TCE updates for VFIO");
