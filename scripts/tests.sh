#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Cross-build the static guest test programs into out/tests.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -f "$ROOT/tests/guest/Makefile" ] || { step "tests: none yet"; exit 0; }
step "tests: building static guest programs"
make -s -C "$ROOT/tests/guest" CC=${CROSS}gcc O="$OUT/tests" BENCH_CACHE="$CACHE" ||
	die "tests: build of tests/guest"
