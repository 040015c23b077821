#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Pack what a nested L1 guest needs on top of the normal initramfs:
#   scripts/initramfs-nested.sh VARIANT
# (run after scripts/initramfs.sh VARIANT; issue 15). VARIANT plain, or
# series: the kernel of patches/ as L1 and L2 (our code in tree; the L2
# modules are the tree's, as for plain).
#
#   out/VARIANT/l2.cpio.gz           the L2 initramfs: busybox, guest/l2-init,
#                                    the test programs, the vfio and nvme
#                                    modules (the in-tree backend: L2 is not
#                                    what is tested, L1 is)
#   out/VARIANT/nested.cpio.gz       the L1 extras: qemu-system-ppc64 with the
#                                    ppc64el libraries it needs (ELF NEEDED
#                                    closure from $CACHE/roots/qemu), vof.bin,
#                                    /nested/no_tce_vfio.so (the "noaccel"
#                                    jobs' preload: tests/nested/no_tce_vfio.c),
#                                    the L2 kernel (the same vmlinux, stripped)
#                                    and l2.cpio.gz under /nested; guest.sh
#                                    appends it to the initramfs of a NESTED=1
#                                    boot, as INITRD_EXTRA does (the normal
#                                    initramfs is used as it is).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=${1:?usage: initramfs-nested.sh VARIANT}
kdir=$(kbuild_dir "$variant")
dir=$OUT/$variant
root=$dir/root
qroot=$(root_dir qemu)
kver=$(cat "$kdir/include/config/kernel.release")
[ -f "$dir/initramfs.cpio.gz" ] || die "initramfs-nested[$variant]: run scripts/initramfs.sh $variant first"
[ -x "$qroot/usr/bin/qemu-system-ppc64" ] ||
	die "initramfs-nested[$variant]: no QEMU root, run scripts/ppc64el-root.sh qemu"

# --- L2 ---------------------------------------------------------------
l2=$dir/l2root
step "initramfs-nested[$variant]: L2 root $l2"
rm -rf "$l2"
mkdir -p "$l2"/{bin,proc,sys,dev,tmp,tests,modules}
cp /bin/busybox "$l2/bin/busybox"
ln -s busybox "$l2/bin/sh"
cp "$ROOT/guest/l2-init" "$l2/init"
for prog in demo_ddw_dma; do
	cp "$OUT/tests/$prog" "$l2/tests/"
done
mods=$root/lib/modules/$kver/kernel
for ko in drivers/vfio/vfio.ko drivers/vfio/pci/vfio-pci-core.ko \
	drivers/vfio/pci/vfio-pci.ko drivers/nvme/host/nvme-core.ko \
	drivers/nvme/host/nvme.ko; do
	cp "$mods/$ko" "$l2/modules/"
done
cp "$root/intree/vfio_iommu_spapr_tce.ko" "$l2/modules/"
(cd "$l2" && find . | cpio -o -H newc --quiet | gzip -1) > "$dir/l2.cpio.gz"

# --- L1 extras ----------------------------------------------------------
x=$dir/nestedroot
step "initramfs-nested[$variant]: L1 extras $x"
rm -rf "$x"
mkdir -p "$x/nested" "$x/usr/bin" "$x/usr/share/qemu"
cp "$qroot/usr/bin/qemu-system-ppc64" "$x/usr/bin/"
cp /usr/share/qemu/vof.bin "$x/usr/share/qemu/"
${CROSS}objcopy --strip-all "$kdir/vmlinux" "$x/nested/vmlinux"
cp "$dir/l2.cpio.gz" "$x/nested/"
${CROSS}gcc -Wall -Wextra -Werror -O2 -shared -fPIC -o "$x/nested/no_tce_vfio.so" \
	"$ROOT/tests/nested/no_tce_vfio.c" || die "initramfs-nested[$variant]: no_tce_vfio.so"

# the shared libraries QEMU needs, recursively, from the unpacked packages
libdirs=(lib/powerpc64le-linux-gnu usr/lib/powerpc64le-linux-gnu lib64)
find_lib() {
	local d
	for d in "${libdirs[@]}"; do
		[ -e "$qroot/$d/$1" ] && { echo "$d/$1"; return; }
	done
	die "initramfs-nested[$variant]: library $1 not in $qroot"
}
declare -A seen=()
todo=(usr/bin/qemu-system-ppc64)
interp=$(${CROSS}readelf -l "$qroot/usr/bin/qemu-system-ppc64" |
	sed -n 's/.*interpreter: \(.*\)]/\1/p')
todo+=("$(find_lib "$(basename "$interp")")")
while [ ${#todo[@]} -gt 0 ]; do
	f=${todo[0]}
	todo=("${todo[@]:1}")
	[ -n "${seen[$f]:-}" ] && continue
	seen[$f]=1
	mkdir -p "$x/$(dirname "$f")"
	cp -L "$qroot/$f" "$x/$f"
	for lib in $(${CROSS}readelf -d "$qroot/$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		todo+=("$(find_lib "$lib")")
	done
done
# the interpreter where the binary looks for it
mkdir -p "$x/$(dirname "$interp")"
[ -e "$x$interp" ] || cp -L "$qroot/$(find_lib "$(basename "$interp")")" "$x$interp"
(cd "$x" && find . | cpio -o -H newc --quiet | gzip -1) > "$dir/nested.cpio.gz"
step "initramfs-nested[$variant]: ${#seen[@]} QEMU files; L2 $(du -h "$dir/l2.cpio.gz" | cut -f1), extras $(du -h "$dir/nested.cpio.gz" | cut -f1)"
