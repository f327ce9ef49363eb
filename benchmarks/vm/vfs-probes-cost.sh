#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# What kedr_locks' VFS probes (kmod/payloads/kedr_locks/kedr_locks_vfs.c:
# kprobes and kretprobes on every rwsem of the kernel, docs/races.md, "The
# VFS around the callbacks") cost a file-system workload: one boot of the
# test guest with 4 vCPUs, fat instrumented (kedr_sample target_name=fat,
# events left in the rings, no recorder), rounds of races-fs.sh's workload
# (4 shells at once on one vfat mount) alternating kedr_locks vfs=0 and
# vfs=1, each round with fat loaded afresh. Prints each round's time (guest
# uptime before and after the 4 shells). Run by hand:
#
#   benchmarks/vm/vfs-probes-cost.sh [--files N] [--rounds N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
files=40 rounds=3
while [[ $# -gt 0 ]]; do
	case $1 in
	--files) files=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	*) echo "vfs-probes-cost.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
work=$(mktemp -d "${TMPDIR:-/tmp}/kedr-vfs-cost.XXXXXX")
trap 'rm -rf "$work"' EXIT

source "$root/scripts/vm/lib.sh"
kver=$(kedr_vm_kver)
ko=$(find "/lib/modules/$kver/kernel/fs" -name fat.ko | head -n 1)
args=()
while read -r k; do args+=(--ko "$k"); done < <("$root/scripts/vm/build-kmod.sh" kedr_sample)
"$root/kedr" payload generate "$root/kmod/payloads/kedr_locks/kedr_locks.json" -o "$work/kedr_locks" >/dev/null
make -s -C "/lib/modules/$kver/build" M="$work/kedr_locks" \
	KBUILD_EXTRA_SYMBOLS="$root/kmod/kedr_sample/Module.symvers" modules >&2
args+=(--ko "$work/kedr_locks/kedr_locks.ko")
"$root/kedr" instrument "$ko" -o "$work/fat.kedr" >/dev/null
args+=(--firmware "$work/fat.kedr:kedr/fat.kedr")
for m in loop vfat nls_ascii nls_cp437; do args+=(--guest-module "$m"); done

cat >"$work/guest.sh" <<GUEST
K=/lib/modules/kedr
modprobe loop
dd if=/dev/zero of=/tmp/fs.img bs=1M count=32 2>/dev/null
mkdosfs /tmp/fs.img >/dev/null
insmod \$K/kedr_sample.ko target_name=fat
mkdir -p /mnt/t
$(sed "s/@FILES@/$files/" "$root/benchmarks/vm/fs-shell-work.sh")
r=0
while [ \$r -lt $rounds ]; do
	for v in 0 1; do
		insmod \$K/kedr_locks.ko vfs=\$v
		modprobe vfat
		mount -o loop -t vfat /tmp/fs.img /mnt/t
		rm -f /mnt/t/shared
		run_shells "round \$r vfs=\$v"
		umount /mnt/t
		rmmod vfat
		rmmod fat
		rmmod kedr_locks
	done
	r=\$((r + 1))
done
rmmod kedr_sample
GUEST

"$root/scripts/vm/run.sh" --script "$work/guest.sh" "${args[@]}" --smp 4 --append no_timer_check \
	--mem 2048 --timeout 1800 --out "$work/vm" >/dev/null || { cat "$work/vm/script.log" >&2; exit 1; }
grep '^round' "$work/vm/script.log" | awk '{ split($0, a, " "); printf "%s %s %.2f s\n", a[2], a[3], a[7] - a[4] }'
