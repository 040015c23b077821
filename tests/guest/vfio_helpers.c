// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shared helpers for the guest test programs: see vfio_helpers.h.
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ TAP */

static int tap_n, tap_nfail;
static const char *tap_prog = "test";

void tap_init(const char *prog)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
	tap_prog = prog;
	printf("# %s\n", prog);
}

static void tap_vline(bool cond, const char *fmt, va_list ap)
{
	++tap_n;
	if (!cond)
		++tap_nfail;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	vprintf(fmt, ap);
	printf("\n");
}

bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vline(cond, fmt, ap);
	va_end(ap);
	return cond;
}

const char *rc_str(long rc)
{
	static char bufs[4][96];
	static int which;
	char *b = bufs[which++ & 3];

	if (rc >= 0) {
		snprintf(b, sizeof(bufs[0]), "%ld", rc);
	} else {
		const char *name = strerrorname_np((int)-rc);

		snprintf(b, sizeof(bufs[0]), "-%s (%s)",
			 name ? name : "E?", strerror((int)-rc));
	}
	return b;
}

bool tap_rc(long got, long expect, const char *fmt, ...)
{
	va_list ap;
	bool cond = got == expect;

	va_start(ap, fmt);
	tap_vline(cond, fmt, ap);
	va_end(ap);
	if (!cond)
		printf("#   got %s, expected %s\n", rc_str(got), rc_str(expect));
	return cond;
}

void tap_skip(const char *reason, const char *fmt, ...)
{
	va_list ap;

	++tap_n;
	printf("ok %d - ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", reason);
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

void tap_skip_all(const char *fmt, ...)
{
	va_list ap;

	if (tap_n) {
		/* Tests already printed: skip the rest, keep the plan honest. */
		printf("# skipping the rest: ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
		exit(tap_done());
	}
	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(0);
}

void tap_bail(const char *fmt, ...)
{
	va_list ap;

	/* a "not ok" line too, for judges that do not know "Bail out!" */
	printf("not ok %d - bail out: ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\nBail out! %s\n", tap_prog);
	printf("1..%d\n", tap_n);
	exit(1);
}

int tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_nfail)
		printf("# %s: %d of %d failed\n", tap_prog, tap_nfail, tap_n);
	fflush(stdout);
	return tap_nfail ? 1 : 0;
}

int tap_failed(void)
{
	return tap_nfail;
}

/* ------------------------------------------------------ sysfs / binding */

int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = 0;
	return (int)n;
}

long long read_ll(const char *path)
{
	char buf[256], *p;
	int r = read_file(path, buf, sizeof(buf));

	if (r < 0)
		return r;
	for (p = buf; *p && !(*p >= '0' && *p <= '9') && *p != '-'; p++)
		;
	if (!*p)
		return -EINVAL;
	return strtoll(p, NULL, 0);
}

int pci_find_device(uint16_t vendor, uint16_t device, char *bdf, size_t len)
{
	DIR *dir = opendir("/sys/bus/pci/devices");
	struct dirent *de;
	char best[256] = "";
	char path[512];

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		long long v, dv;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor",
			 de->d_name);
		v = read_ll(path);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 de->d_name);
		dv = read_ll(path);
		if (v != vendor || dv != device)
			continue;
		/* lowest address first, readdir order is arbitrary */
		if (!best[0] || strcmp(de->d_name, best) < 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	}
	closedir(dir);
	if (!best[0])
		return -ENODEV;
	snprintf(bdf, len, "%s", best);
	return 0;
}

int pci_pick_device(int argc, char **argv, char *bdf, size_t len)
{
	char path[256];

	if (argc > 1 && argv[1][0]) {
		snprintf(bdf, len, "%s", argv[1]);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
		return access(path, F_OK) ? -ENODEV : 0;
	}
	return pci_find_device(EDU_VENDOR, EDU_DEVICE, bdf, len);
}

int pci_driver(const char *bdf, char *drv, size_t len)
{
	char path[256], target[256];
	ssize_t n;
	const char *base;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno == ENOENT) {
			drv[0] = 0;
			return 0;
		}
		return -errno;
	}
	target[n] = 0;
	base = strrchr(target, '/');
	snprintf(drv, len, "%s", base ? base + 1 : target);
	return 0;
}

static int pci_unbind(const char *bdf)
{
	char path[256], drv[64];
	int r = pci_driver(bdf, drv, sizeof(drv));

	if (r)
		return r;
	if (!drv[0])
		return 0;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind",
		 bdf);
	return write_file(path, bdf);
}

