// SPDX-License-Identifier: GPL-2.0-only
/*
 * Several groups, containers and devices at once, with real edu DMA:
 *
 * (a) two groups (0001 edu, 0003 edu: two PEs) in one v2 container.
 *     A pSeries window is a hypervisor TCE table of one PE (one LIOBN), and
 *     both platform ops refuse to set one PE's table on another PE
 *     (set_window -EPERM).
 *     Our backend gives the second PE a mirror table: both groups join,
 *     the default window and a 64K DDW open on both PEs at the same bus
 *     address, one MAP writes both tables, DMA through both devices at
 *     the same IOVAs is checked byte for byte, UNMAP empties both; the
 *     first group (the tables' creator) leaves and the second keeps
 *     DMAing; the first rejoins: -EBUSY while mapped, accepted once
 *     unmapped, then DMA through both again.
 *     The in-tree backend shares one table: the window creation fails
 *     with -EPERM (or the attach is refused) and leaves no damage: the
 *     first group alone opens an identical window and DMAs (SKIP for the
 *     shared DMA). In both cases VmLck and pinned pages come back.
 * (b) two containers at once: A with 0001, B with 0003, the same memory
 *     registered in both, a 64K DDW in each, the same IOVAs; two threads
 *     map/copy/unmap chunks through their own device concurrently; every
 *     byte checked; closing one container (A first, then B first) leaves
 *     the other one's DMA working.
 * (c) the multi-device PE 0005 (0005:00:00.0, 0005:00:01.0): both bound
 *     to vfio-pci, one container, two device fds, DMA through both
 *     functions in the DDW and in the default window; one function's fd
 *     closed while the other keeps DMAing; then both back to no driver,
 *     the PE's default window is back (GET_INFO the same, ibm,dma-window
 *     in the device tree, no DDW property left), and a fresh v1 and v2
 *     container DMA through each function again.
 *
 * Usage: test_multi
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SZ_4K	0x1000ull
#define SZ_64K	0x10000ull
#define SZ_1G	0x40000000ull

#define BDF_A	"0001:00:00.0"
#define BDF_B	"0003:00:00.0"
#define BDF_P0	"0005:00:00.0"
#define BDF_P1	"0005:00:01.0"

/* 64K IOMMU pages; edu_copy moves EDU_DMA_MAX bytes per two DMAs */
#define CHUNK	SZ_64K
#define XLEN	(2 * EDU_DMA_MAX + 100)	/* bytes copied per check */

static uint64_t seed;

/* ------------------------------------------------------------ helpers */

/* One group fd for bdf, bound to vfio-pci; -errno */
static int open_group(const char *bdf, int *group_id)
{
	struct vfio_dev tmp;
	int r = pci_bind_vfio(bdf);

	if (r)
		return r;
	vfio_dev_init(&tmp);
	r = vfio_open_group(&tmp, bdf);
	*group_id = tmp.group_id;
	return r;
}

/* A device of an open group, edu initialised; 0 or -errno */
static int open_edu(struct vfio_dev *d, struct edu *e, int group,
		    const char *bdf)
{
	long r;

	vfio_dev_init(d);
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	r = vfio_ioctl(group, VFIO_GROUP_GET_DEVICE_FD, d->bdf);
	if (r < 0)
		return (int)r;
	d->device = (int)r;
	return edu_init(e, d);
}

static const char *present(const char *bdf)
{
	static char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	return access(path, F_OK) ? NULL : bdf;
}

/* ------------------------------------ (a) two groups in one container */

struct two {
	int container;
	int gA, gB;		/* group fds */
	int idA, idB;
	bool attachedB;
	struct vfio_dev dA, dB;
	struct edu eA, eB;
	uint8_t *buf;		/* src | dst, one chunk each */
	size_t len;
	uint64_t win;
};

static void two_close(struct two *t)
{
	vfio_close(&t->dA);
	vfio_close(&t->dB);
	if (t->gA >= 0)
		close(t->gA);
	if (t->gB >= 0)
		close(t->gB);
	if (t->container >= 0)
		close(t->container);
	buf_free(t->buf, t->len);
}

static int set_container(int group, int container)
{
	return (int)vfio_ioctl(group, VFIO_GROUP_SET_CONTAINER, &container);
}

