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

# kbuild_dir VARIANT: where the kernel of that variant is built.
kbuild_dir() {
	echo "$CACHE/build-$1"
}

# Kernels: Debian's linux-source-6.12 (the base of Debian 13, RHEL 10,
# SLES 16; installed by setup.sh) and linux-source-7.3 (the newest stable,
# from trixie-backports, downloaded by setup.sh into the cache without
# touching the machine's apt configuration). A variant is FLAVOUR for the
# 6.12 kernel or FLAVOUR-VERSION: plain, debug, plain-7.3, debug-7.3.
DEFAULT_KERNEL=6.12
KERNELS=(6.12 7.3)

# variant_kernel VARIANT: the kernel version of a variant.
variant_kernel() {
	case $1 in
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

# kernel_deb VERSION: the downloaded linux-source package of a kernel that
# is not installed with apt (empty if there is none).
kernel_deb() {
	find "$CACHE/debs" -maxdepth 1 -name "linux-source-$1_*_all.deb" 2>/dev/null | sort | tail -1
}

# root_dir NAME: the unpacked ppc64el packages of config/roots/NAME
# (scripts/ppc64el-root.sh).
root_dir() {
	echo "$CACHE/roots/$1"
}
