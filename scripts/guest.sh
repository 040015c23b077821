#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Boot the pSeries guest and run jobs:
#   scripts/guest.sh VARIANT NAME JOBS [extra qemu args...]
# JOBS is a comma-separated list of PAIRING/TEST (see guest/run-jobs), or
# "shell" for an interactive shell. The console goes to out/VARIANT/NAME.log,
# QEMU's trace events to out/VARIANT/NAME.trace: every spapr_iommu event
# with TRACE=1, only those that scripts/check-papr-trace.py judges
# (PAPR_TRACE_EVENTS: H_STUFF_TCE, H_PUT_TCE_INDIRECT, DDW events) with
# TRACE=papr.
#
# Devices, each PHB its own IOMMU group (PCI domain = PHB index):
#   0001:00:00.0  edu, 64-bit DMA mask          the main test device
#   0002:00:00.0  nvme, 64 MiB disk             a real-world DMA device
#   0003:00:00.0  edu                           a second container
#   0004:00:00.0  edu on a PHB with ddw=off     no Dynamic DMA Window
#   0005:00:00.0, 0005:00:01.0  two edu         a multi-device PE
#
# INITRD_EXTRA: cpio archives (space-separated) appended to the initramfs
# for this boot (scripts/root-cpio.sh: programs beyond busybox, e.g. DPDK).
#
# MONITOR=1: the guest may ask for QEMU monitor commands (memory hot-add:
# object_add, device_add pc-dimm). QEMU gets a QMP socket,
# out/VARIANT/NAME.qmp, and scripts/guest-monitor.py follows the console
# log: each console line "@@qemu-monitor HMP-COMMAND" is run through QMP's
# human-monitor-command, the command and its output appended to
# out/VARIANT/NAME.monitor. Nothing goes back to the guest: it sees the
# effect by itself (/proc/iomem, dmesg). Without MONITOR=1 there is no
# monitor at all, and such lines do nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

variant=${1:?usage: guest.sh VARIANT NAME JOBS [qemu args]}
name=${2:?name}
jobs=${3:?jobs}
shift 3
kdir=$(kbuild_dir "$variant")
dir=$OUT/$variant
log=$dir/$name.log
timeout=${GUEST_TIMEOUT:-900}
# Memory: 4G of boot RAM and room for one 1G DIMM. QEMU (7.2) writes the
# partition's maximum memory (ibm,lrdr-capacity) only when there is room
# for DIMMs, else 0; a kernel with NUMA and MEMORY_HOTPLUG takes that as
# the memory its direct-mapping DDWs must cover, asks for a 2^0-byte
# window, is refused and lists the PE as failed: no DDW for it, from the
# host's DMA or VFIO's in-tree ops, until reboot. GUEST_MEM=SIZE[,...] is
# QEMU's -m.
mem=${GUEST_MEM:-4G,slots=1,maxmem=5G}
# The plain kernel runs with the hash MMU, as LPARs under PowerVM do (16M
# huge pages); the debug kernel with radix, as KVM pSeries guests do (and
# KASAN needs it on ppc64).
# MMU=radix or MMU=hash chooses for one boot (DPDK and KVM-HV need radix).
mmu=disable_radix
[ "$(variant_flavour "$variant")" = debug ] && mmu=
case ${MMU:-} in
radix)	mmu= ;;
hash)	mmu=disable_radix ;;
'')	;;
*)	die "guest.sh: MMU=$MMU: radix or hash" ;;
esac

# NESTED=1: L1 of a nested KVM-HV guest (issue 15): cap-nested-hv on a
# POWER9 (QEMU refuses nested HV on POWER8), radix (KVM-HV needs it) and
# the nested extras appended to the initramfs (scripts/initramfs-nested.sh:
# QEMU, the L2 kernel and initramfs)
machine=pseries,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off,cap-large-decr=off,cap-hpt-max-page-size=16M
initrd=$dir/initramfs.cpio.gz
cpu=()
if [ "${NESTED:-0}" = 1 ]; then
	[ -z "$mmu" ] || die "guest.sh: NESTED=1 needs MMU=radix"
	machine+=,cap-nested-hv=on
	cpu=(-cpu power9)
	INITRD_EXTRA="$dir/nested.cpio.gz ${INITRD_EXTRA:-}"
