// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hostile input for IOMMUFD on pSeries (the series kernel, issue 17): the
 * /dev/iommu ioctls and the VFIO device cdev ioctls, over the sPAPR TCE
 * paging domain (one DDW of a PE per domain).
 *
 * First fixed sequences in the wrong order, each asserted with its errno:
 * MAP before any ATTACH (inside the window-to-be: ATTACH fills the domain
 * and the device DMAs through it; outside it: ATTACH -EADDRINUSE, and the
 * window it opened is closed again), ATTACH twice, DETACH without ATTACH,
 * UNMAP of a range not mapped, IOMMU_HWPT_ALLOC with bad struct
 * iommu_hwpt_spapr_tce (page shift, levels, window size, data_len) and
 * with the PE's window slot taken, a HWPT of one PE attached by another,
 * GET_HW_INFO of bad dev_ids, DESTROY of objects in use, BIND twice, the
 * iommufd closed while its device is attached and mapped, and a HWPT of a
 * PE released and bound again elsewhere, whose UNMAP and MAP must not
 * reach the new owner's window, and IOAS_COPY out of such a HWPT (see
 * seq_released_copy()).
 *
 * Then COUNT random calls: IOAS_ALLOC, IOAS_MAP (with and without
 * FIXED_IOVA), IOAS_UNMAP, IOAS_COPY, IOAS_ALLOW_IOVAS, IOAS_IOVA_RANGES,
 * HWPT_ALLOC with random struct iommu_hwpt_spapr_tce, GET_HW_INFO,
 * DESTROY, OPTION and random ioctl numbers with garbage payloads and
 * random size fields on two iommufds; BIND_IOMMUFD, ATTACH and
 * DETACH_IOMMUFD_PT with random pt_ids and random VFIO device ioctls on
 * the cdevs of 0001:00:00.0, 0003:00:00.0 and the two functions of the PE
 * 0005; iommufds and cdevs closed and opened again. Sizes are small most of
 * the time; a few maps are 500 to 528 64K pages, across the domain's
 * 512-entry batches.
 *
 * Afterwards (all closed): VmLck, VmPin (IOMMUFD charges pinned_vm) and
 * the system's pinned pages are back, no PE has an owner, a TCE mapped or
 * a window more than at the start (our platform's debugfs), no IOMMUFD
 * call returned -EIO (the domain's answer once a TCE could not be
 * cleared), each device DMAs through a fresh IOAS, and a kmemleak scan is
 * clean (skipped, visibly, without kmemleak).
 *
 * Usage: test_iommufd_fuzz [SEED|0] [COUNT]   (0: seed from the clock; the
 * seed is printed as "# seed N" so that a run can be repeated)
 */
#define _GNU_SOURCE
#include "iommufd_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SZ_4K	0x1000ull
#define SZ_64K	0x10000ull
#define SZ_256M	0x10000000ull
#define SZ_1M	0x100000ull

#define BDF_A	"0001:00:00.0"
#define BDF_B	"0003:00:00.0"

#define NCTX	2	/* iommufds */
#define NDEV	4	/* cdevs */
#define NOBJ	8	/* IOAS and HWPT ids remembered per iommufd */
#define NBUF	3
#define BUF_LEN	SZ_1M
/* one buffer for maps across a 512-TCE batch of the domain (64K pages) */
#define BIG_LEN	(544 * SZ_64K)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define PAYLOAD	4096	/* garbage and output buffers: lengths stay below */

static uint64_t S;
#define R(n)	xrand_below(&S, (n))
#define P(pct)	(R(100) < (pct))

struct area {
	uint32_t ioas;
	uint64_t iova, len;
};

struct ctx {
	int fd;
	uint32_t ioas[NOBJ], hwpt[NOBJ];
	unsigned int nioas, nhwpt, nareas;
	struct area areas[NOBJ];	/* some of what MAP and COPY made */
};

struct dev {
	const char *bdf;
	char path[64];
	int fd;
	bool bound;
	int ctx;		/* bound to ctx[ctx]; -1: none, or one closed */
	uint32_t dev_id;
};

static struct ctx ctx[NCTX];
static struct dev dev[NDEV] = {
	{ .bdf = BDF_A }, { .bdf = BDF_B },
	{ .bdf = "0005:00:00.0" }, { .bdf = "0005:00:01.0" },
};

static uint8_t *bufs[NBUF], *big, *ro_pg, *hole;
static uint8_t payload[PAYLOAD] __attribute__((aligned(8)));
/* the allowed range last seen with a domain in it, and at the start */
static uint64_t win_start, win_len;
static long long pin0;

/* -------------------------------------------------------- op table */

struct op {
	const char *name;
	void (*fn)(void);
	unsigned int weight;
	bool garbage;		/* may reach what answers -EIO rightly */
	unsigned long long calls, ok, eio;
};

static struct op *cur;

static long fz_ioctl(int fd, unsigned long req, void *arg)
{
	long r = ioctl(fd, req, arg) < 0 ? -errno : 0;

	cur->calls++;
	if (!r)
		cur->ok++;
	else if (r == -EIO)
		cur->eio++;
	return r;
}

/* ------------------------------------------------------ random picks */

static void obj_add(uint32_t *list, unsigned int *n, uint32_t id)
{
	if (*n < NOBJ)
		list[(*n)++] = id;
	else
		list[R(NOBJ)] = id;
}

static void obj_forget(uint32_t *list, unsigned int *n, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < *n; i++)
		if (list[i] == id)
			list[i--] = list[--*n];
}

static void area_add(struct ctx *c, uint32_t ioas, uint64_t iova,
		     uint64_t len)
{
	unsigned int i = c->nareas < NOBJ ? c->nareas++ : (unsigned int)R(NOBJ);

	c->areas[i] = (struct area){ ioas, iova, len };
}

/* One of them, forgotten if forget (the caller unmaps it) */
static struct area *area_pick(struct ctx *c, bool forget)
{
	static struct area a;
	unsigned int i;

	if (!c->nareas || P(50))
		return NULL;
	i = (unsigned int)R(c->nareas);
	a = c->areas[i];
	if (forget)
		c->areas[i] = c->areas[--c->nareas];
	return &a;
}

