// SPDX-License-Identifier: GPL-2.0-only
/*
 * A realistic device through the sPAPR TCE VFIO backend: the QEMU NVMe
 * controller (-device nvme,serial=bench0, 64 MiB raw disk) driven from user
 * space through a v2 container and a 64-bit DDW with 64K IOMMU pages.
 *
 *  1. v2 container: REGISTER_MEMORY one arena, TCE_CREATE a 64K-page DDW,
 *     MAP_DMA each queue and buffer (with its DMA direction) at its own
 *     IOVA, unmapped gaps in between;
 *  2. controller disable/enable (CC, CSTS, AQA/ASQ/ACQ), admin queue,
 *     Identify Controller (serial "bench0"), Identify Namespace (the size of
 *     the disk), one I/O completion + submission queue pair;
 *  3. WRITE 256 KiB of random data at an LBA with a PRP list, FLUSH, READ
 *     it back into another buffer (PRP list), and once more into a buffer
 *     not page aligned (65 PRP entries): byte for byte equal;
 *  4. delete the queues, shut the controller down, UNMAP, REMOVE the
 *     window, close: VmLck back;
 *  5. give the controller to the kernel nvme driver, read the same blocks
 *     from /dev/nvme0n1 with O_DIRECT: same bytes; unbind it again and
 *     unload nvme (the device is left with no driver).
 * Completions are polled; no interrupts.
 *
 * With "iommufd" the same driver runs through the VFIO device cdev bound
 * to /dev/iommu (the series kernel, issue 17): BIND, ATTACH to an IOAS
 * whose domain is the PE's 64-bit DDW (64K pages), IOMMU_IOAS_MAP of each
 * region at the same offsets from the start of its allowed range, UNMAP,
 * close; then the kernel nvme driver reads the blocks as above.
 *
 * Usage: test_nvme [BDF | iommufd]
 *        (default: the first NVMe controller, 0002:00:00.0)
 */
#define _GNU_SOURCE
#include "iommufd_helpers.h"
#include "nvme_helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SZ_4K		0x1000ull
#define SZ_64K		0x10000ull
#define SZ_1M		0x100000ull
#define SZ_1G		0x40000000ull
#define DISK_BYTES	(64 * SZ_1M)
#define XFER_BYTES	(256 * 1024ull)
#define SERIAL		"bench0"

/* ------------------------------------------------------------- the test */

/* Arena slots of 64K, each mapped at its own IOVA with a gap after it */
enum slot {
	S_ASQ, S_ACQ, S_IOSQ, S_IOCQ, S_IDENT, S_PRP,
	S_WBUF, S_RBUF = S_WBUF + 4, S_UBUF = S_RBUF + 4,
	S_COUNT = S_UBUF + 5,
};

struct region {
	const char *name;
	enum slot slot;
	unsigned int nslots;
	uint32_t flags;		/* device access */
};

static const struct region regions[] = {
	{ "admin SQ", S_ASQ, 1, DMA_RW },
	{ "admin CQ", S_ACQ, 1, DMA_RW },
	{ "I/O SQ", S_IOSQ, 1, DMA_RW },
	{ "I/O CQ", S_IOCQ, 1, DMA_RW },
	{ "identify buffer", S_IDENT, 1, VFIO_DMA_MAP_FLAG_WRITE },
	{ "PRP lists", S_PRP, 1, VFIO_DMA_MAP_FLAG_READ },
	{ "write buffer", S_WBUF, 4, VFIO_DMA_MAP_FLAG_READ },
	{ "read buffer", S_RBUF, 4, VFIO_DMA_MAP_FLAG_WRITE },
	{ "unaligned read buffer", S_UBUF, 5, VFIO_DMA_MAP_FLAG_WRITE },
};

#define NREGIONS (sizeof(regions) / sizeof(regions[0]))
#define UBUF_OFF 0x1200		/* in-page offset 0x200 */

struct ctx;

/*
 * How the device is opened and its regions mapped: through a sPAPR v2
 * container or through iommufd. Each returns false (or -errno) on failure
 * after printing why.
 */