int pci_bind_vfio(const char *bdf)
{
	char path[256], drv[64];
	int r;

	r = pci_driver(bdf, drv, sizeof(drv));
	if (r)
		return r;
	if (!strcmp(drv, "vfio-pci"))
		return 0;
	if (access("/sys/bus/pci/drivers/vfio-pci", F_OK))
		return -ENOENT;	/* vfio-pci not loaded */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
		 bdf);
	r = write_file(path, "vfio-pci");
	if (r)
		return r;
	r = pci_unbind(bdf);
	if (r)
		return r;
	r = write_file("/sys/bus/pci/drivers_probe", bdf);
	if (r)
		return r;
	r = pci_driver(bdf, drv, sizeof(drv));
	if (r)
		return r;
	return strcmp(drv, "vfio-pci") ? -ENODEV : 0;
}

int pci_rebind(const char *bdf, const char *drv)
{
	char path[256], cur[64];
	int r;

	r = pci_unbind(bdf);
	if (r)
		return r;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
		 bdf);
	r = write_file(path, "\n");
	if (r)
		return r;
	if (!drv || !drv[0])
		return write_file("/sys/bus/pci/drivers_probe", bdf);
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", drv);
	r = write_file(path, bdf);
	if (r)
		return r;
	r = pci_driver(bdf, cur, sizeof(cur));
	if (r)
		return r;
	return strcmp(cur, drv) ? -ENODEV : 0;
}

int pci_subdir_entry(const char *bdf, const char *subdir, const char *prefix,
		     char *name, size_t len)
{
	char path[256];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", bdf, subdir);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			break;
	if (de)
		snprintf(name, len, "%s", de->d_name);
	closedir(dir);
	return de ? 0 : -ENOENT;
}

int pci_iommu_group(const char *bdf)
{
	char path[256], target[256];
	ssize_t n;
	const char *base;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = 0;
	base = strrchr(target, '/');
	return atoi(base ? base + 1 : target);
}

/* --------------------------------------------------------- accounting */

static long status_field_kb(const char *path, const char *field)
{
	char line[256];
	size_t flen = strlen(field);
	long val = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			val = strtol(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

long vmlck_kb(void)
{
	return status_field_kb("/proc/self/status", "VmLck");
}

long vmpin_kb(void)
{
	return status_field_kb("/proc/self/status", "VmPin");
}

long vmlck_kb_pid(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return status_field_kb(path, "VmLck");
}

long meminfo_kb(const char *field)
{
	return status_field_kb("/proc/meminfo", field);
}

long long pinned_pages(void)
{
	char line[256];
	long long acq = -1, rel = -1;
	FILE *f;

	/* fold the per-cpu counter deltas so the numbers are exact */
	write_file("/proc/sys/vm/stat_refresh", "1");
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "nr_foll_pin_acquired ", 21))
			acq = strtoll(line + 21, NULL, 10);
		else if (!strncmp(line, "nr_foll_pin_released ", 21))
			rel = strtoll(line + 21, NULL, 10);
	}
	fclose(f);
	if (acq < 0 || rel < 0)
		return -1;
	return acq - rel;
}

long long settle_ll(long long (*get)(void), long long want)
{
	long long v = get();
	int i;

	/* unpinning of registered memory is RCU deferred: give it 3s */
	for (i = 0; i < 150 && v != want; i++) {
		usleep(20000);
		v = get();
	}
	return v;
}

bool tap_pins_back(long long pin0, const char *what)
{
	long long now = settle_ll(pinned_pages, pin0);

	return tap_ok(now == pin0, "%s: pinned pages back to %lld (%lld)", what,
		      pin0, now);
}

/* Sum of the "tces_mapped" column of one debugfs "windows" file. */
static long long windows_file_mapped(const char *path)
{
	char line[512];
	long long sum = 0;
	int col = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok;
		int i = 0;

		if (!strncmp(line, "num ", 4)) {
			for (tok = strtok_r(line, " \t\n", &save); tok;
			     tok = strtok_r(NULL, " \t\n", &save), i++)
				if (!strcmp(tok, "tces_mapped"))
					col = i;
			continue;
		}
		if (col < 0 || line[0] < '0' || line[0] > '9')
			continue;
		for (tok = strtok_r(line, " \t\n", &save); tok && i < col;
		     tok = strtok_r(NULL, " \t\n", &save), i++)
			;
		if (tok)
			sum += strtoll(tok, NULL, 0);
	}
	fclose(f);
	return col < 0 ? -ENOENT : sum;
}