static uint32_t junk_id(void)
{
	static const uint32_t junk[] = { 0, 1, 0xdead, ~0u };

	return P(50) ? junk[R(4)] : (uint32_t)xrand(&S);
}

/* An IOAS, a HWPT, a bound device of c mostly, else junk */
static uint32_t pick_ioas(struct ctx *c)
{
	return c->nioas && P(90) ? c->ioas[R(c->nioas)] : junk_id();
}

static uint32_t pick_hwpt(struct ctx *c)
{
	return c->nhwpt && P(90) ? c->hwpt[R(c->nhwpt)] : junk_id();
}

static uint32_t pick_dev_id(struct ctx *c)
{
	unsigned int i, k = (unsigned int)R(NDEV);

	for (i = 0; i < NDEV; i++, k = (k + 1) % NDEV)
		if (dev[k].ctx == c - ctx && P(90))
			return dev[k].dev_id;
	return junk_id();
}

/* What a device attaches to: an IOAS mostly, a HWPT, or not a pt */
static uint32_t pick_pt(struct ctx *c)
{
	unsigned int k = (unsigned int)R(10);

	if (k < 6)
		return pick_ioas(c);
	return k < 9 ? pick_hwpt(c) : pick_dev_id(c);
}

/* A size/argsz field: the struct's own mostly, else short, long or junk */
static uint32_t pick_len(uint32_t full, uint32_t min)
{
	if (P(88))
		return full;
	switch (R(5)) {
	case 0:	return min - !!min;
	case 1:	return min;
	case 2:	return full + 8 * (1 + R(4));
	case 3:	return (uint32_t)R(PAYLOAD);
	default: return P(50) ? 0 : ~0u;
	}
}

static int pick_fd(int good)
{
	static const int junk[] = { -1, 0, 999 };

	if (P(94))
		return good;
	return P(60) ? junk[R(3)] : dev[R(NDEV)].fd;
}

static uint64_t pick_iova(void)
{
	switch (R(16)) {
	case 0:	return xrand(&S);
	case 1:	return 0;
	case 2:	return win_start + SZ_64K * R(64) + SZ_4K * (1 + R(15));
	case 3:
	case 4:	return win_start + win_len - SZ_64K * (1 + R(4));
	case 5:	return win_start - SZ_64K;
	default: return win_start + SZ_64K * R(64);
	}
}

static uint64_t pick_length(void)
{
	switch (R(16)) {
	case 0:	return 0;
	case 1:	return xrand(&S);
	case 2:	return SZ_64K * (1 + R(4)) + SZ_4K;
	case 3:	return ~0ull;
	case 4:	return BUF_LEN;
	default: return SZ_64K * (1 + R(8));
	}
}

static uint64_t pick_va(void)
{
	switch (R(20)) {
	case 0:	return (uintptr_t)ro_pg;
	case 1:	return (uintptr_t)hole;
	case 2:	return 0;
	case 3:	return xrand(&S);
	/* unaligned, 4K multiples included: a 4K-page HWPT takes those */
	case 4:	return (uintptr_t)bufs[R(NBUF)] + 1 + R(SZ_64K - 1);
	default: return (uintptr_t)bufs[R(NBUF)] + SZ_64K * R(8);
	}
}

static uint32_t pick_map_flags(void)
{
	static const uint32_t prot[] = { IOAS_RW, IOAS_RW,
					 IOMMU_IOAS_MAP_READABLE,
					 IOMMU_IOAS_MAP_WRITEABLE };

	if (P(5))
		return (uint32_t)xrand(&S);
	return prot[R(4)] | (P(60) ? IOMMU_IOAS_MAP_FIXED_IOVA : 0);
}

/* A range in the window mostly */
static void pick_range(struct iommu_iova_range *r)
{
	r->start = pick_iova() & ~(SZ_64K - 1);
	r->last = P(80) ? r->start + pick_length() - 1 : xrand(&S);
}

/* ------------------------------------------------- iommufd operations */

static struct ctx *pick_ctx(void)
{
	return &ctx[R(NCTX)];
}

static void op_ctx_reopen(void)
{
	struct ctx *c = pick_ctx();
	int i;

	/* its devices stay bound: they hold the closed iommufd alive */
	if (c->fd >= 0)
		close(c->fd);
	for (i = 0; i < NDEV; i++)
		if (dev[i].ctx == c - ctx)
			dev[i].ctx = -1;
	c->nioas = 0;
	c->nhwpt = 0;
	c->nareas = 0;
	c->fd = open("/dev/iommu", O_RDWR);
	cur->calls++;
	cur->ok += c->fd >= 0;
}

static void op_ioas_alloc(void)
{
	struct iommu_ioas_alloc a = { .size = pick_len(sizeof(a), 12) };
	struct ctx *c = pick_ctx();

	a.flags = P(95) ? 0 : (uint32_t)xrand(&S);
	if (!fz_ioctl(c->fd, IOMMU_IOAS_ALLOC, &a))
		obj_add(c->ioas, &c->nioas, a.out_ioas_id);
}

static void op_map(void)
{
	struct iommu_ioas_map m = { .size = pick_len(sizeof(m), sizeof(m)) };
	struct ctx *c = pick_ctx();

	m.flags = pick_map_flags();
	m.ioas_id = pick_ioas(c);
	m.__reserved = P(97) ? 0 : (uint32_t)xrand(&S);
	m.user_va = pick_va();
	m.length = pick_length();
	m.iova = pick_iova();
	if (P(2)) {
		m.user_va = (uintptr_t)big + SZ_64K * R(16);
		m.length = SZ_64K * (500 + R(29));
	}
	if (!fz_ioctl(c->fd, IOMMU_IOAS_MAP, &m))
		area_add(c, m.ioas_id, m.iova, m.length);
}

static void op_unmap(void)
{
	struct iommu_ioas_unmap u = { .size = pick_len(sizeof(u), sizeof(u)) };
	struct ctx *c = pick_ctx();
	struct area *a = area_pick(c, true);

	u.ioas_id = pick_ioas(c);
	if (a) {
		u.ioas_id = a->ioas;
		u.iova = a->iova;
		u.length = a->len;
	} else if (P(10)) {
		u.length = ~0ull;	/* everything */
	} else {
		u.iova = pick_iova();
		u.length = pick_length();
	}
	fz_ioctl(c->fd, IOMMU_IOAS_UNMAP, &u);
}

