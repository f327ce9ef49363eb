#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tests kedr_sample in the VM (scripts/vm/run.sh) with blobs made by
# mkblob.py (independent of the rewriter):
#
#   kmod/kedr_sample/tests/run-vm.sh [--blob FILE] [--out DIR]
#
# --blob FILE  use FILE (e.g. from `kedr instrument`) as the target's blob
#              in the full scenario instead of mkblob.py's
# Exit status: run.sh's (0 healthy and every check passed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
target=kedr_sample_target
blob="" out=""
while (($#)); do
	case "$1" in
	--blob) blob=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "run-vm.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

"$root/scripts/vm/build-kmod.sh" kedr_sample_target kedr_pt_goto kedr_sample \
	kedr_pt_uaccess >/dev/null
ko_target="$root/kmod/$target/$target.ko"
ko_goto="$root/kmod/kedr_pt_goto/kedr_pt_goto.ko"
ko_sample="$root/kmod/kedr_sample/kedr_sample.ko"

work=$(mktemp -d /tmp/kedr-sample-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
mk() { python3 "$here/mkblob.py" "$@" 2>/dev/null; }
mk copy "$ko_target" "$work/good.kedr"
cp "$work/good.kedr" "$work/v10.kedr"
mk empty "$ko_target" "$work/empty.kedr"
for bad in digest name nsyms srcversion; do
	mk copy "$ko_target" "$work/bad-$bad.kedr" --bad "$bad"
done
# kedr_pt_goto: landing pads (good and bad), noinstr and NOKPROBE code
mk copy "$ko_goto" "$work/goto-landing.kedr" --only kedr_pt_goto_run
for bad in boundary overlap entry; do
	mk copy "$ko_goto" "$work/goto-bad-$bad.kedr" --only kedr_pt_goto_run \
		--bad "landing-$bad"
done
for f in noinstr nokprobe; do
	mk copy "$ko_goto" "$work/goto-$f.kedr" --only "kedr_pt_goto_$f"
done
# The real case: kvm_amd's __svm_vcpu_run (.noinstr.text) of the guest kernel
# shellcheck source=../../../scripts/vm/lib.sh
source "$root/scripts/vm/lib.sh"
mk copy "/lib/modules/$(kedr_vm_kver)/kernel/arch/x86/kvm/kvm-amd.ko" \
	"$work/kvm-amd-noinstr.kedr" --only __svm_vcpu_run
[[ -z "$blob" ]] || cp "$blob" "$work/good.kedr"

# Damaged blobs (blobpoke.py); --seal writes the checksum again, so that the
# change reaches the check it is meant for. Refused when kedr_sample loads,
# so kedr_pt_uaccess (whose blob has exception-table entries: the rewriter's)
# need not be in the guest.
poke() { python3 "$here/blobpoke.py" "$@"; }
"$root/kedr" instrument "/lib/modules/$(kedr_vm_kver)/kernel/lib/crc7.ko" \
	-o "$work/crc7.kedr" >/dev/null
"$root/kedr" instrument "$root/kmod/kedr_pt_uaccess/kedr_pt_uaccess.ko" \
	-o "$work/ua.kedr" >/dev/null
poke "$work/ua.kedr" "$work/sum-extable.kedr" extable+12=~
poke "$work/ua.kedr" "$work/extable-type.kedr" --seal extable+12=07
poke "$work/ua.kedr" "$work/extable-flag.kedr" --seal extable+13=40
if [[ "$(od -An -tu2 -j10 -N2 "$work/good.kedr" | tr -d ' ')" -ge 3 ]]; then
	# The rewriter's blob (1.3; mkblob.py writes 1.0 ones): a checksum to
	# break, a bug table to damage.
	poke "$work/good.kedr" "$work/name.kedr" --seal 24=ffff0000
	poke "$work/good.kedr" "$work/sum-code.kedr" code+3=~
	poke "$work/good.kedr" "$work/sum-bug.kedr" bugs+18=~
	poke "$work/good.kedr" "$work/bug-flags.kedr" --seal bugs+18=1101
	poke "$work/good.kedr" "$work/bug-taint.kedr" --seal bugs+19=13
else
	poke "$work/good.kedr" "$work/name.kedr" 24=ffff0000
fi

fw=()
for f in "$work"/*.kedr; do
	fw+=(--firmware "$f:kedr/")
done
cp "$work/good.kedr" "$work/$target.kedr"
fw+=(--firmware "$work/$target.kedr:kedr/")

exec "$root/scripts/vm/run.sh" --script "$here/guest-loader.sh" \
	--ko "$ko_sample" --ko "$ko_target" --ko "$ko_goto" "${fw[@]}" \
	--guest-module kvm_amd --guest-module crc7 \
	--timeout 300 \
	${out:+--out "$out"}
