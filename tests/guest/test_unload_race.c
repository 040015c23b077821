// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unload the platform module while a VFIO user calls into its table group
 * ops. The callers of those ops (the IOMMU core, the VFIO backends) hold
 * no reference on the module: only a PE the module owns and a window it
 * made do. For the whole run:
 *  - a user process on CPU 0 takes and releases the edu's PE (SET_CONTAINER,
 *    UNSET_CONTAINER), every fourth time with a 64-bit window, a mapping
 *    and an unmapping between, and waits up to 200 ms before the next time;
 *  - a SCHED_FIFO process on CPU 0 wakes every few milliseconds and spins
 *    for as long, so the user is preempted anywhere, also in the
 *    module's code where it holds no reference;
 *  - this process on CPU 1 unloads the module (refused while the PE is
 *    owned) and loads it again, as fast as it can;
 * until the module, loaded when the user did not own the PE (else it
 * leaves the PE alone), managed it MIN_UNLOADS times and the user made
 * MIN_CYCLES cycles, or the time is up.
 * The kernel must not oops, report a use after free or warn (the log is
 * judged on the host); the user's calls fail at most with the errors of a
 * module coming and going, and the user is not killed.
 *
 * Usage: test_unload_race [max-seconds [edu-bdf]]
 */
#define _GNU_SOURCE
#include "vfio_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MODULE_NAME	"pseries_tce_ddw"
#define MODULE_PATH	"/ours/pseries_tce_ddw.ko"
#define SZ_64K		0x10000ull
#define SZ_1G		0x40000000ull
#define USER_CPU	0
#define UNLOAD_CPU	1
#define MIN_UNLOADS	10
#define MIN_CYCLES	30

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		tap_diag("cannot pin to CPU %d: %s", cpu, strerror(errno));
}

static bool module_loaded(void)
{
	return !access("/sys/module/" MODULE_NAME, F_OK);
}

static int module_unload(void)
{
	return syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK) ? -errno : 0;
}

static int module_load(void)
{
	int fd = open(MODULE_PATH, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	r = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return r;
}

/* Errors a user may see while the platform ops change under it */
static bool user_error_expected(long r)
{
	return r == -ENODEV || r == -EPERM || r == -EBUSY || r == -EINVAL ||
	       r == -ENOSPC;
}

/* One take and release of the PE; with @window, a mapping between */
static long user_cycle(struct vfio_dev *d, void *buf, bool window)
{
	uint64_t start;
	long r;

	r = vfio_ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container);
	if (r)
		return r;
	r = vfio_set_iommu(d, VFIO_SPAPR_TCE_v2_IOMMU);
	if (!r && window) {
		r = spapr_register(d->container, buf, SZ_64K);
		if (!r)
			r = spapr_create(d->container, 16, SZ_1G, 1, &start);
		if (!r)
			r = dma_map(d->container, buf, start, SZ_64K, DMA_RW);
		if (!r)
			r = dma_unmap(d->container, start, SZ_64K);
	}
	vfio_ioctl(d->group, VFIO_GROUP_UNSET_CONTAINER, NULL);
	return r;
}

/* Shared by this process and the user */
struct progress {
	volatile unsigned long cycles;
	volatile int stop;
};

/* The user: exit status 0, or 1 after an error no module change explains */
static int user_run(const char *bdf, struct progress *p)
{
	void *buf = buf_alloc(SZ_64K);
	unsigned long failed = 0;
	uint64_t seed = test_seed();
	struct vfio_dev d;
	long r;

	pin_to(USER_CPU);
	r = vfio_open(&d, bdf, 0, false);
	if (!r)
		r = vfio_ioctl(d.group, VFIO_GROUP_UNSET_CONTAINER, NULL);
	if (r || !buf) {
		printf("# user: set-up: %s\n", rc_str(r));
		return 1;
	}
	for (; !p->stop; p->cycles++) {
		r = user_cycle(&d, buf, p->cycles % 4 == 3);
		if (r && !user_error_expected(r)) {
			printf("# user: cycle %lu: %s\n", p->cycles, rc_str(r));
			return 1;
		}
		failed += !!r;
		/*
		 * A while without the PE, about as long as with it: the
		 * module may go, and a module loaded now manages the PE
		 */
		usleep(xrand_below(&seed, 200000));
	}
	vfio_close(&d);
	printf("# user: %lu cycles, %lu failed as the module came or went\n",
	       p->cycles, failed);
	return 0;
}

