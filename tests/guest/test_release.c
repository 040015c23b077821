// SPDX-License-Identifier: GPL-2.0-only
/*
 * Clean release of the sPAPR TCE VFIO backend with live mappings:
 *  (a) the container fd is closed (then device and group) with mappings,
 *      registered memory and a DDW present, for v1 and v2;
 *  (b) VFIO_GROUP_UNSET_CONTAINER with mappings present (v1 and v2); then
 *      the same group and container are set up again and DMA works;
 *  (c) a child mapping/unmapping in a loop is killed with SIGKILL, several
 *      times, for v1 and v2;
 *  (d) unbind from vfio-pci and rebind (edu has no host driver).
 * After each: our VmLck is back at the baseline, the system-wide FOLL_PIN
 * count (/proc/vmstat nr_foll_pin_acquired - released) is back, the
 * TCEs mapped in the PE's windows per our platform module's debugfs (when
 * loaded) are back, and a fresh VFIO open + edu DMA works.
 *
 * Usage: test_release [BDF]   (default: first 1234:11e8 edu device)
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
#include <unistd.h>

#define SZ_4K	0x1000ull
#define SZ_64K	0x10000ull
#define SZ_1M	0x100000ull
#define SZ_1G	0x40000000ull
#define CHILD_LEN (16 * SZ_1M)

static char bdf[32];
static uint64_t seed;
static long base_lck;
static long long base_pin, base_dbg;

static long long dbg_mapped(void)
{
	return ddw_debugfs_mapped(bdf);
}

static const char *tname(int type)
{
	return type == VFIO_SPAPR_TCE_IOMMU ? "v1" : "v2";
}

/* Everything back at the baseline? */
static void check_baseline(const char *what)
{
	long lck = vmlck_kb();
	long long pin = settle_ll(pinned_pages, base_pin);
	long long dbg = settle_ll(dbg_mapped, base_dbg);

	tap_ok(lck == base_lck, "%s: VmLck back to %ld kB (%ld)", what,
	       base_lck, lck);
	if (base_pin < 0)
		tap_skip("no nr_foll_pin_* in /proc/vmstat",
			 "%s: pinned pages back", what);
	else
		tap_ok(pin == base_pin, "%s: pinned pages back to %lld (%lld)",
		       what, base_pin, pin);
	if (base_dbg < 0)
		tap_skip("no pseries_tce_ddw debugfs (in-tree platform ops)",
			 "%s: debugfs tces_mapped back", what);
	else
		tap_ok(dbg == base_dbg,
		       "%s: debugfs tces_mapped back to %lld (%lld)", what,
		       base_dbg, dbg);
}

/*
 * A container with live mappings: v1 ENABLE + default window, v2 REGISTER
 * + default window + 64K DDW; src/dst mapped in the default window and the
 * whole buffer in the DDW; one DMA copy proves the mappings are live.
 */
struct live {
	struct vfio_dev d;
	struct edu e;
	uint8_t *buf;
	size_t len;
	uint64_t win32, ddw;
};

static bool live_dma(struct live *l)
{
	uint8_t *src = l->buf, *dst = l->buf + SZ_64K;

	fill_random(src, SZ_4K, &seed);
	fill_random(dst, SZ_4K, &seed);
	if (edu_copy(&l->e, l->win32, l->win32 + SZ_64K, SZ_4K))
		return false;
	return !memcmp(src, dst, SZ_4K);
}

