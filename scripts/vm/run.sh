#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
#
# Boots the guest kernel (the newest *-cloud-amd64 with headers) in QEMU
# (TCG, -cpu max: SMAP/SMEP on) with a busybox initramfs, runs a guest
# script in it and brings back the results:
#
#   run.sh --script FILE [--ko FILE]... [--firmware SRC:DEST]...
#          [--guest-module NAME]... [--all-guest-modules] [--out DIR]
#          [--timeout SEC] [--smp N]
#          [--mem MB] [--append "KERNEL ARGS"] [--tcg-threads single|multi]
#          [--icount SHIFT]
#
#   --script FILE        run in the guest with `sh -e` (busybox ash) from /,
#                        stdin /dev/null, KEDR_MODULES=/lib/modules/kedr and
#                        KEDR_OUT=/out set; it leaves its results in /out/
#   --ko FILE            put in the guest's /lib/modules/kedr/
#   --firmware SRC:DEST  put at the guest's /lib/firmware/DEST
#   --guest-module NAME  a guest-kernel module (and its dependencies) for
#                        `modprobe NAME`
#   --all-guest-modules  every guest-kernel module, for `modprobe` of any
#   --out DIR            where the results go (default: a new
#                        /tmp/kedr-vm.XXXXXX); created if missing, emptied
#                        if it holds an earlier run's results, refused if it
#                        holds anything else
#   --timeout SEC        the whole run, boot included (default 60)
#   --smp N              vCPUs (default 2)
#   --mem MB             guest memory (default 512)
#   --append ARGS        extra kernel command line
#   --tcg-threads MODE   single (default): one host thread runs every vCPU in
#                        turn; multi: one thread per vCPU (MTTCG), faster for
#                        parallel guest work, but a vCPU can go on running a
#                        stale translation of code another vCPU has just
#                        patched: seen here as a livelock on an int3 that
#                        text_poke_bp had already removed (the kprobe int3
#                        handler backs up onto it again and again) once in
#                        a few hundred rounds of tracers switched on and off,
#                        with or without KEDR loaded
#   --icount SHIFT       the guest's clock counts its instructions, 2^SHIFT
#                        ns each (QEMU -icount shift=SHIFT,sleep=off; single
#                        TCG thread): a guest's timings no longer depend on
#                        how busy the host is, for benchmarks that compare
#                        instruction counts (3 is about TCG's own speed).
#                        One vCPU only (the default then; with two, the boot
#                        stalls bringing up the second). Also taken from
#                        $KEDR_VM_ICOUNT, for benchmarks that call run.sh
#
# DIR gets every file the script left in the guest's /out/ (same relative
# names), and:
#   dmesg.txt    the guest's kernel log at the end of the script
#   console.log  the guest's serial console (kernel messages, /init's notes,
#                the script's output)
#   script.log   the script's stdout and stderr
#   run.txt      key=value: kernel, script_status (number or "timeout",
#                "none" if the guest never reported), guest_completed (yes
#                if the guest sent all its results), healthy, timed_out,
#                elapsed_ms (QEMU's run), problems (count of offending lines)
# These four names are reserved: a guest file with one of them is an error.
#
# The guest is unhealthy if any line of its dmesg matches one of the
# extended regular expressions in dmesg-problems.ere (or, if the guest never
# sent its dmesg, of the console log), or if the script exited non-zero.
#
# Exit status: 0 healthy, 1 unhealthy (the offending lines are printed),
# 2 bad arguments or setup, 3 timeout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"

usage() {
	sed -n '/^#   run.sh/,/KEDR loaded$/p' "${BASH_SOURCE[0]}" |
		sed 's/^# \{0,1\}//' >&2
	exit 2
}

script="" out="" timeout=60 smp="" mem=512 append="" tcg_threads=single
icount=${KEDR_VM_ICOUNT:-}
initramfs_args=()
while (($#)); do
	case "$1" in
	-h | --help) usage ;;
	--all-guest-modules)
		initramfs_args+=("$1")
		shift
		;;
	--script | --ko | --firmware | --guest-module | --out | --timeout | \
		--smp | --mem | --append | --tcg-threads | --icount)
		(($# >= 2)) || kedr_die 2 "$1 needs a value"
		case "$1" in
		--script) script=$2 ;;
		--ko | --firmware | --guest-module) initramfs_args+=("$1" "$2") ;;
		--out) out=$2 ;;
		--timeout) timeout=$2 ;;
		--smp) smp=$2 ;;
		--mem) mem=$2 ;;
		--append) append=$2 ;;
		--tcg-threads) tcg_threads=$2 ;;
		--icount) icount=$2 ;;
		esac
		shift 2
		;;
	*) kedr_die 2 "unknown argument '$1' (see --help)" ;;
	esac