/* Wake every 1-5 ms and spin 1-5 ms, above the user on its CPU */
static void hog_run(void)
{
	struct sched_param sp = { .sched_priority = 1 };
	uint64_t seed = test_seed();
	struct timespec nap;
	double end;

	pin_to(USER_CPU);
	if (sched_setscheduler(0, SCHED_FIFO, &sp))
		printf("# hog: no SCHED_FIFO: %s\n", strerror(errno));
	for (;;) {
		nap.tv_sec = 0;
		nap.tv_nsec = (1 + xrand_below(&seed, 5)) * 1000000L;
		nanosleep(&nap, NULL);
		end = now() + (1 + xrand_below(&seed, 5)) / 1000.0;
		while (now() < end)
			;
	}
}

static pid_t spawn_user(const char *bdf, struct progress *p)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(user_run(bdf, p));
	return pid;
}

static pid_t spawn_hog(void)
{
	pid_t pid = fork();

	if (pid == 0)
		hog_run();
	return pid;
}

/* Enough of both, or out of time */
static bool done(const struct progress *p, unsigned long managed, double until)
{
	return (managed >= MIN_UNLOADS && p->cycles >= MIN_CYCLES) ||
	       now() >= until;
}

int main(int argc, char **argv)
{
	unsigned long unloads = 0, refused = 0, managed = 0;
	double seconds = 60, until;
	int r = 0, status = 0;
	bool user_gone = false;
	struct progress *p;
	pid_t user, hog;
	char bdf[32];

	tap_init("test_unload_race");
	if (argc > 1)
		seconds = atof(argv[1]);
	if (pci_pick_device(argc - 1, argv + 1, bdf, sizeof(bdf)))
		tap_bail("no edu device");
	if (!module_loaded() || access(MODULE_PATH, R_OK))
		tap_skip_all("needs our platform module loaded from %s",
			     MODULE_PATH);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		tap_skip_all("needs two CPUs");

	p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	until = now() + seconds;
	user = spawn_user(bdf, p);
	hog = spawn_hog();
	pin_to(UNLOAD_CPU);
	while (!done(p, managed, until) && !r) {
		user_gone = waitpid(user, &status, WNOHANG) == user;
		if (user_gone)
			break;
		r = module_unload();
		if (r == -EAGAIN || r == -EBUSY) {
			refused++;
			r = 0;
			continue;
		}
		if (!r) {
			unloads++;
			r = module_load();
		}
		/* Loaded while the user had the PE: the PE keeps its ops */
		if (!r && ddw_debugfs_mapped(bdf) >= 0)
			managed++;
	}
	tap_rc(r, 0, "unload and load again: %lu unloads, %lu refused",
	       unloads, refused);

	p->stop = 1;
	kill(hog, SIGKILL);
	waitpid(hog, NULL, 0);
	if (!user_gone)
		waitpid(user, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "the user ran through (%s %d)",
	       WIFEXITED(status) ? "exit" : "signal",
	       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	/* A loaded host may not reach the MIN_ counts in time: some will do */
	tap_ok(managed && p->cycles,
	       "the module managed the PE %lu times while the user ran %lu cycles (%d and %d wanted, in %.0f s at most)",
	       managed, p->cycles, MIN_UNLOADS, MIN_CYCLES, seconds);
	if (!module_loaded())
		tap_rc(module_load(), 0, "the module loads at the end");
	tap_rc(edu_fresh_dma(bdf, VFIO_SPAPR_TCE_v2_IOMMU), 0,
	       "the edu does DMA after");
	pci_rebind(bdf, NULL);
	return tap_done();
}