static void op_copy(void)
{
	struct iommu_ioas_copy cp = { .size = pick_len(sizeof(cp), sizeof(cp)) };
	struct ctx *c = pick_ctx();
	struct area *a = area_pick(c, false);

	cp.flags = pick_map_flags();
	cp.dst_ioas_id = pick_ioas(c);
	cp.src_ioas_id = pick_ioas(c);
	cp.length = pick_length();
	cp.dst_iova = pick_iova();
	cp.src_iova = pick_iova();
	if (a) {
		cp.src_ioas_id = a->ioas;
		cp.src_iova = a->iova;
		cp.length = a->len;
	}
	if (!fz_ioctl(c->fd, IOMMU_IOAS_COPY, &cp))
		area_add(c, cp.dst_ioas_id, cp.dst_iova, cp.length);
}

static void op_allow_iovas(void)
{
	struct iommu_iova_range r[3];
	struct iommu_ioas_allow_iovas a = {
		.size = pick_len(sizeof(a), sizeof(a)),
	};
	struct ctx *c = pick_ctx();
	unsigned int i;

	for (i = 0; i < 3; i++)
		pick_range(&r[i]);
	a.ioas_id = pick_ioas(c);
	a.num_iovas = P(95) ? (uint32_t)R(4) : (uint32_t)xrand(&S);
	a.allowed_iovas = P(95) ? (uintptr_t)r : xrand(&S);
	/* more ranges than r[] only with a pointer that is not ours */
	if (a.num_iovas > 3 && a.allowed_iovas == (uintptr_t)r)
		a.allowed_iovas = 0;
	fz_ioctl(c->fd, IOMMU_IOAS_ALLOW_IOVAS, &a);
}

static void op_iova_ranges(void)
{
	struct iommu_iova_range r[4];
	struct iommu_ioas_iova_ranges q = {
		.size = pick_len(sizeof(q), sizeof(q)),
	};
	struct ctx *c = pick_ctx();

	q.ioas_id = pick_ioas(c);
	q.num_iovas = (uint32_t)R(5);
	q.allowed_iovas = P(95) ? (uintptr_t)r : xrand(&S);
	if (P(3))
		q.num_iovas = (uint32_t)xrand(&S);
	if (q.num_iovas > 4 && q.allowed_iovas == (uintptr_t)r)
		q.allowed_iovas = 0;
	/* one range not all of it: a domain's window; aim at it */
	if (!fz_ioctl(c->fd, IOMMU_IOAS_IOVA_RANGES, &q) &&
	    q.num_iovas == 1 && q.allowed_iovas == (uintptr_t)r &&
	    (r[0].start || ~r[0].last)) {
		win_start = r[0].start;
		win_len = r[0].last - r[0].start + 1;
	}
}

/* Mostly a power of two from 2^s up to 16 GiB: QEMU's 4 GiB of RAM bound it */
static uint64_t pick_window_size(unsigned int s)
{
	switch (R(10)) {
	case 0:	return xrand(&S);
	case 1:	return 1ull << R(64);
	case 2:	return SZ_256M + SZ_64K;
	case 3:
	case 4:	return 0;
	default:
		return s < 34 ? 1ull << s : 1ull << 34;
	}
}

static void fill_spapr_data(struct iommu_hwpt_spapr_tce *w)
{
	static const uint32_t shifts[] = { 0, 0, 12, 16, 16, 24, 21, 13, 63,
					   64, 40 };
	unsigned int s;

	w->page_shift = P(95) ? shifts[R(11)] : (uint32_t)xrand(&S);
	w->levels = P(80) ? (uint32_t)R(2) : P(80) ? (uint32_t)R(5) :
		    (uint32_t)xrand(&S);
	s = (w->page_shift ? w->page_shift : 16) + (unsigned int)R(16);
	w->window_size = pick_window_size(s);
}

static void op_hwpt_alloc(void)
{
	struct {
		struct iommu_hwpt_spapr_tce w;
		uint64_t tail;
	} data = { .tail = P(50) ? 0 : xrand(&S) };
	struct iommu_hwpt_alloc a = { .size = pick_len(sizeof(a), 40) };
	struct ctx *c = pick_ctx();

	fill_spapr_data(&data.w);
	a.flags = P(92) ? 0 : P(50) ? 1u << R(4) : (uint32_t)xrand(&S);
	a.dev_id = pick_dev_id(c);
	a.pt_id = P(90) ? pick_ioas(c) : pick_pt(c);
	a.__reserved = P(97) ? 0 : 1;
	switch (R(10)) {
	case 0:
	case 1:
		a.data_type = IOMMU_HWPT_DATA_NONE;
		a.data_len = P(90) ? 0 : sizeof(data.w);
		break;
	case 2:
		a.data_type = P(50) ? (uint32_t)R(8) : (uint32_t)xrand(&S);
		a.data_len = sizeof(data.w);
		break;
	default:
		a.data_type = IOMMU_HWPT_DATA_SPAPR_TCE;
		a.data_len = P(85) ? sizeof(data.w) : (uint32_t)R(sizeof(data) + 1);
		break;
	}
	a.data_uptr = P(97) ? (uintptr_t)&data : xrand(&S);
	a.fault_id = P(95) ? 0 : pick_pt(c);
	if (!fz_ioctl(c->fd, IOMMU_HWPT_ALLOC, &a))
		obj_add(c->hwpt, &c->nhwpt, a.out_hwpt_id);
}

static void op_hw_info(void)
{
	struct iommu_hw_info h = { .size = pick_len(sizeof(h), 32) };
	struct ctx *c = pick_ctx();

	h.flags = P(90) ? 0 : (uint32_t)xrand(&S);
	h.dev_id = P(85) ? pick_dev_id(c) : pick_pt(c);
	h.data_len = P(90) ? (uint32_t)R(128) : (uint32_t)R(PAYLOAD + 1);
	h.data_uptr = P(95) ? (uintptr_t)payload : xrand(&S);
	h.__reserved[0] = P(90) ? 0 : (uint8_t)xrand(&S);
	fz_ioctl(c->fd, IOMMU_GET_HW_INFO, &h);
}

