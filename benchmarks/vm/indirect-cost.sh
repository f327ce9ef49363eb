#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Cost of an indirect call of the copies that no payload claims (issue 15: the
# indirect path asks whether the destination is a claimed address-taken import,
# blob 1.6), in one boot of the test guest (QEMU TCG: compare the figures with
# each other, not with hardware):
#
#   benchmarks/vm/indirect-cost.sh [--calls N] [--rounds R] [--base OLD_KEDR_SAMPLE_KO]
#
# kmod/kedr_rec_target is instrumented; kmod/kedr_rec_probe has it make N
# (default 200000) indirect calls (kedr_rec_indirect(): a read of the pointer,
# one memory event, and a call through it to jiffies_to_msecs, an
# address-taken import no payload claims, one KEDR_REC_INDIRECT event). Timed
# in the guest, in ms, with every event filtered out at the source (filter
# "kinds": the recorder's cost is left out, the indirect stub path stays):
#
#   plain      the target not instrumented (kedr_sample not loaded)
#   filtered   this tree's kedr_sample
#   base_...   with --base, the same with another kedr_sample.ko (e.g. one
#              built from an earlier commit: git archive COMMIT kmod | tar -x
#              -C DIR; make -C DIR/kmod kedr_sample), right after, same boot
#
# and prints ns per indirect call over plain. Every case is run R times
# (default 5), the least time of each is printed (the host's load only ever
# adds time).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
calls=200000 rounds=5 base=
while [[ $# -gt 0 ]]; do
	case "$1" in
	--calls) calls=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--base) base=$(realpath "$2"); shift 2 ;;
	*) echo "indirect-cost.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
work=$(mktemp -d "${TMPDIR:-/tmp}/kedr-indirect-cost.XXXXXX")
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
timed() { t=\$(ms); echo "indirect \$N" > \$D/kedr_rec_probe/ctl; echo "\$1_ms=\$((\$(ms) - t))"; }
case_run() {
	insmod \$2 target_name=kedr_rec_target
	echo kinds > \$D/kedr_sample/filter
	insmod \$K/kedr_rec_target.ko
	insmod \$K/kedr_rec_probe.ko
	timed \$1
	rmmod kedr_rec_probe
	rmmod kedr_rec_target
	rmmod kedr_sample
}
B=/lib/firmware/kedr-base/kedr_sample.ko
r=0
while [ \$r -lt $rounds ]; do
	insmod \$K/kedr_rec_target.ko
	insmod \$K/kedr_rec_probe.ko
	timed plain
	rmmod kedr_rec_probe
	rmmod kedr_rec_target
	case_run filtered \$K/kedr_sample.ko
	[ ! -e \$B ] || case_run base_filtered \$B
	r=\$((r + 1))
done
GUEST

"$root/scripts/vm/run.sh" --script "$work/guest.sh" "${kos[@]}" "${fw[@]}" \
	--mem 2048 --timeout 1500 --out "$work/out" >/dev/null || { cat "$work/out/script.log" >&2; exit 1; }
out="$work/out/script.log"
grep -E '_ms=' "$out"
awk -v n="$calls" -F= '/_ms=/ {
	sub(/_ms$/, "", $1)
	if (!($1 in min)) { order[++k] = $1; min[$1] = $2 } else if ($2 < min[$1]) min[$1] = $2 }
	END {
	printf "least of the rounds, %d indirect calls of the copies (one memory and one indirect event each, filtered out):\n", n
	for (i = 1; i <= k; i++) {
		c = order[i]
		if (c == "plain") printf "%-16s %8d ms\n", c, min[c]
		else printf "%-16s %8d ms  %7.0f ns per indirect call over plain\n", c, min[c], (min[c] - min["plain"]) * 1e6 / n
	} }' "$out"