/* bdf's PE directory of our platform's debugfs in path; 0 or -ENOENT */
static int ddw_debugfs_pe_dir(const char *bdf, char *path, size_t len)
{
	const char *root = "/sys/kernel/debug/pseries_tce_ddw";
	char prefix[16];
	struct dirent *de;
	int r = -ENOENT;
	DIR *dir;

	if (access("/sys/kernel/debug/tracing", F_OK) &&
	    access(root, F_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	/* PE directories are named "DOMAIN:BUS-<of node>" */
	snprintf(prefix, sizeof(prefix), "%.7s-", bdf);
	dir = opendir(root);
	if (!dir)
		return -ENOENT;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(path, len, "%s/%s", root, de->d_name);
		r = 0;
		break;
	}
	closedir(dir);
	return r;
}

long long ddw_debugfs_mapped(const char *bdf)
{
	char dir[400], path[512];

	if (ddw_debugfs_pe_dir(bdf, dir, sizeof(dir)))
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/windows", dir);
	return windows_file_mapped(path);
}

/**
 * key_file_read() - the value of a "key value" line of a file
 * @f: the file, open for reading; closed here. NULL: -errno.
 * @key: the key.
 *
 * Return: the value, -ENOENT when no line has the key.
 */
long long key_file_read(FILE *f, const char *key)
{
	char line[256], k[64];
	long long v, r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", k, &v) == 2 && !strcmp(k, key)) {
			r = v;
			break;
		}
	fclose(f);
	return r;
}

long long ddw_debugfs_key(const char *bdf, const char *file, const char *key)
{
	char dir[400], path[512];

	if (ddw_debugfs_pe_dir(bdf, dir, sizeof(dir)))
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return key_file_read(fopen(path, "r"), key);
}

/* ------------------------------------------------------------- buffers */

size_t sys_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

void *buf_alloc(size_t len)
{
	size_t ps = sys_page_size();
	void *p;

	len = (len + ps - 1) & ~(ps - 1);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, len);
	return p;
}

/* Smallest hugetlb size >= 1 << shift offered by the kernel, in kB. */
static unsigned long huge_kb_at_least(unsigned int shift)
{
	DIR *dir = opendir("/sys/kernel/mm/hugepages");
	struct dirent *de;
	unsigned long best = 0, want = (1UL << shift) >> 10;

	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		unsigned long kb;

		if (sscanf(de->d_name, "hugepages-%lukB", &kb) != 1)
			continue;
		if (kb >= want && (!best || kb < best))
			best = kb;
	}
	closedir(dir);
	return best;
}

/*
 * Make sure @need free hugepages of @kb exist (raising nr_hugepages if
 * needed); 0, or -ENOMEM with *why set.
 */
static int huge_reserve(unsigned long kb, long long need, const char **why)
{
	static char reason[160];
	char dir[128], path[192], num[32];
	long long freep, nr;

	snprintf(dir, sizeof(dir), "/sys/kernel/mm/hugepages/hugepages-%lukB",
		 kb);
	snprintf(path, sizeof(path), "%s/free_hugepages", dir);
	freep = read_ll(path);
	if (freep < need) {
		snprintf(path, sizeof(path), "%s/nr_hugepages", dir);
		nr = read_ll(path);
		if (nr >= 0) {
			snprintf(num, sizeof(num), "%lld", nr + need - freep);
			write_file(path, num);
		}
		snprintf(path, sizeof(path), "%s/free_hugepages", dir);
		freep = read_ll(path);
	}
	if (freep < need) {
		snprintf(reason, sizeof(reason),
			 "cannot reserve %lld %lukB hugepages (free %lld)",
			 need, kb, freep);
		*why = reason;
		return -ENOMEM;
	}
	return 0;
}

void *buf_alloc_huge_at(void *at, size_t *plen, unsigned int shift,
			const char **why)
{
	static char reason[160];
	unsigned long kb = huge_kb_at_least(shift);
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
	unsigned int hshift;
	long long need;
	size_t len;
	void *p;

	if (!kb) {
		snprintf(reason, sizeof(reason),
			 "no hugepages >= %lukB in this kernel/MMU",
			 (1UL << shift) >> 10);
		*why = reason;
		return NULL;
	}
	hshift = (unsigned int)__builtin_ctzl(kb) + 10;
	need = (long long)((*plen + (1UL << hshift) - 1) >> hshift);
	if (huge_reserve(kb, need, why))
		return NULL;
	len = (size_t)need << hshift;
	if (at)
		flags |= MAP_FIXED_NOREPLACE;
	p = mmap(at, len, PROT_READ | PROT_WRITE,
		 flags | (int)(hshift << MAP_HUGE_SHIFT), -1, 0);
	if (p != MAP_FAILED && at && p != at) {
		munmap(p, len);	/* a kernel that took the address as a hint */
		p = MAP_FAILED;
		errno = EEXIST;
	}
	if (p == MAP_FAILED) {
		snprintf(reason, sizeof(reason), "mmap MAP_HUGETLB %lukB at %p: %s",
			 kb, at, strerror(errno));
		*why = reason;
		return NULL;
	}
	memset(p, 0, len);
	*plen = len;
	return p;
}

