// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hostile input for the sPAPR TCE VFIO backend and the platform ops under
 * it: first a few fixed sequences in the wrong order (each asserted), then
 * COUNT random and malformed calls on container, group and device fds:
 * random argsz, flags, IOVAs, sizes, page shifts, levels; overlapping and
 * repeated operations; map before create, remove twice, unregister while
 * mapped, SET_IOMMU twice; v1 and v2 containers mixed; fds closed and
 * re-opened; random VFIO ioctl numbers with garbage payloads. Sizes are
 * kept small most of the time so that 100,000 calls run in minutes under
 * TCG.
 *
 * Afterwards (everything closed): this process's VmLck and the system-wide
 * pinned page count are back at their starting values, the TCEs mapped per
 * our platform module's debugfs are back at 0, every device used still
 * does DMA (fresh open), and on a kmemleak kernel a scan reports nothing
 * (cleared before the start).
 *
 * Over the in-tree backend (intree-ours) four calls are never made because
 * the in-tree backend itself mishandles them (see test_ioctl.c): a MAP
 * running past the end of its window, and an UNREGISTER of memory that
 * still has mappings (all mappings are unmapped first), a REGISTER of size
 * 0 (vzalloc(0) WARNs), and a REGISTER larger than RAM (vzalloc warns).
 * Its leaked locked_vm charge of a failed CREATE is reported as a skip.
 *
 * Usage: test_fuzz [SEED|0] [COUNT]   (0: seed from the clock; the seed is
 * printed as "# seed N" so a run can be repeated)
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SZ_4K	0x1000ull
#define SZ_64K	0x10000ull
#define SZ_1M	0x100000ull
#define SZ_1G	0x40000000ull

#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))

#define NCONT	3
#define NWIN	4
#define NGRP	3
#define NBUF	4
#define BUF_LEN	SZ_1M

struct win {
	bool live;
	uint64_t start, size;
	unsigned int shift;
	uint64_t lo, hi;	/* range ever mapped since the last drain */
};

struct cont {
	int fd;
	int type;
	struct win w[NWIN];
};

struct grp {
	const char *bdf;
	bool present;
	int fd;
	int cont;		/* index, -1 none, -2 a closed container */
	int dev;
};

static uint64_t S;
static bool safe;		/* in-tree backend: avoid its known bugs */
static size_t sys_pg;
static struct cont cont[NCONT];
static struct grp grp[NGRP] = {
	{ .bdf = "0001:00:00.0" },
	{ .bdf = "0003:00:00.0" },
	{ .bdf = "0004:00:00.0" },	/* ddw=off */
};
static uint8_t *bufs[NBUF], *ro_pg, *hole;
static unsigned long long ncalls;
static unsigned long long nerr[140], nok, npos;
static double slowest;
static const char *slowest_what = "";

#define R(n)	xrand_below(&S, (n))
#define P(pct)	(R(100) < (pct))

/* ------------------------------------------------------------ calls */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long call(int fd, unsigned long req, void *arg, const char *what)
{
	double t0 = now(), dt;
	long r = ioctl(fd, req, arg);

	r = r < 0 ? -errno : r;
	dt = now() - t0;
	if (dt > slowest) {
		slowest = dt;
		slowest_what = what;
	}
	ncalls++;
	if (r < 0 && -r < 140)
		nerr[-r]++;
	else if (r == 0)
		nok++;
	else
		npos++;
	return r;
}

static int open_counted(const char *path)
{
	int fd = open(path, O_RDWR);

	ncalls++;
	return fd;
}

static void close_counted(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		ncalls++;
	}
	*fd = -1;
}

/* --------------------------------------------------- random values */

static uint32_t pick_argsz(uint32_t full, uint32_t minsz)
{
	static const uint32_t odd[] = { 0, 1, 4, 7 };

	if (P(85))
		return full;
	switch (R(6)) {
	case 0:	return odd[R(4)];
	case 1:	return minsz - 1;
	case 2:	return minsz;
	case 3:	return full + 8;
	case 4:	return 0xffffffffu;
	default: return (uint32_t)R(4096);
	}
}

static uint32_t pick_flags(void)
{
	static const uint32_t ok[] = { VFIO_DMA_MAP_FLAG_READ,
				       VFIO_DMA_MAP_FLAG_WRITE, DMA_RW, DMA_RW };

	if (P(85))
		return ok[R(4)];
	return P(50) ? 0 : (uint32_t)xrand(&S);
}

static struct cont *pick_cont(void)
{
	return &cont[R(NCONT)];
}

