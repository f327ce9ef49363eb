#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Overhead of KEDR under real workloads, in one boot of the test guest (QEMU
# TCG: compare the ratios, not the absolute times):
#
#   benchmarks/vm/overhead.sh [--skip-tcrypt | --skip-btrfs | --only-tcrypt | --only-btrfs | --only-vfat]
#                             [--base OLD_KEDR_SAMPLE_KO] [--rounds R] [--no-record]
#
#   vfat   benchmarks/vm/fat-workload.sh timed plain (kedr_sample not
#          loaded), instrumented with `kedr record` draining to a file, and
#          instrumented with every event filtered out at the source
#          ("kinds" with nothing: filter file of kedr_sample)
#   btrfs  the same three for benchmarks/vm/btrfs-workload.sh (the image
#          from benchmarks/vm/btrfs-image.sh), btrfs instrumented
#   sha256 tcrypt's speed test (modprobe tcrypt mode=304 sec=1) with the SIMD
#          hash module sha256_ssse3 plain and instrumented (`kedr record` to
#          /dev/null), ops/s for 8 KiB blocks in one update
#
# With --base, the instrumented vfat and sha256 cases also run with another
# kedr_sample.ko (e.g. an earlier commit's) right after this one's, in the
# same boot (base_*); with --rounds R (default 1) the vfat cases run R times,
# in turn, and the least time of each counts: the host is shared, its load
# only ever adds time. --no-record leaves out the recorded vfat and btrfs
# cases (and tcrypt's): plain against filtered to nothing only.
#
# Prints the times, events, drops and the ratios. Uses scripts/vm/run.sh and
# scripts/vm/guest-kedr.sh for the guest's `kedr` (the checkout's NativeAOT
# build, rebuilt by ./kedr when a source changed, with its shared libraries).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tcrypt=1 fat=1 btrfs=1 base= rounds=1 record=1
while [[ $# -gt 0 ]]; do
	case "$1" in
	--skip-tcrypt) tcrypt=0; shift ;;
	--skip-btrfs) btrfs=0; shift ;;
	--only-tcrypt) fat=0 btrfs=0; shift ;;
	--only-btrfs) fat=0 tcrypt=0; shift ;;
	--only-vfat) btrfs=0 tcrypt=0; shift ;;
	--base) base=$(realpath "$2"); shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--no-record) record=0 tcrypt=0; shift ;;
	*) echo "overhead.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
work=$(mktemp -d "${TMPDIR:-/tmp}/kedr-overhead.XXXXXX")
trap 'rm -rf "$work"' EXIT

