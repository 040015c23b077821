# SPDX-License-Identifier: GPL-2.0-only
# TAP helpers for guest shell tests. Sourced.
TAP_N=0
TAP_FAILED=0

tap_plan() {
	echo "1..$1"
}

# tap_check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
tap_check() {
	desc=$1
	shift
	TAP_N=$((TAP_N + 1))
	if "$@"; then
		echo "ok $TAP_N - $desc"
	else
		echo "not ok $TAP_N - $desc"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

tap_done() {
	if [ "$TAP_FAILED" -eq 0 ]; then
		exit 0
	fi
	exit 1
}

# find_pci VENDOR DEVICE: the address of the first such PCI function.
find_pci() {
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat $d/vendor)" = "$1" ] && [ "$(cat $d/device)" = "$2" ]; then
			basename $d
			return
		fi
	done
}

# find_pci_class CLASS: the address of the first PCI function of that class.
find_pci_class() {
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat $d/class)" = "$1" ]; then
			basename $d
			return
		fi
	done
}
