#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Unpack Debian ppc64el packages and their shared-library dependencies
# into a root for the guest:  scripts/ppc64el-root.sh NAME
#
# config/roots/NAME lists the packages (one per line, # comments), for
# example the DPDK tools or the QEMU a nested L1 runs. Each is taken with
# every ppc64el package it depends on, recursively, from the machine's
# own apt indexes (setup.sh has added the ppc64el architecture); they are
# downloaded with apt-get download, never installed, and unpacked with
# dpkg-deb -x into $CACHE/roots/NAME, without documentation. The root is
# kept while the resolved package versions stay the same. Called by
# setup.sh, the one place where the bench talks to apt.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${1:?usage: ppc64el-root.sh NAME}
list=$ROOT/config/roots/$name
[ -f "$list" ] || die "root[$name]: no package list $list"
dest=$(root_dir "$name")
debs=$dest.debs

mapfile -t wanted < <(sed 's/#.*//' "$list" | tr -s ' \t' '\n' | grep . | sed 's/$/:ppc64el/')

# Packages of shared libraries: lib*, and the two whose names do not say
# so (zlib1g: libz.so.1 of libelf; ibverbs-providers: libmlx5.so.1, which
# dpdk-testpmd is linked against)
LIBPKGS='lib[^ <>]*\|zlib1g\|ibverbs-providers'

# closure: the wanted packages and the ppc64el libraries they need,
# recursively (Depends and Pre-Depends; no -dev package but those wanted,
# no package tools, which the guest never runs)
closure() {
	local -A seen=()
	local todo=("${wanted[@]}") next p
	for p in "${wanted[@]}"; do seen[$p]=1; done
	while [ ${#todo[@]} -gt 0 ]; do
		next=()
		while read -r p; do
			[ -n "${seen[$p]:-}" ] && continue
			seen[$p]=1
			next+=("$p")
		done < <(apt-cache depends --no-recommends --no-suggests --no-conflicts \
				--no-breaks --no-replaces --no-enhances "${todo[@]}" 2>/dev/null |
			sed -n "s/^ *\\(Pre\\)\\?Depends: \\($LIBPKGS\\):ppc64el\$/\\2:ppc64el/p" |
			grep -v -- '-dev:ppc64el$' | sort -u)
		todo=("${next[@]}")
	done
	printf '%s\n' "${!seen[@]}" | sort
}

mapfile -t pkgs < <(closure)
[ ${#pkgs[@]} -gt 0 ] || die "root[$name]: no ppc64el packages resolved (did setup.sh run apt-get update?)"
key=$(apt-cache show --no-all-versions "${pkgs[@]}" 2>/dev/null |
	grep -E '^(Package|Version):' | sha256sum | cut -d' ' -f1)
if [ -f "$dest/.root.stamp" ] && [ "$(cat "$dest/.root.stamp")" = "$key" ]; then
	step "root[$name]: up to date (${#pkgs[@]} packages)"
	exit 0
fi

step "root[$name]: downloading ${#pkgs[@]} ppc64el packages"
rm -rf "$dest" "$debs"
mkdir -p "$debs" "$dest"
(cd "$debs" && apt-get -q download "${pkgs[@]}") > "$debs.log" 2>&1 ||
	{ tail -5 "$debs.log"; die "root[$name]: apt-get download (log $debs.log)"; }
for deb in "$debs"/*.deb; do
	dpkg-deb -x "$deb" "$dest" || die "root[$name]: unpacking $deb"
done
rm -rf "$dest"/usr/share/{doc,man,info,locale,lintian}
echo "$key" > "$dest/.root.stamp"
step "root[$name]: $(du -sh "$dest" | cut -f1) in $dest"