static bool live_setup(struct live *l, int type, bool with_device, size_t len)
{
	struct vfio_iommu_spapr_tce_info info;
	int c, r;

	memset(l, 0, sizeof(*l));
	l->len = len;
	l->buf = buf_alloc(l->len);
	if (!l->buf)
		tap_bail("alloc");
	r = vfio_open(&l->d, bdf, type, with_device);
	if (r) {
		tap_diag("vfio_open: %s", rc_str(r));
		return false;
	}
	c = l->d.container;
	if (spapr_get_info(c, &info, sizeof(info)))
		return false;
	l->win32 = info.dma32_window_start;
	if (type == VFIO_SPAPR_TCE_IOMMU) {
		if (iommu_enable(c))
			return false;
	} else {
		if (spapr_register(c, l->buf, l->len))
			return false;
	}
	if (dma_map(c, l->buf, l->win32, 2 * SZ_64K, DMA_RW))
		return false;
	if (type == VFIO_SPAPR_TCE_v2_IOMMU) {
		if (spapr_create(c, 16, SZ_1G, 1, &l->ddw) ||
		    dma_map(c, l->buf, l->ddw, l->len, DMA_RW))
			return false;
	}
	if (!with_device)
		return true;
	if (edu_init(&l->e, &l->d))
		return false;
	return live_dma(l);
}

static void live_free(struct live *l)
{
	vfio_close(&l->d);
	buf_free(l->buf, l->len);
	l->buf = NULL;
}

/* A fresh v2 container, device and DMA through the default window. */
static bool fresh_dma_ok(void)
{
	struct live l;
	bool ok = live_setup(&l, VFIO_SPAPR_TCE_v2_IOMMU, true, 4 * SZ_1M);

	live_free(&l);
	return ok;
}

static void test_close_container(int type)
{
	char what[64];
	struct live l;

	snprintf(what, sizeof(what), "(a) %s close container", tname(type));
	if (!tap_ok(live_setup(&l, type, true, 4 * SZ_1M), "%s: set up, DMA works", what)) {
		live_free(&l);
		return;
	}
	tap_ok(vmlck_kb() > base_lck, "%s: VmLck raised while live (%ld kB)",
	       what, vmlck_kb());
	if (base_pin >= 0)
		tap_ok(pinned_pages() > base_pin,
		       "%s: pinned pages raised while live (%lld)", what,
		       pinned_pages());
	if (base_dbg >= 0)
		tap_ok(dbg_mapped() > base_dbg,
		       "%s: debugfs tces_mapped raised while live (%lld)", what,
		       dbg_mapped());
	/* the container first, with everything mapped, then the rest */
	close(l.d.container);
	l.d.container = -1;
	live_free(&l);
	check_baseline(what);
	tap_ok(fresh_dma_ok(), "%s: fresh open + DMA works", what);
}

static void test_unset_container(int type)
{
	char what[64];
	struct live l;
	long r;

	snprintf(what, sizeof(what), "(b) %s UNSET_CONTAINER", tname(type));
	if (!tap_ok(live_setup(&l, type, true, 4 * SZ_1M), "%s: set up, DMA works", what)) {
		live_free(&l);
		return;
	}
	/* the device fd holds the container: close it first */
	if (l.d.bar0)
		munmap((void *)l.d.bar0, l.d.bar0_size);
	l.d.bar0 = NULL;
	close(l.d.device);
	l.d.device = -1;
	r = vfio_ioctl(l.d.group, VFIO_GROUP_UNSET_CONTAINER, NULL);
	tap_rc(r, 0, "%s with mappings present", what);
	check_baseline(what);
	tap_rc(dma_map(l.d.container, l.buf, l.win32, SZ_64K, DMA_RW), -EINVAL,
	       "%s: MAP on the now empty container -> EINVAL", what);

	/* the same group and container again */
	r = vfio_ioctl(l.d.group, VFIO_GROUP_SET_CONTAINER, &l.d.container);
	tap_rc(r, 0, "%s: SET_CONTAINER again", what);
	if (!r)
		r = vfio_set_iommu(&l.d, VFIO_SPAPR_TCE_v2_IOMMU);
	if (!r)
		r = vfio_get_device(&l.d);
	if (!r)
		r = edu_init(&l.e, &l.d);
	if (!r)
		r = (int)spapr_register(l.d.container, l.buf, l.len);
	if (!r)
		r = (int)dma_map(l.d.container, l.buf, l.win32, 2 * SZ_64K,
				 DMA_RW);
	tap_ok(!r && live_dma(&l), "%s: re-attached, v2 DMA works (%s)", what,
	       rc_str(r));
	live_free(&l);
	check_baseline(what);
}