struct dma_ops {
	const char *name;
	const char *map_name, *unmap_name;
	/* the device fd (c->x.d.device) and what it needs */
	bool (*open)(struct ctx *c);
	/* where the regions go: c->win (after arena_alloc) */
	bool (*window)(struct ctx *c);
	long (*map)(struct ctx *c, const struct region *g);
	long (*unmap)(struct ctx *c, const struct region *g);
	/* undoes window() (optional) */
	void (*release)(struct ctx *c);
	void (*close)(struct ctx *c);
};

struct ctx {
	char bdf[32];
	const struct dma_ops *ops;
	struct iofd_dev x;	/* x.d: the device, container and group */
	int iommufd;		/* iommufd back-end: /dev/iommu, the IOAS */
	uint32_t ioas;
	struct nvme_ctrl n;
	struct nvme_queue admin, io;
	uint8_t *arena;
	size_t arena_len;
	uint64_t win;
	bool window, registered, mapped[NREGIONS];
	uint32_t lba_shift;
	uint64_t nsze, slba;
	uint8_t *pattern;	/* what was written */
	uint64_t seed;
};

static void *slot_ptr(struct ctx *c, enum slot s)
{
	return c->arena + (size_t)s * SZ_64K;
}

/* slot s lives at win + (2s + 1) * 64K: nothing mapped around it */
static uint64_t slot_iova(struct ctx *c, enum slot s)
{
	return c->win + (2ull * s + 1) * SZ_64K;
}

/* The arena of every slot, 64K aligned */
static void arena_alloc(struct ctx *c)
{
	c->arena_len = S_COUNT * SZ_64K;
	c->arena = buf_alloc(c->arena_len);
	if (!c->arena)
		tap_bail("cannot allocate %zu bytes", c->arena_len);
}

/* ------------------------------------- the sPAPR v2 container back-end */

static bool spapr_open(struct ctx *c)
{
	int r = vfio_open(&c->x.d, c->bdf, VFIO_SPAPR_TCE_v2_IOMMU, true);

	return tap_rc(r, 0, "v2 container, group %d, device fd",
		      c->x.d.group_id);
}

static bool spapr_window(struct ctx *c)
{
	int fd = c->x.d.container;
	struct vfio_iommu_spapr_tce_info info;
	long r;

	if (!tap_rc(spapr_get_info(fd, &info, sizeof(info)), 0, "GET_INFO"))
		return false;
	if (!(info.ddw.pgsizes & SZ_64K)) {
		tap_skip("64K IOMMU pages not offered", "64K DDW");
		return false;
	}
	arena_alloc(c);
	r = spapr_register(fd, c->arena, c->arena_len);
	c->registered = !r;
	if (!tap_rc(r, 0, "REGISTER_MEMORY %zu KiB", c->arena_len >> 10))
		return false;
	r = spapr_create(fd, 16, SZ_1G, 1, &c->win);
	c->window = !r;
	if (!tap_rc(r, 0, "TCE_CREATE 64K pages x 1 GiB"))
		return false;
	tap_diag("DDW at 0x%llx", (unsigned long long)c->win);
	return tap_ok(c->win >= (1ull << 32), "the DDW is above 4 GiB (0x%llx)",
		      (unsigned long long)c->win);
}

static long spapr_map(struct ctx *c, const struct region *g)
{
	return dma_map(c->x.d.container, slot_ptr(c, g->slot),
		       slot_iova(c, g->slot), g->nslots * SZ_64K, g->flags);
}

static long spapr_unmap(struct ctx *c, const struct region *g)
{
	return dma_unmap(c->x.d.container, slot_iova(c, g->slot),
			 g->nslots * SZ_64K);
}

static void spapr_release(struct ctx *c)
{
	int fd = c->x.d.container;

	if (c->window)
		tap_rc(spapr_remove(fd, c->win), 0, "TCE_REMOVE the DDW");
	if (c->registered)
		tap_rc(spapr_unregister(fd, c->arena, c->arena_len), 0,
		       "UNREGISTER_MEMORY");
}

