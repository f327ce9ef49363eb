#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Data races in a real file system, found offline (issue 18): one boot of the
# test guest with 4 vCPUs, the file system's module instrumented, the
# built-in locks and alloc payloads (kmod/payloads/) loaded, `kedr record`
# draining every event to a file while 4 shells work on one mount at once;
# then `kedr races --after FILL_SUPER` on the host. Run by hand (not in the
# suite: several minutes under TCG):
#
#   benchmarks/vm/races-fs.sh vfat|btrfs [--files N] [--locks-only] [--no-vfs] [--out DIR]
#
#   vfat   target fat (vfat mounts through it), image made in the guest by
#          mkdosfs, --after fat_fill_super
#   btrfs  target btrfs, a 64 MiB mixed-mode image made on the host with
#          mkfs.btrfs (btrfs-progs), --after btrfs_mount_root (btrfs_fill_super
#          is inlined into it)
#   --files N  files each shell creates, reads and lists (default 40)
#   --locks-only  load kedr_locks alone; by default kedr_alloc too, whose
#              ALLOC/FREE events tell the detector a block is new (slab
#              objects reused by another thread are otherwise reported)
#   --no-vfs   load kedr_locks with vfs=0: without its kernel-wide probes of
#              the VFS's i_rwsem, struct file and iput()/evict() around the
#              module's callbacks (docs/races.md, "The VFS around the
#              callbacks"), to compare
#   --out DIR  keep the trace (DIR/FS.rec), the reports (FS-races.txt,
#              FS-races.json) and the guest's logs (default: a temporary
#              folder, removed)
#
# The workload, per shell (4 at once, in their own folders of one mount):
# create a file, append to a file all shells share, read the file back, list
# the mount's root; then rename one file, read another shell's file, remove
# the folder. Prints the recording's counts, the number of racy pairs, the
# top pairs (by count), the 4 shells' time (guest uptime before and after)
# and /usr/bin/time's figures for `kedr races`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fs=${1:-}
shift || true
files=40 keep= payloads=(kedr_locks kedr_alloc) locks_args=
while [[ $# -gt 0 ]]; do
	case $1 in
	--files) files=$2; shift 2 ;;
	--locks-only) payloads=(kedr_locks); shift ;;
	--no-vfs) locks_args=vfs=0; shift ;;
	--out) keep=$2; shift 2 ;;
	*) echo "races-fs.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
case $fs in
vfat) target=fat after=fat_fill_super mods=(loop vfat nls_ascii nls_cp437) ;;
btrfs) target=btrfs after=btrfs_mount_root mods=(loop btrfs) ;;   # btrfs_fill_super is inlined there
*) echo "usage: races-fs.sh vfat|btrfs [--files N] [--locks-only] [--no-vfs] [--out DIR]" >&2; exit 2 ;;
esac
work=$(mktemp -d "${TMPDIR:-/tmp}/kedr-races-fs.XXXXXX")
trap 'rm -rf "$work"' EXIT
out=${keep:-$work/keep}
mkdir -p "$out"

source "$root/scripts/vm/lib.sh"
kver=$(kedr_vm_kver)
ko=$(find "/lib/modules/$kver/kernel/fs" -name "$target.ko" | head -n 1)
[[ -n $ko ]] || { echo "races-fs.sh: no $target.ko in /lib/modules/$kver" >&2; exit 2; }
args=()
while read -r k; do args+=(--ko "$k"); done < <("$root/scripts/vm/build-kmod.sh" kedr_sample)
# The payloads, generated and built as a user would (docs/payloads.md).
for p in "${payloads[@]}"; do
	"$root/kedr" payload generate "$root/kmod/payloads/$p/$p.json" -o "$work/$p" >/dev/null
	make -s -C "/lib/modules/$kver/build" M="$work/$p" \
		KBUILD_EXTRA_SYMBOLS="$root/kmod/kedr_sample/Module.symvers" modules >&2
	args+=(--ko "$work/$p/$p.ko")
