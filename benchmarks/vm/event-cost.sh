#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Cost of one event through kedr_sample's helpers, in one boot of the test
# guest (QEMU TCG: compare the figures with each other, not with hardware):
#
#   benchmarks/vm/event-cost.sh [--indirect] [--calls N] [--rounds R] [--base OLD_KEDR_SAMPLE_KO]
#
# kmod/kedr_rec_target is instrumented; kmod/kedr_rec_probe calls its
# kedr_rec_work() N times (default 200000) with "work N". One call is five
# helper calls and six events: entry, a read-write (INCL: one helper call,
# two events), two string instructions (MOVSQ: two events; REP MOVSB with a
# zero count: none), exit. Timed in the guest, in ms, for:
#
#   plain      the target not instrumented (kedr_sample not loaded)
#   filtered   every event filtered out at the source (filter "kinds")
#   func-only  memory events filtered out, entry and exit kept (kinds function)
#   recorded   everything recorded, each CPU's raw stream drained to /dev/null
#              by cat (read(2): copy_to_user())
#   mapped     everything recorded, drained by `kedr record -o /dev/null`
#              (through the mapping of the rings where the module has it)
#   readrec    the same with `kedr record --read` (read(2))
#   noreader   everything, no reader (the rings keep what fits, drop the rest)
#
# and prints ns per helper call over plain for each. With --base, each case
# is run also with another kedr_sample.ko (e.g. the module of an earlier
# commit, as base_CASE) right after this one, in the same boot. Every case
# is run R times (default 3), the rounds one after another, and the least
# time of each is printed: the host's load comes and goes (the machine is
# shared), and it only ever adds time. The guest's `kedr` is the checkout's
# NativeAOT build (scripts/vm/guest-kedr.sh), also for the base module (which
# it reads with read(2) if that module has no mapping).
#
# --indirect: the cost of an indirect call of the copies that no payload
# claims instead (issue 15: the indirect path asks whether the destination is
# a claimed address-taken import, blob 1.6). kedr_rec_probe has the target
# make N indirect calls ("indirect N": kedr_rec_indirect() reads the pointer,
# one memory event, and calls through it jiffies_to_msecs, an address-taken
# import no payload claims, one KEDR_REC_INDIRECT event); only plain and
# filtered are run (the recorder's cost left out, the indirect stub path
# kept), and ns per indirect call over plain are printed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
calls=200000 rounds=3 base=
# What kedr_rec_probe is told to do N times, and how many helper calls (or
# indirect calls) one of them makes.
drive=work per=5 what="calls of kedr_rec_work() (5 helper calls, 6 events each)" unit="helper call"
while [[ $# -gt 0 ]]; do
	case "$1" in
	--indirect)
		drive=indirect per=1 unit="indirect call"
		what="indirect calls of the copies (one memory and one indirect event each, filtered out)"
		shift ;;
	--calls) calls=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--base) base=$(realpath "$2"); shift 2 ;;
	*) echo "event-cost.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
work=$(mktemp -d "${TMPDIR:-/tmp}/kedr-event-cost.XXXXXX")
trap 'rm -rf "$work"' EXIT