static void spapr_close(struct ctx *c)
{
	vfio_close(&c->x.d);
}

static const struct dma_ops spapr_ops = {
	.name = "sPAPR v2 container",
	.map_name = "MAP_DMA",
	.unmap_name = "UNMAP_DMA",
	.open = spapr_open,
	.window = spapr_window,
	.map = spapr_map,
	.unmap = spapr_unmap,
	.release = spapr_release,
	.close = spapr_close,
};

/* ------------------------------------------------ the iommufd back-end */

static bool iofd_open(struct ctx *c)
{
	int r;

	c->iommufd = iommufd_open();
	r = c->iommufd < 0 ? c->iommufd :
	    (int)iommufd_ioas_alloc(c->iommufd, &c->ioas);
	if (!tap_rc(r, 0, "/dev/iommu, IOAS_ALLOC"))
		return false;
	r = iofd_dev_setup(&c->x, c->iommufd, c->bdf, c->ioas);
	return tap_rc(r, 0, "device cdev: BIND (dev_id %u), ATTACH to IOAS %u (hwpt %u)",
		      c->x.dev_id, c->ioas, c->x.pt_id);
}

/* The IOAS's allowed range: the PE's DDW */
static bool iofd_window(struct ctx *c)
{
	struct iommu_iova_range range;
	uint64_t align = 0;
	uint32_t n = 1;
	long r;

	r = iommufd_iova_ranges(c->iommufd, c->ioas, &range, &n, &align);
	if (!tap_rc(r, 0, "IOAS_IOVA_RANGES: %u range(s), alignment 0x%llx",
		    n, (unsigned long long)align))
		return false;
	arena_alloc(c);
	c->win = range.start;
	tap_diag("allowed range 0x%llx..0x%llx",
		 (unsigned long long)range.start,
		 (unsigned long long)range.last);
	return tap_ok(slot_iova(c, S_COUNT) <= range.last,
		      "the range (the PE's DDW) holds every region");
}

/* VFIO_DMA_MAP_FLAG_* of the region table as IOMMU_IOAS_MAP_* */
static uint32_t iofd_prot(uint32_t vfio_flags)
{
	return (vfio_flags & VFIO_DMA_MAP_FLAG_READ ?
		IOMMU_IOAS_MAP_READABLE : 0) |
	       (vfio_flags & VFIO_DMA_MAP_FLAG_WRITE ?
		IOMMU_IOAS_MAP_WRITEABLE : 0);
}

static long iofd_map(struct ctx *c, const struct region *g)
{
	return iommufd_map_fixed(c->iommufd, c->ioas, slot_ptr(c, g->slot),
				 g->nslots * SZ_64K, slot_iova(c, g->slot),
				 iofd_prot(g->flags));
}

static long iofd_unmap(struct ctx *c, const struct region *g)
{
	return iommufd_unmap(c->iommufd, c->ioas, slot_iova(c, g->slot),
			     g->nslots * SZ_64K, NULL);
}

static void iofd_close(struct ctx *c)
{
	iofd_dev_close(&c->x);
	if (c->iommufd >= 0)
		close(c->iommufd);
	c->iommufd = -1;
}

static const struct dma_ops iofd_ops = {
	.name = "iommufd",
	.map_name = "IOAS_MAP",
	.unmap_name = "IOAS_UNMAP",
	.open = iofd_open,
	.window = iofd_window,
	.map = iofd_map,
	.unmap = iofd_unmap,
	.close = iofd_close,
};

/* ------------------------------------------------ either back-end */

static bool dma_setup(struct ctx *c)
{
	size_t i;
	long r;

	if (!c->ops->window(c))
		return false;
	for (i = 0; i < NREGIONS; i++) {
		r = c->ops->map(c, &regions[i]);
		c->mapped[i] = !r;
		if (r) {
			tap_rc(r, 0, "%s %s", c->ops->map_name,
			       regions[i].name);
			return false;
		}
	}
	tap_ok(true, "%s of %zu regions (queues, buffers, PRP lists)",
	       c->ops->map_name, NREGIONS);
	return true;
}