static void op_destroy(void)
{
	struct iommu_destroy d = { .size = pick_len(sizeof(d), sizeof(d)) };
	struct ctx *c = pick_ctx();

	d.id = P(80) ? pick_pt(c) : pick_dev_id(c);
	if (!fz_ioctl(c->fd, IOMMU_DESTROY, &d)) {
		obj_forget(c->ioas, &c->nioas, d.id);
		obj_forget(c->hwpt, &c->nhwpt, d.id);
	}
}

static void op_option(void)
{
	struct iommu_option o = { .size = pick_len(sizeof(o), sizeof(o)) };
	struct ctx *c = pick_ctx();

	o.option_id = P(90) ? (uint32_t)R(2) : (uint32_t)xrand(&S);
	o.op = P(90) ? (uint16_t)R(2) : (uint16_t)xrand(&S);
	o.__reserved = P(95) ? 0 : 1;
	o.object_id = P(30) ? 0 : pick_ioas(c);
	o.val64 = P(90) ? R(2) : xrand(&S);
	fz_ioctl(c->fd, IOMMU_OPTION, &o);
}

/* Garbage with a random size field, to the whole iommufd range */
static void op_iommufd_garbage(void)
{
	unsigned int nr = IOMMUFD_CMD_BASE + (unsigned int)R(0x18);
	unsigned long req = _IO(IOMMUFD_TYPE, nr);

	fill_random(payload, PAYLOAD, &S);
	*(uint32_t *)payload = pick_len((uint32_t)(8 * (1 + R(8))), 0);
	if (P(10))
		req = _IOWR(IOMMUFD_TYPE, nr, uint64_t);	/* wrong encoding */
	else if (P(10))
		req = _IO(VFIO_TYPE, VFIO_BASE + R(22));	/* VFIO compat */
	fz_ioctl(pick_ctx()->fd, req, P(95) ? (void *)payload : NULL);
}

/* --------------------------------------------------- cdev operations */

static struct dev *pick_dev(void)
{
	return &dev[R(NDEV)];
}

static void op_dev_reopen(void)
{
	struct dev *d = pick_dev();

	if (d->fd >= 0)
		close(d->fd);
	d->bound = false;
	d->ctx = -1;
	d->fd = open(d->path, O_RDWR);
	cur->calls++;
	cur->ok += d->fd >= 0;
}

static void op_bind(void)
{
	struct vfio_device_bind_iommufd b = {
		.argsz = pick_len(sizeof(b), sizeof(b)),
	};
	struct dev *d = pick_dev();
	int ci = (int)R(NCTX), k;

	/* mostly a device that is not bound yet */
	for (k = 0; k < NDEV && d->bound && P(80); k++)
		d = pick_dev();
	b.flags = P(95) ? 0 : P(50) ? 1 : (uint32_t)xrand(&S);
	b.iommufd = pick_fd(ctx[ci].fd);
	if (!fz_ioctl(d->fd, VFIO_DEVICE_BIND_IOMMUFD, &b)) {
		d->bound = true;
		d->ctx = b.iommufd == ctx[ci].fd ? ci : -1;
		d->dev_id = b.out_devid;
	}
}

/* attach and detach: argsz, flags, pt_id, pasid (6.12 headers lack it) */
static void op_attach(void)
{
	struct dev *d = pick_dev();
	struct ctx *c = d->ctx >= 0 ? &ctx[d->ctx] : pick_ctx();
	uint32_t a[4];

	a[0] = pick_len(12, 12);
	a[1] = P(95) ? 0 : P(60) ? 1 : (uint32_t)xrand(&S);
	a[2] = pick_pt(c);
	a[3] = P(50) ? 0 : (uint32_t)xrand(&S);
	/* an IOAS's own domain is a HWPT too: remember it */
	if (!fz_ioctl(d->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, a) && d->ctx >= 0)
		obj_add(c->hwpt, &c->nhwpt, a[2]);
}

static void op_detach(void)
{
	uint32_t a[3];

	a[0] = pick_len(8, 8);
	a[1] = P(95) ? 0 : P(60) ? 1 : (uint32_t)xrand(&S);
	a[2] = (uint32_t)xrand(&S);
	fz_ioctl(pick_dev()->fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, a);
}

/*
 * A VFIO device ioctl with garbage: info, region, irq info, SET_IRQS,
 * reset, hot reset info, IOEVENTFD, BIND, ATTACH, DETACH; never the
 * hot reset itself nor the features (power management).
 */
static void op_cdev_garbage(void)
{
	static const unsigned int nrs[] = { 7, 8, 9, 10, 11, 12, 16, 18, 19,
					    20 };
	unsigned long req = _IO(VFIO_TYPE, VFIO_BASE + nrs[R(10)]);

	fill_random(payload, PAYLOAD, &S);
	*(uint32_t *)payload = pick_len((uint32_t)(8 * (1 + R(8))), 0);
	if (*(uint32_t *)payload > PAYLOAD)
		*(uint32_t *)payload = PAYLOAD;
	fz_ioctl(pick_dev()->fd, req, P(95) ? (void *)payload : NULL);
}

#define OP(n, f, w, g)	{ .name = (n), .fn = (f), .weight = (w), .garbage = (g) }

static struct op ops[] = {
	OP("reopen iommufd", op_ctx_reopen, 1, false),
	OP("IOAS_ALLOC", op_ioas_alloc, 4, false),
	OP("IOAS_MAP", op_map, 18, false),
	OP("IOAS_UNMAP", op_unmap, 11, false),
	OP("IOAS_COPY", op_copy, 5, false),
	OP("IOAS_ALLOW_IOVAS", op_allow_iovas, 3, false),
	OP("IOAS_IOVA_RANGES", op_iova_ranges, 5, false),
	OP("HWPT_ALLOC", op_hwpt_alloc, 8, false),
	OP("GET_HW_INFO", op_hw_info, 4, false),
	OP("DESTROY", op_destroy, 6, false),
	OP("OPTION", op_option, 3, false),
	OP("iommufd garbage", op_iommufd_garbage, 6, true),
	OP("reopen cdev", op_dev_reopen, 1, false),
	OP("BIND_IOMMUFD", op_bind, 6, false),
	OP("ATTACH_IOMMUFD_PT", op_attach, 10, false),
	OP("DETACH_IOMMUFD_PT", op_detach, 4, false),
	OP("cdev garbage", op_cdev_garbage, 4, true),
};

