#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the scripts in scripts/vm/. Source it, do not run it.
#
# The guest kernel is the newest /lib/modules/*-cloud-amd64 that has a build/
# directory (the host may run any other kernel, so `uname -r` is never used);
# KEDR_VM_KVER=<release> overrides the choice.

# Packages the VM scripts need; setup.sh installs them. linux-source-6.1:
# checkpatch.pl (in its tarball) for the payload build tests. btrfs-progs:
# mkfs.btrfs for the btrfs workload's image (benchmarks/vm/btrfs-image.sh).
# shellcheck disable=SC2034  # used by the scripts that source this file
KEDR_VM_PACKAGES=(qemu-system-x86 linux-image-cloud-amd64
	linux-headers-cloud-amd64 busybox-static cpio make gcc python3
	linux-source-6.1 btrfs-progs)

kedr_die() {
	local status=$1
	shift
	echo "${0##*/}: error: $*" >&2
	exit "$status"
}

kedr_note() {
	echo "${0##*/}: $*" >&2
}

# Takes one of KEDR_VM_SLOTS (default: one per host CPU) machine-wide guest
# slots, waiting for one to free up, and keeps it until the calling script (and
# the QEMU it starts, which inherits the lock) exits. Under TCG each guest wants
# a whole core: guests started all at once by parallel tests starve each other
# and miss their timeouts. Prints the slot taken.
kedr_vm_take_slot() {
	local slots=${KEDR_VM_SLOTS:-$(nproc)} dir i
	[[ "$slots" =~ ^[1-9][0-9]{0,2}$ ]] ||
		kedr_die 2 "KEDR_VM_SLOTS=$slots: expected a number of guests from 1 to 999"
	dir="${XDG_RUNTIME_DIR:-/tmp}/kedr-vm-slots.$(id -u)"
	mkdir -p "$dir"
	while :; do
		for ((i = 0; i < slots; i++)); do
			exec {kedr_vm_slot_fd}>"$dir/$i"
			if flock -n "$kedr_vm_slot_fd"; then
				echo "$((i + 1)) of $slots"
				return 0
			fi
			exec {kedr_vm_slot_fd}>&-
		done
		sleep 0.2
	done
}

# Prints the guest kernel release, e.g. 6.1.0-56-cloud-amd64.
kedr_vm_kver() {
	if [[ -n "${KEDR_VM_KVER:-}" ]]; then
		[[ -d "/lib/modules/$KEDR_VM_KVER" ]] ||
			kedr_die 2 "KEDR_VM_KVER=$KEDR_VM_KVER: no /lib/modules/$KEDR_VM_KVER"
		echo "$KEDR_VM_KVER"
		return
	fi
	local d best=""
	for d in /lib/modules/*-cloud-amd64; do
		[[ -d "$d/build" ]] || continue
		best=$(printf '%s\n%s\n' "$best" "${d##*/}" | sed '/^$/d' | sort -V | tail -n 1)
	done
	[[ -n "$best" ]] ||
		kedr_die 2 "no /lib/modules/*-cloud-amd64 with a build/ directory; run scripts/vm/setup.sh"
	echo "$best"
}

# Prints the path of the guest kernel image for release $1.
kedr_vm_kernel_image() {
	local image="/boot/vmlinuz-$1"
	[[ -r "$image" ]] ||
		kedr_die 2 "$image: missing or unreadable (kernel $1); run scripts/vm/setup.sh"
	echo "$image"
}