static int junk_fd(void)
{
	static const int junk[] = { -1, 0, 1, 2, 999 };

	return junk[R(5)];
}

static int cont_fd(struct cont *c)
{
	return P(97) ? c->fd : junk_fd();
}

static struct win *pick_win(struct cont *c)
{
	int live[NWIN], n = 0, i;

	for (i = 0; i < NWIN; i++)
		if (c->w[i].live)
			live[n++] = i;
	return n ? &c->w[live[R(n)]] : NULL;
}

static uint64_t pick_iova(struct win *w, uint64_t pg)
{
	uint64_t base = w ? w->start : 0, end = w ? w->start + w->size : SZ_1G;

	switch (R(20)) {
	case 0:	return xrand(&S);
	case 1:	return xrand(&S) & ~(pg - 1);
	case 2:	return 0;
	case 3:	return base + pg * R(64) + 1 + R(pg - 1);	/* unaligned */
	case 4:
	case 5:	return end - pg * (1 + R(8));			/* near the end */
	case 6:	return end;
	case 7:	return 1ull << (32 + R(32));
	default: return base + pg * R(64);
	}
}

static uint64_t pick_size(uint64_t pg)
{
	switch (R(20)) {
	case 0:	return 0;
	case 1:	return xrand(&S);
	case 2:	return pg * (1 + R(8)) + 1 + R(pg - 1);	/* unaligned */
	case 3:	return ~0ull - pg + 1;
	case 4:	return pg << (4 + R(12));
	default: return pg * (1 + R(8));
	}
}

static uint8_t *pick_va(uint64_t pg, bool *pool)
{
	uint64_t off;

	*pool = false;
	switch (R(25)) {
	case 0:	return ro_pg;
	case 1:	return hole;
	case 2:	return NULL;
	case 3:	return (uint8_t *)(uintptr_t)xrand(&S);
	case 4:	return bufs[R(NBUF)] + 1 + R(sys_pg - 1);
	case 5:	return (uint8_t *)(uintptr_t)(0xc000000000000000ull +
					       (xrand(&S) & 0xffffff000ull));
	default:
		*pool = true;
		off = pg < BUF_LEN ? (R(BUF_LEN / pg)) * pg : 0;
		return bufs[R(NBUF)] + off;
	}
}

/* ---------------------------------------------------- state helpers */

static void cont_forget(struct cont *c)
{
	memset(c->w, 0, sizeof(c->w));
	c->type = 0;
}

static void win_add(struct cont *c, uint64_t start, uint64_t size,
		    unsigned int shift)
{
	int i;

	for (i = 0; i < NWIN; i++)
		if (c->w[i].live && c->w[i].start == start)
			return;
	for (i = 0; i < NWIN; i++) {
		if (!c->w[i].live) {
			c->w[i] = (struct win){ .live = true, .start = start,
						.size = size, .shift = shift };
			return;
		}
	}
}

static struct win *win_at(struct cont *c, uint64_t iova)
{
	int i;

	for (i = 0; i < NWIN; i++)
		if (c->w[i].live && iova >= c->w[i].start &&
		    iova - c->w[i].start < c->w[i].size)
			return &c->w[i];
	return NULL;
}

static void learn_default_window(struct cont *c)
{
	struct vfio_iommu_spapr_tce_info info = { .argsz = sizeof(info) };

	if (!call(c->fd, VFIO_IOMMU_SPAPR_TCE_GET_INFO, &info, "GET_INFO") &&
	    info.dma32_window_size)
		win_add(c, info.dma32_window_start, info.dma32_window_size, 12);
}

/* Unmap everything ever mapped (before an UNREGISTER over in-tree) */
static void drain_all(void)
{
	int i, j;

	for (i = 0; i < NCONT; i++) {
		for (j = 0; j < NWIN; j++) {
			struct win *w = &cont[i].w[j];
			struct vfio_iommu_type1_dma_unmap u = {
				.argsz = sizeof(u),
			};

			if (!w->live || w->lo >= w->hi || cont[i].fd < 0)
				continue;
			u.iova = w->lo;
			u.size = w->hi - w->lo;
			call(cont[i].fd, VFIO_IOMMU_UNMAP_DMA, &u, "UNMAP");
			w->lo = w->hi = 0;
		}
	}
}

/* In-tree MAP does not check the end against its window: stay inside */
static void clamp_to_window(struct cont *c, uint64_t iova, uint64_t *size)
{
	struct win *w = win_at(c, iova);
	uint64_t room;

	if (!w)
		return;
	room = w->start + w->size - iova;
	if (*size > room)
		*size = room & ~((1ull << w->shift) - 1);
}

