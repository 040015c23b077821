#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Pack programs of a ppc64el root (scripts/ppc64el-root.sh) into a cpio
# archive to append to the guest's initramfs:
#   scripts/root-cpio.sh NAME FILE...
# FILEs are paths inside the root (programs, plugins); each is packed with
# the symlinks that lead to it and, recursively, the shared libraries it
# needs (DT_NEEDED, looked up in the multiarch library directories), the
# loader included. Nothing else of the root goes in, so the guest gets
# what it runs and the other suites' initramfs stays as it is. The kernel
# unpacks concatenated cpio archives one over the other (guest.sh's
# INITRD_EXTRA). Writes $OUT/roots/NAME.cpio.gz.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${1:?usage: root-cpio.sh NAME FILE...}
shift
[ $# -gt 0 ] || die "root-cpio[$name]: no files"
src=$(root_dir "$name")
[ -f "$src/.root.stamp" ] || die "root-cpio[$name]: $src not unpacked (scripts/setup.sh)"
dst=$OUT/roots/$name
out=$OUT/roots/$name.cpio.gz
LIBDIRS=(lib/powerpc64le-linux-gnu usr/lib/powerpc64le-linux-gnu)

# copy_path PATH: PATH (inside the root) and, if it is a symlink, what it
# points to
copy_path() {
	local p=$1 t
	[ -e "$dst/$p" ] || [ -L "$dst/$p" ] && return 0
	[ -e "$src/$p" ] || [ -L "$src/$p" ] || die "root-cpio[$name]: $p not in $src"
	mkdir -p "$dst/$(dirname "$p")"
	cp -a "$src/$p" "$dst/$p"
	[ -L "$src/$p" ] || return 0
	t=$(readlink "$src/$p")
	case $t in
	/*)	copy_path "${t#/}" ;;
	*)	copy_path "$(dirname "$p")/$t" ;;
	esac
}

# needed PATH: the sonames PATH needs and its interpreter, as root paths
needed() {
	local f so d
	f=$(readlink -f "$src/$1")
	"${CROSS}readelf" -l "$f" 2>/dev/null |
		sed -n 's|.*Requesting program interpreter: /\(.*\)\]|\1|p'
	for so in $("${CROSS}readelf" -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		for d in "${LIBDIRS[@]}"; do
			if [ -e "$src/$d/$so" ]; then
				echo "$d/$so"
				continue 2
			fi
		done
		die "root-cpio[$name]: $so (needed by $1) not in $src"
	done
}

step "root-cpio[$name]: $* and their libraries"
rm -rf "$dst"
mkdir -p "$dst"
declare -A seen=()
todo=("$@")
while [ ${#todo[@]} -gt 0 ]; do
	next=()
	for p in "${todo[@]}"; do
		[ -n "${seen[$p]:-}" ] && continue
		seen[$p]=1
		copy_path "$p"
		[ -L "$src/$p" ] && [ ! -e "$src/$p" ] && continue	# absolute link: copied its target
		needed "$p" > "$dst.needed" || exit 1
		mapfile -t -O ${#next[@]} next < "$dst.needed"
	done
	todo=("${next[@]}")
done
rm -f "$dst.needed"
(cd "$dst" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
step "root-cpio[$name]: ${#seen[@]} files, $(du -sh "$dst" | cut -f1), $(du -h "$out" | cut -f1) packed"