static void dma_teardown(struct ctx *c)
{
	long r = 0, r1;
	size_t i;

	for (i = 0; i < NREGIONS; i++) {
		if (!c->mapped[i])
			continue;
		r1 = c->ops->unmap(c, &regions[i]);
		if (r1 < 0 && !r)
			r = r1;
	}
	tap_ok(r >= 0, "%s every region (%s)", c->ops->unmap_name,
	       rc_str(r));
	if (c->ops->release)
		c->ops->release(c);
}

/* ------------------------------------------------- the user space driver */

static bool ctrl_bringup(struct ctx *c)
{
	struct nvme_ctrl *n = &c->n;
	int r;

	r = nvme_probe(n, &c->x.d);
	if (!tap_rc(r, 0, "BAR0 mapped, bus master on, CAP readable"))
		return false;
	tap_diag("CAP 0x%016llx VS 0x%08x (MQES %u, DSTRD %u, TO %u, MPSMIN %u)",
		 (unsigned long long)n->cap, nvme_rd32(n, NVME_REG_VS),
		 NVME_CAP_MQES(n->cap), NVME_CAP_DSTRD(n->cap),
		 NVME_CAP_TO(n->cap), NVME_CAP_MPSMIN(n->cap));
	if (!tap_ok(NVME_CAP_CSS_NVM(n->cap) && NVME_CAP_MPSMIN(n->cap) == 0 &&
		    NVME_CAP_MQES(n->cap) + 1 >= QDEPTH,
		    "CAP: NVM command set, 4K pages, queues of %u entries",
		    QDEPTH))
		return false;
	if (!tap_rc(nvme_disable(n), 0, "CC.EN=0: CSTS.RDY clears"))
		return false;
	nvme_queue_init(&c->admin, 0, slot_ptr(c, S_ASQ),
			slot_iova(c, S_ASQ), slot_ptr(c, S_ACQ),
			slot_iova(c, S_ACQ));
	return tap_rc(nvme_enable(n, &c->admin), 0,
		      "AQA/ASQ/ACQ in the DDW, CC.EN=1: CSTS.RDY sets");
}

/* "bench0" followed by space padding up to 20 bytes */
static bool serial_is(const uint8_t *sn, const char *want)
{
	size_t len = strlen(want), i;

	if (memcmp(sn, want, len))
		return false;
	for (i = len; i < 20; i++)
		if (sn[i] != ' ' && sn[i] != 0)
			return false;
	return true;
}

static bool identify(struct ctx *c)
{
	uint8_t *id = slot_ptr(c, S_IDENT);
	int r;

	memset(id, 0xa5, SZ_4K);
	r = nvme_identify(&c->n, &c->admin, 1, 0, slot_iova(c, S_IDENT));
	if (!tap_rc(r, 0, "Identify Controller completes"))
		return false;
	tap_diag("SN '%.20s' MN '%.40s' FR '%.8s' MDTS %u NN %u", id + 4,
		 id + 24, id + 64, id[77], *(uint32_t *)(id + 516));
	tap_ok(serial_is(id + 4, SERIAL),
	       "Identify Controller: serial \"" SERIAL "\" (DMA'd through the DDW)");
	/* MDTS (in 4K units, power of 2; 0 = no limit) allows the transfer */
	tap_ok(!id[77] || (SZ_4K << id[77]) >= XFER_BYTES,
	       "MDTS %u allows %llu KiB transfers", id[77], XFER_BYTES >> 10);

	memset(id, 0xa5, SZ_4K);
	r = nvme_identify(&c->n, &c->admin, 0, 1, slot_iova(c, S_IDENT));
	if (!tap_rc(r, 0, "Identify Namespace 1 completes"))
		return false;
	nvme_id_ns_format(id, &c->nsze, &c->lba_shift);
	tap_diag("NSZE %llu, LBA format %u: %u-byte blocks",
		 (unsigned long long)c->nsze, id[26] & 0xf, 1u << c->lba_shift);
	return tap_ok(c->lba_shift >= 9 && c->lba_shift <= 12 &&
		      (c->nsze << c->lba_shift) == DISK_BYTES,
		      "Identify Namespace: %llu blocks of %u bytes = 64 MiB",
		      (unsigned long long)c->nsze, 1u << c->lba_shift);
}