/* ------------------------------------------------------- operations */

static void op_open_container(void)
{
	struct cont *c = pick_cont();
	int g;

	close_counted(&c->fd);
	for (g = 0; g < NGRP; g++)
		if (grp[g].cont == c - cont)
			grp[g].cont = -2;
	cont_forget(c);
	c->fd = open_counted("/dev/vfio/vfio");
}

static void op_open_group(void)
{
	struct grp *g = &grp[R(NGRP)];
	char path[64];
	int id;

	if (!g->present)
		return;
	if (P(30) && g->fd >= 0) {
		/* open while open: -EBUSY */
		id = pci_iommu_group(g->bdf);
		snprintf(path, sizeof(path), "/dev/vfio/%d", id);
		id = open_counted(path);
		if (id >= 0)
			close_counted(&id);
		return;
	}
	close_counted(&g->fd);
	g->cont = -1;
	if (P(50))
		close_counted(&g->dev);
	snprintf(path, sizeof(path), "/dev/vfio/%d", pci_iommu_group(g->bdf));
	g->fd = open_counted(path);
}

static void op_set_container(void)
{
	struct grp *g = &grp[R(NGRP)];
	int ci = (int)R(NCONT);
	int fd = P(90) ? cont[ci].fd : (P(50) ? g->fd : junk_fd());

	if (!call(P(97) ? g->fd : junk_fd(), VFIO_GROUP_SET_CONTAINER, &fd,
		  "SET_CONTAINER") && fd == cont[ci].fd)
		g->cont = ci;
}

static void op_unset_container(void)
{
	struct grp *g = &grp[R(NGRP)];

	if (!call(g->fd, VFIO_GROUP_UNSET_CONTAINER, NULL, "UNSET_CONTAINER"))
		g->cont = -1;
}

static void op_set_iommu(void)
{
	static const long types[] = { VFIO_SPAPR_TCE_IOMMU,
				      VFIO_SPAPR_TCE_v2_IOMMU,
				      VFIO_SPAPR_TCE_v2_IOMMU,
				      VFIO_SPAPR_TCE_IOMMU, VFIO_TYPE1_IOMMU,
				      VFIO_TYPE1v2_IOMMU, 0, -1 };
	struct cont *c = pick_cont();
	long t = P(95) ? types[R(8)] : (long)(xrand(&S) & 0xffff);

	if (!call(cont_fd(c), VFIO_SET_IOMMU, (void *)t, "SET_IOMMU")) {
		c->type = (int)t;
		learn_default_window(c);
	}
}

static void op_check_extension(void)
{
	call(cont_fd(pick_cont()), VFIO_CHECK_EXTENSION,
	     (void *)(long)(P(80) ? R(12) : xrand(&S)), "CHECK_EXTENSION");
	if (P(30))
		call(cont_fd(pick_cont()), VFIO_GET_API_VERSION, NULL,
		     "GET_API_VERSION");
}

static void op_get_info(void)
{
	uint8_t raw[256];
	struct vfio_iommu_spapr_tce_info *info = (void *)raw;
	struct cont *c = pick_cont();

	fill_random(raw, sizeof(raw), &S);
	info->argsz = pick_argsz(sizeof(*info),
				 offsetofend(struct vfio_iommu_spapr_tce_info,
					     dma32_window_size));
	if (!call(cont_fd(c), VFIO_IOMMU_SPAPR_TCE_GET_INFO,
		  P(97) ? (void *)info : (void *)(uintptr_t)xrand(&S),
		  "GET_INFO") && info->dma32_window_size && c->type)
		win_add(c, info->dma32_window_start, info->dma32_window_size,
			12);
}

static void op_enable(void)
{
	call(cont_fd(pick_cont()), P(55) ? VFIO_IOMMU_ENABLE :
	     VFIO_IOMMU_DISABLE, NULL, "ENABLE/DISABLE");
}

