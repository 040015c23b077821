#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Cross-build the static guest test programs into out/tests.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -f "$ROOT/tests/guest/Makefile" ] || { step "tests: none yet"; exit 0; }
step "tests: building static guest programs"
# The uapi headers come from the kernel source of the bench cache.
make -s -C "$ROOT/tests/guest" CC=${CROSS}gcc O="$OUT/tests" KSRC="$KSRC" \
	UAPI_OUT="$OUT/uapi" ||
	die "tests: build of tests/guest"