kos=()
while read -r ko; do kos+=(--ko "$ko"); done < <("$root/scripts/vm/build-kmod.sh" kedr_sample kedr_rec_target kedr_rec_probe)
source "$root/scripts/vm/guest-kedr.sh"
mapfile -t tool < <(kedr_guest_firmware_args)
[[ ${#tool[@]} -gt 0 ]] || { echo "event-cost.sh: no guest kedr (scripts/vm/guest-kedr.sh)" >&2; exit 2; }
target=$(printf '%s\n' "${kos[@]}" | grep '/kedr_rec_target.ko$')
"$root/kedr" instrument "$target" -o "$work/kedr_rec_target.kedr" >/dev/null
fw=(--firmware "$work/kedr_rec_target.kedr:kedr/kedr_rec_target.kedr")
[[ -z "$base" ]] || fw+=(--firmware "$base:kedr-base/kedr_sample.ko")

{ printf '%s\n' "$KEDR_GUEST_INSTALL"; cat <<GUEST
K=/lib/modules/kedr
D=/sys/kernel/debug
N=$calls
ms() { read up _ < /proc/uptime; echo \$((\${up%.*} * 1000 + (1\${up#*.} - 100) * 10)); }
timed() { t=\$(ms); echo "$drive \$N" > \$D/kedr_rec_probe/ctl; echo "\$1_ms=\$((\$(ms) - t))"; }
# case NAME KO SETUP: kedr_sample KO waiting for the target, SETUP run, timed
case_run() {
	insmod \$2 target_name=kedr_rec_target
	eval "\$3"
	insmod \$K/kedr_rec_target.ko
	insmod \$K/kedr_rec_probe.ko
	timed \$1
	rmmod kedr_rec_probe
	rmmod kedr_rec_target
	sed -n 's/^all \([0-9]*\) \([0-9]*\) [0-9]* \([0-9]*\).*/\1_stats=\1 \2 \3/p' \$D/kedr_sample/stats |
		sed "s/^[0-9]*_stats/\$1_stats/"
	# kedr record ends with the target, after what is left.
	[ -z "\$recorder" ] || wait \$recorder
	recorder=
	kill \$readers 2>/dev/null || true
	wait 2>/dev/null || true
	if [ -s /tmp/record.txt ]; then
		sed -n "s/^kedr record: \\([0-9]* of [0-9]*\\) CPU streams read through the mapping.*/\$1_mapped=\\1/p" /tmp/record.txt
		rm -f /tmp/record.txt
	fi
	rmmod kedr_sample
}
drain() {
	readers=
	for f in \$D/kedr_sample/per_cpu/cpu*/raw; do cat \$f > /dev/null & readers="\$readers \$!"; done
}
# kedr record to /dev/null (\$1: its options); it ends with the target, or is killed.
record() {
	kedr record -o /dev/null --progress-ms 500 \$1 2> /tmp/record.txt &
	recorder=\$!
	# Its first progress line: the raw files are open.
	while [ ! -s /tmp/record.txt ]; do sleep 0.1; done
}
B=/lib/firmware/kedr-base/kedr_sample.ko
recorder=
both() {
	readers=
	case_run \$1 \$K/kedr_sample.ko "\$2"
	readers=
	[ ! -e \$B ] || case_run base_\$1 \$B "\$2"
}
r=0
while [ \$r -lt $rounds ]; do
	insmod \$K/kedr_rec_target.ko
	insmod \$K/kedr_rec_probe.ko
	echo "work 1000" > \$D/kedr_rec_probe/ctl
	timed plain
	rmmod kedr_rec_probe
	rmmod kedr_rec_target
	both filtered 'echo kinds > \$D/kedr_sample/filter'
	if [ $drive = work ]; then
		both funconly 'echo kinds function > \$D/kedr_sample/filter'
		both recorded drain
		both mapped record
		both readrec 'record --read'
		both noreader :
	fi
	r=\$((r + 1))
done
GUEST
} >"$work/guest.sh"

"$root/scripts/vm/run.sh" --script "$work/guest.sh" "${kos[@]}" "${fw[@]}" "${tool[@]}" \
	--mem 2048 --timeout 1500 --out "$work/out" >/dev/null || { cat "$work/out/script.log" >&2; exit 1; }
out="$work/out/script.log"
grep -E '_(ms|stats|mapped)=' "$out"
# The least of the rounds per case, in the order first seen.
awk -v n="$calls" -v per="$per" -v what="$what" -v unit="$unit" -F= '/_ms=/ {
	sub(/_ms$/, "", $1)
	if (!($1 in min)) { order[++k] = $1; min[$1] = $2 } else if ($2 < min[$1]) min[$1] = $2 }
	END {
	printf "least of the rounds, %d %s:\n", n, what
	for (i = 1; i <= k; i++) {
		c = order[i]
		if (c == "plain") printf "%-18s %8d ms\n", c, min[c]
		else printf "%-18s %8d ms  %7.0f ns per %s over plain\n", c, min[c], (min[c] - min["plain"]) * 1e6 / (per * n), unit
	} }' "$out"