void *buf_alloc_huge(size_t *plen, unsigned int shift, const char **why)
{
	return buf_alloc_huge_at(NULL, plen, shift, why);
}

long buf_first_diff(const void *a, const void *b, size_t len)
{
	const uint8_t *x = a, *y = b;
	size_t i;

	for (i = 0; i < len; i++)
		if (x[i] != y[i])
			return (long)i;
	return -1;
}

void buf_free(void *p, size_t len)
{
	size_t ps = sys_page_size();

	if (p)
		munmap(p, (len + ps - 1) & ~(ps - 1));
}

void fill_random(void *p, size_t len, uint64_t *seed)
{
	uint8_t *b = p;
	uint64_t x = *seed ? *seed : 0x9e3779b97f4a7c15ull;
	size_t i;

	for (i = 0; i < len; i++) {
		if ((i & 7) == 0) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		b[i] = (uint8_t)(x >> ((i & 7) * 8));
	}
	*seed = x;
}

uint64_t test_seed(void)
{
	const char *env = getenv("VFIO_TEST_SEED");
	struct timespec ts;

	if (env)
		return strtoull(env, NULL, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^
	       ((uint64_t)getpid() << 32);
}

uint64_t fuzz_args(int argc, char **argv, unsigned long long *count)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0;

	if (!seed)
		seed = test_seed();
	if (argc > 2)
		*count = strtoull(argv[2], NULL, 0);
	printf("# seed %llu\n", (unsigned long long)seed);
	return seed;
}

void fuzz_bad_pages(size_t pg, uint8_t **ro, uint8_t **hole)
{
	*ro = buf_alloc(pg);
	*hole = buf_alloc(2 * pg);
	if (!*ro || !*hole || mprotect(*ro, pg, PROT_READ) ||
	    mprotect(*hole, 2 * pg, PROT_NONE))
		tap_bail("bad pages for the fuzzer");
}

/* ------------------------------------------------------------- VFIO */

long vfio_ioctl(int fd, unsigned long req, void *arg)
{
	long r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

void vfio_dev_init(struct vfio_dev *d)
{
	memset(d, 0, sizeof(*d));
	d->container = d->group = d->device = -1;
}

int vfio_open_container(void)
{
	int fd = open("/dev/vfio/vfio", O_RDWR);
	int r;

	if (fd < 0)
		return -errno;
	r = ioctl(fd, VFIO_GET_API_VERSION);
	if (r != VFIO_API_VERSION) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int vfio_open_group(struct vfio_dev *d, const char *bdf)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];
	int fd;

	d->group_id = pci_iommu_group(bdf);
	if (d->group_id < 0)
		return d->group_id;
	snprintf(path, sizeof(path), "/dev/vfio/%d", d->group_id);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st)) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int vfio_set_iommu(struct vfio_dev *d, int type)
{
	long r = vfio_ioctl(d->container, VFIO_SET_IOMMU, (void *)(long)type);

	if (!r)
		d->iommu_type = type;
	return (int)r;
}

int vfio_get_device(struct vfio_dev *d)
{
	long r = vfio_ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, d->bdf);

	if (r < 0)
		return (int)r;
	d->device = (int)r;
	return 0;
}

int vfio_open(struct vfio_dev *d, const char *bdf, int type, bool with_device)
{
	int r;

	vfio_dev_init(d);
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	r = pci_bind_vfio(bdf);
	if (r)
		return r;
	r = vfio_open_container();
	if (r < 0)
		return r;
	d->container = r;
	r = vfio_open_group(d, bdf);
	if (r < 0)
		return r;
	d->group = r;
	r = (int)vfio_ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container);
	if (r)
		return r;
	if (!type)
		return 0;
	r = vfio_set_iommu(d, type);
	if (r)
		return r;
	if (with_device)
		return vfio_get_device(d);
	return 0;
}

void vfio_close(struct vfio_dev *d)
{
	if (d->bar0)
		munmap((void *)d->bar0, d->bar0_size);
	d->bar0 = NULL;
	if (d->device >= 0)
		close(d->device);
	if (d->group >= 0)
		close(d->group);
	if (d->container >= 0)
		close(d->container);
	d->device = d->group = d->container = -1;
}

static int region_info(struct vfio_dev *d, unsigned int index,
		       struct vfio_region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = index;
	return (int)vfio_ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, ri);
}

