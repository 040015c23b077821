# SPDX-License-Identifier: GPL-2.0-only
# Common settings for the test bench scripts. Sourced, not run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Kernel sources and builds live outside the clone, so that a fresh clone
# (CI's) on the same machine finds them warm; each build is keyed by what
# goes into it (scripts/kernel.sh) and rebuilt when that changes.
CACHE=${CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pseries-vfio-bench}
OUT=${OUT:-$ROOT/out}
KSRC=$CACHE/linux-source-6.12
KSRC_TARBALL=/usr/src/linux-source-6.12.tar.xz
CROSS=powerpc64le-linux-gnu-
KMAKE_ARGS=(ARCH=powerpc CROSS_COMPILE=$CROSS)
JOBS=${JOBS:-$(($(nproc) + 1))}
# QEMU trace events that show every H_STUFF_TCE and H_PUT_TCE_INDIRECT the
# guest made, with their counts, and the page size of each DDW (created,
# removed, reset): what scripts/check-papr-trace.py needs, and nothing per
# TCE (H_PUT_TCE, H_GET_TCE), which a guest suite makes hundreds of
# thousands of.
PAPR_TRACE_EVENTS="spapr_iommu_stuff spapr_iommu_pci_stuff spapr_iommu_indirect spapr_iommu_pci_indirect spapr_iommu_ddw_create spapr_iommu_ddw_remove spapr_iommu_ddw_reset"

# step NAME: print a progress line a person can follow.
step() {
	printf '==> [%s] %s\n' "$(date +%H:%M:%S)" "$*"
}

# die MSG: say which step failed and stop.
die() {
	printf 'FAILED: %s\n' "$*" >&2
	exit 1
}

# kbuild_dir VARIANT: where the kernel of that variant is built. The series
# kernel's is named after the kernel the series targets; series-compat is
# that kernel with IOMMUFD's VFIO container instead of VFIO's
# (scripts/patches.sh compat).
kbuild_dir() {
	case $1 in
	series) echo "$CACHE/build-series-$SERIES_KERNEL" ;;
	series-compat) echo "$CACHE/build-series-compat-$SERIES_KERNEL" ;;
	*) echo "$CACHE/build-$1" ;;
	esac
}

# Kernels: Debian's linux-source-6.12 (the base of Debian 13, RHEL 10,
# SLES 16; installed by setup.sh) and linux-source-7.3 (the newest stable,
# from trixie-backports, downloaded by setup.sh into the cache without
# touching the machine's apt configuration). A variant is FLAVOUR for the
# 6.12 kernel or FLAVOUR-VERSION: plain, debug, plain-7.3, debug-7.3.
DEFAULT_KERNEL=6.12
KERNELS=(6.12 7.3)
# The patch series (variant series, scripts/patches.sh) targets the newest.
SERIES_KERNEL=7.3

# variant_kernel VARIANT: the kernel version of a variant.
variant_kernel() {
	case $1 in
	series | series-*) echo "$SERIES_KERNEL" ;;
	*-*) echo "${1#*-}" ;;
	*) echo "$DEFAULT_KERNEL" ;;
	esac
}

# variant_flavour VARIANT: plain, debug or series.
variant_flavour() {
	echo "${1%%-*}"
}

# ksrc_dir VERSION: the extracted source of that kernel.
ksrc_dir() {
	echo "$CACHE/linux-source-$1"
}

# A sparse new enough for 7.x kernels, built by setup.sh
NEW_SPARSE=$CACHE/tools/sparse

# sparse_for VERSION: Debian's sparse, or the newer one set-up built when
# that kernel's scripts/checker-valid.sh refuses it (7.x)
sparse_for() {
	local check
	check=$(ksrc_dir "$1")/scripts/checker-valid.sh
	if [ ! -f "$check" ] ||
	   [ "$(sh "$check" sparse --arch=powerpc -mlittle-endian -m64 2>/dev/null)" = 1 ]; then
		echo sparse
	else
		echo "$NEW_SPARSE"
	fi
}

# kernel_deb VERSION: the downloaded linux-source package of a kernel that
# is not installed with apt (empty if there is none).
kernel_deb() {
	find "$CACHE/debs" -maxdepth 1 -name "linux-source-$1_*_all.deb" 2>/dev/null | sort | tail -1
}

# kernel_installed VERSION: linux-source-VERSION is installed with apt.
kernel_installed() {
	dpkg-query -W -f='${Status}' "linux-source-$1" 2>/dev/null | grep -q 'ok installed'
}

# kernel_pkg_version VERSION: the version of the linux-source-VERSION
# package, installed with apt (6.12) or downloaded by setup.sh (7.3).
kernel_pkg_version() {
	local deb
	if kernel_installed "$1"; then
		dpkg-query -W -f='${Version}' "linux-source-$1"
		return
	fi
	deb=$(kernel_deb "$1")
	[ -n "$deb" ] || die "linux-source-$1 is neither installed nor downloaded (run scripts/setup.sh)"
	dpkg-deb -f "$deb" Version
}

# root_dir NAME: the unpacked ppc64el packages of config/roots/NAME
# (scripts/ppc64el-root.sh).
root_dir() {
	echo "$CACHE/roots/$1"
}

# DPDK in the guest (guest/tests/dpdk, tests/jobs.dpdk): testpmd and the
# PMDs of the NICs QEMU offers on a spapr PHB, packed with their libraries
# by scripts/root-cpio.sh from the root of config/roots/dpdk.
DPDK_PMDS=usr/lib/powerpc64le-linux-gnu/dpdk/pmds-23.0
DPDK_FILES=(usr/bin/dpdk-testpmd "$DPDK_PMDS"/librte_bus_pci.so.23.0
	    "$DPDK_PMDS"/librte_mempool_ring.so.23.0
	    "$DPDK_PMDS"/librte_net_e1000.so.23.0 "$DPDK_PMDS"/librte_net_virtio.so.23.0)

# dpdk_nics ARRAY: set ARRAY to the QEMU arguments of the NICs the DPDK
# jobs drive, each on its own PHB: 0006:00:00.0 e1000, 0007:00:00.0
# e1000e, 0008:00:00.0 virtio-net (modern only, behind the IOMMU). Each NIC
# sends to a UDP socket of its own and receives from it, so every packet
# it sends comes back to it; the ports are free ones, so that boots on the
# same machine do not hear each other. romfile= because a spapr PHB has no
# use for the option ROM QEMU would otherwise insist on loading.
dpdk_nics() {
	local -n args=$1
	local ports i=0 nic
	read -ra ports < <(python3 -c '
import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
	args=()
	for nic in e1000 e1000e "virtio-net-pci,disable-legacy=on,iommu_platform=on"; do
		args+=(-device "spapr-pci-host-bridge,index=$((6 + i)),id=phb$((6 + i))"
		       -netdev "socket,id=dpdk$i,udp=127.0.0.1:${ports[i]},localaddr=127.0.0.1:${ports[i]}"
		       -device "$nic,netdev=dpdk$i,romfile=,bus=phb$((6 + i)).0,addr=0")
		i=$((i + 1))
	done
}