static void op_register(bool reg)
{
	struct vfio_iommu_spapr_register_memory r = { 0 };
	struct cont *c = pick_cont();
	bool pool;
	uint8_t *va = pick_va(sys_pg, &pool);
	uint64_t size;

	if (pool && P(70)) {
		/* whole buffers mostly, so that REGISTERs repeat and collide */
		va = bufs[R(NBUF)];
		size = P(80) ? BUF_LEN : sys_pg * (1 + R(BUF_LEN / sys_pg));
	} else if (P(20)) {
		/* large, pin fails: at most 64G so the hpas array stays small */
		size = (sys_pg << R(21)) & ~(uint64_t)(sys_pg - 1);
	} else {
		size = pick_size(sys_pg);
		if (size > (64ull << 30) && P(90))
			size = sys_pg;
	}
	if (!reg && safe)
		drain_all();
	/* in-tree REGISTER takes size 0: vzalloc(0) WARNs in mm_iommu_new */
	if (safe && reg && size < sys_pg)
		size = sys_pg;
	/*
	 * in-tree REGISTER of more than RAM reaches mm_iommu_new's vzalloc,
	 * which warns with a call trace before failing (ours refuses first)
	 */
	if (safe && reg && size > (64ull << 30))
		size = sys_pg;
	r.argsz = pick_argsz(sizeof(r), sizeof(r));
	r.flags = P(95) ? 0 : (uint32_t)xrand(&S);
	r.vaddr = (uintptr_t)va;
	r.size = size;
	call(cont_fd(c), reg ? VFIO_IOMMU_SPAPR_REGISTER_MEMORY :
	     VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, &r,
	     reg ? "REGISTER" : "UNREGISTER");
}

static void op_create(void)
{
	static const uint32_t shifts[] = { 12, 16, 16, 24, 21, 34, 13, 0 };
	struct vfio_iommu_spapr_tce_create cr = { 0 };
	struct cont *c = pick_cont();
	uint32_t shift = P(85) ? shifts[R(8)] : (uint32_t)R(80);
	uint64_t size;
	long r;

	switch (R(10)) {
	case 0:	size = 1ull << 60; break;
	case 1:	size = xrand(&S); break;
	case 2:	size = (1ull << (shift % 64)) * (3 + R(5)); break;
	default:
		size = 1ull << ((shift + R(19)) % 64);
		if (size > (1ull << 34))
			size = 1ull << 34;
		break;
	}
	/*
	 * Left out: a valid geometry of 2^33..2^37 TCEs. QEMU's query says
	 * 2^37 TCEs are fine, its create truncates the count to 32 bits,
	 * fails (-EIO here) and leaves its table region attached, and the
	 * next create on that PHB aborts QEMU (memory.c:2610). Reported to
	 * the platform module (seed 1795291673839476230: shift 24, 1<<60).
	 */
	if (shift >= 12 && shift <= 40 && size && !(size & (size - 1)) &&
	    size >> shift > (1ull << 32) && size >> shift <= (1ull << 37))
		size <<= 8;
	cr.argsz = pick_argsz(sizeof(cr),
			      offsetofend(struct vfio_iommu_spapr_tce_create,
					  start_addr));
	cr.flags = P(95) ? 0 : (uint32_t)xrand(&S);
	cr.page_shift = shift;
	cr.window_size = size;
	cr.levels = P(75) ? 1 : (P(80) ? (uint32_t)R(6) : (uint32_t)xrand(&S));
	cr.start_addr = xrand(&S);
	r = call(cont_fd(c), VFIO_IOMMU_SPAPR_TCE_CREATE, &cr, "CREATE");
	if (!r)
		win_add(c, cr.start_addr, size, shift);
	else if (r != -EINVAL && r != -ENOTTY && r != -EBADF && r != -ENOSPC &&
		 r != -EPERM && r != -ENXIO && r != -EFAULT)
		tap_diag("CREATE shift %u size 0x%llx levels %u: %s", shift,
			 (unsigned long long)size, cr.levels, rc_str(r));
}

static void op_remove(void)
{
	struct vfio_iommu_spapr_tce_remove rm = { 0 };
	struct cont *c = pick_cont();
	struct win *w = pick_win(c);

	rm.argsz = pick_argsz(sizeof(rm), sizeof(rm));
	rm.flags = P(95) ? 0 : (uint32_t)xrand(&S);
	if (w && P(75))
		rm.start_addr = w->start + (P(90) ? 0 : 1ull << w->shift);
	else
		rm.start_addr = P(50) ? 0 : xrand(&S);
	if (!call(cont_fd(c), VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm, "REMOVE") &&
	    (w = win_at(c, rm.start_addr)))
		w->live = false;
}