int vfio_map_bar0(struct vfio_dev *d)
{
	struct vfio_region_info ri;
	void *p;
	int r;

	if (d->device < 0)
		return -EBADF;
	if (d->bar0)
		return 0;	/* mapped already: one mapping per vfio_dev */
	r = region_info(d, VFIO_PCI_BAR0_REGION_INDEX, &ri);
	if (r)
		return r;
	if (!ri.size)
		return -ENODEV;
	d->bar0_offset = ri.offset;
	d->bar0_size = ri.size;
	if (!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return 0;	/* pread/pwrite path */
	p = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, d->device,
		 (off_t)ri.offset);
	if (p != MAP_FAILED)
		d->bar0 = p;
	return 0;
}

static int cfg_offset(struct vfio_dev *d)
{
	struct vfio_region_info ri;
	int r;

	if (d->cfg_offset)
		return 0;
	r = region_info(d, VFIO_PCI_CONFIG_REGION_INDEX, &ri);
	if (r)
		return r;
	d->cfg_offset = ri.offset;
	return 0;
}

int vfio_cfg_read(struct vfio_dev *d, unsigned int off, void *buf, size_t len)
{
	int r = cfg_offset(d);
	ssize_t n;

	if (r)
		return r;
	n = pread(d->device, buf, len, (off_t)(d->cfg_offset + off));
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

int vfio_cfg_write(struct vfio_dev *d, unsigned int off, const void *buf,
		   size_t len)
{
	int r = cfg_offset(d);
	ssize_t n;

	if (r)
		return r;
	n = pwrite(d->device, buf, len, (off_t)(d->cfg_offset + off));
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

int vfio_enable_bus_master(struct vfio_dev *d)
{
	uint16_t cmd, check;
	int r;

	r = vfio_cfg_read(d, 0x04, &cmd, 2);	/* PCI_COMMAND */
	if (r)
		return r;
	cmd |= 0x2 | 0x4;			/* MEMORY | MASTER */
	r = vfio_cfg_write(d, 0x04, &cmd, 2);
	if (r)
		return r;
	r = vfio_cfg_read(d, 0x04, &check, 2);
	if (r)
		return r;
	return (check & 0x4) ? 0 : -EIO;
}

long spapr_get_info(int c, struct vfio_iommu_spapr_tce_info *info,
		    uint32_t argsz)
{
	info->argsz = argsz;
	return vfio_ioctl(c, VFIO_IOMMU_SPAPR_TCE_GET_INFO, info);
}

long spapr_register(int c, const void *vaddr, uint64_t size)
{
	struct vfio_iommu_spapr_register_memory r = {
		.argsz = sizeof(r),
		.vaddr = (uintptr_t)vaddr,
		.size = size,
	};

	return vfio_ioctl(c, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, &r);
}

long spapr_unregister(int c, const void *vaddr, uint64_t size)
{
	struct vfio_iommu_spapr_register_memory r = {
		.argsz = sizeof(r),
		.vaddr = (uintptr_t)vaddr,
		.size = size,
	};

	return vfio_ioctl(c, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, &r);
}

long spapr_create(int c, uint32_t page_shift, uint64_t window_size,
		  uint32_t levels, uint64_t *start_addr)
{
	struct vfio_iommu_spapr_tce_create cr = {
		.argsz = sizeof(cr),
		.page_shift = page_shift,
		.window_size = window_size,
		.levels = levels,
		.start_addr = ~0ull,
	};
	long r = vfio_ioctl(c, VFIO_IOMMU_SPAPR_TCE_CREATE, &cr);

	if (start_addr)
		*start_addr = cr.start_addr;
	return r;
}

long spapr_remove(int c, uint64_t start_addr)
{
	struct vfio_iommu_spapr_tce_remove rm = {
		.argsz = sizeof(rm),
		.start_addr = start_addr,
	};

	return vfio_ioctl(c, VFIO_IOMMU_SPAPR_TCE_REMOVE, &rm);
}

int pe_dt_node(const char *bdf, char *out, size_t len)
{
	char path[PATH_MAX], real[PATH_MAX], probe[PATH_MAX + 32];
	char *slash;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/of_node", bdf);
	if (!realpath(path, real))
		return -errno;
	for (;;) {
		snprintf(probe, sizeof(probe), "%s/ibm,dma-window", real);
		if (!access(probe, F_OK)) {
			snprintf(out, len, "%s", real);
			return 0;
		}
		slash = strrchr(real, '/');
		if (!slash || !strcmp(slash, "/base") || slash == real)
			return -ENOENT;
		*slash = 0;
	}
}

bool dt_has(const char *node, const char *prop)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", node, prop);
	return !access(path, F_OK);
}

const char *host_ddw_kind(const char *bdf)
{
	char node[PATH_MAX];

	if (pe_dt_node(bdf, node, sizeof(node)))
		return "no PE node";
	if (dt_has(node, HOST_DIRECT_DDW))
		return "direct";
	if (dt_has(node, HOST_DYNAMIC_DDW))
		return "dynamic";
	return "none";
}

long spapr_remove_default(int c)
{
	struct vfio_iommu_spapr_tce_info info;
	long r = spapr_get_info(c, &info, sizeof(info));

	return r ? r : spapr_remove(c, info.dma32_window_start);
}

long dma_map(int c, const void *vaddr, uint64_t iova, uint64_t size,
	     uint32_t flags)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = flags,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return vfio_ioctl(c, VFIO_IOMMU_MAP_DMA, &m);
}

