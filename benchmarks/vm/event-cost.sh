#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Cost of one event through kedr_sample's helpers, in one boot of the test
# guest (QEMU TCG: compare the figures with each other, not with hardware):
#
#   benchmarks/vm/event-cost.sh [--calls N] [--base OLD_KEDR_SAMPLE_KO]
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
#   noreader   everything, no reader (the rings keep what fits, drop the rest)
#
# and prints ns per helper call over plain for each. With --base, the same
# cases are run again in the same boot with another kedr_sample.ko (e.g. the
# module of an earlier commit), so that two versions compare under the same
# load of the host.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
calls=200000 base=
while [[ $# -gt 0 ]]; do
	case "$1" in
	--calls) calls=$2; shift 2 ;;
	--base) base=$(realpath "$2"); shift 2 ;;
	*) echo "event-cost.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
work=$(mktemp -d "${TMPDIR:-/tmp}/kedr-event-cost.XXXXXX")
trap 'rm -rf "$work"' EXIT

kos=()
while read -r ko; do kos+=(--ko "$ko"); done < <("$root/scripts/vm/build-kmod.sh" kedr_sample kedr_rec_target kedr_rec_probe)
target=$(printf '%s\n' "${kos[@]}" | grep '/kedr_rec_target.ko$')
"$root/kedr" instrument "$target" -o "$work/kedr_rec_target.kedr" >/dev/null
fw=(--firmware "$work/kedr_rec_target.kedr:kedr/kedr_rec_target.kedr")
[[ -z "$base" ]] || fw+=(--firmware "$base:kedr-base/kedr_sample.ko")

cat >"$work/guest.sh" <<GUEST
K=/lib/modules/kedr
D=/sys/kernel/debug
N=$calls
ms() { read up _ < /proc/uptime; echo \$((\${up%.*} * 1000 + (1\${up#*.} - 100) * 10)); }
timed() { t=\$(ms); echo "work \$N" > \$D/kedr_rec_probe/ctl; echo "\$1_ms=\$((\$(ms) - t))"; }
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
	kill \$readers 2>/dev/null || true
	wait 2>/dev/null || true
	rmmod kedr_sample
}
drain() {
	readers=
	for f in \$D/kedr_sample/per_cpu/cpu*/raw; do cat \$f > /dev/null & readers="\$readers \$!"; done
}
cases() {
	readers=
	case_run \${1}filtered \$2 'echo kinds > \$D/kedr_sample/filter'
	case_run \${1}funconly \$2 'echo kinds function > \$D/kedr_sample/filter'
	case_run \${1}recorded \$2 'drain'
	readers=
	case_run \${1}noreader \$2 ':'
}
insmod \$K/kedr_rec_target.ko
insmod \$K/kedr_rec_probe.ko
echo "work 1000" > \$D/kedr_rec_probe/ctl
timed plain
rmmod kedr_rec_probe
rmmod kedr_rec_target
cases "" \$K/kedr_sample.ko
[ ! -e /lib/firmware/kedr-base/kedr_sample.ko ] || cases base_ /lib/firmware/kedr-base/kedr_sample.ko
cases again_ \$K/kedr_sample.ko
GUEST

"$root/scripts/vm/run.sh" --script "$work/guest.sh" "${kos[@]}" "${fw[@]}" \
	--mem 2048 --timeout 1500 --out "$work/out" >/dev/null || { cat "$work/out/script.log" >&2; exit 1; }
out="$work/out/script.log"
grep -E '_(ms|stats)=' "$out"
plain=$(sed -n 's/^plain_ms=//p' "$out")
awk -v p="$plain" -v n="$calls" -F= '/_ms=/ && $1 != "plain_ms" {
	sub(/_ms$/, "", $1)
	printf "%-18s %8d ms  %7.0f ns per helper call over plain\n", $1, $2, ($2 - p) * 1e6 / (5 * n) }' "$out"
