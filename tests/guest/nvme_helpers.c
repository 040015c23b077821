// SPDX-License-Identifier: GPL-2.0-only
/*
 * A minimal NVMe driver for the guest test programs: see nvme_helpers.h.
 */
#define _GNU_SOURCE
#include "nvme_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void barrier_sync(void)
{
	__asm__ __volatile__("sync" ::: "memory");
}

/* The registers are little endian, and so is this guest. */
uint32_t nvme_rd32(struct nvme_ctrl *n, unsigned int off)
{
	uint32_t v = ~0u;

	if (n->d->bar0) {
		barrier_sync();
		v = *(volatile uint32_t *)(n->d->bar0 + off);
		barrier_sync();
	} else if (pread(n->d->device, &v, 4,
			 (off_t)(n->d->bar0_offset + off)) != 4) {
		v = ~0u;
	}
	return v;
}

void nvme_wr32(struct nvme_ctrl *n, unsigned int off, uint32_t v)
{
	barrier_sync();
	if (n->d->bar0)
		*(volatile uint32_t *)(n->d->bar0 + off) = v;
	else if (pwrite(n->d->device, &v, 4,
			(off_t)(n->d->bar0_offset + off)) != 4)
		tap_diag("nvme: pwrite at 0x%x failed", off);
	barrier_sync();
}

/* 64-bit registers as two 32-bit accesses, low half first */
uint64_t nvme_rd64(struct nvme_ctrl *n, unsigned int off)
{
	uint64_t lo = nvme_rd32(n, off);

	return lo | (uint64_t)nvme_rd32(n, off + 4) << 32;
}

void nvme_wr64(struct nvme_ctrl *n, unsigned int off, uint64_t v)
{
	nvme_wr32(n, off, (uint32_t)v);
	nvme_wr32(n, off + 4, (uint32_t)(v >> 32));
}

long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Polls CSTS until (CSTS & mask) == want; 0, -EIO (CFS/all ones) or -ETIMEDOUT */
static int nvme_wait_csts(struct nvme_ctrl *n, uint32_t mask, uint32_t want)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		uint32_t csts = nvme_rd32(n, NVME_REG_CSTS);

		if (csts == ~0u)
			return -EIO;
		if ((csts & mask) == want)
			return 0;
		if ((csts & NVME_CSTS_CFS) && want)
			return -EIO;
		if (elapsed_ms(&t0) > n->timeout_ms)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

int nvme_probe(struct nvme_ctrl *n, struct vfio_dev *d)
{
	int r;

	n->d = d;
	r = vfio_map_bar0(d);
	if (r)
		return r;
	if (d->bar0_size < NVME_REG_DBS + 4 * 8)
		return -ENODEV;
	r = vfio_enable_bus_master(d);
	if (r)
		return r;
	n->cap = nvme_rd64(n, NVME_REG_CAP);
	if (n->cap == ~0ull)
		return -EIO;
	n->dbstride = 4u << NVME_CAP_DSTRD(n->cap);
	/* CAP.TO is in 500ms units; TCG is slow, allow some more */
	n->timeout_ms = 500 * (NVME_CAP_TO(n->cap) ? NVME_CAP_TO(n->cap) : 1) +
			10000;
	return 0;
}

int nvme_disable(struct nvme_ctrl *n)
{
	uint32_t cc = nvme_rd32(n, NVME_REG_CC);

	if (cc & NVME_CC_EN)
		nvme_wr32(n, NVME_REG_CC, cc & ~NVME_CC_EN);
	return nvme_wait_csts(n, NVME_CSTS_RDY, 0);
}

int nvme_enable(struct nvme_ctrl *n, const struct nvme_queue *admin)
{
	uint32_t aqa = (uint32_t)(admin->depth - 1) << 16 |
		       (uint32_t)(admin->depth - 1);

	if (!n->irqs)
		nvme_wr32(n, NVME_REG_INTMS, ~0u);	/* polled */
	else if (!n->msix)
		nvme_wr32(n, NVME_REG_INTMC, ~0u);	/* INTx, MSI */
	nvme_wr32(n, NVME_REG_AQA, aqa);
	nvme_wr64(n, NVME_REG_ASQ, admin->sq_iova);
	nvme_wr64(n, NVME_REG_ACQ, admin->cq_iova);
	/* CSS = NVM, MPS = 4K, round robin */
	nvme_wr32(n, NVME_REG_CC, NVME_CC_IOSQES | NVME_CC_IOCQES | NVME_CC_EN);
	return nvme_wait_csts(n, NVME_CSTS_RDY, NVME_CSTS_RDY);
}

