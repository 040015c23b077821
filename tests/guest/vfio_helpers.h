/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared helpers for the guest test programs (static, ppc64le, run under
 * busybox in a QEMU -M pseries guest): TAP output, sysfs binding, VFIO
 * container/group/device set-up, sPAPR TCE ioctl wrappers (returning
 * -errno), VmLck / pinned page accounting, buffers, and the QEMU "edu"
 * device's DMA engine.
 */
#ifndef VFIO_HELPERS_H
#define VFIO_HELPERS_H

#include <errno.h>	/* the wrappers return -errno */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/vfio.h>

/* ------------------------------------------------------------------ TAP */

/* Line-buffers stdout; the plan is printed by tap_done() (trailing plan). */
void tap_init(const char *prog);
/* "ok N - name" or "not ok N - name"; returns cond. */
bool tap_ok(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Checks a wrapper return value (0/positive = success, -errno = failure)
 * against the expected one; on mismatch prints both with errno names.
 */
bool tap_rc(long got, long expect, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "ok N - name # SKIP reason" */
void tap_skip(const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "1..0 # SKIP reason" and exit(0) (only before any test was printed). */
void tap_skip_all(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
/* "Bail out! reason", print the plan, exit(1). */
void tap_bail(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
/* Prints "1..N"; returns the exit status: 0 iff nothing failed. */
int tap_done(void);
int tap_failed(void);
/* "-EINVAL (Invalid argument)" style text for a wrapper return value. */
const char *rc_str(long rc);

/* ------------------------------------------------------ sysfs / binding */

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8

/* First PCI device with vendor:device, into bdf; 0 or -ENODEV. */
int pci_find_device(uint16_t vendor, uint16_t device, char *bdf, size_t len);
/* The device address from argv[1] or, if absent, the first edu device. */
int pci_pick_device(int argc, char **argv, char *bdf, size_t len);
/* Current driver name into drv ("" when unbound); 0 or -errno. */
int pci_driver(const char *bdf, char *drv, size_t len);
/* driver_override=vfio-pci, unbind from the current driver, drivers_probe. */
int pci_bind_vfio(const char *bdf);
/*
 * Reverse: unbind (from vfio-pci or whatever), clear driver_override, then
 * bind to drv (NULL or "": just drivers_probe, e.g. for edu which has none).
 */
int pci_rebind(const char *bdf, const char *drv);
/*
 * The name of the first entry of /sys/bus/pci/devices/BDF/SUBDIR that
 * starts with prefix (e.g. "nvme", "vfio-dev") into name; 0, -ENOENT
 * when there is none, or -errno.
 */
int pci_subdir_entry(const char *bdf, const char *subdir, const char *prefix,
		     char *name, size_t len);
/* Group number from /sys/bus/pci/devices/BDF/iommu_group; -errno. */
int pci_iommu_group(const char *bdf);
int write_file(const char *path, const char *s);
/* Reads the first integer in a file (returns -errno when unreadable). */
long long read_ll(const char *path);

/* --------------------------------------------------------- accounting */

/* VmLck of this process in kB (-1 if unreadable). */
long vmlck_kb(void);
/* VmPin (mm->pinned_vm, e.g. iommufd's RLIMIT_MODE 1 charge) in kB */
long vmpin_kb(void);
/* VmLck of another process in kB. */
long vmlck_kb_pid(pid_t pid);
/* System-wide FOLL_PIN pinned pages: nr_foll_pin_acquired - released
 * (after vm/stat_refresh), -1 if unavailable. */
long long pinned_pages(void);
/*
 * TCEs mapped in the windows of bdf's PE according to our platform
 * module's debugfs (/sys/kernel/debug/pseries_tce_ddw/DOMAIN:BUS-*\/windows,
 * column tces_mapped; mounts debugfs if needed). -ENOENT when the module
 * (or that file) is absent, e.g. under the in-tree platform ops.
 */
long long ddw_debugfs_mapped(const char *bdf);
/*
 * The value of the "key value" line of file in bdf's PE directory of that
 * debugfs (e.g. "usage", "windows"; "windows", "owners"), or -ENOENT.
 */
long long key_file_read(FILE *f, const char *key);
long long ddw_debugfs_key(const char *bdf, const char *file, const char *key);
/* Polls get() (up to 3s) until it returns want; returns the last value. */
long long settle_ll(long long (*get)(void), long long want);
/* "what: pinned pages back to pin0" once they settle; returns the check */
bool tap_pins_back(long long pin0, const char *what);
/* /proc/meminfo field in kB, -1 if absent. */
long meminfo_kb(const char *field);

/* ------------------------------------------------------------- buffers */

size_t sys_page_size(void);
/* Anonymous, page aligned, zero filled, populated; NULL on failure. */
void *buf_alloc(size_t len);
/*
 * Hugetlb backed buffer of the smallest huge page size >= 1 << shift
 * (reserves pages in /sys/kernel/mm/hugepages if needed); *len is rounded
 * up to whole huge pages (pass it to buf_free). NULL with *why set if not
 * available (so the caller can print a TAP skip).
 */
void *buf_alloc_huge(size_t *len, unsigned int shift, const char **why);
/* The same at exactly address at (MAP_FIXED_NOREPLACE) unless at is NULL. */
void *buf_alloc_huge_at(void *at, size_t *len, unsigned int shift,
			const char **why);
void buf_free(void *p, size_t len);
/* Index of the first byte where a and b differ, or -1. */
long buf_first_diff(const void *a, const void *b, size_t len);
/* xorshift64 random pattern, seeded per call */
void fill_random(void *p, size_t len, uint64_t *seed);
uint64_t test_seed(void);
/*
 * A fuzzer's "[SEED|0] [COUNT]": the seed of argv[1] (absent or 0: from
 * test_seed()), printed as "# seed N"; *count gets argv[2] if given.
 */
uint64_t fuzz_args(int argc, char **argv, unsigned long long *count);
/*
 * Pages a fuzzer hands the kernel as bad memory: *ro one page of pg bytes
 * read-only, *hole two pages with no access. Bails out on failure.
 */
void fuzz_bad_pages(size_t pg, uint8_t **ro, uint8_t **hole);

/* ------------------------------------------------------------- VFIO */

struct vfio_dev {
	char bdf[32];
	int group_id;
	int container;		/* fd or -1 */
	int group;		/* fd or -1 */
	int device;		/* fd or -1 */
	int iommu_type;		/* VFIO_SPAPR_TCE_IOMMU / _v2_ / 0 */
	volatile uint8_t *bar0;
	size_t bar0_size;
	uint64_t bar0_offset;	/* region offset in the device fd */
	uint64_t cfg_offset;
};

void vfio_dev_init(struct vfio_dev *d);
/* Opens /dev/vfio/vfio, checks the API version; fd or -errno. */
int vfio_open_container(void);
/* Opens /dev/vfio/N for the bdf's group and checks it is viable. */
int vfio_open_group(struct vfio_dev *d, const char *bdf);
/*
 * Full set-up: bind to vfio-pci if needed, container, group, SET_CONTAINER,
 * SET_IOMMU(type) (type 0: stop before SET_IOMMU), and if with_device the
 * device fd. 0 or -errno (d is left half-open for vfio_close on error).
 */
int vfio_open(struct vfio_dev *d, const char *bdf, int type, bool with_device);
int vfio_set_iommu(struct vfio_dev *d, int type);
int vfio_get_device(struct vfio_dev *d);
/* Unmaps BAR0, closes device, group, container (in that order). */
void vfio_close(struct vfio_dev *d);

/* BAR0 mmap via VFIO_DEVICE_GET_REGION_INFO (falls back to pread/pwrite). */
int vfio_map_bar0(struct vfio_dev *d);
int vfio_cfg_read(struct vfio_dev *d, unsigned int off, void *buf, size_t len);
int vfio_cfg_write(struct vfio_dev *d, unsigned int off, const void *buf,
		   size_t len);
/* PCI_COMMAND |= MEMORY | MASTER through the config region. */
int vfio_enable_bus_master(struct vfio_dev *d);

/* ioctl wrappers: result (>= 0) or -errno */
long vfio_ioctl(int fd, unsigned long req, void *arg);
long spapr_get_info(int c, struct vfio_iommu_spapr_tce_info *info,
		    uint32_t argsz);
long spapr_register(int c, const void *vaddr, uint64_t size);
long spapr_unregister(int c, const void *vaddr, uint64_t size);
long spapr_create(int c, uint32_t page_shift, uint64_t window_size,
		  uint32_t levels, uint64_t *start_addr);
long spapr_remove(int c, uint64_t start_addr);
/* REMOVE of the default window, where GET_INFO places it */
long spapr_remove_default(int c);

/* The host DDW properties the in-tree DMA code puts on a PE's node */
#define HOST_DIRECT_DDW		"linux,direct64-ddr-window-info"
#define HOST_DYNAMIC_DDW	"linux,dma64-ddr-window-info"
/*
 * The device tree directory of @bdf's PE: the first node up from the
 * function's own with an ibm,dma-window. 0 or -errno.
 */
int pe_dt_node(const char *bdf, char *out, size_t len);
bool dt_has(const char *node, const char *prop);
/* The host DDW of @bdf's PE: "direct", "dynamic", "none" or "no PE node" */
const char *host_ddw_kind(const char *bdf);
long dma_map(int c, const void *vaddr, uint64_t iova, uint64_t size,
	     uint32_t flags);
long dma_unmap(int c, uint64_t iova, uint64_t size);
long iommu_enable(int c);
long iommu_disable(int c);

#define DMA_RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* ------------------------------------------------------------- edu */

#define EDU_REG_IDENT	0x00
#define EDU_REG_DMA_SRC	0x80
#define EDU_REG_DMA_DST	0x88
#define EDU_REG_DMA_CNT	0x90
#define EDU_REG_DMA_CMD	0x98
#define EDU_DMA_START	0x1
#define EDU_DMA_TO_RAM	0x2
#define EDU_BUF_OFF	0x40000
#define EDU_BUF_SIZE	4096
/*
 * QEMU 7.2's edu_check_range() treats the end of the transfer as exclusive
 * against the buffer end, so a DMA touching the last byte of the buffer
 * is "out of bounds" and hw_error() aborts QEMU: only 4095 bytes usable.
 */
#define EDU_DMA_MAX	4095
#define EDU_IDENT	0x010000edu
#define EDU_REG_IRQ_STATUS	0x24	/* read: raised, not acknowledged */
#define EDU_REG_IRQ_RAISE	0x60	/* write: status |= val, interrupt */
#define EDU_REG_IRQ_ACK		0x64	/* write: status &= ~val (INTx low) */

struct edu {
	struct vfio_dev *d;
	bool swap;	/* device registers are big endian as seen by us */
};

/* Maps BAR0, checks the ident register, enables bus mastering. */
int edu_init(struct edu *e, struct vfio_dev *d);
/* 32-bit register accesses (byte order of e->swap) */
uint32_t edu_rd32(struct edu *e, unsigned int off);
void edu_wr32(struct edu *e, unsigned int off, uint32_t v);
/*
 * One DMA of len bytes (buf_off + len <= EDU_DMA_MAX) between bus address
 * iova and the edu buffer at offset buf_off; to_ram: edu -> RAM, else
 * RAM -> edu. Polls the command register until the start bit clears.
 * 0 or -ETIMEDOUT/-EINVAL/-EIO (all-ones read: frozen PE).
 */
int edu_dma(struct edu *e, uint64_t iova, uint32_t buf_off, uint32_t len,
	    bool to_ram);
/*
 * Copies len bytes (any size, EDU_DMA_MAX per DMA) from bus address
 * src_iova to bus address dst_iova through the edu buffer. 0 or -errno.
 */
int edu_copy(struct edu *e, uint64_t src_iova, uint64_t dst_iova, size_t len);

/*
 * Random src and dst, edu copies len bytes src -> dst by bus address,
 * then dst must equal src. 0, -EIO on a mismatch (its offset printed as
 * a TAP diagnostic), or the DMA's -errno.
 */
int edu_copy_check(struct edu *e, uint8_t *src, uint64_t src_iova,
		   uint8_t *dst, uint64_t dst_iova, size_t len, uint64_t *s);

/* ------------------------------------------- added for test_nvme/multi */

/*
 * Unbind bdf from its driver (if any) and clear driver_override, without
 * probing again: the device is left with no driver. 0 or -errno.
 */
int pci_release_driver(const char *bdf);
/* Polls (up to timeout_ms) until path exists; 0 or -ETIMEDOUT. */
int wait_path(const char *path, unsigned int timeout_ms);
/* "ours-ours", "intree-ours", ... from backend_is_ours/platform_is_ours. */
const char *pairing_name(void);
/*
 * A second device fd in an already set-up group (a multi-function PE):
 * d2 shares d1's container and group fds but does not own them
 * (vfio_close(d2) closes only its device fd and BAR mapping).
 */
int vfio_open_sibling(struct vfio_dev *d2, const struct vfio_dev *d1,
		      const char *bdf);

/* ---------------------------------------------------------- interrupts */

/*
 * VFIO_DEVICE_GET_IRQ_INFO of index (VFIO_PCI_INTX/MSI/MSIX_IRQ_INDEX):
 * the number of interrupts (0: the device has none of that kind), or
 * -errno; *flags gets the info flags when flags is not NULL.
 */
long vfio_irq_count(struct vfio_dev *d, unsigned int index, uint32_t *flags);
/*
 * VFIO_DEVICE_SET_IRQS, ACTION_TRIGGER: eventfds fds[0..count-1] for
 * interrupts start..start+count-1 of index (an fd of -1 leaves that one
 * without a trigger); count 0 disables the whole index. 0 or -errno.
 */
long vfio_irq_set_eventfds(struct vfio_dev *d, unsigned int index,
			   unsigned int start, unsigned int count,
			   const int *fds);
/* VFIO_DEVICE_SET_IRQS, ACTION_UNMASK of interrupt 0 of index (INTx). */
long vfio_irq_unmask(struct vfio_dev *d, unsigned int index);
/* A non-blocking eventfd (counter mode); fd or -errno. */
int efd_new(void);
/*
 * Waits up to timeout_ms for the eventfd to be signalled and reads (so
 * clears) its counter: the count, 0 on timeout, or -errno.
 */
long long efd_wait(int fd, unsigned int timeout_ms);

/* -------------------------------------------- reliability test helpers */

/* "# figure: NAME VALUE" lines for the README, collected by the lead. */
void tap_figure(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* xorshift64* step; *s must not be 0 (0 is replaced by a constant). */
uint64_t xrand(uint64_t *s);
/* Uniform in [0, n) (n > 0). */
uint64_t xrand_below(uint64_t *s, uint64_t n);
/*
 * Which vfio_iommu_spapr_tce is loaded: 1 ours (out-of-tree, taint 'O'),
 * 0 the in-tree one, -ENOENT none.
 */
int backend_is_ours(void);
/* Our platform module (pseries_tce_ddw) is loaded. */
bool platform_is_ours(void);
/*
 * A fresh container/group/device for bdf with IOMMU type (v1: ENABLE,
 * v2: REGISTER), two IOMMU pages of a 128K buffer mapped at the start of
 * the default 32-bit window, one edu copy between them, compared; all
 * closed again. 0, -EIO on a data mismatch, or the failing step's -errno.
 */
int edu_fresh_dma(const char *bdf, int type);
/*
 * kmemleak: _clear() forgets what was reported so far (0, or -ENOENT when
 * kmemleak is absent or disabled). _scan() waits for the minimum object
 * age, scans twice, prints up to max_lines report lines as TAP diagnostics
 * and returns the number of "unreferenced object" reports (or -errno).
 */
int kmemleak_clear(void);
int kmemleak_scan(int max_lines);

/* ---------------------------------------------------- fault injection */

/*
 * /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION): the nth fault site
 * this thread passes fails.
 */
#define FAIL_NTH	"/proc/thread-self/fail-nth"
/* Sites picked by fail_nth_pick(): the first and last 4, 4 between */
#define FAIL_NTH_EDGE	4
#define FAIL_NTH_MIDDLE	4
#define FAIL_NTH_PICKS	(2 * FAIL_NTH_EDGE + FAIL_NTH_MIDDLE)

/*
 * Runs op(arg) with its nth fault site failing, or with none failing when
 * n is 0, and returns op's result. *sites gets the number of sites op
 * passed (n == 0), or whether the nth was reached (1) or not (0). Bails
 * out when fail-nth cannot be written.
 */
long fail_nth_call(long (*op)(void *arg), void *arg, unsigned int n,
		   long long *sites);
/* The site numbers to fail of sites into pick[FAIL_NTH_PICKS]; how many */
unsigned int fail_nth_pick(long long sites, unsigned int *pick,
			   uint64_t *seed);

#endif
