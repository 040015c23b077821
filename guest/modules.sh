# SPDX-License-Identifier: GPL-2.0-only
# Module pairings in the guest. Sourced by run-jobs.
# A pairing is BACKEND-PLATFORM, each "ours" or "intree":
#   ours-ours     our backend over our platform ops
#   ours-intree   our backend over the in-tree pSeries ops
#   intree-ours   the in-tree backend over our platform ops
#   intree-intree the in-tree baseline
# "none" loads only vfio and vfio-pci.

KVER=$(uname -r)
MODDIR=/lib/modules/$KVER
OURS=/ours
INTREE_BACKEND=/intree/vfio_iommu_spapr_tce.ko

load_base() {
	grep -q '^vfio_pci ' /proc/modules && return 0
	modprobe vfio_pci || return 1
}

load_pairing() {
	backend=${1%-*}
	platform=${1#*-}
	load_base || return 1
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

unload_pairing() {
	unload_rc=0
	if grep -q '^vfio_iommu_spapr_tce ' /proc/modules; then
		rmmod vfio_iommu_spapr_tce || unload_rc=1
	fi
	if grep -q '^pseries_tce_ddw ' /proc/modules; then
		rmmod pseries_tce_ddw || unload_rc=1
	fi
	return $unload_rc
}