source "$root/scripts/vm/lib.sh"
kver=$(kedr_vm_kver)
mods=/lib/modules/$kver/kernel
kos=()
while read -r ko; do kos+=(--ko "$ko"); done < <("$root/scripts/vm/build-kmod.sh" kedr_sample)
source "$root/scripts/vm/guest-kedr.sh"
mapfile -t fw < <(kedr_guest_firmware_args)
[[ ${#fw[@]} -gt 0 ]] || { echo "overhead.sh: no guest kedr (scripts/vm/guest-kedr.sh)" >&2; exit 2; }
kos+=("${fw[@]}")
[[ -z "$base" ]] || kos+=(--firmware "$base:kedr-base/kedr_sample.ko")
"$root/kedr" instrument "$mods/fs/fat/fat.ko" -o "$work/fat.kedr" >/dev/null
"$root/kedr" instrument "$mods/arch/x86/crypto/sha256-ssse3.ko" -o "$work/sha256_ssse3.kedr" >/dev/null
"$root/kedr" instrument "$mods/fs/btrfs/btrfs.ko" -o "$work/btrfs.kedr" >/dev/null
mapfile -t btrfs_image < <("$root/benchmarks/vm/btrfs-image.sh" "$work/btrfs-image")

{ printf '%s\n' "$KEDR_GUEST_INSTALL"; cat <<GUEST
K=/lib/modules/kedr
D=/sys/kernel/debug/kedr_sample
ms() { read up _ < /proc/uptime; echo \$((\${up%.*} * 1000 + (1\${up#*.} - 100) * 10)); }
workload() { sh -e /tmp/fat-workload.sh; }
cat > /tmp/fat-workload.sh <<'WORKLOAD'
$(cat "$root/benchmarks/vm/fat-workload.sh")
WORKLOAD
cat > /tmp/btrfs-workload.sh <<'WORKLOAD'
$(cat "$root/benchmarks/vm/btrfs-workload.sh")
WORKLOAD
btrfs_workload() { sh -e /tmp/btrfs-workload.sh; }

if [ $btrfs = 1 ]; then
# btrfs: plain (twice, as vfat), instrumented + kedr record to a file, filtered to nothing
btrfs_workload
t=\$(ms); btrfs_workload; echo "btrfs_plain_ms=\$((\$(ms) - t))"
if [ $record = 1 ]; then
insmod \$K/kedr_sample.ko target_name=btrfs
kedr record -o /tmp/rec.trace 2> /tmp/record-btrfs.txt &
rec=\$!
t=\$(ms); btrfs_workload; echo "btrfs_recorded_ms=\$((\$(ms) - t))"
wait \$rec
tail -n 1 /tmp/record-btrfs.txt | sed 's/^/btrfs_/'
grep -c warning /tmp/record-btrfs.txt | sed 's/^/btrfs_record_warnings=/' || true
sed -n 's/^all \([0-9]*\) \([0-9]*\) .*/btrfs_events=\1 btrfs_dropped=\2/p' \$D/stats
rm -f /tmp/rec.trace
rmmod kedr_sample
fi
insmod \$K/kedr_sample.ko target_name=btrfs
echo kinds > \$D/filter
t=\$(ms); btrfs_workload; echo "btrfs_filtered_ms=\$((\$(ms) - t))"
sed -n 's/^all \([0-9]*\) \([0-9]*\) [0-9]* \([0-9]*\).*/btrfs_filtered_recorded=\1 btrfs_filtered_dropped=\2 btrfs_filtered_out=\3/p' \$D/stats
rmmod kedr_sample
fi

B=/lib/firmware/kedr-base/kedr_sample.ko
# vfat_case NAME KO SETUP: the workload under kedr_sample KO after SETUP
vfat_case() {
	insmod \$2 target_name=fat
	eval "\$3"
	if [ \$1 = recorded ]; then
		kedr record -o /tmp/rec.trace 2> /tmp/record.txt &
		rec=\$!
	fi
	t=\$(ms); workload; echo "\$4\$1_ms=\$((\$(ms) - t))"
	if [ \$1 = recorded ]; then
		wait \$rec
		tail -n 1 /tmp/record.txt | sed "s/^/\$4/"
		grep -c warning /tmp/record.txt | sed "s/^/\$4record_warnings=/" || true
		sed -n "s/^all \\([0-9]*\\) \\([0-9]*\\) .*/\$4events=\\1 \$4dropped=\\2/p" \$D/stats
		rm -f /tmp/rec.trace
	else
		sed -n "s/^all \\([0-9]*\\) \\([0-9]*\\) [0-9]* \\([0-9]*\\).*/\$4filtered_recorded=\\1 \$4filtered_dropped=\\2 \$4filtered_out=\\3/p" \$D/stats
	fi
	rmmod kedr_sample
}
if [ $fat = 1 ]; then
# vfat, plain (the first run warms the page cache and module loading), then
# instrumented with kedr record to a file, and with everything filtered out
workload
r=0
while [ \$r -lt $rounds ]; do
	t=\$(ms); workload; echo "plain_ms=\$((\$(ms) - t))"
	if [ $record = 1 ]; then
		vfat_case recorded \$K/kedr_sample.ko :
		[ ! -e \$B ] || vfat_case recorded \$B : base_
	fi
	vfat_case filtered \$K/kedr_sample.ko 'echo kinds > \$D/filter'
	[ ! -e \$B ] || vfat_case filtered \$B 'echo kinds > \$D/filter' base_
	r=\$((r + 1))
done
fi

# ops/s of the 8 KiB blocks, one update, in dmesg after line \$1 (printk may
# split the line in two; dmesg is not cleared: run.sh checks all of it)
sha_ops() {
	dmesg | tail -n +\$((\$1 + 1)) | grep -A1 'tcrypt: test .*8192 byte blocks, 8192 bytes per update' |
		grep -o '[0-9]* opers/sec' | tail -n 1 | cut -d' ' -f1
}
if [ $tcrypt = 1 ]; then
	n=\$(dmesg | wc -l)
	modprobe sha256_ssse3
	modprobe tcrypt mode=304 sec=1 2>/dev/null || true
	echo "sha_plain_ops=\$(sha_ops \$n)"
	rmmod sha256_ssse3
	n=\$(dmesg | wc -l)
	insmod \$K/kedr_sample.ko target_name=sha256_ssse3
	kedr record -o /dev/null 2> /tmp/record-sha.txt &
	rec=\$!
	modprobe sha256_ssse3
	modprobe tcrypt mode=304 sec=1 2>/dev/null || true
	echo "sha_instrumented_ops=\$(sha_ops \$n)"
	rmmod sha256_ssse3
	wait \$rec
	tail -n 1 /tmp/record-sha.txt | sed 's/^/sha_/'
	rmmod kedr_sample
	if [ -e \$B ]; then
		n=\$(dmesg | wc -l)
		insmod \$B target_name=sha256_ssse3
		kedr record -o /dev/null 2> /tmp/record-sha.txt &
		rec=\$!
		modprobe sha256_ssse3
		modprobe tcrypt mode=304 sec=1 2>/dev/null || true
		echo "base_sha_instrumented_ops=\$(sha_ops \$n)"
		rmmod sha256_ssse3
		wait \$rec
		rmmod kedr_sample
	fi
fi
GUEST
} >"$work/guest.sh"

"$root/scripts/vm/run.sh" --script "$work/guest.sh" "${kos[@]}" \
	--firmware "$work/fat.kedr:kedr/fat.kedr" \
	--firmware "$work/sha256_ssse3.kedr:kedr/sha256_ssse3.kedr" \
	--firmware "$work/btrfs.kedr:kedr/btrfs.kedr" "${btrfs_image[@]}" --guest-module btrfs \
	--guest-module loop --guest-module vfat --guest-module nls_ascii \
	--guest-module nls_cp437 --guest-module sha256_ssse3 --guest-module tcrypt \
	--mem 4096 --timeout 3000 --out "$work/out" >/dev/null || true
out="$work/out/script.log"
get() { sed -n "s/^$1=//p" "$out" | tail -n 1; }
# The least of the rounds.
least() { sed -n "s/^$1=//p" "$out" | sort -n | head -n 1; }
plain=$(least plain_ms) recorded=$(least recorded_ms) filtered=$(least filtered_ms)
[[ $record == 1 ]] || recorded=0
grep -E "^(base_)?kedr record|^sha_kedr record|^btrfs_kedr record|^(base_)?events=|^(base_)?filtered_|^(base_)?record_warnings|^btrfs_(events|filtered_|record_warnings)|_ms=" "$out" || true
[[ $fat == 0 || ( -n "$plain" && -n "$recorded" && -n "$filtered" ) ]] || { cat "$out" >&2; exit 1; }
[[ $fat == 0 ]] || awk -v p="$plain" -v r="$recorded" -v f="$filtered" -v n="$rounds" 'BEGIN {
	printf "vfat, least of %d rounds:\n", n
	printf "vfat plain:                  %.2f s\n", p / 1e3
	printf "vfat instrumented+record:    %.2f s  (%.2fx plain)\n", r / 1e3, r / p
	printf "vfat filtered to nothing:    %.2f s  (%.2fx plain)\n", f / 1e3, f / p }'
br=$(least base_recorded_ms) bf=$(least base_filtered_ms)
[[ $fat == 0 || -z "$base" ]] || awk -v p="$plain" -v r="$br" -v f="$bf" 'BEGIN {
	printf "base: vfat instrumented+record:    %.2f s  (%.2fx plain)\n", r / 1e3, r / p
	printf "base: vfat filtered to nothing:    %.2f s  (%.2fx plain)\n", f / 1e3, f / p }'
bp=$(get btrfs_plain_ms) br=$(get btrfs_recorded_ms) bf=$(get btrfs_filtered_ms)
[[ $record == 1 ]] || br=0
[[ $btrfs == 0 || ( -n "$bp" && -n "$br" && -n "$bf" ) ]] || { cat "$out" >&2; exit 1; }
[[ $btrfs == 0 ]] || awk -v p="$bp" -v r="$br" -v f="$bf" 'BEGIN {
	printf "btrfs plain:                 %.2f s\n", p / 1e3
	printf "btrfs instrumented+record:   %.2f s  (%.2fx plain)\n", r / 1e3, r / p
	printf "btrfs filtered to nothing:   %.2f s  (%.2fx plain)\n", f / 1e3, f / p }'
sp=$(get sha_plain_ops) si=$(get sha_instrumented_ops)
if [[ -n "$sp" && -n "$si" ]]; then
	awk -v p="$sp" -v i="$si" 'BEGIN {
		printf "sha256 8 KiB: plain %d ops/s, instrumented %d ops/s (%.1fx slower)\n", p, i, p / i }'
fi
bi=$(get base_sha_instrumented_ops)
if [[ -n "$sp" && -n "$bi" ]]; then
	awk -v p="$sp" -v i="$bi" 'BEGIN {
		printf "base: sha256 8 KiB instrumented %d ops/s (%.1fx slower)\n", i, p / i }'
fi
