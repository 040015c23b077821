// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host DMA code's record of a PE's direct-mapping DDW, while a user
 * owns the PE and the window is gone.
 *
 * iommu.c lists the DDWs it creates (dma_win_list, private to it). When
 * memory goes online it maps the new RAM read-write into each
 * direct-mapping one, at the LIOBN and bus address of its record, and
 * when memory goes offline it clears it there. ddw_host.c removes that
 * window when a user takes the PE, and the firmware may then give the
 * user's DDW the same LIOBN and bus range (QEMU always does): acting on
 * the record would map RAM the user never mapped into the user's window,
 * or clear what the user did map. Built in, the record is dropped once
 * the window is removed (ddw_host_record_drop()); the module cannot reach
 * it, and its record stays stale until the release re-creates the window.
 *
 * While a record is stale, memory online and offline are refused: our
 * memory notifier runs before iommu.c's and says -EBUSY. The memory can
 * be added once the PE is released. The memory hotplug core then sends
 * the cancellation to every notifier, and iommu.c, which takes it for
 * the undoing of an online it saw begin, would clear the range at the
 * stale record: in the user's window. The notifiers after ours never saw
 * that online begin, so ours ends the cancellation's chain
 * (NOTIFY_STOP).
 *
 * A record turns stale before its window is cleared and removed, and not
 * while an online or offline is under way (from its MEM_GOING_ONLINE or
 * MEM_GOING_OFFLINE notification to its end): the host DMA code never
 * acts on a record that turns stale meanwhile.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/lockdep.h>
#include <linux/memory.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/pfn.h>
#include <linux/printk.h>
#include <linux/wait.h>

#include "ddw.h"

/* Before iommu.c's memory notifier, which has the default priority */
#define RECORD_CALLBACK_PRI	(DEFAULT_CALLBACK_PRI + 1)

/* Protects nr_stale and hotplug_busy */
static DEFINE_MUTEX(record_mutex);
/* PEs whose record is stale */
static unsigned int nr_stale;
/* A memory online or offline we let go is under way */
static bool hotplug_busy;
static DECLARE_WAIT_QUEUE_HEAD(hotplug_done);

static bool hotplug_idle(void)
{
	bool idle;

	mutex_lock(&record_mutex);
	idle = !hotplug_busy;
	mutex_unlock(&record_mutex);
	return idle;
}

/* Context: record_mutex held; returns with it, no hotplug under way */
static void hotplug_wait_idle(void)
{
	lockdep_assert_held(&record_mutex);
	while (hotplug_busy) {
		mutex_unlock(&record_mutex);
		wait_event(hotplug_done, hotplug_idle());
		mutex_lock(&record_mutex);
	}
}

/**
 * ddw_host_record_stale() - the host DMA code's record of a PE's direct
 * DDW turns stale, or true again
 * @pe: the PE.
 * @stale: true before its host direct DDW is removed; false once the
 *	record is dropped or the window is back.
 *
 * Context: ddw_mutex held; turning stale waits for a memory online or
 * offline under way.
 */
void ddw_host_record_stale(struct ddw_pe *pe, bool stale)
{
	lockdep_assert_held(&ddw_mutex);
	if (pe->host_record_stale == stale)
		return;
	mutex_lock(&record_mutex);
	if (stale) {
		hotplug_wait_idle();
		nr_stale++;
	} else {
		nr_stale--;
	}
	pe->host_record_stale = stale;
	mutex_unlock(&record_mutex);
}

/* MEM_GOING_ONLINE or MEM_GOING_OFFLINE: may it go on? */
static int hotplug_begin(const struct memory_notify *arg, const char *what)
{
	bool refused;

	mutex_lock(&record_mutex);
	refused = nr_stale;
	if (!refused)
		hotplug_busy = true;
	mutex_unlock(&record_mutex);
	if (!refused)
		return NOTIFY_OK;

	pr_warn_ratelimited("memory %s of %#llx-%#llx refused: the host DMA code still lists a direct DMA window removed for a user, and would act on it in the user's window; retry after the release\n",
			    what, PFN_PHYS(arg->start_pfn),
			    PFN_PHYS(arg->start_pfn + arg->nr_pages) - 1);
	return notifier_from_errno(-EBUSY);
}

/*
 * The online or offline is over, done or cancelled. A cancelled one that
 * did not pass us (refused by us or by a notifier before us) never began
 * for the notifiers after us: they must not undo it.
 */
static int hotplug_end(bool cancelled)
{
	bool passed;

	mutex_lock(&record_mutex);
	passed = hotplug_busy;
	hotplug_busy = false;
	mutex_unlock(&record_mutex);
	wake_up_all(&hotplug_done);
	return cancelled && !passed ? NOTIFY_STOP : NOTIFY_OK;
}

/*
 * The memory hotplug lock serialises onlines and offlines: one at most is
 * under way. One refused, by us or another notifier, is cancelled. (One
 * under way while the module loads is not ours to judge, but its
 * cancellation would stop here: iommu.c leaves read-write TCEs of memory
 * that did not come online in the host's direct DDWs.)
 */
static int record_memory_notify(struct notifier_block *nb,
				unsigned long action, void *data)
{
	switch (action) {
	case MEM_GOING_ONLINE:
		return hotplug_begin(data, "online");
	case MEM_GOING_OFFLINE:
		return hotplug_begin(data, "offline");
	case MEM_ONLINE:
	case MEM_OFFLINE:
		return hotplug_end(false);
	case MEM_CANCEL_ONLINE:
	case MEM_CANCEL_OFFLINE:
		return hotplug_end(true);
	default:
		return NOTIFY_DONE;
	}
}

static struct notifier_block record_memory_nb = {
	.notifier_call = record_memory_notify,
	.priority = RECORD_CALLBACK_PRI,
};

/**
 * ddw_record_init() - guard memory hotplug against stale records
 *
 * Return: 0 or the errno of the notifier registration.
 */
int ddw_record_init(void)
{
	return register_memory_notifier(&record_memory_nb);
}

/**
 * ddw_record_exit() - stop guarding (the module goes, no PE is owned)
 */
void ddw_record_exit(void)
{
	unregister_memory_notifier(&record_memory_nb);
}
