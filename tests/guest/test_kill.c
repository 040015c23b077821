// SPDX-License-Identifier: GPL-2.0-only
/*
 * SIGKILL at random points: each round forks a child that sets up a VFIO
 * container (v1 or v2, alternating) and then loops over REGISTER / CREATE /
 * MAP / UNMAP / REMOVE / UNREGISTER (v2) or MAP / UNMAP (v1), with an edu
 * DMA now and then, and kills it with SIGKILL after a random delay (which
 * may land in the set-up as well). The child records the step it is in
 * in a shared page, so the TAP shows where the kills landed.
 * After every round: the system-wide pinned page count and our platform
 * module's debugfs TCE count are back, our own VmLck is untouched, and a
 * fresh open + edu DMA works.
 *
 * Usage: test_kill [ROUNDS] [BDF]   (default 50, 0001:00:00.0)
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SZ_4K	0x1000ull
#define SZ_64K	0x10000ull
#define SZ_1M	0x100000ull
#define SZ_256M	0x10000000ull
#define BUF_LEN	(4 * SZ_1M)

enum phase { PH_START, PH_OPEN, PH_REGISTER, PH_CREATE, PH_MAP, PH_UNMAP,
	     PH_REMOVE, PH_UNREGISTER, PH_DMA, PH_LOOP, PH_NR };
static const char *const phase_name[PH_NR] = {
	"start", "open", "register", "create", "map", "unmap", "remove",
	"unregister", "dma", "loop",
};

struct shared {
	volatile int phase;
	volatile unsigned long iters;
};

static char bdf[32] = "0001:00:00.0";
static struct shared *sh;

static void __attribute__((noreturn)) child(int type, uint64_t seed)
{
	struct vfio_iommu_spapr_tce_info info;
	struct vfio_dev d;
	struct edu e;
	uint8_t *buf = buf_alloc(BUF_LEN);
	uint64_t ddw = 0, win32;
	bool v2 = type == VFIO_SPAPR_TCE_v2_IOMMU, reg = false, dev_ok;
	long r;

	sh->phase = PH_OPEN;
	if (!buf || vfio_open(&d, bdf, type, true) ||
	    spapr_get_info(d.container, &info, sizeof(info)))
		_exit(10);
	win32 = info.dma32_window_start;
	dev_ok = !edu_init(&e, &d);
	if (!v2 && iommu_enable(d.container))
		_exit(11);
	for (;;) {
		uint64_t x = xrand(&seed);
		uint64_t pages = 1 + (x >> 8) % 16;
		uint64_t off = ((x >> 16) % (BUF_LEN / SZ_64K - 16)) * SZ_64K;
		uint64_t iova;

		sh->phase = PH_LOOP;
		if (v2 && !reg) {
			sh->phase = PH_REGISTER;
			if (spapr_register(d.container, buf, BUF_LEN))
				_exit(12);
			reg = true;
		}
		if (v2 && !ddw && x % 4 == 0) {
			sh->phase = PH_CREATE;
			if (spapr_create(d.container, 16, SZ_256M, 1, &ddw))
				_exit(13);
		}
		iova = (ddw && x % 2) ? ddw + off : win32 + off;
		sh->phase = PH_MAP;
		r = dma_map(d.container, buf + off, iova, pages * SZ_64K,
			    DMA_RW);
		if (r)
			_exit(14);
		if (dev_ok && x % 512 == 1) {
			/* rare: an edu DMA takes 100ms (QEMU timer) */
			sh->phase = PH_DMA;
			edu_copy(&e, iova, iova, SZ_4K);
		}
		if (x % 3 == 0) {
			sh->phase = PH_UNMAP;
			if (dma_unmap(d.container, iova, pages * SZ_64K))
				_exit(15);
		}
		if (ddw && x % 16 == 5) {
			sh->phase = PH_REMOVE;
			if (spapr_remove(d.container, ddw))
				_exit(16);
			ddw = 0;
		}
		if (v2 && x % 32 == 7) {
			/* everything unmapped first: UNREGISTER must work */
			sh->phase = PH_UNMAP;
			dma_unmap(d.container, win32, BUF_LEN);
			if (ddw)
				dma_unmap(d.container, ddw, BUF_LEN);
			sh->phase = PH_UNREGISTER;
			if (spapr_unregister(d.container, buf, BUF_LEN))
				_exit(17);
			reg = false;
		}
		sh->iters++;
	}
}

