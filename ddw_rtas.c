// SPDX-License-Identifier: GPL-2.0-only
/*
 * The RTAS calls of dynamic DMA windows (PAPR "ibm,query-pe-dma-window",
 * "ibm,create-pe-dma-window", "ibm,remove-pe-dma-window",
 * "ibm,reset-pe-dma-windows"): retried while the firmware is busy, counted
 * per PE, failing as the firmware does when fault injection says so.
 * See ddw.h.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/printk.h>
#include <asm/pci-bridge.h>
#include <asm/rtas.h>

#include "ddw.h"

const char * const ddw_rtas_kind_name[NR_RTAS_KINDS] = {
	[RTAS_QUERY] = "query-pe-dma-window",
	[RTAS_CREATE] = "create-pe-dma-window",
	[RTAS_REMOVE] = "remove-pe-dma-window",
	[RTAS_RESET] = "reset-pe-dma-windows",
};

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
			ddw_rtas_kind_name[kind], status);
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

/**
 * ddw_rtas_query() - ibm,query-pe-dma-window
 * @pe: the PE.
 * @q: out: what the platform can still give it.
 *
 * Return: 0, -EINVAL (parameter error) or -EIO.
 */
int ddw_rtas_query(struct ddw_pe *pe, struct ddw_query *q)
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

/**
 * ddw_rtas_create() - ibm,create-pe-dma-window
 * @pe: the PE.
 * @page_shift: IOMMU page shift of the new window.
 * @window_shift: log2 of its size in bytes.
 * @c: out: its LIOBN and where the platform placed it.
 *
 * Return: 0, -EINVAL (parameter error) or -EIO.
 */
int ddw_rtas_create(struct ddw_pe *pe, unsigned int page_shift,
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

/**
 * ddw_rtas_remove() - ibm,remove-pe-dma-window
 * @pe: the PE.
 * @liobn: the window.
 *
 * Return: 0, -EINVAL (parameter error) or -EIO.
 */
int ddw_rtas_remove(struct ddw_pe *pe, u32 liobn)
{
	return rtas_status_to_errno(ddw_rtas(pe, RTAS_REMOVE,
					     pe->tokens[DDW_REMOVE], 1, 1,
					     NULL, liobn));
}

/**
 * ddw_rtas_reset() - ibm,reset-pe-dma-windows: the default window back
 * @pe: the PE; @pe->has_reset must be true.
 *
 * Return: 0, -EINVAL (parameter error) or -EIO.
 */
int ddw_rtas_reset(struct ddw_pe *pe)
{
	return rtas_status_to_errno(ddw_rtas(pe, RTAS_RESET, pe->reset_token,
					     3, 1, NULL, pe->cfg_addr,
					     buid_hi(pe), buid_lo(pe)));
}

/* "IO Page Sizes" bits of ibm,query-pe-dma-window, bit 8 (2M) out of order */
static const u8 query_page_shifts[] = { 12, 16, 24, 25, 26, 27, 28, 34, 21 };

/**
 * ddw_query_pgsizes() - the page sizes of a query as a mask of sizes
 * @page_sizes: &ddw_query.page_sizes.
 *
 * Return: the mask, as in &iommu_table_group.pgsizes.
 */
u64 ddw_query_pgsizes(u32 page_sizes)
{
	u64 mask = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(query_page_shifts); i++)
		if (page_sizes & BIT(i))
			mask |= 1ULL << query_page_shifts[i];
	return mask;
}
