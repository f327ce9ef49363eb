#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A stress run of the VM harness itself, without KEDR: BOOTS guests, each
# switching the function tracer and a kprobe on and off ROUNDS times around
# the plain kedr_pt_ftrace module (tracer-onoff.guest.sh). One line per boot.
# With --tcg-threads multi it showed QEMU's stale-translation livelock (see
# DEVELOPERS.md, "The VM") about once in a few hundred rounds.
#
#   tracer-onoff.sh [--boots N] [--rounds N] [--tcg-threads single|multi]
#                   [--smp N]
#
# Failed boots keep their results in /tmp/kedr-stress.*/boot-K/.
# Exit status: 0 every boot healthy, 1 some boot was not, 2 setup.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vm=$(dirname "$here")
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$vm/lib.sh"

boots=4 rounds=100 threads=single smp=2
while (($#)); do
	(($# >= 2)) || kedr_die 2 "$1 needs a value"
	case "$1" in
	--boots) boots=$2 ;;
	--rounds) rounds=$2 ;;
	--tcg-threads) threads=$2 ;;
	--smp) smp=$2 ;;
	*) kedr_die 2 "unknown argument '$1'" ;;
	esac
	shift 2
done
[[ "$boots" =~ ^[1-9][0-9]{0,3}$ ]] || kedr_die 2 "--boots $boots: expected 1..9999"
[[ "$rounds" =~ ^[1-9][0-9]{0,4}$ ]] || kedr_die 2 "--rounds $rounds: expected 1..99999"

work=$(mktemp -d "${TMPDIR:-/tmp}/kedr-stress.XXXXXX")
ko=$("$vm/build-kmod.sh" kedr_pt_ftrace 2>"$work/build.log" | grep '/kedr_pt_ftrace\.ko$') ||
	kedr_die 2 "could not build kmod/kedr_pt_ftrace (see $work/build.log)"
rm -f "$work/build.log"
sed "s/@ROUNDS@/$rounds/" "$here/tracer-onoff.guest.sh" >"$work/guest.sh"
# Each round takes about 0.7 s of guest time under TCG.
timeout=$((60 + rounds * 3))
failed=0
for ((k = 1; k <= boots; k++)); do
	out="$work/boot-$k"
	if "$vm/run.sh" --script "$work/guest.sh" --ko "$ko" --out "$out" \
		--timeout "$timeout" --smp "$smp" --tcg-threads "$threads" \
		>"$out.log" 2>&1; then
		echo "boot $k: healthy, $(cat "$out/rounds.txt") rounds"
		rm -rf "$out" "$out.log"
	else
		echo "boot $k: NOT healthy; see $out/console.log"
		failed=$((failed + 1))
	fi
done
echo "$boots boots of $rounds rounds, --tcg-threads $threads: $failed not healthy"
[[ "$failed" == 0 ]] || exit 1
rm -rf "$work"
