#!/usr/bin/env bash
# Slowdown of the instrumented sample workload against the uninstrumented one,
# both measured in one boot of the test guest (QEMU TCG: compare the ratio, not
# the absolute times). Usage: benchmarks/vm/slowdown.sh [ITER]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
script=$(mktemp)
trap 'rm -f "$script"' EXIT
{ echo "ITER=${1:-2000}"; cat "$root/benchmarks/vm/cfake-slowdown.sh"; } >"$script"
out=$("$root/kedr" vm --target kedr_sample_target --script "$script" --manual-load --timeout 600)
plain=$(sed -n 's/^plain_ms=//p' <<<"$out")
instrumented=$(sed -n 's/^instrumented_ms=//p' <<<"$out")
[ -n "$plain" ] && [ -n "$instrumented" ] || { echo "$out" >&2; exit 1; }
awk -v p="$plain" -v i="$instrumented" 'BEGIN {
	printf "plain:        %.2f s\ninstrumented: %.2f s\nslowdown:     %.2fx\n", p / 1e3, i / 1e3, i / p }'
grep -E "recorded|dropped" <<<"$out" | tail -3 || true