static void op_map(void)
{
	struct vfio_iommu_type1_dma_map m = { 0 };
	struct cont *c = pick_cont();
	struct win *w = pick_win(c);
	uint64_t pg = w ? 1ull << w->shift : (P(50) ? SZ_4K : SZ_64K);
	bool pool;

	m.vaddr = (uintptr_t)pick_va(pg < sys_pg ? sys_pg : pg, &pool);
	m.iova = pick_iova(w, pg);
	m.size = pick_size(pg);
	if (safe)
		clamp_to_window(c, m.iova, &m.size);
	m.argsz = pick_argsz(sizeof(m), sizeof(m));
	m.flags = pick_flags();
	if (!call(cont_fd(c), VFIO_IOMMU_MAP_DMA, &m, "MAP") &&
	    (w = win_at(c, m.iova))) {
		if (w->lo >= w->hi || m.iova < w->lo)
			w->lo = m.iova;
		if (m.iova + m.size > w->hi)
			w->hi = m.iova + m.size;
		if (w->hi > w->start + w->size || w->hi < w->lo)
			w->hi = w->start + w->size;
	}
}

static void op_unmap(void)
{
	struct vfio_iommu_type1_dma_unmap u = { 0 };
	struct cont *c = pick_cont();
	struct win *w = pick_win(c);
	uint64_t pg = w ? 1ull << w->shift : SZ_4K;

	u.iova = pick_iova(w, pg);
	/* the whole window sometimes, when it is not huge */
	u.size = P(5) && w && w->size <= (pg << 18) ? w->size : pick_size(pg);
	u.argsz = pick_argsz(sizeof(u), sizeof(u));
	u.flags = P(95) ? 0 : (uint32_t)xrand(&S);
	call(cont_fd(c), VFIO_IOMMU_UNMAP_DMA, &u, "UNMAP");
}

static void op_group_status(void)
{
	struct vfio_group_status st;

	st.argsz = pick_argsz(sizeof(st), sizeof(st));
	st.flags = (uint32_t)xrand(&S);
	call(grp[R(NGRP)].fd, VFIO_GROUP_GET_STATUS, &st, "GROUP_GET_STATUS");
}

static void op_get_device(void)
{
	struct grp *g = &grp[R(NGRP)];
	static const char *junk[] = { "", "0001:00:00.1", "nonsense",
				      "0003:00:00.0", "0005:00:01.0" };
	char name[64];
	long r;

	snprintf(name, sizeof(name), "%s", P(85) ? g->bdf : junk[R(5)]);
	r = call(g->fd, VFIO_GROUP_GET_DEVICE_FD, name, "GET_DEVICE_FD");
	if (r >= 0) {
		int fd = (int)r;

		if (g->dev < 0)
			g->dev = fd;
		else
			close_counted(&fd);
	}
}

static void op_device(void)
{
	struct grp *g = &grp[R(NGRP)];
	union {
		struct vfio_device_info di;
		struct vfio_region_info ri;
		struct vfio_irq_info ii;
		uint8_t raw[256];
	} u;
	uint8_t cfg[8];

	fill_random(u.raw, sizeof(u.raw), &S);
	switch (R(5)) {
	case 0:
		u.di.argsz = pick_argsz(sizeof(u.di), 12);
		call(g->dev, VFIO_DEVICE_GET_INFO, &u, "DEVICE_GET_INFO");
		break;
	case 1:
	case 2:
		u.ri.argsz = pick_argsz(sizeof(u.ri), sizeof(u.ri));
		u.ri.index = P(80) ? (uint32_t)R(12) : (uint32_t)xrand(&S);
		call(g->dev, VFIO_DEVICE_GET_REGION_INFO, &u,
		     "DEVICE_GET_REGION_INFO");
		break;
	case 3:
		u.ii.argsz = pick_argsz(sizeof(u.ii), sizeof(u.ii));
		u.ii.index = P(80) ? (uint32_t)R(6) : (uint32_t)xrand(&S);
		call(g->dev, VFIO_DEVICE_GET_IRQ_INFO, &u,
		     "DEVICE_GET_IRQ_INFO");
		break;
	default:
		/* config space read at a random offset (index 7 region) */
		if (g->dev >= 0 && pread(g->dev, cfg, 1 + R(8),
					 (off_t)((7ull << 40) + R(4096))) < 0)
			nerr[errno < 140 ? errno : 0]++;
		ncalls++;
		break;
	}
}

