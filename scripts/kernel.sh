#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Build a bench kernel: scripts/kernel.sh VARIANT
# VARIANT is plain or debug for the 6.12 kernel, plain-7.3 or debug-7.3
# for 7.3 (see lib.sh). Reuses the build while the source version, the
# fragments and the compiler are those it was built from.
# scripts/kernel.sh source VERSION only extracts that kernel's source.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=${1:?usage: kernel.sh plain|debug|plain-VERSION|debug-VERSION|source VERSION}
if [ "$variant" = source ]; then
	version=${2:?usage: kernel.sh source VERSION}
else
	version=$(variant_kernel "$variant")
fi
flavour=$(variant_flavour "$variant")
fragments=("$ROOT/config/pseries.config")
[ "$flavour" = debug ] && fragments+=("$ROOT/config/debug.config")
[ "$flavour" = plain ] && fragments+=("$ROOT/config/host.config")
kdir=$(kbuild_dir "$variant")
src=$(ksrc_dir "$version")
# Fixes the variant needs in the kernel source (config/fixes/VARIANT/,
# applied in name order; see README): it builds from a copy of the
# extracted source, hard-linked but for the files they patch, so that the
# pristine tree the other variants and the patch series use stays as is.
fixes=()
for f in "$ROOT/config/fixes/$variant"/*.patch; do
	[ -f "$f" ] && fixes+=("$f")
done
# 6.12 keeps the stamp name it had before there were two kernels, so that
# an existing cache stays valid
stamp=$CACHE/source-$version.stamp
[ "$version" = "$DEFAULT_KERNEL" ] && stamp=$CACHE/source.stamp

# tarball_of PKGVERSION: the source tarball, unpacking a downloaded package
tarball_of() {
	local deb unpacked=$CACHE/debs/linux-source-$version-$1
	if [ -f "/usr/src/linux-source-$version.tar.xz" ] && kernel_installed "$version"; then
		echo "/usr/src/linux-source-$version.tar.xz"
		return
	fi
	if [ ! -d "$unpacked" ]; then
		deb=$(kernel_deb "$version")
		dpkg-deb -x "$deb" "$unpacked.tmp" || die "kernel: unpacking $deb"
		mv "$unpacked.tmp" "$unpacked"
	fi
	echo "$unpacked/usr/src/linux-source-$version.tar.xz"
}

extract_source() {
	local pkg tarball
	pkg=$(kernel_pkg_version "$version")
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pkg" ] && [ -f "$src/Makefile" ]; then
		return
	fi
	tarball=$(tarball_of "$pkg")
	step "kernel: extracting linux-source-$version $pkg"
	rm -rf "$src"
	mkdir -p "$CACHE"
	tar -C "$CACHE" -xf "$tarball" || die "kernel: extracting $tarball"
	echo "$pkg" > "$stamp"
}

# fix_source: point src at a copy of the source with the variant's fixes
# applied, making it again when the source or the fixes changed.
fix_source() {
	local fixed=$src-$variant f sum
	sum=$(cat "$stamp" "${fixes[@]}" | sha256sum | cut -d' ' -f1)
	if [ "$(cat "$fixed.stamp" 2>/dev/null)" != "$sum" ] || [ ! -f "$fixed/Makefile" ]; then
		step "kernel[$variant]: source with $(basename -a "${fixes[@]}" | tr '\n' ' ')"
		rm -rf "$fixed" "$fixed.stamp"
		cp -al "$src" "$fixed"
		for f in "${fixes[@]}"; do
			# patch writes each file anew: the pristine tree keeps its own
			patch -s -p1 -d "$fixed" --no-backup-if-mismatch < "$f" ||
				die "kernel[$variant]: applying $f"
		done
		echo "$sum" > "$fixed.stamp"
	fi
	src=$fixed
}

config_hash() {
	{ cat "$stamp" "${fragments[@]}" "${fixes[@]}"; "${CROSS}gcc" --version; } |
		sha256sum | cut -d' ' -f1
}

configure() {
	local merged=$kdir/fragment.config
	mkdir -p "$kdir"
	cat "${fragments[@]}" > "$merged"
	step "kernel[$variant]: allnoconfig + $(basename -a "${fragments[@]}" | tr '\n' ' ')"
	make -s -C "$src" O="$kdir" "${KMAKE_ARGS[@]}" KCONFIG_ALLCONFIG="$merged" allnoconfig \
		> "$kdir/config.log" 2>&1 || die "kernel[$variant]: configure (see $kdir/config.log)"
	check_config "$merged"
}

# Every option a fragment sets must have survived Kconfig.
check_config() {
	local line opt missing=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n) opt=${line%%=*}
			grep -q "^$opt=" "$kdir/.config" && { echo "kernel[$variant]: $opt still set"; missing=1; } ;;
		CONFIG_*=*) grep -qx "$line" "$kdir/.config" || { echo "kernel[$variant]: $line not applied"; missing=1; } ;;
		esac
	done < "$1"
	[ $missing = 0 ] || die "kernel[$variant]: config fragment not applied"
}

build() {
	step "kernel[$variant]: building vmlinux and modules (-j$JOBS, log $kdir/build.log)"
	local start=$SECONDS
	make -C "$src" O="$kdir" "${KMAKE_ARGS[@]}" -j"$JOBS" vmlinux modules \
		> "$kdir/build.log" 2>&1 || { tail -30 "$kdir/build.log"; die "kernel[$variant]: build (see $kdir/build.log)"; }
	step "kernel[$variant]: built in $((SECONDS - start))s"
}

extract_source
[ "$variant" != source ] || exit 0
[ ${#fixes[@]} = 0 ] || fix_source
hash=$(config_hash)
if [ -f "$kdir/vmlinux" ] && [ -f "$kdir/modules.order" ] && [ "$(cat "$kdir/bench.stamp" 2>/dev/null)" = "$hash" ]; then
	step "kernel[$variant]: up to date"
	exit 0
fi
rm -f "$kdir/bench.stamp"
configure
build
echo "$hash" > "$kdir/bench.stamp"