static int unset_container(int group)
{
	return (int)vfio_ioctl(group, VFIO_GROUP_UNSET_CONTAINER, NULL);
}

/* Window + mapping of src and dst; the group(s) must be attached */
static long two_window_map(struct two *t, const char *what)
{
	long r = spapr_create(t->container, 16, SZ_1G, 1, &t->win);

	if (!tap_rc(r, 0, "%s: CREATE 64K DDW", what))
		return r;
	tap_diag("%s: window at 0x%llx", what, (unsigned long long)t->win);
	r = dma_map(t->container, t->buf, t->win, t->len, DMA_RW);
	tap_rc(r, 0, "%s: MAP src and dst", what);
	return r;
}

static int two_dma(struct two *t, struct edu *e)
{
	return edu_copy_check(e, t->buf, t->win, t->buf + CHUNK, t->win + CHUNK,
			      XLEN, &seed);
}

static long long vmlck_ll(void)
{
	return vmlck_kb();
}

/* Start of bdf's PE's DDW in our platform module's debugfs, or 0 */
static uint64_t pe_ddw_start(const char *bdf)
{
	const char *root = "/sys/kernel/debug/pseries_tce_ddw";
	char path[512], line[512], kind[16];
	unsigned long long start = 0, s;
	struct dirent *de;
	DIR *dir;
	FILE *f;

	ddw_debugfs_mapped(bdf);	/* mounts debugfs if needed */
	dir = opendir(root);
	if (!dir)
		return 0;
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, bdf, 7) && de->d_name[7] == '-')
			break;
	if (de) {
		snprintf(path, sizeof(path), "%s/%s/windows", root, de->d_name);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "%*d %llx %*s %*s %*s %*s %*s %*s %15s",
				   &s, kind) == 2 && !strcmp(kind, "ddw"))
				start = s;
		if (f)
			fclose(f);
	}
	closedir(dir);
	return start;
}

/* Under our platform ops: TCEs in each PE's windows (debugfs) */
static void two_tces(const char *what, long long want)
{
	long long a, b;

	if (!platform_is_ours())
		return;
	a = ddw_debugfs_mapped(BDF_A);
	b = ddw_debugfs_mapped(BDF_B);
	tap_ok(a == want && b == want,
	       "(a) %s: %lld TCEs in each PE's table (%lld, %lld)", what, want,
	       a, b);
}

static void two_dma_both(struct two *t, const char *what)
{
	tap_rc(two_dma(t, &t->eA), 0, "(a) %s: DMA through %s verified", what,
	       BDF_A);
	tap_rc(two_dma(t, &t->eB), 0,
	       "(a) %s: DMA through %s at the same IOVAs verified", what,
	       BDF_B);
}

/* The default window, created lazily on both PEs by the first MAP */
static void two_default_window(struct two *t)
{
	struct vfio_iommu_spapr_tce_info info;
	uint64_t win = t->win;

	spapr_get_info(t->container, &info, sizeof(info));
	t->win = info.dma32_window_start;
	if (tap_rc(dma_map(t->container, t->buf, t->win, t->len, DMA_RW), 0,
		   "(a) MAP in the default window with two PEs")) {
		two_dma_both(t, "default window");
		tap_rc(dma_unmap(t->container, t->win, t->len), 0,
		       "(a) UNMAP the default window");
	}
	t->win = win;
}

/* A rejoins with the window present: refused while mapped, else mirrored */
static void two_rejoin(struct two *t)
{
	long r;

	r = set_container(t->gA, t->container);
	tap_rc(r, -EBUSY, "(a) %s rejoins while mapped: -EBUSY", BDF_A);
	if (!r)
		unset_container(t->gA);
	tap_rc(dma_unmap(t->container, t->win, t->len), 0, "(a) UNMAP");
	r = set_container(t->gA, t->container);
	if (!tap_rc(r, 0, "(a) %s rejoins the unmapped window", BDF_A))
		return;
	if (!tap_rc(open_edu(&t->dA, &t->eA, t->gA, BDF_A), 0,
		    "(a) device %s again", BDF_A) ||
	    !tap_rc(dma_map(t->container, t->buf, t->win, t->len, DMA_RW), 0,
		    "(a) MAP again, for both PEs"))
		return;
	two_dma_both(t, "after the rejoin");
	tap_rc(dma_unmap(t->container, t->win, t->len), 0, "(a) UNMAP");
	two_tces("after the last UNMAP", 0);
}

