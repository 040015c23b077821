#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: boot the guest with our two modules and show DMA through a DDW.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/kernel.sh" plain
"$ROOT/scripts/modules.sh" plain
"$ROOT/scripts/tests.sh"
"$ROOT/scripts/initramfs.sh" plain
"$ROOT/scripts/guest.sh" plain demo ours-ours/demo_ddw_dma
log=$OUT/plain/demo.log
sed -n '/BENCH-BEGIN/,/BENCH-END/p' "$log" | grep -v '^BENCH' | grep -v '^ok\|^not ok\|^1\.\.\|^#'
"$ROOT/scripts/check-results.py" "$log" ours-ours/demo_ddw_dma > /dev/null ||
	die "demo: see $log"
echo "demo: done (guest console: $log)"
