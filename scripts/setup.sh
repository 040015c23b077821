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
	rm -rf "$tmp"
	return $ok
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
works || die "setup: packages installed but the tools above do not work"
step "setup: done"
