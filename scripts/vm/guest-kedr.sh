#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kedr tool for the test guest: the NativeAOT build of Kedr.Cli (one native
# binary, InvariantGlobalization, so no ICU and no .NET runtime) and exactly the
# shared libraries it loads, taken from the host at test time (never committed).
# `ldd` lists them (libc, libm and the dynamic loader today); the runtime
# dlopen()s nothing else (checked with strace: only /proc, /sys and the inputs).
# Source it, do not run it:
#
#   kedr_guest_files               "SRC DEST" lines: the host file, and where it
#                                  goes in the guest (/usr/bin/kedr; each
#                                  library at the path the binary asks for it)
#   kedr_guest_stage DIR           copies them into an initramfs staging
#                                  folder DIR (DIR/usr/bin/kedr, DIR/lib64/...)
#   kedr_guest_firmware_args       prints, one a line, run.sh/mkinitramfs.sh
#                                  arguments (--firmware SRC:kedr-tool/DEST)
#                                  that carry the same files into the guest's
#                                  /lib/firmware/kedr-tool/, for use with run.sh
#                                  as it is; the guest script then runs
#                                  KEDR_GUEST_INSTALL (below) to put them in place
#
# The binary is built (or found up to date) by the checkout's ./kedr wrapper.
#
# Exit status of each function: 0 done, 2 no NativeAOT build or a missing file.

# shellcheck disable=SC2034  # used by the scripts that source this file
# Guest side (busybox sh), after kedr_guest_firmware_args: the files to their places.
KEDR_GUEST_INSTALL='for f in $(cd /lib/firmware/kedr-tool && find . -type f); do
	mkdir -p "/${f%/*}" && cp "/lib/firmware/kedr-tool/$f" "/$f" && chmod 0755 "/$f" || exit 1
done'

kedr_guest_files() {
	local repo bin line lib
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	bin=$("$repo/kedr" --print-binary) || return 2
	[[ -x "$bin" ]] || { echo "guest-kedr: $bin missing" >&2; return 2; }
	echo "$bin /usr/bin/kedr"
	# ldd: "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)";
	# linux-vdso is the kernel's. A library ldd cannot find is an error, not a guest surprise.
	while read -r line; do
		case "$line" in
		linux-vdso.so.*) continue ;;
		*"=> not found"*) echo "guest-kedr: $bin needs ${line%% *}, not found on the host" >&2; return 2 ;;
		*"=> /"*) lib=${line#*=> }; lib=${lib%% (*} ;;
		/*) lib=${line%% (*} ;;
		*) echo "guest-kedr: cannot read ldd's line '$line'" >&2; return 2 ;;
		esac
		echo "$(readlink -f "$lib") $lib"
	done < <(ldd "$bin")
}

kedr_guest_stage() {
	local dir=${1:?kedr_guest_stage DIR} files src dest
	files=$(kedr_guest_files) || return 2
	while read -r src dest; do
		mkdir -p "$dir$(dirname "$dest")"
		install -m 0755 "$src" "$dir$dest" || return 2
	done <<<"$files"
}

kedr_guest_firmware_args() {
	local files src dest
	files=$(kedr_guest_files) || return 2
	while read -r src dest; do
		echo "--firmware"
		echo "$src:kedr-tool$dest"
	done <<<"$files"
}