long dma_unmap(int c, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u),
		.iova = iova,
		.size = size,
	};

	return vfio_ioctl(c, VFIO_IOMMU_UNMAP_DMA, &u);
}

long iommu_enable(int c)
{
	return vfio_ioctl(c, VFIO_IOMMU_ENABLE, NULL);
}

long iommu_disable(int c)
{
	return vfio_ioctl(c, VFIO_IOMMU_DISABLE, NULL);
}

/* ------------------------------------------------------------- edu */

static inline void mmio_sync(void)
{
	__asm__ __volatile__("sync" ::: "memory");
}

uint32_t edu_rd32(struct edu *e, unsigned int off)
{
	uint32_t v = 0;

	if (e->d->bar0) {
		v = *(volatile uint32_t *)(e->d->bar0 + off);
		mmio_sync();
	} else if (pread(e->d->device, &v, 4,
			 (off_t)(e->d->bar0_offset + off)) != 4) {
		v = ~0u;
	}
	return e->swap ? __builtin_bswap32(v) : v;
}

static uint64_t edu_rd64(struct edu *e, unsigned int off)
{
	uint64_t v = 0;

	if (e->d->bar0) {
		v = *(volatile uint64_t *)(e->d->bar0 + off);
		mmio_sync();
	} else if (pread(e->d->device, &v, 8,
			 (off_t)(e->d->bar0_offset + off)) != 8) {
		v = ~0ull;
	}
	return e->swap ? __builtin_bswap64(v) : v;
}

/* A 4- or 8-byte register write (byte order of e->swap) */
static void edu_wr(struct edu *e, unsigned int off, uint64_t v, size_t size)
{
	uint32_t v32 = (uint32_t)v;
	const void *p = size == 4 ? (const void *)&v32 : (const void *)&v;

	if (e->swap) {
		v = __builtin_bswap64(v);
		v32 = __builtin_bswap32(v32);
	}
	mmio_sync();
	if (e->d->bar0 && size == 4)
		*(volatile uint32_t *)(e->d->bar0 + off) = v32;
	else if (e->d->bar0)
		*(volatile uint64_t *)(e->d->bar0 + off) = v;
	else if (pwrite(e->d->device, p, size,
			(off_t)(e->d->bar0_offset + off)) != (ssize_t)size)
		tap_diag("edu: pwrite at 0x%x failed: %s", off,
			 strerror(errno));
	mmio_sync();
}

void edu_wr32(struct edu *e, unsigned int off, uint32_t v)
{
	edu_wr(e, off, v, 4);
}

static void edu_wr64(struct edu *e, unsigned int off, uint64_t v)
{
	edu_wr(e, off, v, 8);
}

int edu_init(struct edu *e, struct vfio_dev *d)
{
	uint32_t id;
	int r;

	e->d = d;
	e->swap = false;
	r = vfio_map_bar0(d);
	if (r)
		return r;
	id = edu_rd32(e, EDU_REG_IDENT);
	if (id == EDU_IDENT) {
		e->swap = false;
	} else if (id == __builtin_bswap32(EDU_IDENT)) {
		e->swap = true;
	} else {
		tap_diag("edu: unexpected ident 0x%08x", id);
		return -ENODEV;
	}
	return vfio_enable_bus_master(d);
}

static int edu_wait_idle(struct edu *e)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		uint64_t cmd = edu_rd64(e, EDU_REG_DMA_CMD);

		if (cmd == ~0ull)
			return -EIO;	/* device gone / frozen */
		if (!(cmd & EDU_DMA_START))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 20)
			return -ETIMEDOUT;
		usleep(2000);
	}
}

int edu_dma(struct edu *e, uint64_t iova, uint32_t buf_off, uint32_t len,
	    bool to_ram)
{
	uint64_t ebuf = EDU_BUF_OFF + buf_off;
	int r;

	/* QEMU aborts on out-of-buffer transfers: never send one */
	if (!len || len > EDU_DMA_MAX || buf_off + len > EDU_DMA_MAX)
		return -EINVAL;
	r = edu_wait_idle(e);
	if (r)
		return r;
	edu_wr64(e, EDU_REG_DMA_SRC, to_ram ? ebuf : iova);
	edu_wr64(e, EDU_REG_DMA_DST, to_ram ? iova : ebuf);
	edu_wr64(e, EDU_REG_DMA_CNT, len);
	edu_wr64(e, EDU_REG_DMA_CMD,
		 EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0));
	r = edu_wait_idle(e);
	mmio_sync();
	return r;
}

