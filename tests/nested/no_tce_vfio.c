// SPDX-License-Identifier: GPL-2.0-only
/*
 * LD_PRELOAD shim for L1's QEMU in the nested "noaccel" jobs (issue 15):
 * L1's KVM looks like one without in-kernel TCE acceleration for VFIO.
 *
 * KVM_CHECK_EXTENSION(KVM_CAP_SPAPR_TCE_VFIO) answers 0: QEMU keeps the
 * TCE table of every window with a VFIO device in user space
 * (spapr_tce_set_need_vfio() finds no capability), so each H_PUT_TCE,
 * H_PUT_TCE_INDIRECT and H_STUFF_TCE of L2 exits to QEMU, which maps and
 * unmaps through VFIO_IOMMU_MAP_DMA and VFIO_IOMMU_UNMAP_DMA.
 *
 * KVM_CREATE_DEVICE(KVM_DEV_TYPE_VFIO) fails with ENODEV, as without
 * CONFIG_KVM_VFIO: QEMU says so and goes on without the KVM VFIO device,
 * which on Book3S only carries the TCE tables' attachment. With the
 * device, KVM (6.12 and 7.3.4) WARNs in kvm_spapr_tce_release_vfio_group()
 * when QEMU exits, for a group that was added but never attached to a
 * TCE table (README, "Nested").
 *
 * QEMU has no option for either. Every other ioctl goes to the kernel
 * unchanged.
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kvm.h>

static int is_vfio_device_creation(unsigned int cmd, unsigned long arg)
{
	const struct kvm_create_device *cd = (const void *)arg;

	return cmd == KVM_CREATE_DEVICE && cd && cd->type == KVM_DEV_TYPE_VFIO;
}

int ioctl(int fd, unsigned long request, ...)
{
	/* the kernel's cmd is 32 bits; QEMU passes it as an int, sign-extended */
	unsigned int cmd = request;
	unsigned long arg;
	va_list ap;

	va_start(ap, request);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (cmd == KVM_CHECK_EXTENSION && arg == KVM_CAP_SPAPR_TCE_VFIO)
		return 0;
	if (is_vfio_device_creation(cmd, arg)) {
		errno = ENODEV;
		return -1;
	}
	return syscall(SYS_ioctl, fd, request, arg);
}