/*
 * Our backend: a pSeries table is one PE's, so the second PE gets a
 * mirror table of each window, at the same bus address, written by every
 * MAP/UNMAP. A (which created the tables) leaves first: B keeps DMAing.
 */
static void two_mirrored(struct two *t)
{
	uint64_t sa, sb;
	long r;

	two_default_window(t);
	r = spapr_create(t->container, 16, SZ_1G, 1, &t->win);
	if (!tap_rc(r, 0, "(a) CREATE 64K DDW with two PEs attached"))
		return;
	sa = pe_ddw_start(BDF_A);
	sb = pe_ddw_start(BDF_B);
	tap_diag("(a) window at 0x%llx (PE windows 0x%llx, 0x%llx)",
		 (unsigned long long)t->win, (unsigned long long)sa,
		 (unsigned long long)sb);
	if (platform_is_ours())
		tap_ok(sa == t->win && sb == t->win,
		       "(a) both PEs' DDWs start at 0x%llx",
		       (unsigned long long)t->win);
	if (!tap_rc(dma_map(t->container, t->buf, t->win, t->len, DMA_RW), 0,
		    "(a) one MAP for both PEs"))
		return;
	two_tces("after MAP", (long long)(t->len / CHUNK));
	two_dma_both(t, "DDW");
	tap_rc(dma_unmap(t->container, t->win, t->len), 0, "(a) UNMAP");
	two_tces("after UNMAP", 0);
	tap_rc(dma_map(t->container, t->buf, t->win, t->len, DMA_RW), 0,
	       "(a) MAP again");
	vfio_close(&t->dA);	/* an open device keeps its group attached */
	tap_rc(unset_container(t->gA), 0, "(a) UNSET_CONTAINER %s (the creator)",
	       BDF_A);
	tap_rc(two_dma(t, &t->eB), 0, "(a) %s keeps DMAing after %s left",
	       BDF_B, BDF_A);
	if (platform_is_ours())
		tap_ok(ddw_debugfs_mapped(BDF_B) == (long long)(t->len / CHUNK),
		       "(a) %s's table still holds the mapping", BDF_B);
	two_rejoin(t);
	tap_rc(spapr_remove(t->container, t->win), 0, "(a) REMOVE the window");
}

/* The in-tree backend shares one table: -EPERM on pSeries, nothing left */
static void two_refused_window(struct two *t, long r)
{
	struct vfio_iommu_spapr_tce_info info;
	long m;

	tap_rc(r, -EPERM,
	       "(a) CREATE with two PEs attached: -EPERM (a TCE table is one PE's)");
	tap_skip("in-tree backend sets one table on every PE; pSeries set_window refuses another PE's table",
		 "(a) DMA through two PEs in one container");
	spapr_get_info(t->container, &info, sizeof(info));
	m = dma_map(t->container, t->buf, info.dma32_window_start, t->len,
		    DMA_RW);
	tap_rc(m, -EPERM,
	       "(a) MAP in the default window with two PEs: -EPERM too");
	if (!m)
		dma_unmap(t->container, info.dma32_window_start, t->len);
	vfio_close(&t->dB);	/* an open device keeps its group attached */
	tap_rc(unset_container(t->gB), 0, "(a) UNSET_CONTAINER %s", BDF_B);
	t->attachedB = false;
	/* a leftover DDW on A's PE would make this fail */
	if (two_window_map(t, "(a) first group alone (nothing left over)"))
		return;
	tap_rc(two_dma(t, &t->eA), 0, "(a) DMA through %s", BDF_A);
	r = set_container(t->gB, t->container);
	tap_diag("(a) SET_CONTAINER of a second PE with a window: %s",
		 rc_str(r));
	tap_ok(r == -EPERM || r == -EBUSY || !r,
	       "(a) second PE attach with a window present: refused or shared (%s)",
	       rc_str(r));
	tap_rc(two_dma(t, &t->eA), 0,
	       "(a) %s mapping unaffected by the second PE's attach attempt",
	       BDF_A);
	if (!r)
		unset_container(t->gB);
	tap_rc(dma_unmap(t->container, t->win, t->len), 0, "(a) UNMAP");
	tap_rc(spapr_remove(t->container, t->win), 0, "(a) REMOVE the window");
}

