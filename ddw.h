/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pSeries dynamic DMA windows for VFIO: the state the files of the platform
 * ops share.
 *
 *   ddw_ops.c      PE lookup, installing our ops on a PE, ownership, opening
 *                  and closing windows: the iommu_table_group_ops
 *   ddw_host.c     evicting the host's DMA windows from a PE when a user
 *                  takes it, and restoring them when it is released
 *   ddw_rtas.c     the RTAS DDW calls and their counters
 *   ddw_of.c       device-tree properties of a PE's DMA windows
 *   ddw_debugfs.c  debugfs files
 *   ddw_record.c   memory hotplug while the host DMA code's record of a
 *                  host DDW we removed is stale
 *   ddw_module.c   the loadable module: our ops on every PE at load, the
 *                  originals back at unload, PEs whose last function goes
 *   ddw_intree.c   the built-in code: the hooks arch iommu.c calls
 *
 * The TCE windows themselves are tce_window.h (over tce_userspace_view.h
 * and the hypercalls of tce_hcall.c).
 *
 * Locking
 * -------
 * ddw_mutex is the one lock of this code. It protects:
 *  - ddw_pe_list, and the list membership of every &struct ddw_pe;
 *  - in each PE: @owners, @owner_list (and each owner's @owning), @slot,
 *    @default_table, @default_present, @host_direct, @host_record_stale,
 *    @orig_ops, @managed;
 *  - the table group of a managed PE: ->ops and the fields of
 *    &struct group_fields, which our install and uninstall write, and
 *    ->tables[] while the PE is owned (the host DMA code of iommu.c sets
 *    them up otherwise);
 *  - the DMA window properties of the PE's device-tree node
 *    ("ibm,dma-window", "ibm,dma-window-saved",
 *    "linux,dma64-ddr-window-info", "linux,direct64-ddr-window-info")
 *    while the PE is owned, when we remove and add them; of_*_property()
 *    serialise the tree itself.
 * Set before our ops are installed on the PE and constant after:
 * @table_group, @np, @phb, @cfg_addr, @busno, @tokens, @has_ddw,
 * @reset_token, @has_reset, @query_nret, @saved, @dbg. The counters
 * (@rtas_calls, @rtas_failed, @calls and each window's &tce_window.calls)
 * are atomics, updated and read without the lock.
 *
 * There is no per-PE lock, and no per-window lock of ours. A window
 * serialises its shadow, dirty bits and TCE list with the spinlock of its
 * view (tce_userspace_view.h), taken once per 512-entry chunk. The users of
 * a table (iommu_table_ops: VFIO maps and unmaps, KVM's TCE path) come in
 * without ddw_mutex, under their own locks; ddw_mutex only decides when a
 * window exists, and a window stays allocated while anyone holds its
 * table (iommu_tce_table_get()).
 *
 * Lock order, outer first: pci_lock_rescan_remove() (module load, the PCI
 * bus notifier) and our callers' locks (the VFIO container and group
 * locks, the IOMMU group mutex), then ddw_mutex, then a view spinlock
 * (closing a window clears its leftovers under ddw_mutex). ddw_record.c
 * has a mutex of its own, taken inside ddw_mutex and inside the memory
 * hotplug lock (its memory notifier); with ddw_mutex held, it waits for a
 * memory online or offline under way to end. Nothing here
 * calls into VFIO or the IOMMU group code with ddw_mutex held (the
 * original ops' release_ownership() is called after it is dropped).
 *
 * ddw_mutex is held across sleeping work: RTAS calls wait while the
 * firmware says busy, allocations are GFP_KERNEL, clearing or mapping a
 * whole platform window reschedules. Callers must assume that every
 * function declared here may sleep. Nothing sleeps under a view spinlock:
 * the TCE hypercalls that run there do not.
 *
 * The debugfs files of a PE take ddw_mutex to read it, and removing a
 * debugfs file waits for its readers: debugfs files are removed with
 * ddw_mutex released.
 *
 * Functions that need ddw_mutex check it with lockdep_assert_held(), those
 * that must run without it with lockdep_assert_not_held().
 *
 * Module unload (ddw_module.c): the module installs ops that run ddw_ops
 * inside an SRCU read section, outside ddw_mutex; unload waits for those
 * sections with ddw_mutex released, after the original ops are back, and
 * only then frees the PEs. The module references of an owned PE and of a
 * window may be dropped inside a call, with code of ours still to run:
 * unload waits for that too (synchronize_rcu_tasks()).
 */
#ifndef _DDW_H
#define _DDW_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <asm/iommu.h>

#include "tce_backend.h"

struct device;
struct device_node;
struct pci_controller;
struct pci_dev;
struct property;
struct tce_window;

#define DMA_WINDOW_PROP		"ibm,dma-window"
#define DMA_WINDOW_SAVED_PROP	"ibm,dma-window-saved"

#define NR_WINDOWS		IOMMU_TABLE_GROUP_MAX_TABLES
#define DEFAULT_PAGE_SHIFT	IOMMU_PAGE_SHIFT_4K
#define MIN_PAGE_SHIFT		12
#define MAX_PAGE_SHIFT		40

/* Indices in "ibm,ddw-applicable" */
enum ddw_token {
	DDW_QUERY,
	DDW_CREATE,
	DDW_REMOVE,
	DDW_NR_TOKENS
};

enum ddw_rtas_kind {
	RTAS_QUERY,
	RTAS_CREATE,
	RTAS_REMOVE,
	RTAS_RESET,
	NR_RTAS_KINDS
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
 * @node: in ddw_pe_list.
 * @table_group: the PE's table group.
 * @orig_ops: its ops before ours, NULL when it had ours from the start.
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
 * @host_record_stale: the host DMA code lists a direct DDW of this PE that
 *	we removed (ddw_record.c).
 * @slot: windows opened through our ops.
 * @rtas_calls: RTAS calls made, by kind.
 * @rtas_failed: RTAS calls that failed, by kind.
 * @calls: TCE hypercalls of the windows closed since load, and of the
 *	platform windows we write without a window of ours (host DDW and
 *	leftover clearing, host direct DDW restore); those of the open
 *	windows are in their &tce_window.calls.
 * @dbg: debugfs directory.
 *
 * See "Locking" above for what ddw_mutex protects.
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
	bool host_record_stale;
	struct ddw_slot slot[NR_WINDOWS];
	/* closed DDWs the firmware would not remove: see ddw_stale_remove() */
	u32 stale_liobn[NR_WINDOWS];
	unsigned int nr_stale;
	atomic64_t rtas_calls[NR_RTAS_KINDS];
	atomic64_t rtas_failed[NR_RTAS_KINDS];
	struct tce_call_stats calls;
	struct dentry *dbg;
};

/* ddw_ops.c */
extern struct mutex ddw_mutex;
extern struct list_head ddw_pe_list;
extern struct iommu_table_group_ops ddw_ops;

struct ddw_pe *ddw_pe_find(struct iommu_table_group *tg);
unsigned int ddw_stale_remove(struct ddw_pe *pe);
struct device_node *ddw_pe_node_of(struct pci_dev *pdev);
struct ddw_pe *ddw_pe_add(struct pci_dev *pdev);
void ddw_pe_install(struct ddw_pe *pe, struct iommu_table_group_ops *ops);
void ddw_pe_free(struct ddw_pe *pe);
void ddw_group_fields_apply(struct iommu_table_group *tg,
			    const struct group_fields *f);

/* ddw_host.c */
int ddw_host_evict(struct ddw_pe *pe);
void ddw_host_restore(struct ddw_pe *pe);
int ddw_default_window_remove(struct ddw_pe *pe);
int ddw_default_window_restore(struct ddw_pe *pe);
void ddw_default_window_returned(struct ddw_pe *pe);
int ddw_platform_window_clear(struct ddw_pe *pe, u32 liobn, u64 start,
			      unsigned int shift, u64 entries);

/*
 * The host DMA code's record of a host DDW we removed (its dma_win_list):
 * dropped built in (ddw_intree.c); the module cannot reach it, and it
 * stays stale while the PE is owned (ddw_record.c).
 */
bool ddw_host_record_drop(struct ddw_pe *pe);
void ddw_host_record_stale(struct ddw_pe *pe, bool stale);
int ddw_record_init(void);
void ddw_record_exit(void);

/* ddw_rtas.c */
extern const char * const ddw_rtas_kind_name[NR_RTAS_KINDS];

int ddw_rtas_query(struct ddw_pe *pe, struct ddw_query *q);
int ddw_rtas_create(struct ddw_pe *pe, unsigned int page_shift,
		    unsigned int window_shift, struct ddw_created *c);
int ddw_rtas_remove(struct ddw_pe *pe, u32 liobn);
int ddw_rtas_reset(struct ddw_pe *pe);
u64 ddw_query_pgsizes(u32 page_sizes);

/* ddw_of.c */
void ddw_pe_read_tokens(struct ddw_pe *pe);
bool ddw_host_ddw_present(struct ddw_pe *pe);
int ddw_default_window_parse(struct device_node *np, const char *name,
			     struct default_window *w);
int ddw_pe_default_window(struct ddw_pe *pe, struct default_window *w);
int ddw_property_copy(struct device_node *np, const char *from,
		      const char *to);
void ddw_property_remove(struct device_node *np, const char *name);
struct property *ddw_property_add(struct ddw_pe *pe, const char *name,
				  u32 liobn, u64 dma_base, u32 page_shift,
				  u32 window_shift);

/* ddw_debugfs.c */
void ddw_debugfs_init(void);
void ddw_debugfs_remove(void);
void ddw_pe_debugfs_add(struct ddw_pe *pe);
void ddw_pe_debugfs_remove(struct ddw_pe *pe);

#endif /* _DDW_H */