#define NOPS	ARRAY_SIZE(ops)

static void run_random(unsigned long long count)
{
	unsigned int total = 0, k;
	unsigned long long i, eio = 0;
	struct timespec t0, t1;
	uint64_t pick;
	double dt;

	for (k = 0; k < NOPS; k++)
		total += ops[k].weight;
	for (k = 0; k < NCTX; k++)
		ctx[k].fd = open("/dev/iommu", O_RDWR);
	for (k = 0; k < NDEV; k++)
		dev[k].fd = open(dev[k].path, O_RDWR);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++) {
		pick = R(total);
		for (k = 0; pick >= ops[k].weight; k++)
			pick -= ops[k].weight;
		cur = &ops[k];
		cur->fn();
		if (count >= 10 && i % (count / 10) == count / 10 - 1)
			tap_diag("%llu calls", i + 1);
	}
	for (k = 0; k < NDEV; k++)
		if (dev[k].fd >= 0)
			close(dev[k].fd);
	for (k = 0; k < NCTX; k++)
		if (ctx[k].fd >= 0)
			close(ctx[k].fd);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	dt = (double)(t1.tv_sec - t0.tv_sec) +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	tap_ok(true, "%llu random calls in %.1fs, all fds closed", count, dt);
	for (k = 0; k < NOPS; k++) {
		tap_diag("  %-18s %6llu calls, %6llu succeeded, %llu -EIO",
			 ops[k].name, ops[k].calls, ops[k].ok, ops[k].eio);
		if (!ops[k].garbage)
			eio += ops[k].eio;
	}
	tap_ok(!eio, "no IOMMUFD call returned -EIO (%llu did)", eio);
	tap_figure("iommufd_fuzz_calls", "%llu", count);
}

/* ------------------------------------------------- fixed sequences */

/* Learns the default window of BDF_A's PE: the IOAS's range once attached */
static void learn_window(void)
{
	struct iofd_sess s;
	struct iofd_dev x;
	long r = iofd_sess_open_dev(&s, &x, BDF_A, true);

	if (!r)
		r = iofd_sess_ranges(&s);
	if (!r) {
		win_start = s.range.start;
		win_len = iofd_range_len(&s);
	}
	iofd_dev_close(&x);
	iofd_sess_close(&s);
	if (!tap_rc(r, 0, "%s: the default window 0x%llx + 0x%llx", BDF_A,
		    (unsigned long long)win_start,
		    (unsigned long long)win_len))
		tap_bail("no window to aim at");
}

/* edu copy between the two 64K pages mapped at iova */
static int dma_pair(struct iofd_dev *x, uint8_t *buf, uint64_t iova)
{
	struct edu e;
	int r = edu_init(&e, &x->d);

	if (r)
		return r;
	return edu_copy_check(&e, buf, iova, buf + SZ_64K, iova + SZ_64K,
			      EDU_DMA_MAX, &S);
}

static long hwpt_data(struct iofd_sess *s, struct iofd_dev *x, uint32_t type,
		      const void *data, uint32_t len)
{
	uint32_t id;

	return iommufd_hwpt_alloc(s->fd, x->dev_id, s->ioas, type, data, len,
				  &id);
}

static void seq_hwpt_refused(struct iofd_sess *s, struct iofd_dev *x)
{
	struct {
		struct iommu_hwpt_spapr_tce w;
		uint64_t tail;
	} d = { { 16, 1, SZ_256M }, 1 };
	uint32_t id;

	tap_rc(iofd_hwpt_spapr(s, x, 13, 0, SZ_256M, &id), -EINVAL,
	       "seq: HWPT_ALLOC page shift 13 (8K not offered) -> EINVAL");
	tap_rc(iofd_hwpt_spapr(s, x, 64, 0, SZ_256M, &id), -EINVAL,
	       "seq: HWPT_ALLOC page shift 64 -> EINVAL");
	tap_rc(iofd_hwpt_spapr(s, x, 16, 2, SZ_256M, &id), -EINVAL,
	       "seq: HWPT_ALLOC 2 levels (1 offered) -> EINVAL");
	tap_rc(iofd_hwpt_spapr(s, x, 16, ~0u, SZ_256M, &id), -EINVAL,
	       "seq: HWPT_ALLOC 2^32-1 levels -> EINVAL");
	tap_rc(iofd_hwpt_spapr(s, x, 16, 1, SZ_256M + SZ_64K, &id), -EINVAL,
	       "seq: HWPT_ALLOC window not a power of two -> EINVAL");
	tap_rc(iofd_hwpt_spapr(s, x, 16, 1, SZ_4K, &id), -EINVAL,
	       "seq: HWPT_ALLOC window smaller than its page -> EINVAL");
	tap_rc(iofd_hwpt_spapr(s, x, 16, 1, 1ull << 50, &id), -EINVAL,
	       "seq: HWPT_ALLOC window of 2^34 TCEs -> EINVAL");
	tap_rc(iofd_hwpt_spapr(s, x, 16, 1, 1ull << 63, &id), -EINVAL,
	       "seq: HWPT_ALLOC window of 2^63 bytes -> EINVAL");
	tap_rc(hwpt_data(s, x, IOMMU_HWPT_DATA_SPAPR_TCE, &d, 8), -EINVAL,
	       "seq: HWPT_ALLOC data_len 8 (short) -> EINVAL");
	tap_rc(hwpt_data(s, x, IOMMU_HWPT_DATA_SPAPR_TCE, &d, sizeof(d)),
	       -EINVAL, "seq: HWPT_ALLOC data_len 24 (longer) -> EINVAL");
	tap_rc(hwpt_data(s, x, IOMMU_HWPT_DATA_SPAPR_TCE, &d, 0), -EINVAL,
	       "seq: HWPT_ALLOC SPAPR_TCE with data_len 0 -> EINVAL");
	tap_rc(hwpt_data(s, x, IOMMU_HWPT_DATA_SPAPR_TCE + 40, &d, 16),
	       -EINVAL, "seq: HWPT_ALLOC of an unknown data type -> EINVAL");
	tap_rc(hwpt_data(s, x, IOMMU_HWPT_DATA_SPAPR_TCE,
			 (void *)(uintptr_t)0xdead0000ull, 16), -EFAULT,
	       "seq: HWPT_ALLOC data at a bad address -> EFAULT");
}

