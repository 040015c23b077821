#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Build the bench kernel: scripts/kernel.sh plain|debug
# Reuses the build while the source version, the fragments and the compiler
# are those it was built from.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=${1:?usage: kernel.sh plain|debug}
fragments=("$ROOT/config/pseries.config")
[ "$variant" = debug ] && fragments+=("$ROOT/config/debug.config")
kdir=$(kbuild_dir "$variant")

extract_source() {
	local version stamp=$CACHE/source.stamp
	version=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) ||
		die "kernel: linux-source-6.12 is not installed (run scripts/setup.sh)"
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] && [ -f "$KSRC/Makefile" ]; then
		return
	fi
	step "kernel: extracting linux-source-6.12 $version"
	rm -rf "$KSRC" "$CACHE"/build-*
	mkdir -p "$CACHE"
	tar -C "$CACHE" -xf "$KSRC_TARBALL" || die "kernel: extracting $KSRC_TARBALL"
	echo "$version" > "$stamp"
}

config_hash() {
	{ cat "$CACHE/source.stamp" "${fragments[@]}"; "${CROSS}gcc" --version; } |
		sha256sum | cut -d' ' -f1
}

configure() {
	local merged=$kdir/fragment.config
	mkdir -p "$kdir"
	cat "${fragments[@]}" > "$merged"
	step "kernel[$variant]: allnoconfig + $(basename -a "${fragments[@]}" | tr '\n' ' ')"
	make -s -C "$KSRC" O="$kdir" "${KMAKE_ARGS[@]}" KCONFIG_ALLCONFIG="$merged" allnoconfig \
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
	make -C "$KSRC" O="$kdir" "${KMAKE_ARGS[@]}" -j"$JOBS" vmlinux modules \
		> "$kdir/build.log" 2>&1 || { tail -30 "$kdir/build.log"; die "kernel[$variant]: build (see $kdir/build.log)"; }
	step "kernel[$variant]: built in $((SECONDS - start))s"
}

extract_source
hash=$(config_hash)
if [ -f "$kdir/vmlinux" ] && [ -f "$kdir/modules.order" ] && [ "$(cat "$kdir/bench.stamp" 2>/dev/null)" = "$hash" ]; then
	step "kernel[$variant]: up to date"
	exit 0
fi
rm -f "$kdir/bench.stamp"
configure
build
echo "$hash" > "$kdir/bench.stamp"
