#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The kernel's own IOMMUFD selftests (tools/testing/selftests/iommu:
# iommufd, iommufd_fail_nth) for the series kernel, static ppc64le
# programs in a cpio archive to append to the guest's initramfs (as
# /tests/iommufd and /tests/iommufd_fail_nth, run as jobs of
# tests/jobs.series-selftests):
#   scripts/iommufd-selftests.sh
# Built from the series tree that scripts/patches.sh check left applied,
# against its uapi headers (headers_install into the series build) and
# the ppc64el libcap of config/roots/libcap. Writes
# $OUT/roots/iommufd-selftests.cpio.gz.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

GITREPO=$CACHE/linux-git-$SERIES_KERNEL
SERIES_KDIR=$(kbuild_dir series)
src=$GITREPO/tools/testing/selftests/iommu
cap=$(root_dir libcap)
hdrs=$SERIES_KDIR/selftest-headers
dst=$OUT/roots/iommufd-selftests
out=$dst.cpio.gz

[ -f "$src/iommufd.c" ] || die "iommufd-selftests: no $src (scripts/patches.sh check first)"
[ -f "$cap/.root.stamp" ] || die "iommufd-selftests: $cap not unpacked (scripts/setup.sh)"

step "iommufd-selftests: uapi headers of the series into $hdrs"
make -s -C "$GITREPO" O="$SERIES_KDIR" "${KMAKE_ARGS[@]}" \
	INSTALL_HDR_PATH="$hdrs" headers_install

rm -rf "$dst"
mkdir -p "$dst/tests/kselftest"
for t in iommufd iommufd_fail_nth; do
	step "iommufd-selftests: $t"
	# -I..: kselftest_harness.h; the flags of the selftests' Makefile
	"${CROSS}gcc" -static -O2 -Wall -Werror -Wno-unused-function \
		-D_GNU_SOURCE -isystem "$hdrs/include" -I"$src/.." \
		-I"$cap/usr/include" -o "$dst/tests/kselftest/$t" "$src/$t.c" \
		-L"$cap/usr/lib/powerpc64le-linux-gnu" -lcap
	# the job: the tests that map MAP_HUGETLB buffers (up to 128 MiB of
	# the dirty-tracking fixtures) need the pool reserved first, 256 MiB
	# of the default huge page size (16M under hash, 2M under radix)
	cat > "$dst/tests/$t" <<-EOF
	#!/bin/sh
	kb=\$(awk '/^Hugepagesize:/ { print \$2 }' /proc/meminfo)
	echo \$((262144 / kb)) > /proc/sys/vm/nr_hugepages
	exec /tests/kselftest/$t "\$@"
	EOF
	chmod +x "$dst/tests/$t"
done
(cd "$dst" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
step "iommufd-selftests: $(du -h "$out" | cut -f1) in $out"