static void seq_ids(struct iofd_sess *s, struct iofd_dev *x)
{
	uint8_t info[64];
	uint32_t len = sizeof(info), type;

	tap_rc(iommufd_hw_info(s->fd, 0xdead, info, &len, &type), -ENOENT,
	       "seq: GET_HW_INFO of dev_id 0xdead -> ENOENT");
	tap_rc(iommufd_hw_info(s->fd, s->ioas, info, &len, &type), -ENOENT,
	       "seq: GET_HW_INFO of an IOAS id -> ENOENT");
	tap_rc(iommufd_hw_info(s->fd, x->dev_id, info, &len, &type), 0,
	       "seq: GET_HW_INFO of the device");
	tap_rc(iommufd_destroy(s->fd, x->dev_id), -EBUSY,
	       "seq: DESTROY of the bound device's id -> EBUSY");
	tap_rc(vfio_cdev_bind(x, s->fd), -EINVAL, "seq: BIND twice -> EINVAL");
}

/*
 * A: bound, not attached. MAP inside the window to be, ATTACH (which
 * fills the new domain), DMA; ATTACH again; UNMAP not mapped; the objects
 * in use; the iommufd closed under the attached, mapped device.
 */
static void seq_map_first(uint8_t *buf)
{
	uint64_t iova = win_start + IOFD_FRESH_AT;
	struct iofd_sess s;
	struct iofd_dev x;
	uint32_t pt;
	long r;

	r = iofd_sess_open_dev(&s, &x, BDF_A, false);
	if (!tap_rc(r, 0, "seq: %s bound, not attached", BDF_A))
		goto out;
	tap_rc(vfio_cdev_detach(&x), 0, "seq: DETACH without ATTACH -> 0");
	seq_ids(&s, &x);
	tap_rc(iommufd_map_fixed(s.fd, s.ioas, buf, 2 * SZ_64K, iova, IOAS_RW),
	       0, "seq: MAP before any ATTACH, inside the window to be");
	r = vfio_cdev_attach(&x, s.ioas);
	if (!tap_rc(r, 0, "seq: then ATTACH to the IOAS: hwpt %u", x.pt_id))
		goto out;
	tap_rc(dma_pair(&x, buf, iova), 0,
	       "seq: the device DMAs through the mapping made before ATTACH");
	pt = x.pt_id;
	tap_rc(vfio_cdev_attach(&x, s.ioas), 0, "seq: ATTACH twice -> 0");
	tap_ok(x.pt_id == pt, "seq: the same hwpt (%u, %u)", pt, x.pt_id);
	tap_rc(iommufd_unmap(s.fd, s.ioas, iova + 8 * SZ_64K, SZ_64K, NULL),
	       -ENOENT, "seq: UNMAP of a range not mapped -> ENOENT");
	tap_rc(iofd_hwpt_spapr(&s, &x, 16, 1, SZ_256M, &pt), -EBUSY,
	       "seq: HWPT_ALLOC while the PE's window slot is taken -> EBUSY");
	seq_hwpt_refused(&s, &x);
	tap_rc(iommufd_destroy(s.fd, s.ioas), -EBUSY,
	       "seq: DESTROY of the attached IOAS -> EBUSY");
	tap_rc(iommufd_destroy(s.fd, x.pt_id), -EBUSY,
	       "seq: DESTROY of the attached hwpt -> EBUSY");
	/* the cdev holds the iommufd: its objects live on */
	iofd_sess_close(&s);
	tap_rc(dma_pair(&x, buf, iova), 0,
	       "seq: iommufd closed while attached and mapped: the device still DMAs");
	iofd_dev_close(&x);
	tap_pins_back(pin0, "seq: then the cdev closed");
out:
	iofd_dev_close(&x);
	iofd_sess_close(&s);
}

/*
 * A and B bound to one iommufd. A MAP outside the window to be makes
 * A's ATTACH fail (-EADDRINUSE), and leaves no window behind: once
 * unmapped, ATTACH works. A HWPT of A's PE: B cannot attach to it, A can,
 * and while A holds it the IOAS gets no other domain for that PE.
 */