int nvme_shutdown(struct nvme_ctrl *n)
{
	uint32_t cc = nvme_rd32(n, NVME_REG_CC);
	int r;

	nvme_wr32(n, NVME_REG_CC, cc | NVME_CC_SHN_NORMAL);
	r = nvme_wait_csts(n, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_DONE);
	if (r)
		return r;
	return nvme_disable(n);
}

void nvme_queue_init(struct nvme_queue *q, uint16_t qid, void *sq,
		     uint64_t sq_iova, void *cq, uint64_t cq_iova)
{
	memset(q, 0, sizeof(*q));
	q->qid = qid;
	q->depth = QDEPTH;
	q->sq = sq;
	q->cq = cq;
	q->sq_iova = sq_iova;
	q->cq_iova = cq_iova;
	q->phase = 1;
	memset(sq, 0, QDEPTH * sizeof(struct nvme_sqe));
	memset(cq, 0, QDEPTH * sizeof(struct nvme_cqe));
}

static unsigned int sq_doorbell(struct nvme_ctrl *n, uint16_t qid)
{
	return NVME_REG_DBS + 2u * qid * n->dbstride;
}

static unsigned int cq_doorbell(struct nvme_ctrl *n, uint16_t qid)
{
	return NVME_REG_DBS + (2u * qid + 1) * n->dbstride;
}

uint16_t nvme_submit(struct nvme_ctrl *n, struct nvme_queue *q,
		     struct nvme_sqe *cmd)
{
	uint16_t cid = q->cid++;

	cmd->cdw0 = (cmd->cdw0 & 0xffff) | (uint32_t)cid << 16;
	q->sq[q->sq_tail] = *cmd;
	q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->depth);
	nvme_wr32(n, sq_doorbell(n, q->qid), q->sq_tail);	/* syncs first */
	return cid;
}

int nvme_complete(struct nvme_ctrl *n, struct nvme_queue *q, uint16_t cid,
		  uint32_t *dw0)
{
	volatile struct nvme_cqe *cqe;
	struct timespec t0;
	uint16_t status;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cqe = &q->cq[q->cq_head];
	while (((status = cqe->status) & 1) != q->phase) {
		if (elapsed_ms(&t0) > n->timeout_ms)
			return -ETIMEDOUT;
		if (nvme_rd32(n, NVME_REG_CSTS) == ~0u)
			return -EIO;
		usleep(200);
	}
	barrier_sync();		/* the entry after its phase bit */
	if (dw0)
		*dw0 = cqe->dw0;
	if (cqe->cid != cid) {
		tap_diag("nvme: completion for cid %u, expected %u", cqe->cid,
			 cid);
		return -EIO;
	}
	if (++q->cq_head == q->depth) {
		q->cq_head = 0;
		q->phase ^= 1;
	}
	nvme_wr32(n, cq_doorbell(n, q->qid), q->cq_head);
	return status >> 1;
}

int nvme_exec(struct nvme_ctrl *n, struct nvme_queue *q, struct nvme_sqe *cmd,
	      uint32_t *dw0)
{
	return nvme_complete(n, q, nvme_submit(n, q, cmd), dw0);
}

void nvme_identify_cmd(struct nvme_sqe *c, uint32_t cns, uint32_t nsid,
		       uint64_t iova)
{
	memset(c, 0, sizeof(*c));
	c->cdw0 = NVME_ADM_IDENTIFY;
	c->nsid = nsid;
	c->prp1 = iova;
	c->cdw10 = cns;
}

int nvme_identify(struct nvme_ctrl *n, struct nvme_queue *admin, uint32_t cns,
		  uint32_t nsid, uint64_t iova)
{
	struct nvme_sqe c;

	nvme_identify_cmd(&c, cns, nsid, iova);
	return nvme_exec(n, admin, &c, NULL);
}

int nvme_create_io_queues(struct nvme_ctrl *n, struct nvme_queue *admin,
			  struct nvme_queue *io, int vector)
{
	uint32_t qsize = (uint32_t)(io->depth - 1) << 16 | io->qid;
	struct nvme_sqe cq = {
		.cdw0 = NVME_ADM_CREATE_CQ, .prp1 = io->cq_iova,
		.cdw10 = qsize, .cdw11 = 1,	/* physically contiguous */
	};
	struct nvme_sqe sq = {
		.cdw0 = NVME_ADM_CREATE_SQ, .prp1 = io->sq_iova,
		.cdw10 = qsize, .cdw11 = (uint32_t)io->qid << 16 | 1,
	};
	int r;

