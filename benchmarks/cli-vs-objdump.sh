#!/usr/bin/env bash
# One-shot `kedr instrument --all` over a module tree (without and with --out, the blobs
# written to a fresh folder each run) beside `objdump -d` over the same files, measured in
# the same session: wall time, CPU time and peak RSS of each, best of RUNS, and the ratio.
# objdump gets 64 files per process (`xargs -n 64`), one process after another, and then
# as many at a time as there are cores. Usage: benchmarks/cli-vs-objdump.sh [DIR] [RUNS]
# DIR defaults to the running kernel's modules, else the newest /lib/modules/*/kernel.
# The output folder is below $TMPDIR (default /tmp).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-}"
runs="${2:-3}"
if [ -z "$dir" ]; then
	dir="/lib/modules/$(uname -r)/kernel"
	[ -d "$dir" ] || dir="$(printf '%s\n' /lib/modules/*/kernel | sort -V | tail -n 1)"
fi
[ -d "$dir" ] || { echo "cli-vs-objdump: no module folder (give one)" >&2; exit 2; }
command -v objdump >/dev/null || { echo "cli-vs-objdump: objdump (binutils) is not installed" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "cli-vs-objdump: /usr/bin/time (package time) is not installed" >&2; exit 2; }

list=$(mktemp)
timing=$(mktemp)
outdir=$(mktemp -d)
trap 'rm -rf "$list" "$timing" "$outdir"' EXIT
find "$dir" -name '*.ko' | sort >"$list"
echo "$(wc -l <"$list") modules below $dir; best of $runs runs each"

"$root/kedr" --version >/dev/null # build once, outside the timing

# Prints "wall user sys maxrss_kb" of the best (lowest wall) of $runs runs of "$@".
best() {
	local b="" line
	for _ in $(seq "$runs"); do
		rm -rf "$outdir/blobs"
		/usr/bin/time -o "$timing" -f '%e %U %S %M' "$@" >/dev/null 2>&1
		line=$(tail -1 "$timing")
		if [ -z "$b" ] || awk -v a="${line%% *}" -v c="${b%% *}" 'BEGIN { exit !(a < c) }'; then b="$line"; fi
	done
	echo "$b"
}

# The tool is built (or found up to date) before the timings; the JIT build the wrapper falls back to
# is not what benchmarks/README.md reports, so it is said.
if ! "$root/kedr" --print-binary >/dev/null; then
	echo "cli-vs-objdump: measuring the JIT build: the NativeAOT build failed ($root/.build/build-aot.log)" >&2
fi
kedr=$(best "$root/kedr" instrument --all "$dir")
kedr_out=$(best "$root/kedr" instrument --all "$dir" --out "$outdir/blobs")
# shellcheck disable=SC2016  # $1 is the inner shell's
objdump_seq=$(best sh -c 'xargs -a "$1" -n 64 objdump -d' sh "$list")
objdump_par=$(best sh -c "xargs -a \"\$1\" -P $(nproc) -n 64 objdump -d" sh "$list")

row() { awk -v n="$1" -v l="$2" 'BEGIN { split(l, f, " "); printf "%-40s %7.2f s %7.2f s %7.2f s %7.0f MB\n", n, f[1], f[2], f[3], f[4] / 1024 }'; }
printf "%-40s %9s %9s %9s %10s\n" "" wall user sys "peak RSS"
row "kedr instrument --all" "$kedr"
row "kedr instrument --all --out" "$kedr_out"
row "objdump -d, xargs -n 64" "$objdump_seq"
row "objdump -d, xargs -n 64 -P $(nproc)" "$objdump_par"
awk -v k="${kedr%% *}" -v o="${kedr_out%% *}" -v s="${objdump_seq%% *}" -v p="${objdump_par%% *}" 'BEGIN {
	printf "kedr is %.1fx (with --out %.1fx) faster than objdump -d one process after another, %.1fx (%.1fx) faster than %d at a time\n", s / k, s / o, p / k, p / o, '"$(nproc)"' }'