static void seq_outside(uint8_t *buf)
{
	uint64_t out = win_start >= 2 * SZ_64K ? SZ_64K : win_start + win_len;
	struct iofd_sess s;
	struct iofd_dev x, y;
	uint32_t hwpt = 0;
	long r;

	iofd_dev_init(&y);
	r = iofd_sess_open_dev(&s, &x, BDF_A, false);
	if (!r)
		r = iofd_dev_setup(&y, s.fd, BDF_B, 0);
	if (!tap_rc(r, 0, "seq: %s and %s bound to one iommufd", BDF_A, BDF_B))
		goto out;
	tap_rc(iommufd_map_fixed(s.fd, s.ioas, buf, SZ_64K, out, IOAS_RW), 0,
	       "seq: MAP at 0x%llx, outside the window to be",
	       (unsigned long long)out);
	tap_rc(vfio_cdev_attach(&x, s.ioas), -EADDRINUSE,
	       "seq: then ATTACH -> EADDRINUSE");
	tap_rc(iommufd_unmap(s.fd, s.ioas, out, SZ_64K, NULL), 0,
	       "seq: UNMAP it");
	tap_rc(vfio_cdev_attach(&x, s.ioas), 0,
	       "seq: ATTACH now works (the failed one left no window)");
	tap_rc(vfio_cdev_detach(&x), 0, "seq: DETACH");
	tap_rc(vfio_cdev_detach(&x), 0, "seq: DETACH twice -> 0");
	r = iofd_hwpt_spapr(&s, &x, 16, 1, SZ_256M, &hwpt);
	if (!tap_rc(r, 0, "seq: HWPT_ALLOC {16, 1, 256M} for %s: hwpt %u",
		    BDF_A, hwpt))
		goto out;
	tap_rc(vfio_cdev_attach(&y, hwpt), -EINVAL,
	       "seq: %s (another PE) ATTACH to that hwpt -> EINVAL", BDF_B);
	tap_rc(vfio_cdev_attach(&x, hwpt), 0, "seq: %s ATTACH to it", BDF_A);
	tap_rc(vfio_cdev_attach(&x, s.ioas), -EBUSY,
	       "seq: %s ATTACH to the IOAS while its hwpt holds the window -> EBUSY",
	       BDF_A);
	tap_ok(x.pt_id == hwpt, "seq: still attached to hwpt %u (%u)", hwpt,
	       x.pt_id);
	tap_rc(iommufd_destroy(s.fd, hwpt), -EBUSY,
	       "seq: DESTROY of the attached hwpt -> EBUSY");
	tap_rc(vfio_cdev_detach(&x), 0, "seq: DETACH");
	tap_rc(iommufd_destroy(s.fd, hwpt), 0, "seq: DESTROY it now");
	tap_rc(iommufd_destroy(s.fd, hwpt), -ENOENT,
	       "seq: DESTROY twice -> ENOENT");
	tap_rc(vfio_cdev_attach(&x, s.ioas), 0,
	       "seq: ATTACH to the IOAS (the window closed with the hwpt)");
out:
	iofd_dev_close(&y);
	iofd_dev_close(&x);
	iofd_sess_close(&s);
	tap_pins_back(pin0, "seq: all closed");
}

/*
 * A HWPT whose PE was released outlives it in the first iommufd, and the
 * PE, bound again in a second one, opens its window in the same slot
 * (the same LIOBN and bus range). The old domain's UNMAP must not clear
 * the new window's TCEs, nor its MAP reach the new owner's device.
 */
static void seq_stale_domain(uint8_t *buf)
{
	uint64_t at = win_start + IOFD_FRESH_AT, later = at + 8 * SZ_64K;
	uint8_t *old = buf + 2 * SZ_64K, *before = buf + 4 * SZ_64K;
	struct iofd_sess s1, s2;
	struct iofd_dev x1, x2;
	uint32_t hwpt = 0;
	struct edu e;
	long r;

	iofd_dev_init(&x2);
	s2.fd = -1;
	r = iofd_sess_open_hwpt(&s1, &x1, BDF_A, &hwpt);
	if (!r)
		r = iommufd_map_fixed(s1.fd, s1.ioas, old, 2 * SZ_64K, at,
				      IOAS_RW);
	if (!tap_rc(r, 0, "seq: iommufd 1: hwpt %u of %s, mapped at 0x%llx",
		    hwpt, BDF_A, (unsigned long long)at))
		goto out;
	iofd_dev_close(&x1);
	r = iofd_sess_open_dev(&s2, &x2, BDF_A, true);
	if (!r)
		r = iommufd_map_fixed(s2.fd, s2.ioas, buf, 2 * SZ_64K, at,
				      IOAS_RW);
	if (!tap_rc(r, 0, "seq: %s closed, bound in iommufd 2, mapped at the same IOVA",
		    BDF_A))
		goto out;
	tap_rc(iommufd_unmap(s1.fd, s1.ioas, at, 2 * SZ_64K, NULL), 0,
	       "seq: iommufd 1 UNMAPs it through the released PE's hwpt");

	tap_rc(dma_pair(&x2, buf, at), 0,
	       "seq: the new owner's mapping still DMAs");
	tap_rc(iommufd_map_fixed(s1.fd, s1.ioas, old, 2 * SZ_64K, later,
				 IOAS_RW), 0,
	       "seq: iommufd 1 MAPs at 0x%llx", (unsigned long long)later);
	fill_random(old, 2 * SZ_64K, &S);
	memcpy(before, old, 2 * SZ_64K);
	r = edu_init(&e, &x2.d);
	if (!r)
		r = edu_dma(&e, later, 0, EDU_DMA_MAX, true);
	tap_ok(!memcmp(old, before, 2 * SZ_64K),
	       "seq: the new owner's device does not reach it (%s)", rc_str(r));
	tap_rc(dma_pair(&x2, buf, at), 0, "seq: and still DMAs through its own");
out:
	iofd_dev_close(&x2);
	iofd_sess_close(&s2);
	iofd_dev_close(&x1);
	iofd_sess_close(&s1);
	tap_pins_back(pin0, "seq: both iommufds closed");
}

static long ioas_copy(int fd, uint32_t dst_ioas, uint64_t dst_iova,
		      uint32_t src_ioas, uint64_t src_iova, uint64_t len)
{
	struct iommu_ioas_copy c = {
		.size = sizeof(c),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOAS_RW,
		.dst_ioas_id = dst_ioas,
		.src_ioas_id = src_ioas,
		.length = len,
		.dst_iova = dst_iova,
		.src_iova = src_iova,
	};

	return vfio_ioctl(fd, IOMMU_IOAS_COPY, &c);
}

/*
 * A domain must answer iommu_iova_to_phys() for what it mapped until it
 * is unmapped: IOMMUFD keeps no other copy of the PFNs of an area whose
 * only domain it is, and reads them back from it to fill another domain
 * (IOAS_COPY, a new attach) and to unpin at UNMAP. Here the domain is a
 * HWPT of A whose PE was released (A's cdev closed); IOAS_COPY of its
 * mapping into an IOAS where B is attached, and B reads it.
 *
 * The release clears the window's entries under the domain
 * (close_window()). Before the domain kept its own record of the frames
 * it mapped, it then answered 0: B got physical page 0, and the UNMAPs
 * unpinned PFN 0 instead of the pages pinned (with a user address not 64K
 * aligned, as a 4K-page HWPT allows, PFN 0 minus the offset: an oops in
 * unpin_user_page_range_dirty_lock()).
 */
