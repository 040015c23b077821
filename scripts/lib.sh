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
