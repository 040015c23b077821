#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Pack the guest initramfs: scripts/initramfs.sh plain|debug
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=${1:?usage: initramfs.sh plain|debug}
kdir=$(kbuild_dir "$variant")
root=$OUT/$variant/root
kver=$(cat "$kdir/include/config/kernel.release")

step "initramfs[$variant]: assembling $root"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,etc,ours,intree,tests,guest,root}
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
make -s -C "$kdir" "${KMAKE_ARGS[@]}" INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=1 \
	modules_install > /dev/null || die "initramfs[$variant]: modules_install"
# The in-tree backend lives apart so that nothing loads it by accident.
# (series-compat has none: IOMMUFD provides the container there)
intree=$(find "$root/lib/modules/$kver" -name vfio_iommu_spapr_tce.ko)
[ -z "$intree" ] || mv "$intree" "$root/intree/"
depmod -b "$root" "$kver"
# An operator's "make install", staged for guest/tests/install (W=1 as in
# modules.sh, so nothing is rebuilt; the guest runs depmod itself).
# The series kernel carries our code in tree: no out-of-tree modules.
if [ -d "$OUT/$variant/modsrc" ]; then
	find "$OUT/$variant/modsrc" -name '*.ko' -exec cp {} "$root/ours/" \;
	make -s -C "$OUT/$variant/modsrc" install KDIR="$kdir" W=1 INSTALL_MOD_PATH="$root/staging" \
		INSTALL_MOD_STRIP=1 DEPMOD=true > /dev/null || die "initramfs[$variant]: make install (staging)"
fi
[ -d "$OUT/tests" ] && find "$OUT/tests" -maxdepth 1 -type f -perm -u+x -exec cp {} "$root/tests/" \;
cp "$ROOT"/guest/init "$root/init"
cp -r "$ROOT"/guest/. "$root/guest/"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT/$variant/initramfs.cpio.gz"
step "initramfs[$variant]: $(du -h "$OUT/$variant/initramfs.cpio.gz" | cut -f1)"