done
[[ -n "$script" ]] || kedr_die 2 "--script FILE is required (see --help)"
if ! [[ "$timeout" =~ ^[0-9]{1,6}$ ]] || ((timeout < 10)); then
	kedr_die 2 "--timeout $timeout: expected whole seconds, at least 10"
fi
[[ -n "$smp" ]] || { [[ -n "$icount" ]] && smp=1 || smp=2; }
if ! [[ "$smp" =~ ^[0-9]{1,3}$ ]] || ((smp < 1 || smp > 64)); then
	kedr_die 2 "--smp $smp: expected 1..64"
fi
if ! [[ "$mem" =~ ^[0-9]{1,7}$ ]] || ((mem < 128)); then
	kedr_die 2 "--mem $mem: expected megabytes, at least 128"
fi
case "$tcg_threads" in
single | multi) ;;
*) kedr_die 2 "--tcg-threads $tcg_threads: expected single or multi" ;;
esac
icount_args=()
if [[ -n "$icount" ]]; then
	[[ "$icount" =~ ^[0-9]$|^10$ ]] || kedr_die 2 "--icount $icount: expected a shift of 0..10"
	[[ "$tcg_threads" == single ]] || kedr_die 2 "--icount needs --tcg-threads single"
	((smp == 1)) || kedr_die 2 "--icount needs one vCPU (--smp 1), not $smp"
	icount_args=(-icount "shift=$icount,sleep=off")
fi

"$here/setup.sh" || exit 2
kver=$(kedr_vm_kver)
image=$(kedr_vm_kernel_image "$kver")

reserved=(dmesg.txt console.log script.log run.txt)
if [[ -z "$out" ]]; then
	out=$(mktemp -d "${TMPDIR:-/tmp}/kedr-vm.XXXXXX")
elif [[ -e "$out" && ! -d "$out" ]]; then
	kedr_die 2 "--out $out: not a directory"
elif [[ -d "$out" && -n "$(ls -A "$out")" ]]; then
	[[ -f "$out/run.txt" ]] ||
		kedr_die 2 "--out $out: not empty and not an earlier run's results; refusing to empty it"
	find "$out" -mindepth 1 -delete
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/kedr-vm-work.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$here/mkinitramfs.sh" --out "$work/initramfs.cpio" --script "$script" \
	${initramfs_args[@]+"${initramfs_args[@]}"} || exit 2

# The guest sends its results at this many seconds of uptime at the latest,
# leaving time to do it before the host gives up.
deadline=$((timeout - 6))
# A soft lockup dumps every CPU's stack (the CPU holding things up is often
# not the one that reports) and panics, so QEMU exits (-no-reboot) at once
# instead of running out the timeout.
cmdline="console=ttyS0 panic=-1 log_buf_len=4M softlockup_all_cpu_backtrace=1"
cmdline+=" softlockup_panic=1 kedr.deadline=$deadline"
# The IO-APIC timer check counts ticks over a busy-wait; on a loaded host TCG
# misses them and the boot panics ("IO-APIC + timer doesn't work!", seen at
# load 35). Cloud images boot with this too (io_apic.c: timer_irq_works()).
cmdline+=" no_timer_check"
[[ -z "$append" ]] || cmdline+=" $append"

# Not in a command substitution: the slot's lock must stay with this shell.
slot_file="$work/slot"
kedr_vm_take_slot >"$slot_file"
# VmRunner starts its own clock on this line: waiting for a slot is not the guest's time.
kedr_note "guest starting (VM slot $(<"$slot_file"))"

: >"$out/console.log"
: >"$work/data.txt"
start=$(date +%s%N)
set +e
timeout --kill-after=5 "$timeout" qemu-system-x86_64 \
	-accel "tcg,thread=$tcg_threads" -cpu max -smp "$smp" -m "$mem" \
	${icount_args[@]+"${icount_args[@]}"} \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$image" -initrd "$work/initramfs.cpio" -append "$cmdline" \
	-chardev "file,id=console,path=$out/console.log" -serial chardev:console \
	-chardev "file,id=data,path=$work/data.txt" -serial chardev:data \
	</dev/null >"$work/qemu.log" 2>&1
qemu_status=$?
set -e
elapsed_ms=$((($(date +%s%N) - start) / 1000000))

if [[ -s "$work/qemu.log" && "$qemu_status" == 0 ]]; then
	sed 's/^/run.sh: warning: qemu: /' "$work/qemu.log" >&2
fi
timed_out=no
case $qemu_status in
0) ;;
124 | 137) timed_out=yes ;;
*)
	cat "$work/qemu.log" >&2
	kedr_die 2 "qemu-system-x86_64 failed (status $qemu_status)"
	;;