/* A random VFIO ioctl number with a random payload on a random fd */
static void op_garbage(void)
{
	uint8_t raw[256];
	int which = (int)R(3), fd, nr;
	unsigned long req;
	void *arg = raw;

	fill_random(raw, sizeof(raw), &S);
	*(uint32_t *)raw = pick_argsz(64, 16);
	if (which == 0) {
		fd = cont_fd(pick_cont());
		nr = (int)R(22);
		/* EEH_PE_OP could inject an error; in-tree quirks in safe */
		if (nr == 21 || (safe && (nr == 13 || nr == 18)))
			return;
	} else if (which == 1) {
		fd = grp[R(NGRP)].fd;
		nr = (int)R(22);
	} else {
		/* device: 7..12 info/irq/reset, never the PM features */
		fd = grp[R(NGRP)].dev;
		nr = 7 + (int)R(6);
	}
	if (P(10))
		arg = P(50) ? NULL : (void *)(uintptr_t)0xdead0000ull;
	req = _IO(VFIO_TYPE, VFIO_BASE + nr);
	call(fd, req, arg, "garbage");
}

static void op_close_device(void)
{
	close_counted(&grp[R(NGRP)].dev);
}

struct op {
	void (*fn)(void);
	unsigned int weight;
};

static void op_register_y(void) { op_register(true); }
static void op_register_n(void) { op_register(false); }

static const struct op ops[] = {
	{ op_open_container, 1 }, { op_open_group, 1 },
	{ op_set_container, 3 }, { op_unset_container, 2 },
	{ op_set_iommu, 3 }, { op_check_extension, 2 },
	{ op_get_info, 6 }, { op_enable, 5 },
	{ op_register_y, 8 }, { op_register_n, 5 },
	{ op_create, 6 }, { op_remove, 5 },
	{ op_map, 26 }, { op_unmap, 18 },
	{ op_group_status, 2 }, { op_get_device, 2 },
	{ op_device, 3 }, { op_garbage, 4 }, { op_close_device, 1 },
};

static void close_all(void)
{
	int i;

	for (i = 0; i < NGRP; i++) {
		close_counted(&grp[i].dev);
		close_counted(&grp[i].fd);
		grp[i].cont = -1;
	}
	for (i = 0; i < NCONT; i++) {
		close_counted(&cont[i].fd);
		cont_forget(&cont[i]);
	}
}

/* -------------------------------------------- fixed wrong-order runs */

static void cross_unregister(const char *bdf);

static void sequences(const char *bdf)
{
	struct vfio_dev a, b;
	uint8_t *buf = bufs[0];
	uint64_t ddw = 0;
	long r;

	if (vfio_open(&a, bdf, VFIO_SPAPR_TCE_v2_IOMMU, false))
		tap_bail("vfio_open v2 %s", bdf);
	tap_rc(vfio_set_iommu(&a, VFIO_SPAPR_TCE_v2_IOMMU), -EINVAL,
	       "seq: SET_IOMMU twice -> EINVAL");
	tap_rc(dma_map(a.container, buf, 1ull << 59, SZ_64K, DMA_RW), -EPERM,
	       "seq: MAP before REGISTER -> EPERM");
	tap_rc(spapr_register(a.container, buf, BUF_LEN), 0, "seq: REGISTER");
	tap_rc(dma_map(a.container, buf, 1ull << 59, SZ_64K, DMA_RW), -ENXIO,
	       "seq: MAP at a DDW address before CREATE -> ENXIO");
	r = spapr_create(a.container, 16, SZ_1G, 1, &ddw);
	tap_rc(r, 0, "seq: CREATE 64K DDW");
	tap_rc(dma_map(a.container, buf, ddw, BUF_LEN, DMA_RW), 0,
	       "seq: MAP in the DDW");
	tap_rc(dma_map(a.container, buf, ddw, BUF_LEN, DMA_RW), 0,
	       "seq: MAP the same range again (replaces)");
	if (safe)
		tap_skip("in-tree returns 0 and leaks the region (test_ioctl.c)",
			 "seq: UNREGISTER while mapped -> EBUSY");
	else
		tap_rc(spapr_unregister(a.container, buf, BUF_LEN), -EBUSY,
		       "seq: UNREGISTER while mapped -> EBUSY");
	tap_rc(spapr_remove(a.container, ddw), 0, "seq: REMOVE while mapped");
	tap_rc(spapr_remove(a.container, ddw), -EINVAL,
	       "seq: REMOVE twice -> EINVAL");
	tap_rc(dma_unmap(a.container, ddw, BUF_LEN), -ENXIO,
	       "seq: UNMAP in the removed window -> ENXIO");
	if (!safe) {
		tap_rc(spapr_unregister(a.container, buf, BUF_LEN), 0,
		       "seq: UNREGISTER once unmapped");
		tap_rc(spapr_unregister(a.container, buf, BUF_LEN), -ENOENT,
		       "seq: UNREGISTER twice -> ENOENT");
	}

	/* a v1 container for a group already in a v2 one */
	vfio_dev_init(&b);
	b.container = vfio_open_container();
	tap_rc(vfio_ioctl(a.group, VFIO_GROUP_SET_CONTAINER, &b.container),
	       -EINVAL, "seq: SET_CONTAINER of an attached group -> EINVAL");
	tap_rc(vfio_ioctl(b.container, VFIO_SET_IOMMU,
			  (void *)(long)VFIO_SPAPR_TCE_IOMMU), -EINVAL,
	       "seq: SET_IOMMU on a container without groups -> EINVAL");
	close(b.container);
	vfio_close(&a);

	if (safe) {
		tap_skip("in-tree backend leaks such a region (test_ioctl.c)",
			 "seq: two containers, UNREGISTER of a region the other maps");
		return;
	}
	cross_unregister(bdf);
}