	if (vector >= 0)	/* IEN, IV */
		cq.cdw11 |= 2 | (uint32_t)vector << 16;
	r = nvme_exec(n, admin, &cq, NULL);
	return r ? r : nvme_exec(n, admin, &sq, NULL);
}

int nvme_delete_io_queues(struct nvme_ctrl *n, struct nvme_queue *admin,
			  struct nvme_queue *io)
{
	struct nvme_sqe sq = { .cdw0 = NVME_ADM_DELETE_SQ, .cdw10 = io->qid };
	struct nvme_sqe cq = { .cdw0 = NVME_ADM_DELETE_CQ, .cdw10 = io->qid };
	int r = nvme_exec(n, admin, &sq, NULL);

	return r ? r : nvme_exec(n, admin, &cq, NULL);
}

int nvme_prp(uint64_t iova, uint64_t len, uint64_t *list, uint64_t list_iova,
	     uint64_t *prp1, uint64_t *prp2)
{
	uint64_t first = iova & ~(NVME_PAGE - 1);
	uint64_t pages = (iova + len - first + NVME_PAGE - 1) / NVME_PAGE;
	uint64_t i;

	if (iova & 3 || !len || pages - 1 > NVME_PAGE / 8)
		return -EINVAL;
	*prp1 = iova;
	*prp2 = 0;
	if (pages == 2)
		*prp2 = first + NVME_PAGE;
	if (pages <= 2)
		return 0;
	for (i = 1; i < pages; i++)
		list[i - 1] = first + i * NVME_PAGE;
	*prp2 = list_iova;
	return 0;
}

int nvme_rw_cmd(struct nvme_sqe *c, uint8_t opc, uint32_t lba_shift,
		uint64_t slba, uint64_t iova, uint64_t len, uint64_t *list,
		uint64_t list_iova)
{
	memset(c, 0, sizeof(*c));
	c->cdw0 = opc;
	c->nsid = 1;
	c->cdw10 = (uint32_t)slba;
	c->cdw11 = (uint32_t)(slba >> 32);
	c->cdw12 = (uint32_t)((len >> lba_shift) - 1);
	return nvme_prp(iova, len, list, list_iova, &c->prp1, &c->prp2);
}

int nvme_rw(struct nvme_ctrl *n, struct nvme_queue *io, uint8_t opc,
	    uint32_t lba_shift, uint64_t slba, uint64_t iova, uint64_t len,
	    uint64_t *list, uint64_t list_iova)
{
	struct nvme_sqe c;
	int r;

	r = nvme_rw_cmd(&c, opc, lba_shift, slba, iova, len, list, list_iova);
	return r ? r : nvme_exec(n, io, &c, NULL);
}

void nvme_id_ns_format(const uint8_t *id, uint64_t *nsze, uint32_t *lba_shift)
{
	uint8_t flbas = id[26] & 0xf;
	uint32_t lbaf;

	memcpy(nsze, id, 8);
	memcpy(&lbaf, id + 128 + 4 * flbas, 4);
	*lba_shift = (uint8_t)(lbaf >> 16);
}

/* ------------------------------------------- the kernel's nvme driver */

/* The block device of the controller, from /sys/bus/pci/devices/BDF/nvme */
static int find_blockdev(const char *bdf, char *dev, size_t len)
{
	char name[64];
	int r = pci_subdir_entry(bdf, "nvme", "nvme", name, sizeof(name));

	if (!r)
		snprintf(dev, len, "/dev/%.32sn1", name);
	return r;
}

int nvme_kernel_bind(const char *bdf, char *dev, size_t len)
{
	int r;

	if (system("modprobe nvme"))
		return -ENOENT;
	r = pci_rebind(bdf, "nvme");
	if (r)
		return r;
	r = -ENOENT;
	for (int i = 0; i < 3000 && r; i++) {
		r = find_blockdev(bdf, dev, len);
		if (!r)
			r = wait_path(dev, 0);
		if (r)
			usleep(20000);
	}
	return r;
}

int blockdev_read(const char *dev, off_t off, void *buf, size_t len)
{
	int fd = open(dev, O_RDONLY | O_DIRECT);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = pread(fd, buf, len, off);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	return n == (ssize_t)len ? 0 : -EIO;
}

void nvme_kernel_unbind(const char *bdf)
{
	char drv[64];
	int r = pci_release_driver(bdf);

	tap_rc(r, 0, "unbind %s from nvme", bdf);
	if (system("modprobe -r nvme"))
		tap_diag("modprobe -r nvme failed");
	pci_driver(bdf, drv, sizeof(drv));
	tap_ok(!drv[0], "%s left with no driver (%s)", bdf,
	       drv[0] ? drv : "none");
}
