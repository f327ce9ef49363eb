#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# What the import stubs cost when no payload claims them (issue 15: at most 5%
# over the instrumented sample workload), in one boot of the test guest (QEMU
# TCG: compare the ratios, not the absolute times):
#
#   benchmarks/vm/intercept-cost.sh [--icount SHIFT] [ROUNDS] [REPEAT]
#
# With --icount the guest's clock counts instructions (scripts/vm/run.sh
# --icount): the times are then instruction counts, the same whatever else
# the host runs; without it they are TCG's wall-clock time.
#
# The sample target is instrumented twice: as always (its copies call kernel
# functions through import stubs: a direct jmp each while unclaimed) and with
# `kedr instrument --no-intercept` (the same copies, calls direct). Each round
# loads kedr_sample with one blob, then the other (the order alternates from
# round to round), and times the same workload: REPEAT times, 4000 one-byte
# writes and 4000 one-byte reads of /dev/cfake0 by dd (each a syscall into
# cfake_write/cfake_read: mutex_lock_killable, _copy_from_user or
# _copy_to_user, mutex_unlock, so 3 stub calls per syscall), with kedr_sample's
# default settings. Prints each round's times and ratio (stubs / direct), then
# the median and mean ratio, its standard deviation and the extreme rounds
# (the median: a busy host stalls the single-threaded TCG guest now and then,
# which lands in one phase of a round, either variant).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
vm_args=()
if [[ ${1-} == --icount ]]; then
	vm_args=(--icount "${2:?--icount needs a shift}")
	shift 2
fi
rounds=${1:-8}
repeat=${2:-8}
work=$(mktemp -d "${TMPDIR:-/tmp}/kedr-intercept.XXXXXX")
trap 'rm -rf "$work"' EXIT

kos=()
target=
while read -r ko; do
	kos+=(--ko "$ko")
	[[ $ko == */kedr_sample_target.ko ]] && target=$ko
done < <("$root/scripts/vm/build-kmod.sh" kedr_sample kedr_sample_target)
[[ -n $target ]] || { echo "intercept-cost.sh: kedr_sample_target.ko not built" >&2; exit 2; }
"$root/kedr" instrument "$target" -o "$work/stubs.kedr" >/dev/null
"$root/kedr" instrument --no-intercept "$target" -o "$work/direct.kedr" >/dev/null

cat >"$work/guest.sh" <<GUEST
K=/lib/modules/kedr
FW=/lib/firmware/kedr
ms() { read up _ < /proc/uptime; echo \$((\${up%.*} * 1000 + (1\${up#*.} - 100) * 10)); }
head -c 4000 /dev/zero | tr '\0' x > /tmp/src
workload() {
	j=0
	while [ \$j -lt $repeat ]; do
		dd if=/tmp/src of=/dev/cfake0 bs=1 2>/dev/null
		dd if=/dev/cfake0 of=/dev/null bs=1 2>/dev/null
		j=\$((j + 1))
	done
}
run() {
	cp \$FW/\$1.kedr \$FW/kedr_sample_target.kedr
	insmod \$K/kedr_sample.ko target_name=kedr_sample_target
	insmod \$K/kedr_sample_target.ko
	dd if=/tmp/src of=/dev/cfake0 bs=1 count=100 2>/dev/null # warm-up
	sleep 1 # let the loader's deferred work (the previous round's retirement) settle
	t=\$(ms); workload; echo "round=\$2 \$1_ms=\$((\$(ms) - t))"
	rmmod kedr_sample_target
	rmmod kedr_sample
}
i=0
while [ \$i -lt $rounds ]; do
	if [ \$((i % 2)) = 0 ]; then run stubs \$i; run direct \$i; else run direct \$i; run stubs \$i; fi
	i=\$((i + 1))
done
GUEST

"$root/scripts/vm/run.sh" --script "$work/guest.sh" "${kos[@]}" ${vm_args[@]+"${vm_args[@]}"} \
	--firmware "$work/stubs.kedr:kedr/stubs.kedr" \
	--firmware "$work/direct.kedr:kedr/direct.kedr" \
	--timeout 3000 --out "$work/out" >/dev/null || { tail -n 30 "$work/out/script.log" >&2 || true; exit 1; }
awk '
	/^round=/ {
		split($1, r, "="); split($2, v, "=")
		if ($2 ~ /^stubs_ms=/) s[r[2]] = v[2]; else d[r[2]] = v[2]
	}
	END {
		for (i in s) {
			if (!(i in d) || d[i] == 0) continue
			x = s[i] / d[i]; n++; sum += x; sq += x * x; v[n] = x
			if (n == 1 || x < lo) lo = x
			if (n == 1 || x > hi) hi = x
			printf "round %s: stubs %d ms, direct %d ms, ratio %.4f\n", i, s[i], d[i], x
		}
		if (n == 0) { print "no rounds" > "/dev/stderr"; exit 1 }
		mean = sum / n; sd = n > 1 ? sqrt((sq - n * mean * mean) / (n - 1)) : 0
		for (a = 1; a <= n; a++) for (b = a + 1; b <= n; b++) if (v[b] < v[a]) { t = v[a]; v[a] = v[b]; v[b] = t }
		med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		printf "rounds: %d, ratio stubs/direct: median %.4f (extra: %+.2f%%), mean %.4f, sd %.4f, min %.4f, max %.4f\n",
			n, med, (med - 1) * 100, mean, sd, lo, hi
	}' "$work/out/script.log"
