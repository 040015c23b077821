/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A minimal NVMe driver for the guest test programs (test_nvme, test_irq):
 * the QEMU NVMe controller's registers through a VFIO device fd, the
 * admin queue, I/O queue pairs with or without interrupts, and polled or
 * interrupt-signalled completions.
 */
#ifndef NVME_HELPERS_H
#define NVME_HELPERS_H

#include "vfio_helpers.h"

#include <time.h>

#define NVME_REG_CAP	0x00
#define NVME_REG_VS	0x08
#define NVME_REG_INTMS	0x0c
#define NVME_REG_INTMC	0x10
#define NVME_REG_CC	0x14
#define NVME_REG_CSTS	0x1c
#define NVME_REG_AQA	0x24
#define NVME_REG_ASQ	0x28
#define NVME_REG_ACQ	0x30
#define NVME_REG_DBS	0x1000

#define NVME_CC_EN		(1u << 0)
#define NVME_CC_SHN_NORMAL	(1u << 14)
#define NVME_CC_IOSQES		(6u << 16)	/* 64-byte SQ entries */
#define NVME_CC_IOCQES		(4u << 20)	/* 16-byte CQ entries */
#define NVME_CSTS_RDY		(1u << 0)
#define NVME_CSTS_CFS		(1u << 1)
#define NVME_CSTS_SHST_MASK	(3u << 2)
#define NVME_CSTS_SHST_DONE	(2u << 2)

#define NVME_CAP_MQES(c)	((uint32_t)((c) & 0xffff))
#define NVME_CAP_TO(c)		((uint32_t)(((c) >> 24) & 0xff))
#define NVME_CAP_DSTRD(c)	((uint32_t)(((c) >> 32) & 0xf))
#define NVME_CAP_CSS_NVM(c)	(((c) >> 37) & 1)
#define NVME_CAP_MPSMIN(c)	((uint32_t)(((c) >> 48) & 0xf))

/* admin opcodes */
#define NVME_ADM_DELETE_SQ	0x00
#define NVME_ADM_CREATE_SQ	0x01
#define NVME_ADM_DELETE_CQ	0x04
#define NVME_ADM_CREATE_CQ	0x05
#define NVME_ADM_IDENTIFY	0x06
/* NVM opcodes */
#define NVME_CMD_FLUSH		0x00
#define NVME_CMD_WRITE		0x01
#define NVME_CMD_READ		0x02

#define NVME_PAGE		0x1000ull	/* CC.MPS = 0 */
#define QDEPTH			32

struct nvme_sqe {
	uint32_t cdw0;		/* opcode 7:0, CID 31:16 */
	uint32_t nsid;
	uint64_t rsvd;
	uint64_t mptr;
	uint64_t prp1;
	uint64_t prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
	uint32_t dw0;
	uint32_t dw1;
	uint16_t sq_head;
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status;	/* phase bit 0, status field 15:1 */
};

_Static_assert(sizeof(struct nvme_sqe) == 64, "SQ entry");
_Static_assert(sizeof(struct nvme_cqe) == 16, "CQ entry");

struct nvme_ctrl {
	struct vfio_dev *d;
	uint64_t cap;
	uint32_t dbstride;	/* bytes between doorbells */
	unsigned int timeout_ms;
	/*
	 * Interrupts wanted (set before nvme_enable): false, the default,
	 * masks every INTx/MSI vector in INTMS (completions are polled);
	 * true unmasks them in INTMC unless MSI-X is in use (msix), where
	 * INTMS/INTMC must not be touched.
	 */
	bool irqs, msix;
};

struct nvme_queue {
	uint16_t qid;
	uint16_t depth;
	struct nvme_sqe *sq;
	volatile struct nvme_cqe *cq;
	uint64_t sq_iova, cq_iova;
	uint16_t sq_tail, cq_head, cid;
	uint16_t phase;
};

