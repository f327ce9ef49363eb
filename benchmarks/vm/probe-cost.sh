#!/usr/bin/env bash
# Cost of a probe hit (issue 16 item 4): a probe in a KEDR copy against a
# kprobe and an optimized kprobe on the same instruction of the original
# (the head of kedr_pb_work's loop, kmod/kedr_probe_bench: LOOP hits per
# call), all measured in one boot of the test guest. Under QEMU TCG absolute
# times mean little: compare the ratios. Usage:
# benchmarks/vm/probe-cost.sh [N [REPS]] (N calls a run, best of REPS runs)
# Takes about 2 minutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
N=${1:-20000}
REPS=${2:-5}
LOOP=64	# KEDR_PB_LOOP of kedr_pb_target.c
make -s -C "$root/kmod" kedr_sample kedr_probe_handler kedr_probe_bench >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
b="$root/kmod/kedr_probe_bench"
# The loop's head: the target of the backward jump in kedr_pb_work.
OFFSET=$(objdump -d --no-show-raw-insn "$b/kedr_pb_target.ko" | awk '
	/<kedr_pb_work>:/ { f = 1; next }
	f && /^$/ { exit }
	f && $2 ~ /^j/ && $4 ~ /^<kedr_pb_work\+0x/ { sub(":", "", $1); print $1, $3 }' |
	while read -r at to; do [ $((0x$to)) -lt $((0x$at)) ] && { printf '0x%x\n' $((0x$to)); break; }; done)
[ -n "$OFFSET" ] || { echo "no loop in kedr_pb_work" >&2; exit 1; }
"$root/kedr" instrument "$b/kedr_pb_target.ko" -o "$work/kedr_pb_target.kedr" \
	--probe "kedr_pb_work+$OFFSET" >/dev/null
{ echo "N=$N REPS=$REPS OFFSET=$OFFSET"; cat "$root/benchmarks/vm/probe-cost-guest.sh"; } >"$work/guest.sh"
"$root/scripts/vm/run.sh" --script "$work/guest.sh" --out "$work/out" --timeout 900 \
	--ko "$root/kmod/kedr_sample/kedr_sample.ko" \
	--ko "$root/kmod/kedr_probe_handler/kedr_probe_handler.ko" \
	--ko "$b/kedr_pb_target.ko" --ko "$b/kedr_pb_drive.ko" \
	--firmware "$work/kedr_pb_target.kedr:kedr/kedr_pb_target.kedr" >/dev/null ||
	{ cat "$work/out/script.log" >&2; exit 1; }
out="$work/out/script.log"
grep -E "^(kprobe|optimized kprobe|probe|kprobe_hits|handler_hits)" "$out" || true
echo "probe at kedr_pb_work+$OFFSET, $LOOP hits a call"
awk -v loop="$LOOP" '
	$1 ~ /^(plain|kprobe|optprobe|copy|copy_probe)$/ && NF == 3 { t[$1] = $3 / $2 }
	END {
		printf "ns per call (best of the runs):\n"
		printf "  original %.1f, + kprobe %.1f, + optimized kprobe %.1f\n", t["plain"], t["kprobe"], t["optprobe"]
		printf "  copy %.1f, + copy probe %.1f\n", t["copy"], t["copy_probe"]
		k = (t["kprobe"] - t["plain"]) / loop; o = (t["optprobe"] - t["plain"]) / loop; c = (t["copy_probe"] - t["copy"]) / loop
		printf "cost of a hit (ns): kprobe %.1f, optimized kprobe %.1f, copy probe %.1f\n", k, o, c
		if (c > 0) printf "ratios: kprobe / copy probe %.2f, optimized kprobe / copy probe %.2f\n", k / c, o / c
	}' "$out"
