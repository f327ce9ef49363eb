#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The corner cases of detach (guest-detach.sh says which), in one short
# 2-vCPU guest:
#
#   kmod/kedr_sample/tests/run-detach-vm.sh [--out DIR]
#
# The blobs are the rewriter's (`kedr instrument`); each target's .ko goes
# next to its blob as firmware, for a live attach. Exit status: run.sh's.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=""
while (($#)); do
	case "$1" in
	--out) out=$2; shift 2 ;;
	*) echo "run-detach-vm.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

targets=(kedr_pt_tail kedr_pt_goto kedr_sample_target kedr_pt_die)
"$root/scripts/vm/build-kmod.sh" "${targets[@]}" kedr_sample kedr_pt_tailpay kedr_pt_endstack >/dev/null
# The scenario needs a tail call: the jmp whose rel32 goes to
# schedule_timeout_interruptible (its relocation on the next line).
objdump -dr "$root/kmod/kedr_pt_tail/kedr_pt_tail.ko" |
	sed -n '/<kedr_pt_tail_read>:/,/^$/p' |
	grep -B1 'R_X86_64_PLT32[[:space:]]*schedule_timeout_interruptible' |
	head -n 1 | grep -q '[[:space:]]jmp[[:space:]]' || {
	echo "run-detach-vm.sh: kedr_pt_tail_read does not tail-call schedule_timeout_interruptible (objdump)" >&2
	exit 2
}
work=$(mktemp -d /tmp/kedr-detach-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
args=()
for t in "${targets[@]}"; do
	ko="$root/kmod/$t/$t.ko"
	"$root/kedr" instrument "$ko" -o "$work/$t.kedr" >/dev/null
	cp "$ko" "$work/$t.ko"
	args+=(--ko "$ko" --firmware "$work/$t.kedr:kedr/" --firmware "$work/$t.ko:kedr/")
done

# A generated payload with a variadic pre handler, built as a user would.
source "$root/scripts/vm/lib.sh"
"$root/kedr" payload generate "$here/kedr_pt_varpay.json" -o "$work/varpay" >/dev/null
make -s -C "/lib/modules/$(kedr_vm_kver)/build" M="$work/varpay" \
	KBUILD_EXTRA_SYMBOLS="$root/kmod/kedr_sample/Module.symvers" modules >&2
args+=(--ko "$work/varpay/kedr_pt_varpay.ko")

"$root/scripts/vm/run.sh" --script "$here/guest-detach.sh" \
	--ko "$root/kmod/kedr_sample/kedr_sample.ko" \
	--ko "$root/kmod/kedr_pt_tailpay/kedr_pt_tailpay.ko" \
	--ko "$root/kmod/kedr_pt_endstack/kedr_pt_endstack.ko" "${args[@]}" \
	--smp 2 --timeout 240 ${out:+--out "$out"}
