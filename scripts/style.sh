#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# checkpatch --strict and sparse (C=2) over our kernel sources:
#   scripts/style.sh [VARIANT...]   (sparse against each; default plain)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

rc=0
mapfile -t files < <(cd "$ROOT" && git ls-files -co --exclude-standard -- '*.c' '*.h' |
	grep -v '^tests/' | sort)
# The checkpatch of the newest kernel, the one the patch series targets
cpdir=$(ksrc_dir "$SERIES_KERNEL")
step "style: checkpatch --strict ($SERIES_KERNEL) on ${#files[@]} files"
for f in "${files[@]}"; do
	ignore=FILE_PATH_CHANGES
	# Kernel-version shims exist only out of tree and must test the version.
	case $f in include/compat/*) ignore+=,LINUX_VERSION_CODE,CONSTANT_COMPARISON ;; esac
	out=$(cd "$cpdir" && perl scripts/checkpatch.pl --strict --no-tree --terse --show-types \
		--ignore "$ignore" -f "$ROOT/$f" 2>&1) || { echo "$out"; rc=1; }
done
# sparse against each kernel named (scripts/modules.sh built them). Kbuild
# only warns when it finds no usable sparse and then skips the check: that
# warning fails the step, and so does a file sparse did not check.
for variant in "${@:-plain}"; do
	checker=$(sparse_for "$(variant_kernel "$variant")")
	step "style: sparse (C=2, $checker) against the $variant kernel"
	src=$OUT/$variant/modsrc
	make -C "$(kbuild_dir "$variant")" M="$src" "${KMAKE_ARGS[@]}" C=2 W=1 \
		CHECK="$checker" modules > "$src/sparse.log" 2>&1 || { cat "$src/sparse.log"; rc=1; }
	if grep -E 'warning|error:' "$src/sparse.log"; then
		rc=1
	fi
	# ddw_intree.c, spapr_tce_domain.c, kunit/tce_range_ops_test.c and
	# kunit/spapr_tce_domain_test.c are the kernel build's only:
	# patches.sh check runs sparse on them; vfio_iommu_spapr_tce.c is
	# checked as part of vfio_iommu_spapr_tce_main.c
	nc=$(find "$src" -name '*.c' ! -name '*.mod.c' ! -name ddw_intree.c \
		! -name spapr_tce_domain.c ! -name tce_range_ops_test.c \
		! -name spapr_tce_domain_test.c ! -name vfio_iommu_spapr_tce.c | wc -l)
	[ "$(grep -c '^ *CHECK ' "$src/sparse.log")" = "$nc" ] ||
		{ echo "style: sparse checked $(grep -c '^ *CHECK ' "$src/sparse.log") of $nc files"; rc=1; }
done
[ $rc = 0 ] && step "style: clean"
exit $rc