static bool io_queues(struct ctx *c)
{
	nvme_queue_init(&c->io, 1, slot_ptr(c, S_IOSQ), slot_iova(c, S_IOSQ),
			slot_ptr(c, S_IOCQ), slot_iova(c, S_IOCQ));
	return tap_rc(nvme_create_io_queues(&c->n, &c->admin, &c->io, -1), 0,
		      "Create I/O CQ 1 and SQ 1 (%u entries)", QDEPTH);
}

static int do_rw(struct ctx *c, uint8_t opc, enum slot s, uint64_t off,
		 uint64_t *list)
{
	uint64_t list_iova = slot_iova(c, S_PRP) +
			     (uint64_t)((uint8_t *)list - (uint8_t *)slot_ptr(c, S_PRP));

	return nvme_rw(&c->n, &c->io, opc, c->lba_shift, c->slba,
		       slot_iova(c, s) + off, XFER_BYTES, list, list_iova);
}

static void check_same(struct ctx *c, const uint8_t *got, const char *what)
{
	long diff = buf_first_diff(got, c->pattern, XFER_BYTES);

	tap_ok(diff < 0, "%s: %llu KiB equal to what was written", what,
	       XFER_BYTES >> 10);
	if (diff >= 0)
		tap_diag("  first difference at 0x%lx: 0x%02x, want 0x%02x",
			 diff, got[diff], c->pattern[diff]);
}

static void data_io(struct ctx *c)
{
	uint64_t *lists = slot_ptr(c, S_PRP);
	uint8_t *wbuf = slot_ptr(c, S_WBUF), *rbuf = slot_ptr(c, S_RBUF);
	uint8_t *ubuf = (uint8_t *)slot_ptr(c, S_UBUF) + UBUF_OFF;
	struct nvme_sqe flush = { .cdw0 = NVME_CMD_FLUSH, .nsid = 1 };
	uint64_t blocks = XFER_BYTES >> c->lba_shift;

	/* somewhere in the disk, away from block 0 */
	c->slba = (1 + c->seed % (c->nsze / blocks - 2)) * blocks;
	fill_random(wbuf, XFER_BYTES, &c->seed);
	memcpy(c->pattern, wbuf, XFER_BYTES);
	memset(rbuf, 0x5a, XFER_BYTES);
	memset(slot_ptr(c, S_UBUF), 0x5a, 5 * SZ_64K);
	tap_diag("LBA %llu, %llu blocks", (unsigned long long)c->slba,
		 (unsigned long long)blocks);

	tap_rc(do_rw(c, NVME_CMD_WRITE, S_WBUF, 0, lists), 0,
	       "WRITE %llu KiB, PRP list of %llu entries",
	       XFER_BYTES >> 10, XFER_BYTES / NVME_PAGE - 1);
	tap_rc(nvme_exec(&c->n, &c->io, &flush, NULL), 0, "FLUSH");
	tap_rc(do_rw(c, NVME_CMD_READ, S_RBUF, 0, lists + 512), 0,
	       "READ it back into another buffer");
	check_same(c, rbuf, "READ");
	tap_rc(do_rw(c, NVME_CMD_READ, S_UBUF, UBUF_OFF, lists + 1024), 0,
	       "READ into a buffer at page offset 0x%x (%llu PRP entries)",
	       UBUF_OFF & 0xfff, XFER_BYTES / NVME_PAGE + 1);
	check_same(c, ubuf, "unaligned READ");
	tap_ok(((uint8_t *)slot_ptr(c, S_UBUF))[UBUF_OFF - 1] == 0x5a &&
	       ubuf[XFER_BYTES] == 0x5a,
	       "unaligned READ: no byte written outside the buffer");
}