done
source "$root/scripts/vm/guest-kedr.sh"
mapfile -t fw < <(kedr_guest_firmware_args)
[[ ${#fw[@]} -gt 0 ]] || { echo "races-fs.sh: no guest kedr (scripts/vm/guest-kedr.sh)" >&2; exit 2; }
args+=("${fw[@]}")
"$root/kedr" instrument "$ko" -o "$work/$target.kedr" >/dev/null
args+=(--firmware "$work/$target.kedr:kedr/$target.kedr")
for m in "${mods[@]}"; do args+=(--guest-module "$m"); done
if [[ $fs == btrfs ]]; then
	command -v mkfs.btrfs >/dev/null || { echo "races-fs.sh: mkfs.btrfs missing (apt-get install btrfs-progs)" >&2; exit 2; }
	truncate -s 64M "$work/fs.img"
	mkfs.btrfs -q -M -f "$work/fs.img" >/dev/null 2>&1
	gzip -1 "$work/fs.img"
	args+=(--firmware "$work/fs.img.gz:kedr/fs.img.gz")
fi

{ printf '%s\n' "$KEDR_GUEST_INSTALL"; cat <<GUEST
K=/lib/modules/kedr
modprobe loop
$(if [[ $fs == vfat ]]; then echo "dd if=/dev/zero of=/tmp/fs.img bs=1M count=32 2>/dev/null; mkdosfs /tmp/fs.img >/dev/null"
else echo "gunzip -c /lib/firmware/kedr/fs.img.gz > /tmp/fs.img"; fi)
insmod \$K/kedr_sample.ko target_name=$target
$(for p in "${payloads[@]}"; do [[ $p == kedr_locks ]] && echo "insmod \$K/$p.ko $locks_args" || echo "insmod \$K/$p.ko"; done)
kedr record -o /out/$fs.rec 2> /out/record.txt &
rec=\$!
$(for m in "${mods[@]}"; do [[ $m == loop ]] || echo "modprobe $m"; done)
mkdir -p /mnt/t
mount -o loop -t $fs /tmp/fs.img /mnt/t
$(sed "s/@FILES@/$files/" "$root/benchmarks/vm/fs-shell-work.sh")
run_shells workload
umount /mnt/t
$(if [[ $fs == vfat ]]; then echo "rmmod vfat; rmmod fat"; else echo "rmmod btrfs"; fi)
wait \$rec
tail -n 2 /out/record.txt
$(for p in "${payloads[@]}"; do echo "rmmod $p"; done)
rmmod kedr_sample
GUEST
} >"$work/guest.sh"

"$root/scripts/vm/run.sh" --script "$work/guest.sh" "${args[@]}" --smp 4 --append no_timer_check \
	--mem 4096 --timeout 3000 --out "$work/vm" >/dev/null || { cat "$work/vm/script.log" >&2; exit 1; }
cp "$work/vm/script.log" "$work/vm/dmesg.txt" "$out/"
mv "$work/vm/$fs.rec" "$out/$fs.rec"
cat "$work/vm/record.txt" | tail -n 2
grep '^workload:' "$out/script.log" || true
/usr/bin/time -v "$root/kedr" races "$out/$fs.rec" --ko "$ko" --after "$after" --format json -o "$out/$fs-races.json" 2> "$out/time.txt"
"$root/kedr" races "$out/$fs.rec" --ko "$ko" --after "$after" -o "$out/$fs-races.txt"
grep -E "Elapsed|Maximum resident|User time|System time" "$out/time.txt"
python3 - "$out/$fs-races.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
races = r["races"]
print(f'events {r["events"]:,} (memory {r["memory_events"]:,}, sync {r["sync_events"]:,}), dropped {r["dropped"]:,}, threads {r["threads"]}, racy pairs {len(races)}')
def at(a):
    return f'{a["kind"]} {a.get("function") or a["pc"]}+0x{a.get("offset") or 0:x} [{a["context"]}]'
for p in sorted(races, key=lambda p: -p["count"])[:12]:
    print(f'{p["count"]:7}  {at(p["first"])}  /  {at(p["second"])}  {p["allocation"] and "alloc" or ""}')
PY