static long long dbg_mapped(void)
{
	return ddw_debugfs_mapped(bdf);
}

int main(int argc, char **argv)
{
	unsigned int rounds = argc > 1 ? (unsigned int)atoi(argv[1]) : 50;
	unsigned int kills = 0, by_phase[PH_NR] = { 0 }, i;
	unsigned long long iters = 0;
	uint64_t seed;
	long lck0;
	long long pin0, dbg0;
	bool all_clean = true;

	tap_init("test_kill");
	if (argc > 2)
		snprintf(bdf, sizeof(bdf), "%s", argv[2]);
	if (access("/dev/vfio/vfio", F_OK))
		tap_skip_all("/dev/vfio/vfio missing (vfio not loaded)");
	if (backend_is_ours() < 0)
		tap_skip_all("no sPAPR TCE backend loaded");
	seed = test_seed();
	printf("# seed %llu\n", (unsigned long long)seed);
	if (!tap_rc(pci_bind_vfio(bdf), 0, "bind %s to vfio-pci", bdf))
		tap_bail("cannot bind");
	sh = mmap(NULL, sys_page_size(), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		tap_bail("mmap");
	lck0 = vmlck_kb();
	pin0 = pinned_pages();
	dbg0 = dbg_mapped();
	tap_diag("baseline VmLck %ld kB, pinned %lld, debugfs %lld", lck0, pin0,
		 dbg0);
	if (!tap_rc(edu_fresh_dma(bdf, VFIO_SPAPR_TCE_v2_IOMMU), 0,
		    "DMA works before"))
		tap_bail("no DMA");

	for (i = 0; i < rounds; i++) {
		int type = i % 2 ? VFIO_SPAPR_TCE_IOMMU :
			   VFIO_SPAPR_TCE_v2_IOMMU;
		uint64_t cseed = xrand(&seed);
		/* 0..400ms: set-up under TCG takes ~100ms, so some land there */
		useconds_t delay = (useconds_t)(xrand(&seed) % 400000);
		long long pin, dbg;
		int status, ph, r;
		pid_t pid;
		bool ok;

		sh->phase = PH_START;
		sh->iters = 0;
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			tap_bail("fork");
		if (!pid)
			child(type, cseed);
		usleep(delay);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ph = sh->phase;
		iters += sh->iters;
		ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
		if (ok) {
			kills++;
			by_phase[ph]++;
		}
		pin = settle_ll(pinned_pages, pin0);
		dbg = settle_ll(dbg_mapped, dbg0);
		r = edu_fresh_dma(bdf, VFIO_SPAPR_TCE_v2_IOMMU);
		ok = tap_ok(ok && pin == pin0 && dbg == dbg0 &&
			    vmlck_kb() == lck0 && !r,
			    "round %u (%s, kill after %ums in %s, %lu loops): pinned %lld, debugfs %lld, fresh DMA %s",
			    i, type == VFIO_SPAPR_TCE_IOMMU ? "v1" : "v2",
			    delay / 1000, phase_name[ph], sh->iters, pin, dbg,
			    rc_str(r));
		if (!ok) {
			all_clean = false;
			if (!WIFSIGNALED(status))
				tap_diag("  child exited with %d (a set-up or loop step failed)",
					 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		}
	}
	tap_ok(all_clean, "%u of %u rounds clean", kills, rounds);
	for (i = 0; i < PH_NR; i++)
		if (by_phase[i])
			tap_diag("kills in %s: %u", phase_name[i], by_phase[i]);
	tap_figure("kills_survived", "%u", all_clean ? kills : 0);
	tap_figure("kill_child_loops", "%llu", iters);
	return tap_done();
}
