// SPDX-License-Identifier: GPL-2.0-only
/*
 * The device-tree side of a PE's DMA windows: the DDW RTAS tokens of its
 * node, its default window ("ibm,dma-window", saved as
 * "ibm,dma-window-saved" while removed) and the DDW properties the host
 * DMA code reads ("linux,dma64-ddr-window-info",
 * "linux,direct64-ddr-window-info"). See ddw.h.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/of.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "ddw.h"

#define DDW_APPLICABLE_PROP	"ibm,ddw-applicable"
#define DDW_EXTENSIONS_PROP	"ibm,ddw-extensions"

/* Indices in "ibm,ddw-extensions"; index 0 is the number of extensions */
enum ddw_ext {
	DDW_EXT_COUNT,
	DDW_EXT_RESET,
	DDW_EXT_QUERY_OUT,
};

/**
 * ddw_pe_read_tokens() - the DDW RTAS tokens and extensions of a PE
 * @pe: the PE, not yet managed; fills @has_ddw, @tokens, @has_reset,
 *	@reset_token and @query_nret.
 */
void ddw_pe_read_tokens(struct ddw_pe *pe)
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

/**
 * ddw_host_ddw_present() - has the host made a DDW for this PE?
 * @pe: the PE.
 *
 * Return: true when its node has a host DDW property.
 */
bool ddw_host_ddw_present(struct ddw_pe *pe)
{
	return of_find_property(pe->np, DIRECT64_PROPNAME, NULL) ||
	       of_find_property(pe->np, DMA64_PROPNAME, NULL);
}

static u32 dt_cells(struct device_node *np, const char *name, int fallback)
{
	u32 cells;

	if (of_property_read_u32(np, name, &cells))
		return fallback;
	return cells;
}

/**
 * ddw_default_window_parse() - read a default window property
 * @np: the PE node.
 * @name: DMA_WINDOW_PROP or DMA_WINDOW_SAVED_PROP.
 * @w: out: the window.
 *
 * Return: 0, -ENOENT without the property, -EINVAL when malformed.
 */
int ddw_default_window_parse(struct device_node *np, const char *name,
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

/**
 * ddw_pe_default_window() - the default window of a PE, present or not
 * @pe: the PE.
 * @w: out: the window, from the live property or the saved copy.
 *
 * Return: 0, or the errno of ddw_default_window_parse().
 */
int ddw_pe_default_window(struct ddw_pe *pe, struct default_window *w)
{
	if (!ddw_default_window_parse(pe->np, DMA_WINDOW_PROP, w))
		return 0;
	return ddw_default_window_parse(pe->np, DMA_WINDOW_SAVED_PROP, w);
}

static struct property *property_alloc(const char *name, const void *value,
				       int length)
{
	struct property *prop;

	prop = kzalloc_obj(*prop);
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

/**
 * ddw_property_copy() - add a copy of a property under another name
 * @np: the node.
 * @from: the property copied.
 * @to: the name of the copy; nothing is done when it exists.
 *
 * Return: 0, -ENOENT without @from, or the errno of adding @to.
 */
int ddw_property_copy(struct device_node *np, const char *from,
		      const char *to)
{
	struct property *src = of_find_property(np, from, NULL);

	if (!src)
		return -ENOENT;
	if (of_find_property(np, to, NULL))
		return 0;
	return PTR_ERR_OR_ZERO(property_add(np, to, src->value, src->length));
}

/**
 * ddw_property_remove() - remove a property if present
 * @np: the node.
 * @name: the property; a failure is logged.
 */
void ddw_property_remove(struct device_node *np, const char *name)
{
	struct property *prop = of_find_property(np, name, NULL);

	if (prop && of_remove_property(np, prop))
		pr_warn("%pOF: cannot remove %s\n", np, name);
}

/**
 * ddw_property_add() - add a DDW property as the host DMA code writes it
 * @pe: the PE.
 * @name: DMA64_PROPNAME or DIRECT64_PROPNAME.
 * @liobn: the window.
 * @dma_base: its bus address.
 * @page_shift: its IOMMU page shift.
 * @window_shift: log2 of its size in bytes.
 *
 * Return: the property (never freed, see property_add()), or an ERR_PTR:
 * -EEXIST when the node has one of that name.
 */
struct property *ddw_property_add(struct ddw_pe *pe, const char *name,
				  u32 liobn, u64 dma_base, u32 page_shift,
				  u32 window_shift)
{
	struct ddw_prop val = {
		.liobn = cpu_to_be32(liobn),
		.dma_base = cpu_to_be64(dma_base),
		.tce_shift = cpu_to_be32(page_shift),
		.window_shift = cpu_to_be32(window_shift),
	};

	return property_add(pe->np, name, &val, sizeof(val));
}