int edu_copy(struct edu *e, uint64_t src_iova, uint64_t dst_iova, size_t len)
{
	size_t off;
	int r;

	for (off = 0; off < len; off += EDU_DMA_MAX) {
		uint32_t n = (uint32_t)(len - off < EDU_DMA_MAX ?
					len - off : EDU_DMA_MAX);

		r = edu_dma(e, src_iova + off, 0, n, false);
		if (r)
			return r;
		r = edu_dma(e, dst_iova + off, 0, n, true);
		if (r)
			return r;
	}
	return 0;
}

int edu_copy_check(struct edu *e, uint8_t *src, uint64_t src_iova,
		   uint8_t *dst, uint64_t dst_iova, size_t len, uint64_t *s)
{
	long diff;
	int r;

	fill_random(src, len, s);
	fill_random(dst, len, s);
	r = edu_copy(e, src_iova, dst_iova, len);
	if (r)
		return r;
	diff = buf_first_diff(src, dst, len);
	if (diff >= 0) {
		tap_diag("  %s: first difference at 0x%lx", e->d->bdf, diff);
		return -EIO;
	}
	return 0;
}

/* ------------------------------------------- added for test_nvme/multi */

int pci_release_driver(const char *bdf)
{
	char path[256];
	int r = pci_unbind(bdf);

	if (r)
		return r;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
		 bdf);
	return write_file(path, "\n");
}

int wait_path(const char *path, unsigned int timeout_ms)
{
	unsigned int waited = 0;

	while (access(path, F_OK)) {
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		usleep(20000);
		waited += 20;
	}
	return 0;
}

const char *pairing_name(void)
{
	static char name[32];

	snprintf(name, sizeof(name), "%s-%s",
		 backend_is_ours() == 1 ? "ours" : "intree",
		 platform_is_ours() ? "ours" : "intree");
	return name;
}

int vfio_open_sibling(struct vfio_dev *d2, const struct vfio_dev *d1,
		      const char *bdf)
{
	long r;

	vfio_dev_init(d2);
	snprintf(d2->bdf, sizeof(d2->bdf), "%s", bdf);
	d2->group_id = d1->group_id;
	d2->iommu_type = d1->iommu_type;
	r = pci_bind_vfio(bdf);
	if (r)
		return (int)r;
	r = vfio_ioctl(d1->group, VFIO_GROUP_GET_DEVICE_FD, d2->bdf);
	if (r < 0)
		return (int)r;
	d2->device = (int)r;
	return 0;
}

/* ---------------------------------------------------------- interrupts */

long vfio_irq_count(struct vfio_dev *d, unsigned int index, uint32_t *flags)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = index };
	long r = vfio_ioctl(d->device, VFIO_DEVICE_GET_IRQ_INFO, &info);

	if (r < 0)
		return r;
	if (flags)
		*flags = info.flags;
	return info.count;
}

static long set_irqs(struct vfio_dev *d, uint32_t flags, unsigned int index,
		     unsigned int start, unsigned int count, const int *fds)
{
	size_t len = sizeof(struct vfio_irq_set) + count * sizeof(int32_t);
	struct vfio_irq_set *s = calloc(1, len);
	long r;

	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)len;
	s->flags = flags;
	s->index = index;
	s->start = start;
	s->count = count;
	if (count && fds)
		memcpy(s->data, fds, count * sizeof(int32_t));
	r = vfio_ioctl(d->device, VFIO_DEVICE_SET_IRQS, s);
	free(s);
	return r;
}

long vfio_irq_set_eventfds(struct vfio_dev *d, unsigned int index,
			   unsigned int start, unsigned int count,
			   const int *fds)
{
	if (!count)
		return set_irqs(d, VFIO_IRQ_SET_DATA_NONE |
				VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, 0, NULL);
	return set_irqs(d, VFIO_IRQ_SET_DATA_EVENTFD |
			VFIO_IRQ_SET_ACTION_TRIGGER, index, start, count, fds);
}

long vfio_irq_unmask(struct vfio_dev *d, unsigned int index)
{
	return set_irqs(d, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
			index, 0, 1, NULL);
}

