#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Attach to the guest kernel's fat module while a vfat file system is
# mounted and busy, record, detach (guest-live-fat.sh says what is checked):
#
#   kmod/kedr_sample/tests/run-live-fat-vm.sh [--out DIR]
#
# Exit status: run.sh's.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=""
while (($#)); do
	case "$1" in
	--out) out=$2; shift 2 ;;
	*) echo "run-live-fat-vm.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

# shellcheck source=../../../scripts/vm/lib.sh
source "$root/scripts/vm/lib.sh"
"$root/scripts/vm/build-kmod.sh" kedr_sample >/dev/null
fat="/lib/modules/$(kedr_vm_kver)/kernel/fs/fat/fat.ko"
work=$(mktemp -d /tmp/kedr-live-fat.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$root/kedr" instrument "$fat" -o "$work/fat.kedr" >/dev/null
cp "$fat" "$work/fat.ko"

# One host thread for the vCPUs (see run-live-vm.sh).
exec "$root/scripts/vm/run.sh" --script "$here/guest-live-fat.sh" \
	--ko "$root/kmod/kedr_sample/kedr_sample.ko" \
	--firmware "$work/fat.kedr:kedr/" --firmware "$work/fat.ko:kedr/" \
	--guest-module vfat --guest-module brd --guest-module nls_cp437 \
	--guest-module nls_ascii \
	--smp 4 --tcg-threads single --timeout 400 \
	${out:+--out "$out"}