static bool two_setup(struct two *t)
{
	bool ours = backend_is_ours() == 1;
	long r;

	if (!tap_rc(set_container(t->gA, t->container), 0,
		    "(a) SET_CONTAINER group %d", t->idA) ||
	    !tap_rc(vfio_ioctl(t->container, VFIO_SET_IOMMU,
			       (void *)(long)VFIO_SPAPR_TCE_v2_IOMMU), 0,
		    "(a) SET_IOMMU v2"))
		return false;
	r = set_container(t->gB, t->container);
	t->attachedB = !r;
	tap_diag("(a) SET_CONTAINER of a second PE: %s", rc_str(r));
	if (ours && !tap_rc(r, 0, "(a) second group %d joins the container",
			    t->idB))
		return false;
	if (!ours && !tap_ok(!r || r == -EPERM || r == -EBUSY,
			     "(a) second group %d: attached or refused (%s)",
			     t->idB, rc_str(r)))
		return false;
	if (!tap_rc(open_edu(&t->dA, &t->eA, t->gA, BDF_A), 0,
		    "(a) device %s", BDF_A) ||
	    !tap_rc(spapr_register(t->container, t->buf, t->len), 0,
		    "(a) REGISTER"))
		return false;
	return !t->attachedB ||
	       tap_rc(open_edu(&t->dB, &t->eB, t->gB, BDF_B), 0,
		      "(a) device %s", BDF_B);
}

static void part_a(void)
{
	struct two t = { .container = -1, .gA = -1, .gB = -1 };
	long lck = vmlck_kb(), r;
	long long pins = pinned_pages();

	vfio_dev_init(&t.dA);
	vfio_dev_init(&t.dB);
	t.len = 2 * CHUNK;
	t.buf = buf_alloc(t.len);
	t.container = vfio_open_container();
	t.gA = open_group(BDF_A, &t.idA);
	t.gB = open_group(BDF_B, &t.idB);
	if (!tap_ok(t.buf && t.container >= 0 && t.gA >= 0 && t.gB >= 0,
		    "(a) container, groups %d and %d open", t.idA, t.idB) ||
	    !two_setup(&t))
		goto out;
	if (backend_is_ours() == 1) {
		two_mirrored(&t);
	} else if (!t.attachedB) {
		tap_skip("in-tree backend refused the second PE",
			 "(a) DMA through two PEs in one container");
		if (!two_window_map(&t, "(a) first group alone")) {
			tap_rc(two_dma(&t, &t.eA), 0, "(a) DMA through %s",
			       BDF_A);
			dma_unmap(t.container, t.win, t.len);
		}
	} else {
		r = spapr_create(t.container, 16, SZ_1G, 1, &t.win);
		tap_diag("(a) CREATE with both PEs attached: %s", rc_str(r));
		if (r)
			two_refused_window(&t, r);
		else
			tap_ok(false, "(a) in-tree CREATE on two PEs succeeded");
	}
out:
	two_close(&t);
	tap_ok(settle_ll(vmlck_ll, lck) == lck, "(a) VmLck back to %ld kB",
	       lck);
	if (pins >= 0)
		tap_ok(settle_ll(pinned_pages, pins) == pins,
		       "(a) pinned pages back to %lld", pins);
}

/* -------------------------------------- (b) two containers at once */

#define B_CHUNKS 8

struct side {
	const char *bdf;
	struct vfio_dev d;
	struct edu e;
	uint64_t win;
	uint8_t *src, *dst;	/* dst: B_CHUNKS chunks */
	uint64_t seed;
	int rc;			/* thread result */
	int bad_chunk;
};

