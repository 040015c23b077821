#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Install what the bench needs on a Debian 12 x86_64 (or ppc64le) machine.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS=(gcc-powerpc64le-linux-gnu qemu-system-ppc linux-source-6.12
      busybox-static:ppc64el sparse bc bison flex libssl-dev libelf-dev
      cpio xz-utils kmod rsync python3 python3-ply perl gnuplot-nox)

have_all() {
	command -v ${CROSS}gcc >/dev/null && command -v qemu-system-ppc64 >/dev/null &&
	command -v sparse >/dev/null && command -v gnuplot >/dev/null &&
	[ -f "$KSRC_TARBALL" ] &&
	dpkg -s busybox-static:ppc64el >/dev/null 2>&1 &&
	dpkg -s bison flex bc libssl-dev libelf-dev cpio python3-ply >/dev/null 2>&1
}

if have_all; then
	step "setup: all packages present"
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
	$SUDO apt-get update -q >/dev/null 2>&1 && break
	echo "apt-get update: attempt $try reported errors"
	sleep 2
done
step "setup: apt-get install ${PKGS[*]}"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${PKGS[@]}" \
	> "${TMPDIR:-/tmp}/bench-apt.log" 2>&1 ||
	{ tail -20 "${TMPDIR:-/tmp}/bench-apt.log"; die "setup: apt-get install (log: ${TMPDIR:-/tmp}/bench-apt.log)"; }
have_all || die "setup: packages installed but a tool is still missing"
step "setup: done"
