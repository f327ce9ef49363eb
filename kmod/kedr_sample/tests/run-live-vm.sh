#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Attach to kedr_sample_target while it runs and detach, ROUNDS times, under
# load, in a 4-vCPU guest (guest-live.sh says what is checked):
#
#   kmod/kedr_sample/tests/run-live-vm.sh [--rounds N] [--out DIR]
#
# The blob is the rewriter's (`kedr instrument`); the target's .ko goes next
# to it as firmware, for the live attach. Exit status: run.sh's.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
target=kedr_sample_target
rounds=5 out=""
while (($#)); do
	case "$1" in
	--rounds) rounds=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "run-live-vm.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "run-live-vm.sh: --rounds N" >&2; exit 2; }

"$root/scripts/vm/build-kmod.sh" $target kedr_pt_block kedr_sample >/dev/null
ko_target="$root/kmod/$target/$target.ko"
ko_block="$root/kmod/kedr_pt_block/kedr_pt_block.ko"
ko_sample="$root/kmod/kedr_sample/kedr_sample.ko"

work=$(mktemp -d /tmp/kedr-live-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$root/kedr" instrument "$ko_target" -o "$work/$target.kedr" >/dev/null
cp "$ko_target" "$work/$target.ko"
"$root/kedr" instrument "$ko_block" -o "$work/kedr_pt_block.kedr" >/dev/null
cp "$ko_block" "$work/kedr_pt_block.ko"
echo "$rounds" >"$work/rounds"

# One host thread for the 4 vCPUs: with MTTCG a vCPU went on running a
# stale translation of an int3 text_poke_bp() had removed (an ftrace site
# switched at attach or detach; the livelock run.sh describes): after 34
# rounds, CPU stuck at cfake_open+0 with the NOP in memory. About 25 s a
# round (insmod, attach, synchronize_rcu_tasks()), plus the boot.
exec "$root/scripts/vm/run.sh" --script "$here/guest-live.sh" \
	--ko "$ko_sample" --ko "$ko_target" --ko "$ko_block" \
	--firmware "$work/$target.kedr:kedr/" \
	--firmware "$work/$target.ko:kedr/" \
	--firmware "$work/kedr_pt_block.kedr:kedr/" \
	--firmware "$work/kedr_pt_block.ko:kedr/" \
	--firmware "$work/rounds:kedr-live/rounds" \
	--smp 4 --tcg-threads single --timeout $((180 + rounds * 40)) \
	${out:+--out "$out"}