static bool side_open(struct side *s, uint8_t *arena, size_t arena_len)
{
	long r;

	r = vfio_open(&s->d, s->bdf, VFIO_SPAPR_TCE_v2_IOMMU, true);
	if (!tap_rc(r, 0, "(b) %s: own v2 container, group %d, device", s->bdf,
		    s->d.group_id))
		return false;
	if (!tap_rc(edu_init(&s->e, &s->d), 0, "(b) %s: edu", s->bdf))
		return false;
	r = spapr_register(s->d.container, arena, arena_len);
	if (!tap_rc(r, 0, "(b) %s: REGISTER the shared arena", s->bdf))
		return false;
	r = spapr_create(s->d.container, 16, SZ_1G, 1, &s->win);
	if (!tap_rc(r, 0, "(b) %s: CREATE 64K DDW", s->bdf))
		return false;
	tap_diag("(b) %s: window at 0x%llx", s->bdf,
		 (unsigned long long)s->win);
	return tap_rc(dma_map(s->d.container, s->src, s->win, CHUNK,
			      VFIO_DMA_MAP_FLAG_READ), 0,
		      "(b) %s: MAP src READ", s->bdf);
}

/* map chunk k, copy src into it through the device, unmap, k = 0.. */
static void *side_thread(void *arg)
{
	struct side *s = arg;
	uint64_t iova;
	int k, r = 0;

	for (k = 0; k < B_CHUNKS && !r; k++) {
		iova = s->win + (uint64_t)(k + 1) * CHUNK;
		r = (int)dma_map(s->d.container, s->dst + k * CHUNK, iova,
				 CHUNK, DMA_RW);
		if (!r)
			r = edu_copy(&s->e, s->win, iova + 64 * k, XLEN);
		if (!r)
			r = (int)dma_unmap(s->d.container, iova, CHUNK);
		if (r)
			s->bad_chunk = k;
	}
	s->rc = r;
	return NULL;
}

static bool side_verify(struct side *s)
{
	int k;

	for (k = 0; k < B_CHUNKS; k++)
		if (memcmp(s->dst + k * CHUNK + 64 * k, s->src, XLEN)) {
			tap_diag("(b) %s: chunk %d differs", s->bdf, k);
			return false;
		}
	return true;
}

static void part_b_round(bool a_first)
{
	struct side sides[2] = { { .bdf = BDF_A }, { .bdf = BDF_B } };
	struct side *first = &sides[a_first ? 0 : 1];
	struct side *second = &sides[a_first ? 1 : 0];
	size_t arena_len = (1 + 2 * B_CHUNKS) * CHUNK;
	uint8_t *arena = buf_alloc(arena_len);
	pthread_t th[2];
	int i;

	if (!arena)
		tap_bail("alloc");
	vfio_dev_init(&sides[0].d);
	vfio_dev_init(&sides[1].d);
	fill_random(arena, arena_len, &seed);
	for (i = 0; i < 2; i++) {
		sides[i].src = arena;	/* both read the same source */
		sides[i].dst = arena + (1 + i * B_CHUNKS) * CHUNK;
		sides[i].seed = seed + (uint64_t)i;
	}
	if (!side_open(&sides[0], arena, arena_len) ||
	    !side_open(&sides[1], arena, arena_len))
		goto out;
	tap_diag("(b) windows at 0x%llx and 0x%llx",
		 (unsigned long long)sides[0].win,
		 (unsigned long long)sides[1].win);
	for (i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, side_thread, &sides[i]);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 2; i++) {
		tap_rc(sides[i].rc, 0,
		       "(b) %s: %d concurrent map/copy/unmap rounds", sides[i].bdf,
		       B_CHUNKS);
		tap_ok(sides[i].rc == 0 && side_verify(&sides[i]),
		       "(b) %s: every chunk equals the source", sides[i].bdf);
	}
	/* close one container: the other keeps working */
	vfio_close(&first->d);
	tap_rc(dma_map(second->d.container, second->dst, second->win + CHUNK,
		       CHUNK, DMA_RW), 0, "(b) %s closed: %s maps", first->bdf,
	       second->bdf);
	tap_rc(edu_copy_check(&second->e, second->src, second->win, second->dst,
			      second->win + CHUNK, XLEN, &seed), 0,
	       "(b) %s closed: %s still DMAs", first->bdf, second->bdf);
out:
	vfio_close(&sides[0].d);
	vfio_close(&sides[1].d);
	buf_free(arena, arena_len);
}

static void part_b(void)
{
	long lck = vmlck_kb();

	part_b_round(true);
	part_b_round(false);
	tap_ok(vmlck_kb() == lck, "(b) VmLck back to %ld kB", lck);
}