/* 32/64-bit register accesses through the mmap'ed BAR0 (or pread/pwrite) */
uint32_t nvme_rd32(struct nvme_ctrl *n, unsigned int off);
void nvme_wr32(struct nvme_ctrl *n, unsigned int off, uint32_t v);
uint64_t nvme_rd64(struct nvme_ctrl *n, unsigned int off);
void nvme_wr64(struct nvme_ctrl *n, unsigned int off, uint64_t v);
long elapsed_ms(const struct timespec *t0);
/* Maps BAR0, bus master on, reads CAP; 0 or -errno. */
int nvme_probe(struct nvme_ctrl *n, struct vfio_dev *d);
int nvme_disable(struct nvme_ctrl *n);
/* AQA/ASQ/ACQ, CC.EN=1, waits for CSTS.RDY (INTMS/INTMC: see irqs). */
int nvme_enable(struct nvme_ctrl *n, const struct nvme_queue *admin);
int nvme_shutdown(struct nvme_ctrl *n);
void nvme_queue_init(struct nvme_queue *q, uint16_t qid, void *sq,
		     uint64_t sq_iova, void *cq, uint64_t cq_iova);
/* Queues a command (its CID set) and rings the SQ doorbell; the CID. */
uint16_t nvme_submit(struct nvme_ctrl *n, struct nvme_queue *q,
		     struct nvme_sqe *cmd);
/*
 * Polls for the completion of cid, consumes it and rings the CQ doorbell.
 * With INTx, the doorbell that empties the CQ lowers the line: a caller
 * that wants the interrupt waits for it before calling this.
 * The NVMe status field (0 = success), or -ETIMEDOUT / -EIO (a completion
 * for another command, or a dead device). *dw0 gets the result dword.
 */
int nvme_complete(struct nvme_ctrl *n, struct nvme_queue *q, uint16_t cid,
		  uint32_t *dw0);
/* nvme_submit + nvme_complete */
int nvme_exec(struct nvme_ctrl *n, struct nvme_queue *q, struct nvme_sqe *cmd,
	      uint32_t *dw0);
/* An Identify command of CNS cns for nsid into the page at iova */
void nvme_identify_cmd(struct nvme_sqe *c, uint32_t cns, uint32_t nsid,
		       uint64_t iova);
int nvme_identify(struct nvme_ctrl *n, struct nvme_queue *admin, uint32_t cns,
		  uint32_t nsid, uint64_t iova);
/*
 * Creates I/O CQ io->qid, then I/O SQ io->qid on it. vector < 0: the CQ
 * raises no interrupts; else interrupts enabled on that vector.
 */
int nvme_create_io_queues(struct nvme_ctrl *n, struct nvme_queue *admin,
			  struct nvme_queue *io, int vector);
int nvme_delete_io_queues(struct nvme_ctrl *n, struct nvme_queue *admin,
			  struct nvme_queue *io);
/*
 * PRP entries for len bytes at bus address iova (dword aligned): PRP1 is
 * iova, PRP2 the second page or, beyond two pages, a list in one page.
 */
int nvme_prp(uint64_t iova, uint64_t len, uint64_t *list, uint64_t list_iova,
	     uint64_t *prp1, uint64_t *prp2);
/* A READ or WRITE command of len bytes at slba (PRP list when needed). */
int nvme_rw_cmd(struct nvme_sqe *c, uint8_t opc, uint32_t lba_shift,
		uint64_t slba, uint64_t iova, uint64_t len, uint64_t *list,
		uint64_t list_iova);
/* One READ or WRITE, polled */
int nvme_rw(struct nvme_ctrl *n, struct nvme_queue *io, uint8_t opc,
	    uint32_t lba_shift, uint64_t slba, uint64_t iova, uint64_t len,
	    uint64_t *list, uint64_t list_iova);

/*
 * The Identify Namespace data at id: its size in blocks into *nsze and
 * the block size's shift (LBADS of the format in use) into *lba_shift.
 */
void nvme_id_ns_format(const uint8_t *id, uint64_t *nsze,
		       uint32_t *lba_shift);

/* ------------------------------------------- the kernel's nvme driver */

/*
 * modprobe nvme, bdf bound to it (driver_override cleared), and the path
 * of its namespace 1 block device into dev once it appears (the driver
 * resets and probes the controller asynchronously; up to 60 s). 0 or
 * -errno.
 */
int nvme_kernel_bind(const char *bdf, char *dev, size_t len);
/* O_DIRECT pread of len bytes at off of dev: 0, -errno, -EIO if short */
int blockdev_read(const char *dev, off_t off, void *buf, size_t len);
/*
 * Unbinds bdf from the kernel driver and unloads nvme: the device is left
 * with no driver (two TAP checks).
 */
void nvme_kernel_unbind(const char *bdf);

#endif