fi
if [ -n "${INITRD_EXTRA:-}" ]; then
	# the kernel unpacks concatenated archives one after the other
	# shellcheck disable=SC2086
	cat "$initrd" $INITRD_EXTRA > "$dir/$name.initrd" || die "guest.sh: INITRD_EXTRA=$INITRD_EXTRA"
	initrd=$dir/$name.initrd
fi

monitor=(-monitor none)
if [ "${MONITOR:-0}" = 1 ]; then
	qmp=$dir/$name.qmp
	rm -f "$qmp"
	monitor+=(-qmp "unix:$qmp,server=on,wait=off")
fi

disk=$dir/nvme.img
[ -f "$disk" ] || truncate -s 64M "$disk"

qemu=(qemu-system-ppc64 -M "$machine" "${cpu[@]}"
      -accel tcg,thread=multi -smp 2 -m "$mem"
      -nodefaults -display none -vga none "${monitor[@]}" -serial stdio -no-reboot
      -kernel "$kdir/vmlinux" -initrd "$initrd"
      -append "console=hvc0 loglevel=5 $mmu bench.jobs=$jobs ${GUEST_CMDLINE:-}"
      -device spapr-pci-host-bridge,index=1,id=phb1
      -device edu,dma_mask=0xffffffffffffffff,bus=phb1.0,addr=0
      -device spapr-pci-host-bridge,index=2,id=phb2
      -drive file="$disk",if=none,id=nvm0,format=raw
      -device nvme,serial=bench0,drive=nvm0,bus=phb2.0,addr=0
      -device spapr-pci-host-bridge,index=3,id=phb3
      -device edu,dma_mask=0xffffffffffffffff,bus=phb3.0,addr=0
      -device spapr-pci-host-bridge,index=4,id=phb4,ddw=off
      -device edu,dma_mask=0xffffffffffffffff,bus=phb4.0,addr=0
      -device spapr-pci-host-bridge,index=5,id=phb5
      -device edu,dma_mask=0xffffffffffffffff,bus=phb5.0,addr=0
      -device edu,dma_mask=0xffffffffffffffff,bus=phb5.0,addr=1)
case ${TRACE:-0} in
1)	qemu+=(-trace "enable=spapr_iommu_*") ;;
papr)	for ev in $PAPR_TRACE_EVENTS; do qemu+=(-trace "enable=$ev"); done ;;
0)	;;
*)	die "guest.sh: TRACE=$TRACE: 0, 1 or papr" ;;
esac
if [ "${TRACE:-0}" != 0 ]; then
	qemu+=(-D "$dir/$name.trace")
	rm -f "$dir/$name.trace"
fi

step "guest[$variant/$name]: booting (timeout ${timeout}s, console $log)"
if [ "$jobs" = shell ]; then
	exec "${qemu[@]}" "$@"
fi
if [ "${MONITOR:-0}" = 1 ]; then
	# a console log of an earlier boot must not be replayed
	rm -f "$log"
	: > "$dir/$name.monitor"
	"$ROOT/scripts/guest-monitor.py" "$log" "$qmp" "$dir/$name.monitor" &
	monitor_pid=$!
fi
set +e
timeout --foreground -k 10 "$timeout" "${qemu[@]}" "$@" < /dev/null 2>&1 | tee "$log" |
	grep --line-buffered -E '^(BENCH|ok |not ok |# )' | sed -u 's/^/    /'
rc=${PIPESTATUS[0]}
set -e
if [ -n "${monitor_pid:-}" ]; then
	# it exits when QEMU closes the socket; a second is plenty
	sleep 1
	kill "$monitor_pid" 2> /dev/null || true
	wait "$monitor_pid" 2> /dev/null || true
	rm -f "$qmp"
fi
[ "$rc" = 124 ] && echo "guest[$variant/$name]: TIMEOUT after ${timeout}s" >> "$log"
step "guest[$variant/$name]: qemu exited with $rc"
exit 0