/*
 * In a child process (a leak must not spoil the fuzzer's accounting):
 * two containers of one process register the same region (one mm_iommu
 * region, used twice); A maps from it. A's UNREGISTER must fail while A's
 * own entries use the region, else A maps memory it no longer holds and
 * B's release finds the region still mapped (WARN in tce_iommu_release,
 * the region and its pinned pages leak past the mm: WARN in
 * destroy_context).
 */
struct xres {
	long reg_a, reg_b, map_a, unreg_a;
	long lck_before, lck_after;
};

static void cross_unregister(const char *bdf)
{
	struct xres *x = mmap(NULL, sizeof(*x), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long long pin0 = pinned_pages(), pin1;
	int status;
	pid_t pid;

	if (x == MAP_FAILED)
		tap_bail("mmap");
	memset(x, 0x7f, sizeof(*x));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork");
	if (!pid) {
		struct vfio_iommu_spapr_tce_info info;
		struct vfio_dev a, b;
		uint8_t *buf = bufs[0];

		if (vfio_open(&a, bdf, VFIO_SPAPR_TCE_v2_IOMMU, false) ||
		    vfio_open(&b, "0003:00:00.0", VFIO_SPAPR_TCE_v2_IOMMU,
			      false) ||
		    spapr_get_info(a.container, &info, sizeof(info)))
			_exit(2);
		x->lck_before = vmlck_kb();
		x->reg_a = spapr_register(a.container, buf, BUF_LEN);
		x->reg_b = spapr_register(b.container, buf, BUF_LEN);
		x->map_a = dma_map(a.container, buf, info.dma32_window_start,
				   SZ_64K, DMA_RW);
		x->unreg_a = spapr_unregister(a.container, buf, BUF_LEN);
		close(b.container);
		b.container = -1;
		vfio_close(&b);
		vfio_close(&a);
		x->lck_after = vmlck_kb();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	tap_ok(WIFEXITED(status) && !WEXITSTATUS(status),
	       "seq: child with two v2 containers (0001, 0003) ran");
	tap_ok(!x->reg_a && !x->reg_b && !x->map_a,
	       "seq: A and B REGISTER the same region, A maps from it (%s %s %s)",
	       rc_str(x->reg_a), rc_str(x->reg_b), rc_str(x->map_a));
	tap_rc(x->unreg_a, -EBUSY,
	       "seq: A UNREGISTER while A maps it -> EBUSY (B also holds it)");
	tap_ok(x->lck_after == x->lck_before,
	       "seq: after closing both, the child's VmLck is back (%ld -> %ld kB)",
	       x->lck_before, x->lck_after);
	pin1 = settle_ll(pinned_pages, pin0);
	tap_ok(pin1 <= pin0, "seq: pinned pages not raised by the child (%lld -> %lld)",
	       pin0, pin1);
	munmap(x, sizeof(*x));
}

/* ------------------------------------------------------------- main */

static long long pe_mapped_sum(void)
{
	long long sum = 0, v;
	int i;

	for (i = 0; i < NGRP; i++) {
		if (!grp[i].present)
			continue;
		v = ddw_debugfs_mapped(grp[i].bdf);
		if (v < 0)
			return v;
		sum += v;
	}
	return sum;
}

int main(int argc, char **argv)
{
	unsigned long long count = 100000, i, total_w = 0;
	unsigned long long seed;
	long lck0, lck1;
	long long pin0, pin1, dbg;
	double t0, dt;
	int k, r, leaks;

	tap_init("test_fuzz");
	seed = fuzz_args(argc, argv, &count);
	S = seed;
	if (access("/dev/vfio/vfio", F_OK))
		tap_skip_all("/dev/vfio/vfio missing (vfio not loaded)");
	r = backend_is_ours();
	if (r < 0)
		tap_skip_all("no sPAPR TCE backend loaded");
	safe = r == 0;
	tap_diag("backend %s, platform %s, %llu calls", safe ? "in-tree" : "ours",
		 platform_is_ours() ? "ours" : "in-tree", count);
	sys_pg = sys_page_size();

	for (k = 0; k < NGRP; k++) {
		char path[128];

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s",
			 grp[k].bdf);
		grp[k].present = !access(path, F_OK) &&
				 !pci_bind_vfio(grp[k].bdf);
		grp[k].fd = grp[k].dev = -1;
		grp[k].cont = -1;
	}
	if (!grp[0].present || !grp[1].present)
		tap_skip_all("edu devices 0001:00:00.0 and 0003:00:00.0 needed");
	for (k = 0; k < NCONT; k++)
		cont[k].fd = -1;
	for (k = 0; k < NBUF; k++)
		if (!(bufs[k] = buf_alloc(BUF_LEN)))
			tap_bail("alloc");
	fuzz_bad_pages(sys_pg, &ro_pg, &hole);

	r = kmemleak_clear();
	tap_diag("kmemleak %s", r == -ENOENT ? "absent" :
		 r ? rc_str(r) : "cleared");
	tap_ok(edu_fresh_dma(grp[0].bdf, VFIO_SPAPR_TCE_v2_IOMMU) == 0,
	       "DMA works before (%s)", grp[0].bdf);

	sequences(grp[0].bdf);
	/* the baseline after the fixed sequences: a leak there is reported */
	lck0 = vmlck_kb();
	pin0 = pinned_pages();

	for (k = 0; k < (int)(sizeof(ops) / sizeof(ops[0])); k++)
		total_w += ops[k].weight;
	t0 = now();
	for (i = 0; ncalls < count; i++) {
		uint64_t pick = R(total_w);

		for (k = 0; pick >= ops[k].weight; k++)
			pick -= ops[k].weight;
		ops[k].fn();
		if (i % 10000 == 9999)
			tap_diag("%llu calls, %.0f/s", ncalls,
				 (double)ncalls / (now() - t0));
	}
	close_all();
	dt = now() - t0;

	tap_ok(true, "%llu calls fuzzed in %.1fs (%.0f/s)", ncalls, dt,
	       (double)ncalls / dt);
	tap_diag("results: %llu ok, %llu positive", nok, npos);
	for (k = 1; k < 140; k++)
		if (nerr[k])
			tap_diag("  -%s: %llu", strerrorname_np(k) ?: "?",
				 nerr[k]);
	tap_diag("slowest call %.3fs (%s)", slowest, slowest_what);
	tap_figure("fuzz_calls", "%llu", ncalls);
	tap_figure("fuzz_calls_per_s", "%.0f", (double)ncalls / dt);
	tap_figure("fuzz_seed", "%llu", seed);

	lck1 = vmlck_kb();
	if (safe && lck1 != lck0)
		tap_skip("in-tree tce_iommu_create_table() keeps the locked_vm charge of a failed create",
			 "VmLck back to %ld kB (%ld)", lck0, lck1);
	else
		tap_ok(lck1 == lck0, "VmLck back to %ld kB (%ld)", lck0, lck1);
	pin1 = settle_ll(pinned_pages, pin0);
	if (pin0 < 0)
		tap_skip("no nr_foll_pin_* in /proc/vmstat", "pinned pages back");
	else
		tap_ok(pin1 <= pin0, "pinned pages back to %lld (%lld)", pin0,
		       pin1);
	dbg = settle_ll(pe_mapped_sum, 0);
	if (dbg == -ENOENT)
		tap_skip("no pseries_tce_ddw debugfs", "debugfs tces_mapped 0");
	else
		tap_ok(dbg == 0, "debugfs tces_mapped of the PEs back to 0 (%lld)",
		       dbg);
	for (k = 0; k < NGRP; k++) {
		int type = k == 2 ? VFIO_SPAPR_TCE_IOMMU :
			   VFIO_SPAPR_TCE_v2_IOMMU;

		if (!grp[k].present)
			continue;
		r = edu_fresh_dma(grp[k].bdf, type);
		tap_rc(r, 0, "%s: fresh open + DMA works after the fuzzing",
		       grp[k].bdf);
	}
	leaks = kmemleak_scan(60);
	if (leaks == -ENOENT)
		tap_skip("no kmemleak in this kernel", "kmemleak: no leaks");
	else
		tap_rc(leaks, 0, "kmemleak: no unreferenced objects");
	return tap_done();
}
