#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run one guest test (or a comma-separated list) under one pairing:
#   scripts/guest-test.sh VARIANT PAIRING TEST[,TEST...]
# Builds what is missing, boots the guest, judges the log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=${1:?usage: guest-test.sh VARIANT PAIRING TEST[,TEST]}
pairing=${2:?pairing}
tests=${3:?test}
jobs=()
for t in ${tests//,/ }; do jobs+=("$pairing/$t"); done
joblist=$(IFS=,; echo "${jobs[*]}")

"$ROOT/scripts/kernel.sh" "$variant"
"$ROOT/scripts/modules.sh" "$variant"
"$ROOT/scripts/tests.sh"
"$ROOT/scripts/initramfs.sh" "$variant"
# NESTED=1 (with MMU=radix): L1 of the nested jobs, e.g. TEST=nested:two
if [ "${NESTED:-0}" = 1 ]; then
	"$ROOT/scripts/initramfs-nested.sh" "$variant"
fi
name=${NAME:-one}
qemu_args=()
# guest/tests/dpdk: DPDK appended to the initramfs, its NICs, radix
case ,$tests, in
*,dpdk[,:]*)
	"$ROOT/scripts/root-cpio.sh" dpdk "${DPDK_FILES[@]}"
	dpdk_nics qemu_args
	export MMU=${MMU:-radix} INITRD_EXTRA="${INITRD_EXTRA:-} $OUT/roots/dpdk.cpio.gz"
	;;
esac
"$ROOT/scripts/guest.sh" "$variant" "$name" "$joblist" "${qemu_args[@]}"
"$ROOT/scripts/check-results.py" "$OUT/$variant/$name.log" "${jobs[@]}"