/* Part 1: the controller from user space; false if nothing was written */
static bool user_space_driver(struct ctx *c)
{
	long lck0 = vmlck_kb();
	bool wrote = false;

	if (!c->ops->open(c))
		goto out;
	if (!dma_setup(c) || !ctrl_bringup(c))
		goto teardown;
	if (identify(c) && io_queues(c)) {
		data_io(c);
		wrote = true;
		tap_rc(nvme_delete_io_queues(&c->n, &c->admin, &c->io), 0,
		       "Delete I/O SQ 1 and CQ 1");
	}
	tap_rc(nvme_shutdown(&c->n), 0,
	       "shutdown (CC.SHN, CSTS.SHST complete), then CC.EN=0");
teardown:
	dma_teardown(c);
out:
	c->ops->close(c);
	if (c->arena)
		buf_free(c->arena, c->arena_len);
	c->arena = NULL;
	tap_ok(vmlck_kb() == lck0, "VmLck back to %ld kB after close", lck0);
	return wrote && !tap_failed();
}

/* Part 2: the kernel nvme driver reads what we wrote */
static void kernel_driver(struct ctx *c)
{
	char dev[64] = "/dev/nvme0n1";
	uint8_t *buf = buf_alloc(XFER_BYTES);
	int r;

	if (!buf)
		tap_bail("malloc");
	r = nvme_kernel_bind(c->bdf, dev, sizeof(dev));
	if (tap_rc(r, 0, "modprobe nvme, %s back to the nvme driver (override cleared), %s appears",
		   c->bdf, dev)) {
		r = blockdev_read(dev, (off_t)(c->slba << c->lba_shift), buf,
				  XFER_BYTES);
		if (tap_rc(r, 0, "O_DIRECT read of %llu KiB at LBA %llu from %s",
			   XFER_BYTES >> 10, (unsigned long long)c->slba, dev))
			check_same(c, buf, "kernel nvme driver");
	}
	nvme_kernel_unbind(c->bdf);
	buf_free(buf, XFER_BYTES);
}

int main(int argc, char **argv)
{
	static struct ctx c;
	bool iofd = argc > 1 && !strcmp(argv[1], "iommufd");
	int old = 0, r;

	tap_init("test_nvme");
	c.ops = iofd ? &iofd_ops : &spapr_ops;
	c.iommufd = -1;
	iofd_dev_init(&c.x);
	if (argc > 1 && !iofd)
		r = pci_pick_device(argc, argv, c.bdf, sizeof(c.bdf));
	else
		r = pci_find_device(0x1b36, 0x0010, c.bdf, sizeof(c.bdf));
	if (r)
		tap_skip_all("no NVMe controller (1b36:0010) found");
	if (!iofd && access("/dev/vfio/vfio", F_OK))
		tap_skip_all("/dev/vfio/vfio missing (vfio not loaded)");
	if (iofd && access("/dev/iommu", F_OK))
		tap_bail("/dev/iommu missing: a kernel without IOMMUFD");
	c.seed = test_seed();
	c.pattern = malloc(XFER_BYTES);
	if (!c.pattern)
		tap_bail("malloc");
	tap_diag("device %s group %d pairing %s through %s seed 0x%llx (VFIO_TEST_SEED)",
		 c.bdf, pci_iommu_group(c.bdf), pairing_name(), c.ops->name,
		 (unsigned long long)c.seed);
	if (iofd) {
		r = iommufd_unsafe_interrupts(1, &old);
		tap_diag("pSeries does not claim isolated MSI: iommufd allow_unsafe_interrupts=1 for this run (was %d): %s",
			 old, rc_str(r));
	}
	if (user_space_driver(&c))
		kernel_driver(&c);
	else
		pci_release_driver(c.bdf);
	if (iofd)
		iommufd_unsafe_interrupts(old, NULL);
	free(c.pattern);
	return tap_done();
}