/* -------------------------------------------- (c) multi-device PE */

struct pe {
	struct vfio_dev d0, d1;
	struct edu e0, e1;
	struct vfio_iommu_spapr_tce_info info;
	uint8_t *buf;		/* src | dst0 | dst1 */
	size_t len;
};

/* src and two destinations mapped at base; both functions copy src */
static void pe_dma_both(struct pe *p, uint64_t base, const char *what)
{
	uint8_t *src = p->buf, *dst0 = p->buf + CHUNK, *dst1 = dst0 + CHUNK;
	int fd = p->d0.container;
	long r;

	r = dma_map(fd, p->buf, base, 3 * CHUNK, DMA_RW);
	if (!tap_rc(r, 0, "(c) %s: MAP src, dst0, dst1 at 0x%llx", what,
		    (unsigned long long)base))
		return;
	fill_random(src, XLEN, &seed);
	fill_random(dst0, XLEN, &seed);
	fill_random(dst1, XLEN, &seed);
	/* interleaved: each DMA of one function between two of the other */
	r = edu_dma(&p->e0, base, 0, EDU_DMA_MAX, false);
	if (!r)
		r = edu_dma(&p->e1, base, 0, EDU_DMA_MAX, false);
	if (!r)
		r = edu_dma(&p->e0, base + CHUNK, 0, EDU_DMA_MAX, true);
	if (!r)
		r = edu_dma(&p->e1, base + 2 * CHUNK, 0, EDU_DMA_MAX, true);
	tap_rc(r, 0, "(c) %s: interleaved DMAs through both functions", what);
	tap_ok(!r && !memcmp(dst0, src, EDU_DMA_MAX) &&
	       !memcmp(dst1, src, EDU_DMA_MAX),
	       "(c) %s: both destinations equal the source", what);
	tap_rc(dma_unmap(fd, base, 3 * CHUNK), 0, "(c) %s: UNMAP", what);
}

static bool pe_open(struct pe *p)
{
	long r;

	tap_rc(pci_bind_vfio(BDF_P1), 0, "(c) %s bound to vfio-pci", BDF_P1);
	r = vfio_open(&p->d0, BDF_P0, VFIO_SPAPR_TCE_v2_IOMMU, true);
	if (!tap_rc(r, 0, "(c) v2 container, group %d, device %s",
		    p->d0.group_id, BDF_P0))
		return false;
	r = vfio_open_sibling(&p->d1, &p->d0, BDF_P1);
	if (!tap_rc(r, 0, "(c) second device fd %s in the same group", BDF_P1))
		return false;
	if (!tap_rc(edu_init(&p->e0, &p->d0), 0, "(c) edu %s", BDF_P0) ||
	    !tap_rc(edu_init(&p->e1, &p->d1), 0, "(c) edu %s", BDF_P1))
		return false;
	spapr_get_info(p->d0.container, &p->info, sizeof(p->info));
	return tap_rc(spapr_register(p->d0.container, p->buf, p->len), 0,
		      "(c) REGISTER");
}

/* A fresh container on bdf: map, one copy, close. */
static int fresh_dma(const char *bdf, int type, uint8_t *buf,
		     struct vfio_iommu_spapr_tce_info *info)
{
	struct vfio_dev d;
	struct edu e;
	int r;

	r = vfio_open(&d, bdf, type, true);
	if (!r)
		r = (int)spapr_get_info(d.container, info, sizeof(*info));
	if (!r)
		r = (int)(type == VFIO_SPAPR_TCE_IOMMU ?
			  iommu_enable(d.container) :
			  spapr_register(d.container, buf, 2 * CHUNK));
	if (!r)
		r = (int)dma_map(d.container, buf, info->dma32_window_start,
				 2 * CHUNK, DMA_RW);
	if (!r)
		r = edu_init(&e, &d);
	if (!r)
		r = edu_copy_check(&e, buf, info->dma32_window_start,
				   buf + CHUNK,
				   info->dma32_window_start + CHUNK, XLEN,
				   &seed);
	vfio_close(&d);
	return r;
}