static void seq_released_copy(uint8_t *buf)
{
	uint64_t at = win_start + IOFD_FRESH_AT, to = at + 16 * SZ_64K;
	uint8_t *src = buf, *dst = buf + 2 * SZ_64K;
	uint32_t hwpt = 0, ioas2 = 0;
	struct iofd_sess s;
	struct iofd_dev x, y;
	struct edu e;
	long r;

	iofd_dev_init(&y);
	fill_random(src, SZ_64K, &S);
	memset(dst, 0, SZ_64K);
	r = iofd_sess_open_hwpt(&s, &x, BDF_A, &hwpt);
	if (!r)
		r = iommufd_map_fixed(s.fd, s.ioas, src, SZ_64K, at, IOAS_RW);
	if (!tap_rc(r, 0, "seq: hwpt %u of %s, 64K mapped at 0x%llx", hwpt,
		    BDF_A, (unsigned long long)at))
		goto out;
	iofd_dev_close(&x);
	r = iommufd_ioas_alloc(s.fd, &ioas2);
	if (!r)
		r = iofd_dev_setup(&y, s.fd, BDF_B, ioas2);
	if (!r)
		r = ioas_copy(s.fd, ioas2, to, s.ioas, at, SZ_64K);
	if (!r)
		r = iommufd_map_fixed(s.fd, ioas2, dst, SZ_64K, to + SZ_64K,
				      IOAS_RW);
	if (!tap_rc(r, 0, "seq: %s closed; IOAS_COPY of that mapping to an IOAS with %s",
		    BDF_A, BDF_B))
		goto out;
	r = edu_init(&e, &y.d);
	if (!r)
		r = edu_dma(&e, to, 0, EDU_DMA_MAX, false);
	if (!r)
		r = edu_dma(&e, to + SZ_64K, 0, EDU_DMA_MAX, true);
	tap_ok(!r && !memcmp(dst, src, EDU_DMA_MAX),
	       "seq: %s reads the copy: the page mapped, not another (%s, first difference at %ld)",
	       BDF_B, rc_str(r), buf_first_diff(dst, src, EDU_DMA_MAX));
out:
	iofd_dev_close(&y);
	iofd_dev_close(&x);
	iofd_sess_close(&s);
	tap_pins_back(pin0, "seq: all closed");
}

/* ------------------------------------------------------------- main */

static long long pe_sum(const char *file, const char *key)
{
	long long sum = 0, v;
	int i;

	for (i = 0; i < NDEV; i++) {
		v = ddw_debugfs_key(dev[i].bdf, file, key);
		if (v < 0)
			return v;
		sum += v;
	}
	return sum;
}

static long long pe_mapped(void)
{
	long long sum = 0, v;
	int i;

	for (i = 0; i < NDEV; i++) {
		v = ddw_debugfs_mapped(dev[i].bdf);
		if (v < 0)
			return v;
		sum += v;
	}
	return sum;
}

static void check_platform(long long windows0)
{
	long long owners = pe_sum("windows", "owners");
	long long windows = pe_sum("usage", "windows");
	long long mapped = pe_mapped();

	if (owners == -ENOENT || windows0 < 0) {
		tap_skip("no pseries_tce_ddw debugfs",
			 "no owner, TCE or window left");
		return;
	}
	tap_ok(!owners && !mapped && windows == windows0,
	       "the PEs: %lld owners, %lld TCEs mapped, %lld windows (%lld at the start)",
	       owners, mapped, windows, windows0);
}

int main(int argc, char **argv)
{
	unsigned long long count = 2000, seed;
	long long windows0;
	long lck0, lck1, vpin0, vpin1;
	int old = 0, k, r;

	tap_init("test_iommufd_fuzz");
	seed = fuzz_args(argc, argv, &count);
	S = seed;
	if (access("/dev/iommu", F_OK))
		tap_skip_all("/dev/iommu missing: a kernel without IOMMUFD");
	for (k = 0; k < NDEV; k++) {
		dev[k].fd = -1;
		dev[k].ctx = -1;
		if (pci_bind_vfio(dev[k].bdf) ||
		    vfio_cdev_path(dev[k].bdf, dev[k].path, sizeof(dev[k].path)))
			tap_skip_all("%s: no VFIO cdev (scripts/guest.sh's edu)",
				     dev[k].bdf);
	}
	for (k = 0; k < NBUF; k++) {
		bufs[k] = buf_alloc(BUF_LEN);
		if (!bufs[k])
			tap_bail("alloc");
	}
	big = buf_alloc(BIG_LEN);
	if (!big)
		tap_bail("alloc");
	fuzz_bad_pages(SZ_64K, &ro_pg, &hole);
	r = iommufd_unsafe_interrupts(1, &old);
	tap_diag("iommufd allow_unsafe_interrupts=1 for this run (was %d): %s",
		 old, rc_str(r));
	r = kmemleak_clear();
	tap_diag("kmemleak %s", r == -ENOENT ? "absent" :
		 r ? rc_str(r) : "cleared");
	lck0 = vmlck_kb();
	vpin0 = vmpin_kb();
	pin0 = pinned_pages();
	windows0 = pe_sum("usage", "windows");

	learn_window();
	seq_map_first(bufs[0]);
	seq_outside(bufs[0]);
	seq_stale_domain(bufs[1]);
	seq_released_copy(bufs[2]);
	run_random(count);

	lck1 = vmlck_kb();
	vpin1 = vmpin_kb();
	tap_ok(lck1 == lck0 && vpin1 == vpin0,
	       "VmLck back to %ld kB (%ld), VmPin to %ld kB (%ld)", lck0, lck1,
	       vpin0, vpin1);
	tap_pins_back(pin0, "after the random calls");
	check_platform(windows0);
	for (k = 0; k < NDEV; k++)
		tap_rc(iofd_fresh_dma(dev[k].bdf, &S), 0,
		       "%s: a fresh IOAS, MAP, DMA equal", dev[k].bdf);
	tap_pins_back(pin0, "after the DMA checks");
	r = kmemleak_scan(60);
	if (r == -ENOENT)
		tap_skip("no kmemleak in this kernel", "kmemleak: no leaks");
	else
		tap_rc(r, 0, "kmemleak: no unreferenced objects");
	iommufd_unsafe_interrupts(old, NULL);
	return tap_done();
}
