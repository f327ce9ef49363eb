#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
#
# Installs what the VM scripts need (QEMU, the Debian cloud kernel and its
# headers, a static busybox, cpio, make, gcc; the 6.1 source for checkpatch;
# btrfs-progs for mkfs.btrfs).
# Idempotent: silent and quick when everything is already there. Runs
# `apt-get update` only when the package lists are missing or older than a
# day.
#
# Exit status: 0 ready, 2 could not install.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

missing=()
for pkg in "${KEDR_VM_PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
	sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null ||
			kedr_die 2 "need root (or sudo) to install: ${missing[*]}"
		sudo=(sudo)
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt_opts=(-q -o DPkg::Lock::Timeout=300)
	# Fresh lists: any *_Packages* file changed within the last day.
	if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' \
			-mtime -1 -print -quit 2>/dev/null)" ]]; then
		kedr_note "apt-get update (package lists missing or stale)"
		"${sudo[@]}" apt-get "${apt_opts[@]}" update >&2 ||
			kedr_die 2 "apt-get update failed"
	fi
	kedr_note "installing: ${missing[*]}"
	"${sudo[@]}" apt-get "${apt_opts[@]}" install -y --no-install-recommends \
		"${missing[@]}" >&2 ||
		kedr_die 2 "apt-get install ${missing[*]} failed"
fi

# The packages are in; check that they gave us a usable guest kernel.
kver=$(kedr_vm_kver)
kedr_vm_kernel_image "$kver" >/dev/null
[[ -f "/lib/modules/$kver/modules.dep" ]] ||
	kedr_die 2 "/lib/modules/$kver/modules.dep missing; run depmod $kver"
for tool in qemu-system-x86_64 cpio make gcc; do
	command -v "$tool" >/dev/null || kedr_die 2 "$tool not found after install"
done
[[ -x /bin/busybox ]] || kedr_die 2 "/bin/busybox (busybox-static) not found"