/* Child: map/unmap in a loop until killed. Never returns. */
static void __attribute__((noreturn)) child_loop(int type, int wfd)
{
	struct live l;
	uint64_t iova;
	int c;
	bool told = false;

	if (!live_setup(&l, type, false, CHILD_LEN))
		_exit(2);
	c = l.d.container;
	if (type == VFIO_SPAPR_TCE_v2_IOMMU) {
		iova = l.ddw;		/* already mapped by live_setup */
	} else {
		iova = l.win32 + SZ_1M;
		if (dma_map(c, l.buf, iova, l.len, DMA_RW))
			_exit(3);
	}
	for (;;) {
		if (dma_unmap(c, iova, l.len))
			_exit(4);
		if (!told) {
			if (write(wfd, "r", 1) != 1)
				_exit(5);
			told = true;
		}
		if (dma_map(c, l.buf, iova, l.len, DMA_RW))
			_exit(6);
	}
}

static void test_kill_child(int type, int iter)
{
	char what[64], ch;
	int p[2], status;
	pid_t pid;
	long clck;

	snprintf(what, sizeof(what), "(c) %s SIGKILL mid-map #%d", tname(type),
		 iter);
	if (pipe(p))
		tap_bail("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork");
	if (!pid) {
		close(p[0]);
		child_loop(type, p[1]);
	}
	close(p[1]);
	if (read(p[0], &ch, 1) != 1) {
		waitpid(pid, &status, 0);
		tap_ok(false, "%s: child set up (exit status %d)", what,
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		close(p[0]);
		return;
	}
	close(p[0]);
	clck = vmlck_kb_pid(pid);
	usleep((useconds_t)(seed % 20000));
	seed = seed * 6364136223846793005ull + 1442695040888963407ull;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	tap_ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	       "%s: child was mapping (VmLck %ld kB) and got killed", what,
	       clck);
	check_baseline(what);
	tap_ok(fresh_dma_ok(), "%s: fresh open + DMA works", what);
}

static void test_rebind(void)
{
	char drv[64] = "?";

	tap_rc(pci_rebind(bdf, NULL), 0, "(d) unbind from vfio-pci, reprobe");
	pci_driver(bdf, drv, sizeof(drv));
	tap_ok(strcmp(drv, "vfio-pci") != 0, "(d) no longer on vfio-pci (\"%s\")",
	       drv);
	tap_rc(pci_bind_vfio(bdf), 0, "(d) bind to vfio-pci again");
	check_baseline("(d) rebind");
	tap_ok(fresh_dma_ok(), "(d) fresh open + DMA works after rebind");
}

int main(int argc, char **argv)
{
	int types[] = { VFIO_SPAPR_TCE_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU };
	unsigned int i;
	int it;

	tap_init("test_release");
	if (pci_pick_device(argc, argv, bdf, sizeof(bdf)))
		tap_skip_all("no edu device (1234:11e8) found");
	if (access("/dev/vfio/vfio", F_OK))
		tap_skip_all("/dev/vfio/vfio missing (vfio not loaded)");
	seed = test_seed();
	if (!tap_rc(pci_bind_vfio(bdf), 0, "bind %s to vfio-pci", bdf))
		tap_bail("cannot bind");
	base_lck = vmlck_kb();
	base_pin = pinned_pages();
	base_dbg = dbg_mapped();
	tap_diag("device %s group %d; baseline VmLck %ld kB, pinned %lld, debugfs %lld",
		 bdf, pci_iommu_group(bdf), base_lck, base_pin, base_dbg);
	if (!tap_ok(fresh_dma_ok(), "DMA works before the tests"))
		tap_bail("edu DMA does not work at all");

	for (i = 0; i < 2; i++)
		test_close_container(types[i]);
	for (i = 0; i < 2; i++)
		test_unset_container(types[i]);
	for (i = 0; i < 2; i++)
		for (it = 0; it < 3; it++)
			test_kill_child(types[i], it);
	test_rebind();
	return tap_done();
}
