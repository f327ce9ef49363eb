#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
#
# Builds the busybox initramfs (an uncompressed newc cpio archive) for one
# guest run:
#
#   mkinitramfs.sh --out FILE --script FILE [--ko FILE]...
#                  [--firmware SRC:DEST]... [--guest-module NAME]...
#                  [--all-guest-modules]
#
#   --script FILE        the guest script, run as /kedr/script.sh by /init
#                        (guest-init.sh) with `sh -e`
#   --ko FILE            a module of ours, put in /lib/modules/kedr/
#                        (insmod /lib/modules/kedr/foo.ko)
#   --firmware SRC:DEST  SRC put at /lib/firmware/DEST (DEST relative, or
#                        absolute under /lib/firmware/; a DEST ending in /
#                        gets SRC's file name) for request_firmware()
#   --guest-module NAME  a module of the guest kernel, with everything it
#                        depends on (modules.dep), under
#                        /lib/modules/<release>/ so that `modprobe NAME` works
#   --all-guest-modules  every module of the guest kernel (its whole
#                        modules.dep), so that `modprobe` finds any of them
#
# Exit status: 0 done, 2 bad arguments or setup.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

usage() {
	sed -n '/^#   mkinitramfs.sh/,/^#   --all-guest-modules/p' "${BASH_SOURCE[0]}" |
		sed 's/^# \{0,1\}//' >&2
	exit 2
}

out="" script="" all_guest_modules=0
kos=() firmware=() guest_modules=()
while (($#)); do
	case "$1" in
	--out | --script | --ko | --firmware | --guest-module)
		(($# >= 2)) || kedr_die 2 "$1 needs a value"
		case "$1" in
		--out) out=$2 ;;
		--script) script=$2 ;;
		--ko) kos+=("$2") ;;
		--firmware) firmware+=("$2") ;;
		--guest-module) guest_modules+=("$2") ;;
		esac
		shift 2
		;;
	--all-guest-modules)
		all_guest_modules=1
		shift
		;;
	-h | --help) usage ;;
	*) kedr_die 2 "unknown argument '$1' (see --help)" ;;
	esac
done
[[ -n "$out" ]] || kedr_die 2 "--out FILE is required"
[[ -n "$script" ]] || kedr_die 2 "--script FILE is required"
[[ -f "$script" && -r "$script" ]] || kedr_die 2 "--script $script: no such readable file"

kver=$(kedr_vm_kver)
moddir="/lib/modules/$kver"
[[ -f "$moddir/modules.dep" ]] || kedr_die 2 "$moddir/modules.dep missing"
[[ -x /bin/busybox ]] || kedr_die 2 "/bin/busybox missing; run scripts/vm/setup.sh"
command -v cpio >/dev/null || kedr_die 2 "cpio missing; run scripts/vm/setup.sh"

root=$(mktemp -d "${TMPDIR:-/tmp}/kedr-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT

# busybox and its applets.
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,out,kedr,lib/firmware}
cp /bin/busybox "$root/bin/busybox"
while read -r applet; do
	[[ "$applet" == bin/busybox ]] && continue
	mkdir -p "$root/$(dirname "$applet")"
	ln -sf /bin/busybox "$root/$applet"
done < <("$root/bin/busybox" --list-full)
[[ -e "$root/bin/sh" ]] || kedr_die 2 "busybox has no sh applet"

install -m 0755 "$here/guest-init.sh" "$root/init"
install -m 0755 "$script" "$root/kedr/script.sh"

# Our modules.
mkdir -p "$root/lib/modules/kedr"
for ko in ${kos[@]+"${kos[@]}"}; do
	[[ -f "$ko" && -r "$ko" ]] || kedr_die 2 "--ko $ko: no such readable file"
	[[ "$(head -c 4 "$ko" | od -An -c | tr -d ' ')" == '177ELF' ]] ||
		kedr_die 2 "--ko $ko: not an ELF file"
	dest="$root/lib/modules/kedr/${ko##*/}"
	[[ ! -e "$dest" ]] || kedr_die 2 "--ko $ko: a module named ${ko##*/} is already included"
	install -m 0644 "$ko" "$dest"
done

# Firmware.
for spec in ${firmware[@]+"${firmware[@]}"}; do
	[[ "$spec" == *:* ]] || kedr_die 2 "--firmware $spec: expected SRC:DEST"
	src=${spec%:*}
	dest=${spec##*:}
	[[ -f "$src" && -r "$src" ]] || kedr_die 2 "--firmware $spec: $src: no such readable file"
	dest=${dest#/lib/firmware/}
	[[ "$dest" != /* ]] || kedr_die 2 "--firmware $spec: DEST must be under /lib/firmware/"
	[[ -n "$dest" ]] || kedr_die 2 "--firmware $spec: empty DEST"
	[[ "$dest" == */ ]] && dest+=${src##*/}
	case "/$dest/" in
	*/../* | */./* | *//*) kedr_die 2 "--firmware $spec: DEST must be a plain relative path" ;;
	esac
	mkdir -p "$root/lib/firmware/$(dirname "$dest")"
	install -m 0644 "$src" "$root/lib/firmware/$dest"
done

# Guest kernel modules, with their dependencies, and a modules.dep that lists
# just those (busybox modprobe reads it).
mkdir -p "$root$moddir"
declare -A wanted=()
norm() { local n=${1##*/}; n=${n%%.ko*}; echo "${n//-/_}"; }
for name in ${guest_modules[@]+"${guest_modules[@]}"}; do
	n=$(norm "$name")
	line=$(awk -v n="$n" -F: '{
		m = $1; sub(/.*\//, "", m); sub(/\.ko.*/, "", m); gsub(/-/, "_", m)
		if (m == n) { print; exit }
	}' "$moddir/modules.dep")
	if [[ -z "$line" ]]; then
		if [[ -f "$moddir/modules.builtin" ]] &&
			awk -v n="$n" '{ m = $0; sub(/.*\//, "", m); sub(/\.ko.*/, "", m);
				gsub(/-/, "_", m); if (m == n) f = 1 } END { exit !f }' \
				"$moddir/modules.builtin"; then
			kedr_note "--guest-module $name: built into $kver, nothing to add"
			continue
		fi
		kedr_die 2 "--guest-module $name: no such module in $moddir/modules.dep"
	fi
	for path in ${line%%:*} ${line#*:}; do
		wanted[$path]=1
	done
done
: >"$root$moddir/modules.dep"
for path in "${!wanted[@]}"; do
	[[ "$path" == /* ]] && abs=$path || abs=$moddir/$path
	[[ -f "$abs" ]] || kedr_die 2 "$abs (listed in modules.dep) is missing"
	mkdir -p "$root$(dirname "$abs")"
	cp "$abs" "$root$abs"
	awk -v p="$path:" 'index($0, p) == 1 { print; exit }' \
		"$moddir/modules.dep" >>"$root$moddir/modules.dep"
done
if ((all_guest_modules)); then
	# Every module modules.dep lists (paths relative to $moddir), in one cp.
	(cd "$moddir" && cut -d: -f1 modules.dep | xargs -r cp --parents -t "$root$moddir") ||
		kedr_die 2 "cannot copy the modules listed in $moddir/modules.dep"
	cp "$moddir/modules.dep" "$root$moddir/modules.dep"
fi
for f in modules.builtin modules.order; do
	[[ ! -f "$moddir/$f" ]] || cp "$moddir/$f" "$root$moddir/$f"
done

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --owner=0:0 --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