static void pe_after_release(struct pe *p)
{
	struct vfio_iommu_spapr_tce_info info;
	char node[PATH_MAX], drv[64];
	const char *fn[2] = { BDF_P0, BDF_P1 };
	int i, r;

	for (i = 0; i < 2; i++) {
		tap_rc(pci_rebind(fn[i], NULL), 0,
		       "(c) %s back to no driver", fn[i]);
		pci_driver(fn[i], drv, sizeof(drv));
		tap_ok(!drv[0], "(c) %s has no driver (%s)", fn[i],
		       drv[0] ? drv : "none");
	}
	r = pe_dt_node(BDF_P0, node, sizeof(node));
	tap_rc(r, 0, "(c) the PE's ibm,dma-window is back in the device tree");
	if (!r) {
		tap_diag("(c) PE node %s%s%s", node,
			 dt_has(node, "ibm,dma-window-saved") ?
			 " (has ibm,dma-window-saved)" : "",
			 dt_has(node, "ibm,ddw-extensions") ?
			 " (has ibm,ddw-extensions)" : "");
		tap_ok(!dt_has(node, HOST_DYNAMIC_DDW) &&
		       !dt_has(node, HOST_DIRECT_DDW),
		       "(c) no DDW property left on the PE node");
	}
	for (i = 0; i < 2; i++) {
		int type = i ? VFIO_SPAPR_TCE_v2_IOMMU : VFIO_SPAPR_TCE_IOMMU;

		memset(&info, 0, sizeof(info));
		r = fresh_dma(fn[i], type, p->buf, &info);
		tap_rc(r, 0, "(c) fresh %s container on %s: default window DMA",
		       i ? "v2" : "v1", fn[i]);
		tap_ok(info.dma32_window_start == p->info.dma32_window_start &&
		       info.dma32_window_size == p->info.dma32_window_size,
		       "(c) default window as before: 0x%x + 0x%x",
		       info.dma32_window_start, info.dma32_window_size);
		pci_rebind(fn[i], NULL);
	}
}

static void part_c(void)
{
	struct pe p;
	uint64_t win = 0;
	long lck = vmlck_kb(), r;

	memset(&p, 0, sizeof(p));
	vfio_dev_init(&p.d0);
	vfio_dev_init(&p.d1);
	p.len = 3 * CHUNK;
	p.buf = buf_alloc(p.len);
	if (!p.buf)
		tap_bail("alloc");
	tap_ok(pci_iommu_group(BDF_P0) == pci_iommu_group(BDF_P1),
	       "(c) %s and %s share group %d", BDF_P0, BDF_P1,
	       pci_iommu_group(BDF_P0));
	if (!pe_open(&p))
		goto out;
	pe_dma_both(&p, p.info.dma32_window_start, "default window");
	r = spapr_create(p.d0.container, 16, SZ_1G, 1, &win);
	if (tap_rc(r, 0, "(c) CREATE 64K DDW on the PE"))
		pe_dma_both(&p, win, "DDW");
	else
		win = 0;
	/* one function's fd goes, the other keeps DMAing */
	vfio_close(&p.d1);
	if (!win)
		goto out;
	r = dma_map(p.d0.container, p.buf, win, 2 * CHUNK, DMA_RW);
	if (!r)
		r = edu_copy_check(&p.e0, p.buf, win, p.buf + CHUNK,
				   win + CHUNK, XLEN, &seed);
	tap_rc(r, 0, "(c) %s closed: %s still DMAs in the DDW", BDF_P1,
	       BDF_P0);
out:
	vfio_close(&p.d1);
	vfio_close(&p.d0);
	tap_ok(vmlck_kb() == lck, "(c) VmLck back to %ld kB", lck);
	pe_after_release(&p);
	buf_free(p.buf, p.len);
}

int main(void)
{
	tap_init("test_multi");
	if (access("/dev/vfio/vfio", F_OK))
		tap_skip_all("/dev/vfio/vfio missing (vfio not loaded)");
	if (!present(BDF_A) || !present(BDF_B) || !present(BDF_P0) ||
	    !present(BDF_P1))
		tap_skip_all("needs edu at %s, %s, %s and %s", BDF_A, BDF_B,
			     BDF_P0, BDF_P1);
	seed = test_seed();
	tap_diag("pairing %s seed 0x%llx (VFIO_TEST_SEED)", pairing_name(),
		 (unsigned long long)seed);
	part_a();
	part_b();
	part_c();
	return tap_done();
}
