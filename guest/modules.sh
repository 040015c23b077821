# SPDX-License-Identifier: GPL-2.0-only
# Module pairings in the guest. Sourced by run-jobs and guest/tests/install.
# A pairing is BACKEND-PLATFORM, each "ours" or "intree":
#   ours-ours     our backend over our platform ops
#   ours-intree   our backend over the in-tree pSeries ops
#   intree-ours   the in-tree backend over our platform ops
#   intree-intree the in-tree baseline
# "none" loads only vfio and vfio-pci.
# "installed" is ours-ours as an operator gets it: the modules of "make
# install INSTALL_MOD_PATH=/staging" (staged when the initramfs was packed)
# copied to /lib/modules/KVER/updates, depmod, modprobe; unloaded with
# modprobe -r, the files removed again.

KVER=$(uname -r)
MODDIR=/lib/modules/$KVER
OURS=/ours
INTREE_BACKEND=/intree/vfio_iommu_spapr_tce.ko
STAGED=/staging/lib/modules/$KVER/updates

loaded() {
	grep -q "^$1 " /proc/modules
}

# tainted by an out-of-tree module: ours (the in-tree one is not)
ours_loaded() {
	loaded "$1" && grep -q O "/sys/module/$1/taint"
}

# Our staged modules into updates/, then depmod
install_ours() {
	test -f "$STAGED/vfio_iommu_spapr_tce.ko" -a \
		-f "$STAGED/pseries_tce_ddw.ko" || return 1
	mkdir -p "$MODDIR/updates"
	cp -r "$STAGED/." "$MODDIR/updates/" && depmod
}

# Load the installed modules by name. busybox modprobe ignores the softdep
# of vfio_iommu_spapr_tce on pseries_tce_ddw: the platform module first, by
# hand, as docs/operator.md says.
modprobe_ours() {
	modprobe pseries_tce_ddw && modprobe vfio_iommu_spapr_tce &&
		ours_loaded pseries_tce_ddw && ours_loaded vfio_iommu_spapr_tce
}

# Unload what modprobe loaded (its softdep included), by name
modprobe_r_ours() {
	loaded vfio_iommu_spapr_tce && modprobe -r vfio_iommu_spapr_tce
	loaded pseries_tce_ddw && modprobe -r pseries_tce_ddw
	! loaded vfio_iommu_spapr_tce && ! loaded pseries_tce_ddw
}

# Remove what install_ours (and guest/tests/install) put in MODDIR, depmod
uninstall_ours() {
	rm -rf "$MODDIR/updates" "$MODDIR/kernel/drivers/vfio/vfio_iommu_spapr_tce.ko"
	depmod
}

load_base() {
	grep -q '^vfio_pci ' /proc/modules && return 0
	modprobe vfio_pci || return 1
}

load_installed() {
	install_ours || { echo "# installing $STAGED failed"; return 1; }
	modprobe_ours || { echo "# modprobe of the installed modules failed or loaded others than ours"; return 1; }
	echo "# installed: $(grep -h 'vfio_iommu_spapr_tce.ko:\|pseries_tce_ddw.ko:' "$MODDIR/modules.dep" | cut -d: -f1 | tr '\n' ' ')taint $(cat /sys/module/vfio_iommu_spapr_tce/taint) $(cat /sys/module/pseries_tce_ddw/taint)"
}

load_pairing() {
	load_base || return 1
	if [ "$1" = installed ]; then
		load_installed
		return
	fi
	backend=${1%-*}
	platform=${1#*-}
	case $platform in
	ours) insmod $OURS/pseries_tce_ddw.ko || return 1 ;;
	intree|none) ;;
	*) echo "unknown platform $platform"; return 1 ;;
	esac
	case $backend in
	ours) insmod $OURS/vfio_iommu_spapr_tce.ko || return 1 ;;
	intree) insmod $INTREE_BACKEND || return 1 ;;
	none) ;;
	*) echo "unknown backend $backend"; return 1 ;;
	esac
}

unload_installed() {
	unload_rc=0
	modprobe_r_ours || unload_rc=1
	uninstall_ours
	grep -q 'vfio_iommu_spapr_tce\|pseries_tce_ddw' "$MODDIR/modules.dep" &&
		unload_rc=1
	return $unload_rc
}

# unload_pairing PAIRING
unload_pairing() {
	[ "$1" = installed ] && { unload_installed; return; }
	unload_rc=0
	if loaded vfio_iommu_spapr_tce; then
		rmmod vfio_iommu_spapr_tce || unload_rc=1
	fi
	if loaded pseries_tce_ddw; then
		rmmod pseries_tce_ddw || unload_rc=1
	fi
	return $unload_rc
}
