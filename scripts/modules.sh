#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Build this project's modules against a bench kernel: scripts/modules.sh plain|debug
# Each variant builds in its own copy of the sources, so the two never mix objects.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=${1:?usage: modules.sh plain|debug}
kdir=$(kbuild_dir "$variant")
src=$OUT/$variant/modsrc
[ -f "$kdir/vmlinux" ] || die "modules[$variant]: no kernel in $kdir (run scripts/kernel.sh $variant)"

mkdir -p "$src"
rsync -a --delete --exclude='.cache' --exclude='out' --exclude='.git' --exclude='tests' \
	--exclude='patches' --exclude='scripts' --exclude='guest' \
	--exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' --exclude='*.mod' --exclude='*.mod.c' \
	--exclude='modules.order' --exclude='Module.symvers' "$ROOT/" "$src/"
step "modules[$variant]: make -C $kdir M=$src W=1"
make -C "$kdir" M="$src" "${KMAKE_ARGS[@]}" W=1 -j"$JOBS" modules > "$src/build.log" 2>&1 ||
	{ cat "$src/build.log"; die "modules[$variant]: build"; }
if grep -E 'warning:|error:' "$src/build.log"; then
	die "modules[$variant]: the build printed warnings (W=1 must be clean)"
fi
find "$src" -name '*.ko' -printf '%P\n' | sort | sed 's/^/    /'
