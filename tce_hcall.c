// SPDX-License-Identifier: GPL-2.0-only
/*
 * TCE backend over the pSeries TCE hypercalls: H_PUT_TCE,
 * H_PUT_TCE_INDIRECT, H_STUFF_TCE and H_GET_TCE.
 *
 * When the firmware does not offer the multi-TCE hypercalls
 * (FW_FEATURE_PUT_TCE_IND, FW_FEATURE_STUFF_TCE), or when the use_multi_tce
 * module parameter is off, the backend handed out has no put_many() and/or
 * stuff(), and its users write the entries with single H_PUT_TCE calls.
 *
 * Every firmware call of the module that changes state (the TCE writes here,
 * the RTAS DDW calls of the platform ops) is a fault site with
 * CONFIG_FAULT_INJECTION: it fails as the firmware can, without reaching
 * it. A test fails the Nth site of one system call with
 * /proc/self/task/TID/fail-nth; with CONFIG_FAULT_INJECTION_DEBUG_FS the
 * sites also fail at random as debugfs pseries_tce_ddw/fail_firmware/ says
 * (Documentation/fault-injection/fault-injection.rst).
 */

#include <linux/align.h>
#include <linux/atomic.h>
#include <linux/fault-inject.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sizes.h>
#include <asm/firmware.h>
#include <asm/page.h>
#include <asm/plpar_wrappers.h>

#include "tce_backend.h"

static bool use_multi_tce = true;
module_param(use_multi_tce, bool, 0644);
MODULE_PARM_DESC(use_multi_tce,
		 "Use H_PUT_TCE_INDIRECT and H_STUFF_TCE when the firmware offers them (default: on). Off forces one H_PUT_TCE per entry, for testing. Applies to windows created after the change.");

/* Every call of this backend, module-wide; the PEs count theirs too */
static struct tce_call_stats totals;

static DECLARE_FAULT_ATTR(fail_firmware);

/**
 * tce_firmware_should_fail() - the fault site of a firmware call
 *
 * Return: true when the caller must not make its hypercall or RTAS call
 * and report the firmware's hardware error (H_HARDWARE, RTAS -1) instead;
 * never without CONFIG_FAULT_INJECTION.
 */
bool tce_firmware_should_fail(void)
{
	return should_fail(&fail_firmware, 1);
}

/**
 * tce_firmware_fault_debugfs() - the fault attributes of the firmware calls
 * @parent: debugfs directory that gets "fail_firmware"
 *
 * Nothing without CONFIG_FAULT_INJECTION_DEBUG_FS.
 */
void tce_firmware_fault_debugfs(struct dentry *parent)
{
	fault_create_debugfs_attr("fail_firmware", parent, &fail_firmware);
}

static long hcall_put(unsigned long liobn, unsigned long ioba, u64 tce)
{
	if (tce_firmware_should_fail())
		return H_HARDWARE;
	return tce_call_count(&totals, TCE_CALL_PUT,
			      plpar_tce_put(liobn, ioba, tce));
}

static long hcall_put_many(unsigned long liobn, unsigned long ioba,
			   const __be64 *tces, unsigned long npages)
{
	/* What PAPR allows and PowerVM enforces: a caller's bug, not QEMU's */
	if (WARN_ON_ONCE(!npages || npages > TCE_BACKEND_MAX_BATCH ||
			 !IS_ALIGNED((unsigned long)tces, SZ_4K)))
		return H_PARAMETER;
	if (tce_firmware_should_fail())
		return H_HARDWARE;

	return tce_call_count(&totals, TCE_CALL_PUT_MANY,
			      plpar_tce_put_indirect(liobn, ioba, __pa(tces),
						     npages));
}

static long hcall_stuff(unsigned long liobn, unsigned long ioba, u64 tce,
			unsigned long npages)
{
	if (WARN_ON_ONCE(!npages))
		return H_PARAMETER;
	if (tce_firmware_should_fail())
		return H_HARDWARE;

	return tce_call_count(&totals, TCE_CALL_STUFF,
			      plpar_tce_stuff(liobn, ioba, tce, npages));
}

static long hcall_get(unsigned long liobn, unsigned long ioba, u64 *tce)
{
	unsigned long val = 0;
	long rc;

	rc = tce_call_count(&totals, TCE_CALL_GET,
			    plpar_tce_get(liobn, ioba, &val));
	*tce = val;
	return rc;
}

static const struct tce_backend_ops hcall_multi_ops = {
	.put = hcall_put,
	.put_many = hcall_put_many,
	.stuff = hcall_stuff,
	.get = hcall_get,
};

static const struct tce_backend_ops hcall_indirect_only_ops = {
	.put = hcall_put,
	.put_many = hcall_put_many,
	.get = hcall_get,
};

static const struct tce_backend_ops hcall_stuff_only_ops = {
	.put = hcall_put,
	.stuff = hcall_stuff,
	.get = hcall_get,
};

static const struct tce_backend_ops hcall_single_ops = {
	.put = hcall_put,
	.get = hcall_get,
};

/**
 * tce_hcall_backend() - the hypercall TCE backend for a new window
 *
 * Picks the variant that matches the firmware features and the
 * use_multi_tce module parameter at the time of the call.
 *
 * Return: a backend whose put_many() is present only with
 * FW_FEATURE_PUT_TCE_IND and whose stuff() is present only with
 * FW_FEATURE_STUFF_TCE.
 */
const struct tce_backend_ops *tce_hcall_backend(void)
{
	bool multi = READ_ONCE(use_multi_tce);
	bool ind = multi && firmware_has_feature(FW_FEATURE_PUT_TCE_IND);
	bool stuff = multi && firmware_has_feature(FW_FEATURE_STUFF_TCE);

	if (ind && stuff)
		return &hcall_multi_ops;
	if (ind)
		return &hcall_indirect_only_ops;
	if (stuff)
		return &hcall_stuff_only_ops;
	return &hcall_single_ops;
}

/**
 * tce_hcall_add_totals() - add the module-wide hypercall counters to a sum
 * @sum: gets the calls made by type since module load, all PEs together.
 */
void tce_hcall_add_totals(struct tce_call_counts *sum)
{
	tce_call_stats_add_to(&totals, sum);
}