int efd_new(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

long long efd_wait(int fd, unsigned int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;
	int r;

	do {
		r = poll(&p, 1, (int)timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (!r)
		return 0;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return errno == EAGAIN ? 0 : -errno;
	return (long long)v;
}

/* -------------------------------------------- reliability test helpers */

void tap_figure(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("# figure: %s ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

uint64_t xrand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

uint64_t xrand_below(uint64_t *s, uint64_t n)
{
	return n ? xrand(s) % n : 0;
}

/*
 * The 6.12 in-tree backend declares MODULE_VERSION("0.1"); ours, out of
 * tree or built from patches/, declares none.
 */
int backend_is_ours(void)
{
	char buf[64] = "";

	if (access("/sys/module/vfio_iommu_spapr_tce", F_OK))
		return -ENOENT;
	if (read_file("/sys/module/vfio_iommu_spapr_tce/version", buf,
		      sizeof(buf)) < 0)
		return 1;
	return strncmp(buf, "0.1", 3) ? 1 : 0;
}

/* Our platform ops: the module, or built in from patches/ (its debugfs) */
bool platform_is_ours(void)
{
	return !access("/sys/module/pseries_tce_ddw", F_OK) ||
	       !access("/sys/kernel/debug/pseries_tce_ddw", F_OK);
}

int edu_fresh_dma(const char *bdf, int type)
{
	const size_t len = 2 * 0x10000;
	struct vfio_iommu_spapr_tce_info info;
	struct vfio_dev d;
	struct edu e;
	uint64_t seed = 0x1234567 ^ (uint64_t)getpid();
	uint8_t *buf = buf_alloc(len);
	int r;

	if (!buf)
		return -ENOMEM;
	r = vfio_open(&d, bdf, type, true);
	if (!r)
		r = (int)spapr_get_info(d.container, &info, sizeof(info));
	if (!r)
		r = (int)(type == VFIO_SPAPR_TCE_IOMMU ?
			  iommu_enable(d.container) :
			  spapr_register(d.container, buf, len));
	if (!r)
		r = (int)dma_map(d.container, buf, info.dma32_window_start,
				 len, DMA_RW);
	if (!r)
		r = edu_init(&e, &d);
	if (!r) {
		fill_random(buf, 4096, &seed);
		memset(buf + len / 2, 0x5a, 4096);
		r = edu_copy(&e, info.dma32_window_start,
			     info.dma32_window_start + len / 2, 4096);
		if (!r && memcmp(buf, buf + len / 2, 4096))
			r = -EIO;
	}
	vfio_close(&d);
	buf_free(buf, len);
	return r;
}

#define KMEMLEAK "/sys/kernel/debug/kmemleak"

int kmemleak_clear(void)
{
	if (access("/sys/kernel/debug/tracing", F_OK) &&
	    access(KMEMLEAK, F_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	if (access(KMEMLEAK, F_OK))
		return -ENOENT;
	return write_file(KMEMLEAK, "clear");
}

int kmemleak_scan(int max_lines)
{
	char line[512];
	int n = 0, lines = 0, r;
	FILE *f;

	if (access(KMEMLEAK, F_OK))
		return -ENOENT;
	/* objects younger than 5s are never reported */
	sleep(6);
	r = write_file(KMEMLEAK, "scan");
	if (r)
		return r;
	sleep(1);
	r = write_file(KMEMLEAK, "scan");
	if (r)
		return r;
	f = fopen(KMEMLEAK, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "unreferenced object"))
			n++;
		if (lines++ < max_lines)
			printf("#   kmemleak: %s", line);
	}
	fclose(f);
	return n;
}

/* ---------------------------------------------------- fault injection */

/* fail-nth counts down from here while the sites are counted */
#define FAIL_NTH_COUNT_FROM	1000000u

static int fail_nth_set(unsigned int n)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", n);
	return write_file(FAIL_NTH, s);
}

long fail_nth_call(long (*op)(void *arg), void *arg, unsigned int n,
		   long long *sites)
{
	long long left;
	long r;

	if (fail_nth_set(n ? n : FAIL_NTH_COUNT_FROM))
		tap_bail("writing %s", FAIL_NTH);
	r = op(arg);
	left = read_ll(FAIL_NTH);
	fail_nth_set(0);
	*sites = n ? left == 0 : FAIL_NTH_COUNT_FROM - left;
	return r;
}

unsigned int fail_nth_pick(long long sites, unsigned int *pick,
			   uint64_t *seed)
{
	unsigned int n = 0, i;

	for (i = 1; i <= sites && i <= FAIL_NTH_EDGE; i++)
		pick[n++] = i;
	for (i = 0; sites > 2 * FAIL_NTH_EDGE && i < FAIL_NTH_MIDDLE; i++)
		pick[n++] = FAIL_NTH_EDGE + 1 +
			    xrand_below(seed, sites - 2 * FAIL_NTH_EDGE);
	for (i = FAIL_NTH_EDGE; i > 0; i--)
		if (sites - i + 1 > FAIL_NTH_EDGE)
			pick[n++] = sites - i + 1;
	return n;
}
