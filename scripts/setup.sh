#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Install everything any bench target needs on a Debian 12 x86_64 (or
# ppc64le) machine, then check each tool by using it. The one place where
# the bench installs packages: no other script calls apt-get.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# libc6-dev-ppc64el-cross is only a Recommends of the cross compiler, and
# we install without Recommends: name it, the static test programs need it.
PKGS=(gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross qemu-system-ppc
      linux-source-6.12 busybox-static:ppc64el sparse dkms bc bison flex
      libssl-dev libelf-dev cpio xz-utils kmod rsync python3 python3-ply perl
      gnuplot-nox)

# works: each tool does what the bench asks of it. Prints what does not.
works() {
	local tmp ok=0
	tmp=$(mktemp -d)
	printf '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n' > "$tmp/t.c"
	"${CROSS}gcc" -static -o "$tmp/t" "$tmp/t.c" > /dev/null 2>&1 ||
		{ echo "    cannot build a static ppc64le C program"; ok=1; }
	qemu-system-ppc64 --version > /dev/null 2>&1 ||
		{ echo "    qemu-system-ppc64 --version fails"; ok=1; }
	for tool in sparse dkms gnuplot bison flex bc cpio xz rsync depmod python3 perl; do
		command -v "$tool" > /dev/null || { echo "    $tool not found"; ok=1; }
	done
	dpkg -s python3-ply > /dev/null 2>&1 || { echo "    python3-ply missing"; ok=1; }
	[ -f "$KSRC_TARBALL" ] || { echo "    $KSRC_TARBALL missing"; ok=1; }
	dpkg -s busybox-static:ppc64el > /dev/null 2>&1 ||
		{ echo "    busybox-static:ppc64el missing"; ok=1; }
	dpkg -s libssl-dev libelf-dev > /dev/null 2>&1 || { echo "    libssl-dev/libelf-dev missing"; ok=1; }
	[ -n "$(kernel_deb "$NEWEST_KERNEL")" ] ||
		{ echo "    linux-source-$NEWEST_KERNEL not downloaded"; ok=1; }
	"$NEW_SPARSE" --version > /dev/null 2>&1 ||
		{ echo "    $NEW_SPARSE (for kernels since 6.13) missing"; ok=1; }
	for list in "$ROOT"/config/roots/*; do
		[ -f "$list" ] || continue
		[ -f "$(root_dir "$(basename "$list")")/.root.stamp" ] ||
			{ echo "    ppc64el root $(basename "$list") not unpacked"; ok=1; }
	done
	rm -rf "$tmp"
	return $ok
}

# The ppc64el programs the guest runs beyond busybox (config/roots/*),
# unpacked from Debian's packages into the cache
fetch_roots() {
	local list
	for list in "$ROOT"/config/roots/*; do
		[ -f "$list" ] || continue
		"$ROOT/scripts/ppc64el-root.sh" "$(basename "$list")" ||
			die "setup: ppc64el root $(basename "$list")"
	done
}

# The newest kernel's source comes from a newer suite than the machine's:
# download the package into the cache through a private sources list
# that names that suite on the machine's own Debian mirror, leaving the
# apt configuration of the machine alone.
NEWEST_KERNEL=7.3
NEWEST_SUITE=trixie-backports

# The machine's Debian mirror, from its apt sources (deb822 or one-line)
debian_mirror() {
	local uri
	uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources |
	      awk '{ print $2 }' | grep -v security | grep -m1 'debian/\?$' || true)
	[ -n "$uri" ] ||
		uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
		      awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' |
		      grep -v security | grep -m1 'debian/\?$' || true)
	echo "${uri:-http://deb.debian.org/debian}"
}

# Kernels since 6.13 need a sparse that knows __typeof_unqual__ (their
# scripts/checker-valid.sh refuses Debian 12's 0.6.4, and kbuild then
# skips C=2 with a mere warning); the binary packages that have one need a
# newer libc. Build sparse from the source package of Debian's newest
# suite into the cache (a C program of its own, no build dependency).
NEW_SPARSE_SUITE=sid

build_new_sparse() {
	local dir=$CACHE/apt-src opts
	[ -x "$NEW_SPARSE" ] && return 0
	step "setup: building sparse from Debian $NEW_SPARSE_SUITE's source package"
	rm -rf "$dir/src"
	mkdir -p "$dir/lists/partial" "$dir/src" "$(dirname "$NEW_SPARSE")"
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) $NEW_SPARSE_SUITE main" \
		> "$dir/sources.list"
	opts=(-o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	      -o Dir::State::Lists="$dir/lists" -o APT::Sandbox::User=root)
	for try in 1 2 3; do
		apt-get -q "${opts[@]}" update > "$dir/update.log" 2>&1 && break
		echo "apt-get update ($NEW_SPARSE_SUITE sources): attempt $try reported errors"
		sleep 2
	done
	(cd "$dir/src" && apt-get -q "${opts[@]}" source --download-only sparse) \
		> "$dir/download.log" 2>&1 ||
		{ tail -5 "$dir/download.log"; die "setup: downloading the sparse source package"; }
	tar -C "$dir/src" -xf "$(ls "$dir"/src/sparse_*.orig.tar.*)" ||
		die "setup: unpacking the sparse source"
	make -C "$(ls -d "$dir"/src/sparse-*/)" -j"$JOBS" sparse > "$dir/build.log" 2>&1 ||
		{ tail -5 "$dir/build.log"; die "setup: building sparse (log $dir/build.log)"; }
	cp "$(ls -d "$dir"/src/sparse-*/)sparse" "$NEW_SPARSE"
}