esac

# Split the data channel into files. The manifest has one line per file:
# kind, declared size, name, file holding its base64 text.
tr -d '\r' <"$work/data.txt" | awk -v dir="$work" '
	/^KEDR-VM-STATUS / { print "status\t" $2; next }
	/^KEDR-VM-DONE$/ { print "done"; next }
	/^KEDR-VM-SKIP / { print "skip\t" substr($0, 14); next }
	/^KEDR-VM-FILE / {
		n++
		part = dir "/part." n
		name = $0
		sub(/^KEDR-VM-FILE [a-z]+ [0-9]+ /, "", name)
		print "file\t" $2 "\t" $3 "\t" name "\t" part
		printf "" > part
		infile = 1
		next
	}
	/^KEDR-VM-END$/ { close(part); infile = 0; next }
	infile { print > part }
' >"$work/manifest"

errors=()	# of the harness: exit 2
warnings=()
reasons=()	# why the guest is unhealthy, besides its log: exit 1
script_status=none
done=no
while IFS=$'\t' read -r what a b c d; do
	case "$what" in
	status) script_status=$a ;;
	done) done=yes ;;
	skip) warnings+=("the guest's /out/$a is not a regular file; not brought back") ;;
	file)
		kind=$a size=$b name=$c part=$d
		if [[ "$kind" == meta ]]; then
			dest="$out/$name"
		else
			case "/$name/" in
			*/../* | */./* | *//*)
				errors+=("the guest's /out/$name: unsafe name; not brought back")
				continue
				;;
			esac
			for r in "${reserved[@]}"; do
				if [[ "$name" == "$r" ]]; then
					errors+=("the guest's /out/$name: $r is reserved for run.sh; not brought back")
					continue 2
				fi
			done
			dest="$out/$name"
			mkdir -p "$(dirname "$dest")"
		fi
		if ! base64 -d <"$part" | gzip -dc >"$dest"; then
			errors+=("$name: corrupt data from the guest")
		elif [[ "$(wc -c <"$dest")" != "$size" ]]; then
			errors+=("$name: got $(wc -c <"$dest") bytes, the guest sent $size")
		fi
		;;
	esac
done <"$work/manifest"

# The health check.
patterns="$here/dmesg-problems.ere"
if [[ -f "$out/dmesg.txt" && "$done" == yes ]]; then
	log="$out/dmesg.txt"
else
	log="$out/console.log"
fi
if [[ "$log" == */dmesg.txt ]] && ! grep -q '\] Linux version ' "$log"; then
	warnings+=("the guest's kernel log overflowed (log_buf_len): its start is lost; console.log has the messages of level < 7")
fi
problems=$(grep -E -f "$patterns" "$log" || true)
nproblems=0
[[ -z "$problems" ]] || nproblems=$(printf '%s\n' "$problems" | wc -l)
healthy=yes
[[ -z "$problems" && "$done" == yes && "$script_status" == 0 ]] || healthy=no
[[ "$done" == yes || "$timed_out" == yes ]] ||
	reasons+=("the guest stopped without sending its results (panic or reboot?); see $out/console.log")
[[ "$script_status" != timeout ]] || timed_out=yes

cat >"$out/run.txt" <<EOF
kernel=$kver
script_status=$script_status
guest_completed=$done
healthy=$healthy
timed_out=$timed_out
elapsed_ms=$elapsed_ms
problems=$nproblems
EOF

for e in ${errors[@]+"${errors[@]}"}; do
	echo "run.sh: error: $e" >&2
done
for e in ${warnings[@]+"${warnings[@]}"}; do
	echo "run.sh: warning: $e" >&2
done
for e in ${reasons[@]+"${reasons[@]}"}; do
	echo "run.sh: unhealthy: $e" >&2
done
if [[ -n "$problems" ]]; then
	echo "run.sh: problems in ${log##*/}:" >&2
	printf '%s\n' "$problems" | sed 's/^/  /' >&2
fi
if [[ "$timed_out" == yes ]]; then
	echo "run.sh: timed out after ${timeout}s (script status: $script_status); results in $out" >&2
	exit 3
fi
if [[ "$script_status" != 0 && "$script_status" != none ]]; then
	echo "run.sh: the guest script exited with status $script_status; its output:" >&2
	tail -n 20 "$out/script.log" | sed 's/^/  /' >&2
fi
if ((${#errors[@]})); then
	exit 2
fi
echo "run.sh: ${kver}: healthy=$healthy script_status=$script_status" \
	"elapsed=${elapsed_ms}ms; results in $out" >&2
[[ "$healthy" == yes ]] || exit 1
exit 0
