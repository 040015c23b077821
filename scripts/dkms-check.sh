#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Check dkms.conf with the real dkms, on the host, against the bench kernel:
#   scripts/dkms-check.sh [plain|debug]
# Everything happens in a temporary DKMS tree, source tree and install tree
# (nothing under /var/lib/dkms, /usr/src or /lib/modules): dkms add, a cross
# build (dkms 3.x does not set ARCH itself: "-a ppc64le" names the target
# for BUILD_EXCLUSIVE_ARCH and its paths, ARCH/CROSS_COMPILE come from the
# environment), the vermagic of the built modules, dkms install into a copy
# of the bench kernel's modules, and kmod's view of the result: our
# vfio_iommu_spapr_tce from updates/ is the one modprobe picks, with
# pseries_tce_ddw as its pre-softdep.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=${1:-plain}
kdir=$(kbuild_dir "$variant")
[ -f "$kdir/vmlinux" ] || die "dkms-check: no kernel in $kdir (run scripts/kernel.sh $variant)"
kver=$(cat "$kdir/include/config/kernel.release")
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$ROOT/dkms.conf")
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$ROOT/dkms.conf")
arch=ppc64le

command -v dkms > /dev/null || die "dkms-check: no dkms (run scripts/setup.sh)"

tmp=$(mktemp -d /tmp/dkms-check.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
tree=$tmp/dkms
srcs=$tmp/src
inst=$tmp/lib/modules
mkdir -p "$tree" "$srcs" "$inst"
# dkms would sign with a MOK key it generates under /var/lib/dkms when the
# kernel's sign-file is installed: the bench kernel does not check
# signatures, so point it at nothing.
export sign_file=/nonexistent
dkms_() {
	dkms "$@" --dkmstree "$tree" --sourcetree "$srcs" --installtree "$inst"
}

step "dkms-check: $name-$version source (what an operator copies to /usr/src)"
rsync -a --exclude='.cache' --exclude='out' --exclude='.git' --exclude='tests' \
	--exclude='patches' --exclude='scripts' --exclude='guest' \
	--exclude='*.o' --exclude='*.ko' --exclude='*.mod*' --exclude='.*.cmd' \
	--exclude='modules.order' --exclude='Module.symvers' \
	"$ROOT/" "$srcs/$name-$version/"
dkms_ add -m "$name" -v "$version" > "$tmp/add.log" 2>&1 ||
	{ cat "$tmp/add.log"; die "dkms-check: dkms add"; }

step "dkms-check: dkms build -k $kver -a $arch --kernelsourcedir $kdir (ARCH=powerpc CROSS_COMPILE=$CROSS)"
if ! ARCH=powerpc CROSS_COMPILE=$CROSS dkms_ build -m "$name" -v "$version" \
	-k "$kver" -a "$arch" --kernelsourcedir "$kdir" -j "$JOBS" > "$tmp/build.log" 2>&1; then
	cat "$tmp/build.log"
	cat "$tree/$name/$version/build/make.log" 2>/dev/null || true
	die "dkms-check: dkms build"
fi

built=$tree/$name/$version/$kver/$arch/module
for m in vfio_iommu_spapr_tce pseries_tce_ddw; do
	ko=$built/$m.ko
	[ -f "$ko" ] || die "dkms-check: $m.ko not built (in $built: $(ls "$built" 2>&1))"
	vm=$(modinfo -F vermagic "$ko")
	[ "${vm%% *}" = "$kver" ] || die "dkms-check: $m.ko vermagic '$vm', bench kernel $kver"
	echo "    $m.ko: vermagic $vm"
	# every parameter has a MODULE_PARM_DESC (modinfo -p shows it)
	for p in $(modinfo -F parmtype "$ko" | cut -d: -f1); do
		modinfo -F parm "$ko" | grep -q "^$p:." ||
			die "dkms-check: $m.ko parameter $p has no MODULE_PARM_DESC"
		echo "    $m.ko: parameter $p described"
	done
	modinfo -F softdep "$ko" | sed "s/^/    $m.ko: softdep /"
done

step "dkms-check: dkms install into a copy of the bench kernel's modules"
make -s -C "$KSRC" O="$kdir" "${KMAKE_ARGS[@]}" INSTALL_MOD_PATH="$tmp" modules_install \
	> "$tmp/modinst.log" 2>&1 || { cat "$tmp/modinst.log"; die "dkms-check: modules_install"; }
dkms_ install -m "$name" -v "$version" -k "$kver" -a "$arch" --no-depmod \
	> "$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; die "dkms-check: dkms install"; }
depmod -b "$tmp" "$kver"
# Debian's dkms puts DEST_MODULE_LOCATION=/updates into updates/dkms/
for m in vfio_iommu_spapr_tce pseries_tce_ddw; do
	ko=$(find "$inst/$kver/updates" -name "$m.ko")
	[ -n "$ko" ] || die "dkms-check: $m.ko not under updates/ after dkms install"
	echo "    installed: ${ko#"$tmp"}"
done
show=$(modprobe -d "$tmp" -S "$kver" --show-depends vfio_iommu_spapr_tce)
echo "$show" | sed 's/^/    modprobe: /'
echo "$show" | grep -q "/updates/.*pseries_tce_ddw.ko" ||
	die "dkms-check: modprobe vfio_iommu_spapr_tce does not pull in pseries_tce_ddw (softdep)"
echo "$show" | grep "vfio_iommu_spapr_tce.ko" | grep -q "/updates/" ||
	die "dkms-check: modprobe prefers another vfio_iommu_spapr_tce than updates/"
dkms_ status -m "$name" | sed 's/^/    /'

step "dkms-check: dkms remove"
dkms_ remove -m "$name" -v "$version" --all --no-depmod > "$tmp/remove.log" 2>&1 ||
	{ cat "$tmp/remove.log"; die "dkms-check: dkms remove"; }
for m in vfio_iommu_spapr_tce pseries_tce_ddw; do
	[ -z "$(find "$inst/$kver/updates" -name "$m.ko" 2>/dev/null)" ] ||
		die "dkms-check: $m.ko left under updates/ after dkms remove"
done
# The same without DKMS: make install / uninstall, staged.
step "dkms-check: make install / uninstall INSTALL_MOD_PATH=<tmp> KDIR=$kdir"
stage=$tmp/stage
make -C "$srcs/$name-$version" -j"$JOBS" install KDIR="$kdir" INSTALL_MOD_PATH="$stage" \
	> "$tmp/make-install.log" 2>&1 || { cat "$tmp/make-install.log"; die "dkms-check: make install"; }
for m in vfio_iommu_spapr_tce pseries_tce_ddw; do
	grep -q "^updates/$m.ko:" "$stage/lib/modules/$kver/modules.dep" ||
		die "dkms-check: make install: $m.ko not in updates/ of modules.dep"
done
make -C "$srcs/$name-$version" uninstall KDIR="$kdir" INSTALL_MOD_PATH="$stage" \
	> "$tmp/make-uninstall.log" 2>&1 || { cat "$tmp/make-uninstall.log"; die "dkms-check: make uninstall"; }
[ -z "$(find "$stage" -name '*.ko')" ] || die "dkms-check: make uninstall left modules"
! grep -q 'vfio_iommu_spapr_tce\|pseries_tce_ddw' "$stage/lib/modules/$kver/modules.dep" ||
	die "dkms-check: make uninstall: modules.dep still lists ours"
step "dkms-check: ok"