fetch_newest_kernel() {
	local dir=$CACHE/apt opts
	[ -n "$(kernel_deb "$NEWEST_KERNEL")" ] && return 0
	step "setup: downloading linux-source-$NEWEST_KERNEL from $NEWEST_SUITE"
	mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$CACHE/debs"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) $NEWEST_SUITE main" \
		> "$dir/sources.list"
	# One architecture's indexes (the package is "all"): fewer files that
	# a mirror in the middle of a sync can fail; as above, a failed index
	# is tolerated and the download decides.
	opts=(-o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	      -o Dir::State::Lists="$dir/lists" -o Dir::Cache::archives="$dir/archives"
	      -o APT::Architectures::="$(dpkg --print-architecture)"
	      -o APT::Sandbox::User=root)
	for try in 1 2 3; do
		apt-get -q "${opts[@]}" update > "$dir/update.log" 2>&1 && break
		echo "apt-get update ($NEWEST_SUITE): attempt $try reported errors"
		sleep 2
	done
	(cd "$CACHE/debs" && apt-get -q "${opts[@]}" download "linux-source-$NEWEST_KERNEL") \
		> "$dir/download.log" 2>&1 ||
		{ tail -5 "$dir/download.log"; die "setup: downloading linux-source-$NEWEST_KERNEL"; }
}

if works > /dev/null; then
	step "setup: every tool works"
	exit 0
fi

[ "$(id -u)" = 0 ] || SUDO=sudo
SUDO=${SUDO:-}
step "setup: dpkg --add-architecture ppc64el"
$SUDO dpkg --add-architecture ppc64el || die "setup: dpkg --add-architecture ppc64el"
step "setup: apt-get update"
# A mirror in the middle of a sync can fail one index (seen here for
# bookworm-security ppc64el); what we install comes from the main archive,
# so go on and let the install step decide.
for try in 1 2 3; do
	$SUDO apt-get update -q > /dev/null 2>&1 && break
	echo "apt-get update: attempt $try reported errors"
	sleep 2
done
step "setup: apt-get install ${PKGS[*]}"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${PKGS[@]}" \
	> "${TMPDIR:-/tmp}/bench-apt.log" 2>&1 ||
	{ tail -20 "${TMPDIR:-/tmp}/bench-apt.log"; die "setup: apt-get install (log: ${TMPDIR:-/tmp}/bench-apt.log)"; }
fetch_newest_kernel
build_new_sparse
fetch_roots
works || die "setup: packages installed but the tools above do not work"
step "setup: done"
