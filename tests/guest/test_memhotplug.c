// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memory hot-add while a user owns a PE whose host direct DDW was removed
 * (issue 13, item 4). Needs the bench booted with MONITOR=1 (the host runs
 * "@@qemu-monitor" console lines on QEMU's monitor, scripts/guest.sh) and
 * room for DIMMs (GUEST_MEM=2G,slots=8,maxmem=4G).
 *
 *  1. The kernel nvme driver takes the NVMe function: it sets a 64-bit DMA
 *     mask and the host DMA code opens a direct-mapping DDW (the PE node's
 *     "linux,direct64-ddr-window-info"), which it also lists privately
 *     (dma_win_list) to map hot-added RAM into it.
 *  2. VFIO takes the PE (the host DDW is removed); a v2 container opens a
 *     64K-page DDW covering dma_base + the partition's maximum memory
 *     (QEMU gives it the LIOBN and bus address of the host's), maps the
 *     NVMe queues low in it, one user page with a pattern at bus address
 *     dma_base + PA (PA: where the DIMM goes) and nothing at PA + 64K.
 *  3. The host plugs a 256M pc-dimm at PA; the guest's DLPAR code adds and
 *     onlines it, or the online is refused.
 *  4. Safety, every pairing: the device reads the user's page at
 *     dma_base + PA (an NVMe WRITE from there, READ back elsewhere): the
 *     user's TCE is unchanged; and it cannot reach memory through
 *     dma_base + PA + 64K: what it writes there (an NVMe READ) does not
 *     come back when it reads from there (QEMU's NVMe completes transfers
 *     to and from unmapped bus addresses without an error).
 *  5. Outcome: under our platform module the online is refused while the
 *     PE is owned (a "pseries_tce_ddw: ... refused" line: the in-tree
 *     record of the removed window is stale); elsewhere (in-tree ops, the
 *     series kernel) the memory comes online.
 *  6. After close (pins, VmLck back) the kernel nvme driver gets the
 *     function back and reads the blocks the user wrote; under our module
 *     the refused memory can be added now.
 *
 * Usage: test_memhotplug [BDF]   (default: the first NVMe, 0002:00:00.0)
 */
#define _GNU_SOURCE
#include "nvme_helpers.h"

#include <endian.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SZ_4K		0x1000ull
#define SZ_64K		0x10000ull
#define SZ_1G		0x40000000ull
#define DT		"/proc/device-tree"
#define DRCONF		DT "/ibm,dynamic-reconfiguration-memory"
#define MEMSYS		"/sys/devices/system/memory"
/* this boot's DIMMs: the device memory base, then the next DIMM number */
#define STATE_FILE	"/tmp/test_memhotplug.state"
#define HOTPLUG_WAIT_S	60

/* Arena slots of 64K; each but S_USER at win + (2s + 1) * 64K */
enum slot { S_ASQ, S_ACQ, S_IOSQ, S_IOCQ, S_IDENT, S_RBUF, S_FILL, S_USER,
	    S_COUNT };

static const uint32_t slot_flags[S_COUNT] = {
	[S_ASQ] = DMA_RW, [S_ACQ] = DMA_RW, [S_IOSQ] = DMA_RW,
	[S_IOCQ] = DMA_RW, [S_IDENT] = VFIO_DMA_MAP_FLAG_WRITE,
	[S_RBUF] = VFIO_DMA_MAP_FLAG_WRITE, [S_FILL] = VFIO_DMA_MAP_FLAG_READ,
	[S_USER] = VFIO_DMA_MAP_FLAG_READ,
};

/* The in-tree struct dynamic_dma_window_prop, as it sits in the property */
struct host_ddw {
	uint32_t liobn, tce_shift, window_shift;
	uint64_t dma_base;
};

struct mh {
	char bdf[32], pe[PATH_MAX], blockdev[64];
	struct host_ddw host;
	uint64_t maxmem, block, pa;
	unsigned int seq;
	int kmsg;
	bool refused, failed, wrote;
	struct vfio_dev d;
	struct nvme_ctrl n;
	struct nvme_queue admin, io;
	uint8_t *arena;
	size_t arena_len;
	uint64_t win;
	bool registered, window, mapped[S_COUNT];
	uint32_t lba_shift;
	uint64_t nsze, blk_a, blk_b, seed;	/* blk: 4K blocks of the disk */
	uint8_t disk_a[SZ_4K];	/* what the disk holds at blk_a */
};

/* ------------------------------------------------------- small readers */

static uint8_t *slot_ptr(struct mh *m, enum slot s)
{
	return m->arena + (size_t)s * SZ_64K;
}

static uint64_t slot_iova(struct mh *m, enum slot s)
{
	return s == S_USER ? m->win + m->pa : m->win + (2ull * s + 1) * SZ_64K;
}

/* A device-tree property (or any small file), bytes read or -errno */
static ssize_t read_bytes(const char *path, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

static uint32_t be32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t be64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

/* A hexadecimal sysfs value without 0x (block_size_bytes) */
static uint64_t read_hex(const char *path)
{
	char buf[32] = "";

	return read_bytes(path, buf, sizeof(buf) - 1) > 0 ?
	       strtoull(buf, NULL, 16) : 0;
}

static bool block_online(struct mh *m, uint64_t pa)
{
	char path[128], buf[16] = "";

	snprintf(path, sizeof(path), MEMSYS "/memory%llu/state",
		 (unsigned long long)(pa / m->block));
	return read_bytes(path, buf, sizeof(buf) - 1) > 0 &&
	       !strncmp(buf, "online", 6);
}

/* The end of the highest top-level "System RAM" range of /proc/iomem */
static uint64_t iomem_ram_end(void)
{
	unsigned long long start, end, top = 0;
	char line[256];
	FILE *f = fopen("/proc/iomem", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx : System RAM", &start, &end) == 2 &&
		    strstr(line, "System RAM") && end + 1 > top)
			top = end + 1;
	fclose(f);
	return top;
}

/* ------------------------------------------------ the partition's memory */

/*
 * QEMU's device memory starts at ROUND_UP(boot RAM, 1 GiB); this boot's
 * DIMMs go one after the other from there (STATE_FILE).
 */
static void dimm_slot(struct mh *m)
{
	unsigned long long base = 0;
	unsigned int seq = 0;
	FILE *f = fopen(STATE_FILE, "r");

	if (!f || fscanf(f, "%llx %u", &base, &seq) != 2)
		base = (iomem_ram_end() + SZ_1G - 1) & ~(SZ_1G - 1);
	if (f)
		fclose(f);
	m->seq = seq;
	m->pa = base + seq * m->block;
	f = fopen(STATE_FILE, "w");
	if (f) {
		fprintf(f, "%llx %u\n", base, seq + 1);
		fclose(f);
	}
}

static bool memory_layout(struct mh *m)
{
	uint8_t lrdr[8];

	m->block = read_hex(MEMSYS "/block_size_bytes");
	if (read_bytes(DT "/rtas/ibm,lrdr-capacity", lrdr, 8) != 8 || !m->block)
		tap_skip_all("no memory hotplug (ibm,lrdr-capacity, %s)",
			     MEMSYS);
	m->maxmem = be64_at(lrdr);
	dimm_slot(m);
	tap_diag("maximum memory 0x%llx, block 0x%llx, boot RAM ends at 0x%llx; DIMM %u at 0x%llx",
		 (unsigned long long)m->maxmem, (unsigned long long)m->block,
		 (unsigned long long)iomem_ram_end(), m->seq,
		 (unsigned long long)m->pa);
	if (m->pa + m->block > m->maxmem)
		tap_skip_all("no room for DIMM %u (boot with GUEST_MEM=2G,slots=8,maxmem=4G)",
			     m->seq);
	return tap_ok(!block_online(m, m->pa),
		      "0x%llx is not RAM yet", (unsigned long long)m->pa);
}

/* The LMB's DRC index, from ibm,dynamic-memory-v2 (sets of LMBs); 0 */
static uint32_t lmb_drc_index(uint64_t pa)
{
	static uint8_t buf[16384];
	ssize_t n = read_bytes(DRCONF "/ibm,dynamic-memory-v2", buf,
			       sizeof(buf));
	uint8_t lmbsz[8];
	uint64_t size;

	if (n < 4 || read_bytes(DRCONF "/ibm,lmb-size", lmbsz, 8) != 8)
		return 0;
	size = be64_at(lmbsz);
	for (uint32_t i = 0, sets = be32_at(buf); i < sets; i++) {
		const uint8_t *e = buf + 4 + 24 * i;
		uint64_t base, count;

		if (e + 24 > buf + n)
			break;
		base = be64_at(e + 4);
		count = be32_at(e);
		if (pa >= base && pa < base + count * size)
			return be32_at(e + 12) + (uint32_t)((pa - base) / size);
	}
	return 0;
}

/* --------------------------------------------------------- kernel log */

static void kmsg_open(struct mh *m)
{
	m->kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (m->kmsg >= 0)
		lseek(m->kmsg, 0, SEEK_END);
}

static bool kmsg_is(const char *msg, const char *const *words)
{
	for (; *words; words++)
		if (strstr(msg, *words))
			return true;
	return false;
}

/* Reads what the kernel logged since; notes refusals and DLPAR failures */
static void kmsg_scan(struct mh *m)
{
	static const char *const failed[] = {
		"Failed to online LMB", "count-add failed", "Failed to hot-add",
		"hot-add failed", NULL };
	static const char *const shown[] = {
		"pseries_tce_ddw", "LMB", "hot-add", "emory", "dlpar", NULL };
	char rec[1024];
	ssize_t n;

	while (m->kmsg >= 0 &&
	       (n = read(m->kmsg, rec, sizeof(rec) - 1)) != 0) {
		char *msg;

		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (n < 0)
			break;
		rec[n] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		msg[strcspn(msg, "\n")] = 0;
		if (strstr(msg, "pseries_tce_ddw:") && strstr(msg, "refused"))
			m->refused = true;
		if (kmsg_is(msg, failed))
			m->failed = true;
		if (kmsg_is(msg, shown))
			tap_diag("  kernel: %s", msg);
	}
}

/* ------------------------------------------------ the host's direct DDW */

static int host_ddw_read(struct mh *m)
{
	char path[PATH_MAX + 64];
	uint8_t p[24];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/" HOST_DIRECT_DDW, m->pe);
	n = read_bytes(path, p, sizeof(p));
	if (n != 24)	/* liobn, pad, dma_base, tce_shift, window_shift */
		return n < 0 ? (int)n : -EINVAL;
	m->host.liobn = be32_at(p);
	m->host.dma_base = be64_at(p + 8);
	m->host.tce_shift = be32_at(p + 16);
	m->host.window_shift = be32_at(p + 20);
	return 0;
}

/* The premise: under the kernel nvme driver the PE has a direct DDW */
static bool host_direct_ddw(struct mh *m)
{
	int r = nvme_kernel_bind(m->bdf, m->blockdev, sizeof(m->blockdev));

	if (!tap_rc(r, 0, "%s under the kernel nvme driver (%s)", m->bdf,
		    m->blockdev))
		return false;
	r = pe_dt_node(m->bdf, m->pe, sizeof(m->pe));
	if (!tap_rc(r, 0, "the PE node of %s: %s", m->bdf, m->pe))
		return false;
	r = host_ddw_read(m);
	if (!tap_rc(r, 0, "the host opened a direct-mapping DDW ("
		    HOST_DIRECT_DDW ")"))
		return false;
	tap_diag("host direct DDW: LIOBN 0x%x at 0x%llx, 2^%u bytes of 2^%u pages",
		 m->host.liobn, (unsigned long long)m->host.dma_base,
		 m->host.window_shift, m->host.tce_shift);
	return tap_ok((1ull << m->host.window_shift) >= m->maxmem,
		      "it maps the maximum memory (hot-added RAM goes there)");
}

/* -------------------------------------------------- the VFIO container */

static uint64_t pow2_at_least(uint64_t v)
{
	uint64_t p = SZ_64K;

	while (p < v)
		p <<= 1;
	return p;
}

static bool user_window(struct mh *m)
{
	int fd = m->d.container;
	uint64_t size = pow2_at_least(m->maxmem);
	long r;

	m->arena_len = S_COUNT * SZ_64K;
	m->arena = buf_alloc(m->arena_len);
	if (!m->arena)
		tap_bail("cannot allocate %zu bytes", m->arena_len);
	r = spapr_register(fd, m->arena, m->arena_len);
	m->registered = !r;
	if (!tap_rc(r, 0, "REGISTER_MEMORY %zu KiB", m->arena_len >> 10))
		return false;
	r = spapr_create(fd, 16, size, 1, &m->win);
	m->window = !r;
	if (!tap_rc(r, 0, "TCE_CREATE 64K pages x 0x%llx: 0x%llx",
		    (unsigned long long)size, (unsigned long long)m->win))
		return false;
	tap_diag("the user's DDW starts %s the host's (0x%llx)",
		 m->win == m->host.dma_base ? "where" : "elsewhere than",
		 (unsigned long long)m->host.dma_base);
	return true;
}

static bool user_maps(struct mh *m)
{
	uint8_t *user = slot_ptr(m, S_USER);

	fill_random(user, SZ_64K, &m->seed);
	for (enum slot s = 0; s < S_COUNT; s++) {
		long r = dma_map(m->d.container, slot_ptr(m, s),
				 slot_iova(m, s), SZ_64K, slot_flags[s]);

		m->mapped[s] = !r;
		if (!tap_rc(r, 0, "MAP_DMA slot %d at 0x%llx", s,
			    (unsigned long long)slot_iova(m, s)))
			return false;
	}
	tap_diag("user page at 0x%llx (dma_base + PA), 0x%llx unmapped",
		 (unsigned long long)slot_iova(m, S_USER),
		 (unsigned long long)(slot_iova(m, S_USER) + SZ_64K));
	return true;
}

static void user_unmap(struct mh *m)
{
	long r = 0;

	for (enum slot s = 0; s < S_COUNT; s++)
		if (m->mapped[s] && !r)
			r = dma_unmap(m->d.container, slot_iova(m, s), SZ_64K);
	tap_rc(r, 0, "UNMAP_DMA of every slot");
	if (m->window)
		tap_rc(spapr_remove(m->d.container, m->win), 0, "TCE_REMOVE");
	if (m->registered)
		tap_rc(spapr_unregister(m->d.container, m->arena,
					m->arena_len), 0, "UNREGISTER_MEMORY");
}

/* ------------------------------------------------ the user space driver */

static bool ctrl_start(struct mh *m)
{
	struct nvme_ctrl *n = &m->n;
	int r = nvme_probe(n, &m->d);

	if (!r)
		r = nvme_disable(n);
	nvme_queue_init(&m->admin, 0, slot_ptr(m, S_ASQ),
			slot_iova(m, S_ASQ), slot_ptr(m, S_ACQ),
			slot_iova(m, S_ACQ));
	if (!r)
		r = nvme_enable(n, &m->admin);
	if (!r)
		r = nvme_identify(n, &m->admin, 0, 1, slot_iova(m, S_IDENT));
	if (!tap_rc(r, 0, "controller enabled, Identify Namespace"))
		return false;
	nvme_id_ns_format(slot_ptr(m, S_IDENT), &m->nsze, &m->lba_shift);
	m->blk_a = 1 + m->seed % ((m->nsze << m->lba_shift) / SZ_4K - 8);
	m->blk_b = m->blk_a + 1;	/* and the two after it */
	nvme_queue_init(&m->io, 1, slot_ptr(m, S_IOSQ), slot_iova(m, S_IOSQ),
			slot_ptr(m, S_IOCQ), slot_iova(m, S_IOCQ));
	return tap_rc(nvme_create_io_queues(n, &m->admin, &m->io, -1), 0,
		      "I/O queues; blocks of %u bytes, disk offsets 0x%llx..",
		      1u << m->lba_shift,
		      (unsigned long long)(m->blk_a * SZ_4K));
}

static void ctrl_stop(struct mh *m)
{
	nvme_delete_io_queues(&m->n, &m->admin, &m->io);
	tap_rc(nvme_shutdown(&m->n), 0, "controller shut down");
}

/* One READ or WRITE of the 4K block blk from or to bus address iova */
static int rw4k(struct mh *m, uint8_t opc, uint64_t blk, uint64_t iova)
{
	return nvme_rw(&m->n, &m->io, opc, m->lba_shift,
		       blk * SZ_4K >> m->lba_shift, iova, SZ_4K, NULL, 0);
}

/* ------------------------------------------------------------ hot-add */

static void monitor(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void monitor(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("@@qemu-monitor ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

/* Polls until the block is online or the kernel said it failed */
static bool wait_online(struct mh *m, unsigned int seconds)
{
	for (unsigned int i = 0; i < seconds * 10; i++) {
		kmsg_scan(m);
		if (block_online(m, m->pa) || m->failed || m->refused)
			break;
		usleep(100000);
	}
	usleep(500000);		/* the messages that follow */
	kmsg_scan(m);
	return block_online(m, m->pa);
}

static bool hot_add(struct mh *m)
{
	struct timespec t0;
	bool online;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	monitor("object_add memory-backend-ram,id=mhp%u,size=%llu", m->seq,
		(unsigned long long)m->block);
	monitor("device_add pc-dimm,id=mhdimm%u,memdev=mhp%u,addr=0x%llx",
		m->seq, m->seq, (unsigned long long)m->pa);
	online = wait_online(m, HOTPLUG_WAIT_S);
	tap_diag("after %ld ms: %s%s%s", elapsed_ms(&t0),
		 online ? "online" : "not online",
		 m->refused ? ", refused by pseries_tce_ddw" : "",
		 m->failed ? ", DLPAR add failed" : "");
	return tap_ok(online || m->refused || m->failed,
		      "the guest processed the hot-add of 0x%llx (DRC 0x%x)",
		      (unsigned long long)m->pa, lmb_drc_index(m->pa));
}

/* ------------------------------------------------------------- checks */

/* (a) the device reads the user's page at dma_base + PA */
static void check_user_tce(struct mh *m)
{
	uint8_t *rbuf = slot_ptr(m, S_RBUF);
	long diff;
	int r;

	memset(rbuf, 0x5a, SZ_4K);
	r = rw4k(m, NVME_CMD_WRITE, m->blk_a, slot_iova(m, S_USER));
	if (!r)
		r = rw4k(m, NVME_CMD_READ, m->blk_a, slot_iova(m, S_RBUF));
	memcpy(m->disk_a, rbuf, SZ_4K);
	m->wrote = !r;
	if (!tap_rc(r, 0, "(a) WRITE from 0x%llx, READ back",
		    (unsigned long long)slot_iova(m, S_USER)))
		return;
	diff = buf_first_diff(rbuf, slot_ptr(m, S_USER), SZ_4K);
	tap_ok(diff < 0,
	       "(a) the device read the user's page at dma_base + PA: its TCE is unchanged");
	if (diff >= 0)
		tap_diag("  first difference at 0x%lx: 0x%02x, the user's 0x%02x",
			 diff, rbuf[diff], slot_ptr(m, S_USER)[diff]);
}

/*
 * (b) Nothing is mapped at dma_base + PA + 64K, so the device must not
 * reach memory there. QEMU's NVMe completes a transfer from or to an
 * unmapped bus address with success (it reads zeros, its writes are
 * dropped), so the check is a round trip: the device writes a pattern
 * there (READ) and reads it back (WRITE): the pattern must not come back.
 * Where it does, the device wrote RAM the user never mapped: its old
 * content, saved first the same way, is put back.
 */
static void check_unreachable(struct mh *m)
{
	uint64_t iova = slot_iova(m, S_USER) + SZ_64K, b = m->blk_b;
	uint8_t *rbuf = slot_ptr(m, S_RBUF), *fill = slot_ptr(m, S_FILL);
	int st[5];
	long diff;

	fill_random(fill, SZ_4K, &m->seed);
	memset(rbuf, 0x5a, SZ_4K);
	st[0] = rw4k(m, NVME_CMD_WRITE, b, iova);		/* save */
	st[1] = rw4k(m, NVME_CMD_WRITE, b + 1, slot_iova(m, S_FILL));
	st[2] = rw4k(m, NVME_CMD_READ, b + 1, iova);		/* pattern in */
	st[3] = rw4k(m, NVME_CMD_WRITE, b + 2, iova);		/* and out */
	st[4] = rw4k(m, NVME_CMD_READ, b + 2, slot_iova(m, S_RBUF));
	diff = buf_first_diff(rbuf, fill, SZ_4K);
	if (diff < 0)
		tap_diag("  restoring the RAM behind 0x%llx: %s",
			 (unsigned long long)iova,
			 rc_str(rw4k(m, NVME_CMD_READ, b, iova)));
	tap_diag("  NVMe status: save 0x%x, fill 0x%x, to 0x%llx 0x%x, from it 0x%x, read back 0x%x",
		 st[0], st[1], (unsigned long long)iova, st[2], st[3], st[4]);
	tap_ok(st[1] == 0 && st[4] == 0,
	       "(b) round trip through unmapped 0x%llx done", (unsigned long long)iova);
	tap_ok(diff >= 0,
	       "(b) the device cannot reach memory at dma_base + PA + 64K (what it wrote there did not come back)");
}

static bool module_platform(void)
{
	return platform_is_ours() && !access("/sys/module/pseries_tce_ddw",
					     F_OK);
}

static void check_outcome(struct mh *m)
{
	bool online = block_online(m, m->pa);

	if (module_platform())
		tap_ok(m->refused && !online,
		       "pseries_tce_ddw refused the online while the PE is owned (memory %s)",
		       online ? "online" : "offline");
	else
		tap_ok(online, "the new memory is online");
}

/* ---------------------------------------------------- the user's turn */

static void user_session(struct mh *m)
{
	long long pin0 = pinned_pages();
	long lck0 = vmlck_kb();
	int r = vfio_open(&m->d, m->bdf, VFIO_SPAPR_TCE_v2_IOMMU, true);

	if (tap_rc(r, 0, "v2 container, group %d, device fd", m->d.group_id) &&
	    tap_ok(access(m->pe, F_OK) || host_ddw_read(m) == -ENOENT,
		   "VFIO took the PE: the host DDW is gone") &&
	    user_window(m) && user_maps(m) && ctrl_start(m)) {
		if (hot_add(m)) {
			check_user_tce(m);
			check_unreachable(m);
			check_outcome(m);
		}
		ctrl_stop(m);
	}
	user_unmap(m);
	vfio_close(&m->d);
	buf_free(m->arena, m->arena_len);
	tap_pins_back(pin0, "(c) after close");
	tap_ok(vmlck_kb() == lck0, "(c) VmLck back to %ld kB", lck0);
}

/* ------------------------------------------- the host gets its DMA back */

/*
 * The refused memory, added again. Not through DLPAR: after the failed
 * add QEMU's DRC of the LMB stays present and configured (the guest
 * cannot isolate an LMB that QEMU did not mark for unplug), so "memory
 * add index DRC" fails in dlpar_acquire_drc(). The RAM is there, plugged:
 * the memory probe interface adds it and the block is onlined by hand,
 * through the same memory notifiers.
 */
static void memory_probe(struct mh *m)
{
	char addr[32], path[64];
	int r;

	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)m->pa);
	r = write_file(MEMSYS "/probe", addr);
	tap_diag("%s > " MEMSYS "/probe: %s", addr, rc_str(r));
	snprintf(path, sizeof(path), MEMSYS "/memory%llu/state",
		 (unsigned long long)(m->pa / m->block));
	r = write_file(path, "online");
	tap_diag("online > %s: %s", path, rc_str(r));
	kmsg_scan(m);
}

static void host_again(struct mh *m)
{
	uint8_t *buf = buf_alloc(SZ_4K);
	int r = nvme_kernel_bind(m->bdf, m->blockdev, sizeof(m->blockdev));

	tap_rc(r, 0, "%s back under the kernel nvme driver (%s)", m->bdf,
	       m->blockdev);
	tap_ok(!host_ddw_read(m), "the host's direct DDW is back");
	if (module_platform() && !block_online(m, m->pa)) {
		memory_probe(m);
		tap_ok(block_online(m, m->pa),
		       "the refused memory comes online once the PE is released");
	}
	if (!r && m->wrote) {
		r = blockdev_read(m->blockdev, (off_t)(m->blk_a * SZ_4K),
				  buf, SZ_4K);
		tap_ok(!r && !memcmp(buf, m->disk_a, SZ_4K),
		       "the kernel driver reads the block at 0x%llx as the user left it (%s)",
		       (unsigned long long)(m->blk_a * SZ_4K), rc_str(r));
	}
	nvme_kernel_unbind(m->bdf);
	buf_free(buf, SZ_4K);
}

int main(int argc, char **argv)
{
	static struct mh m;
	int r;

	tap_init("test_memhotplug");
	if (argc > 1)
		r = pci_pick_device(argc, argv, m.bdf, sizeof(m.bdf));
	else
		r = pci_find_device(0x1b36, 0x0010, m.bdf, sizeof(m.bdf));
	if (r)
		tap_skip_all("no NVMe controller (1b36:0010) found");
	if (access("/dev/vfio/vfio", F_OK))
		tap_skip_all("/dev/vfio/vfio missing (vfio not loaded)");
	m.seed = test_seed();
	kmsg_open(&m);
	tap_diag("device %s pairing %s seed 0x%llx", m.bdf, pairing_name(),
		 (unsigned long long)m.seed);
	if (memory_layout(&m) && host_direct_ddw(&m))
		user_session(&m);
	host_again(&m);
	return tap_done();
}
