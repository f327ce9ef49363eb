#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest script for scripts/vm/run.sh (busybox sh -e): kedr_sample's refusal
# paths and, with a working blob, the full scenario. Run by run-vm.sh, which
# passes the modules and these blobs (under /lib/firmware/kedr/):
#
#   empty.kedr        valid, no functions
#   good.kedr         the target, instrumented
#   v10.kedr          the target, instrumented by mkblob.py: a 1.0 blob, whose
#                     digests are over bytes (good.kedr may be the rewriter's)
#   bad-digest.kedr, bad-name.kedr, bad-nsyms.kedr, bad-srcversion.kedr
#                     valid blobs that disagree with the live target
#   goto-landing.kedr kedr_pt_goto's computed-goto function, with landing pads
#   goto-bad-boundary.kedr, goto-bad-overlap.kedr, goto-bad-entry.kedr
#                     the same with a landing pad into the middle of an
#                     instruction, two overlapping, one over the entry
#   goto-noinstr.kedr, goto-nokprobe.kedr
#                     kedr_pt_goto's noinstr / NOKPROBE_SYMBOL function
#   kvm-amd-noinstr.kedr
#                     the guest kernel's kvm_amd, its __svm_vcpu_run copied
#   name.kedr, sum-*.kedr, extable-*.kedr, bug-*.kedr
#                     damaged by blobpoke.py (see run-vm.sh)
#
# Bad blobs are made here with printf/dd. Results: /out/output*.txt, and
# "ok:" / "FAIL:" lines on stdout.

K=/lib/modules/kedr
FW=/lib/firmware/kedr
TARGET=kedr_sample_target
OUTPUT=/sys/kernel/debug/kedr_sample/output
STATS=/sys/kernel/debug/kedr_sample/stats
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

mark() {
	echo "kedr-test: $*" >/dev/kmsg
}

# The kernel log since the last mark.
since_mark() {
	# shellcheck disable=SC2016  # sed's $, not the shell's
	dmesg | sed -n '/kedr-test: /h; /kedr-test: /!H; ${x;p}'
}

# expect_refused NAME PATTERN INSMOD-ARGS...: insmod fails, dmesg says why.
expect_refused() {
	name=$1 pattern=$2
	shift 2
	mark "$name"
	if insmod $K/kedr_sample.ko "$@" 2>/dev/null; then
		fail "$name: insmod succeeded"
		rmmod kedr_sample || true
		return
	fi
	if since_mark | grep -q "kedr_sample: .*$pattern"; then
		echo "ok: $name: $(since_mark | grep 'kedr_sample: ' | tail -n 1)"
	else
		fail "$name: no \"$pattern\" in dmesg"
	fi
}

# poke FILE OFFSET OCTAL-BYTES...: overwrite bytes of FILE in place.
poke() {
	file=$1 off=$2
	shift 2
	for b in "$@"; do
		# shellcheck disable=SC2059  # the byte is the format: \NNN
		printf "\\$b" | dd of="$file" bs=1 seek="$off" conv=notrunc 2>/dev/null
		off=$((off + 1))
	done
}

# cfake I/O; prints what was read back.
cfake_io() {
	echo 123456789788 >/dev/cfake0
	dd if=/dev/cfake0 ibs=20 count=1 2>/dev/null
}

check_io() {
	got=$(cfake_io)
	[ "$got" = 123456789788 ] || fail "$1: /dev/cfake0 gave '$got'"
}

# expect_live NAME BLOB PATTERN: kedr_sample waits with BLOB, the target
# loads, dmesg says PATTERN about it and it works; both are removed again.
expect_live() {
	name=$1 blob=$2 pattern=$3
	mark "$name"
	insmod $K/kedr_sample.ko target_name=$TARGET "blob=kedr/$blob"
	insmod $K/$TARGET.ko
	if since_mark | grep -q "kedr_sample: $TARGET: $pattern"; then
		echo "ok: $name: $(since_mark | grep "kedr_sample: $TARGET: $pattern" | tail -n 1)"
	else
		fail "$name: no \"$pattern\" in dmesg"
	fi
	check_io "$name"
	rmmod $TARGET
	rmmod kedr_sample || fail "$name: rmmod kedr_sample"
}

# --- parameters and blobs that insmod must refuse --------------------------

expect_refused "no target" "target_name=<module> is required"
expect_refused "missing blob" "not found: .*kedr instrument --install" \
	target_name=no_such_module
expect_refused "blob for another module" "built for module \"$TARGET\"" \
	target_name=other blob=kedr/empty.kedr

dd if=/dev/urandom of=$FW/garbage.kedr bs=300 count=1 2>/dev/null
expect_refused "garbage" "bad magic" target_name=$TARGET blob=kedr/garbage.kedr

printf 'KEDRBLOB\001\000' >$FW/short.kedr
expect_refused "truncated header" "truncated" \
	target_name=$TARGET blob=kedr/short.kedr

cp $FW/empty.kedr $FW/magic.kedr
poke $FW/magic.kedr 7 130
expect_refused "bad magic" "bad magic" target_name=$TARGET blob=kedr/magic.kedr

cp $FW/empty.kedr $FW/version.kedr
poke $FW/version.kedr 8 002
expect_refused "bad version" "version 2.0, this loader reads 1.x" \
	target_name=$TARGET blob=kedr/version.kedr

head -c 1000 $FW/good.kedr >$FW/cut.kedr
expect_refused "truncated blob" "blob_size=.*(truncated)" \
	target_name=$TARGET blob=kedr/cut.kedr

cp $FW/good.kedr $FW/flags.kedr
poke $FW/flags.kedr 20 004
expect_refused "unknown flags" "header.flags=0x4" \
	target_name=$TARGET blob=kedr/flags.kedr

# tables[1] (functions) is at 68 + 16: offset, count, entsize.
cp $FW/good.kedr $FW/table.kedr
poke $FW/table.kedr 84 377 377 377 000
expect_refused "table outside" "table functions: offset=16777215" \
	target_name=$TARGET blob=kedr/table.kedr

cp $FW/good.kedr $FW/entsize.kedr
poke $FW/entsize.kedr 92 010 000 000 000
expect_refused "short entries" "table functions: entsize=8, need >= 48" \
	target_name=$TARGET blob=kedr/entsize.kedr

cp $FW/good.kedr $FW/count.kedr
poke $FW/count.kedr 88 377 377 000 000
expect_refused "count too big" "table functions: .*count=65535" \
	target_name=$TARGET blob=kedr/count.kedr

# name.kedr: the same change, with the checksum written again (run-vm.sh).
expect_refused "target name offset" "header.target_name: string offset 65535" \
	target_name=$TARGET blob=kedr/name.kedr

# --- content (1.3): checksum, extable types, bug flags ---------------------

expect_refused "flipped extable byte" "checksum 0x.* damaged" \
	target_name=kedr_pt_uaccess blob=kedr/sum-extable.kedr
expect_refused "extable type BPF" "extable\[0\]: data=0x7: handler type 7" \
	target_name=kedr_pt_uaccess blob=kedr/extable-type.kedr
expect_refused "extable flag" "extable\[0\]: data=0x4.*flags 0x4 not accepted" \
	target_name=kedr_pt_uaccess blob=kedr/extable-flag.kedr
if [ -e $FW/sum-code.kedr ]; then
	expect_refused "flipped code byte" "checksum 0x.* damaged" \
		target_name=$TARGET blob=kedr/sum-code.kedr
	expect_refused "flipped bug flags" "checksum 0x.* damaged" \
		target_name=$TARGET blob=kedr/sum-bug.kedr
	expect_refused "bug flag" "bugs\[0\]: flags=0x111: unknown flags" \
		target_name=$TARGET blob=kedr/bug-flags.kedr
	expect_refused "bug taint" "bugs\[0\]: flags=0x13.*: unknown flags or taint" \
		target_name=$TARGET blob=kedr/bug-taint.kedr
else
	echo "skip: good.kedr is not a 1.3 blob (mkblob.py's): no checksum, no bug table"
fi

cp $FW/good.kedr $FW/align.kedr
poke $FW/align.kedr 60 003 000 000 000
expect_refused "code_align" "header.code_align=3" \
	target_name=$TARGET blob=kedr/align.kedr

# --- valid blobs the live target disagrees with: it runs as it is ---------

for bad in digest name nsyms srcversion; do
	case $bad in
	digest) pattern="cfake_store_plain differs from what the blob was built from" ;;
	name) pattern="symbol [0-9]* is cfake_store_plain, the blob expects function cfake_store_plain_x" ;;
	nsyms) pattern="[0-9]* symbols, the blob was built for" ;;
	srcversion) pattern="srcversion is" ;;
	esac
	expect_live "live $bad" "bad-$bad.kedr" "not instrumented: $pattern"
done

# --- digests: over bytes in a 1.0 blob, over words with the 1.2 flag ---------

expect_live "1.0 digests" v10.kedr "attached"

# The same blob saying its digests are over words: they no longer match.
cp $FW/v10.kedr $FW/v10-words.kedr
poke $FW/v10-words.kedr 20 001
expect_live "word digests" v10-words.kedr \
	"not instrumented: .* differs from what the blob was built from"

# --- landing pads; code the kernel forbids instrumenting (kedr_pt_goto) ------

GOTO=kedr_pt_goto
GOTO_CTL=/sys/kernel/debug/$GOTO/ctl

# Every op of its interpreter once (add twice): "<acc> <acc * 3 + 1>
# <acc * 5 + 2> <runs of add sub mul xor shl neg end>".
goto_check() {
	echo '7 a3 s1 m5 x6 l2 n a9' >$GOTO_CTL
	got=$(cat $GOTO_CTL)
	[ "$got" = "-163 -488 -813 2 1 1 1 1 1 1" ] ||
		fail "$1: $GOTO_CTL gave '$got'"
}

# expect_goto NAME BLOB PATTERN: expect_live for kedr_pt_goto.
expect_goto() {
	name=$1 blob=$2 pattern=$3
	mark "$name"
	insmod $K/kedr_sample.ko target_name=$GOTO "blob=kedr/$blob"
	insmod $K/$GOTO.ko
	if since_mark | grep -q "kedr_sample: $GOTO: $pattern"; then
		echo "ok: $name: $(since_mark | grep "kedr_sample: $GOTO: $pattern" | tail -n 1)"
	else
		fail "$name: no \"$pattern\" in dmesg"
	fi
	goto_check "$name"
	rmmod $GOTO
	rmmod kedr_sample || fail "$name: rmmod kedr_sample"
}

# The labels of the original are int3 but for the landing pads' jmps.
expect_goto "landing pads" goto-landing.kedr "attached"
expect_refused "landing pad mid-instruction" \
	"landing pad destination 0x[0-9a-f]* is not an instruction boundary of the copy of functions\[0\]" \
	target_name=$GOTO blob=kedr/goto-bad-boundary.kedr
expect_refused "landing pads overlapping" \
	"landing pads at 0x[0-9a-f]* and 0x[0-9a-f]* of functions\[0\] overlap" \
	target_name=$GOTO blob=kedr/goto-bad-overlap.kedr
expect_refused "landing pad over the entry" \
	"landing pad \[0x2, +5) not inside functions\[0\] past its entry" \
	target_name=$GOTO blob=kedr/goto-bad-entry.kedr
expect_goto "noinstr" goto-noinstr.kedr \
	"not instrumented: the blob redirects kedr_pt_goto_noinstr, which is in .noinstr.text"
expect_goto "nokprobe" goto-nokprobe.kedr \
	"not instrumented: the blob redirects kedr_pt_goto_nokprobe, which is on the module's kprobe blacklist"

# kvm_amd may not load here (no SVM): its COMING comes first all the same.
mark "kvm_amd noinstr"
insmod $K/kedr_sample.ko target_name=kvm_amd blob=kedr/kvm-amd-noinstr.kedr
modprobe kvm_amd 2>/dev/null || true
pattern="kvm_amd: not instrumented: the blob redirects __svm_vcpu_run, which is in .noinstr.text"
if since_mark | grep -q "kedr_sample: $pattern"; then
	echo "ok: kvm_amd noinstr: $(since_mark | grep "kedr_sample: $pattern")"
else
	fail "kvm_amd noinstr: no \"$pattern\" in dmesg"
fi
rmmod kvm_amd 2>/dev/null || true
rmmod kvm 2>/dev/null || true
rmmod kedr_sample || fail "kvm_amd noinstr: rmmod kedr_sample"

# --- an empty blob: attach and detach without code -------------------------

mark "empty"
insmod $K/kedr_sample.ko target_name=kedr-sample-target blob=kedr/empty.kedr
insmod $K/$TARGET.ko
since_mark | grep -q "attached: 0 functions" || fail "empty: not attached"
if rmmod kedr_sample 2>/dev/null; then
	fail "empty: rmmod kedr_sample while attached succeeded"
fi
check_io "empty"
rmmod $TARGET
since_mark | grep -q "$TARGET: detached" || fail "empty: not detached"
rmmod kedr_sample

# --- already loaded ---------------------------------------------------------

# A live attach (run-live-vm.sh tests it) needs the target's .ko as
# firmware, which this run does not install: refused, one line.
mark "already loaded"
insmod $K/$TARGET.ko
insmod $K/kedr_sample.ko target_name=$TARGET blob=kedr/empty.kedr
t=0
until since_mark | grep -q "kedr_sample: $TARGET: not instrumented"; do
	t=$((t + 1))
	[ $t -le 100 ] || break
	sleep 0.1
done
since_mark | grep -q "kedr_sample: $TARGET: not instrumented: attaching to a running module needs its .ko as firmware kedr/$TARGET.ko" ||
	fail "already loaded: no message: $(since_mark | grep kedr_sample)"
rmmod $TARGET
rmmod kedr_sample

# --- the target's init fails: GOING right after COMING -----------------------

mark "failed init"
insmod $K/kedr_sample.ko target_name=$TARGET
if insmod $K/$TARGET.ko cfake_ndevices=0 2>/dev/null; then
	fail "failed init: the target loaded with cfake_ndevices=0"
	rmmod $TARGET
fi
since_mark | grep -q "$TARGET: attached" || fail "failed init: not attached"
since_mark | grep -q "$TARGET: detached" || fail "failed init: not detached"
rmmod kedr_sample || fail "failed init: rmmod kedr_sample"

# --- a small buffer: what does not fit is counted, exactly --------------------

# The same single-threaded work twice: recorded + dropped must agree. Each
# CPU has its own buffer of nr_records; nobody reads meanwhile, so each
# keeps its first 16 events and counts the rest as dropped.
workload() {
	insmod $K/$TARGET.ko
	check_io "$1"
	rmmod $TARGET
}
# total FILE: "<recorded> <dropped>" from the output's last line.
total() {
	tail -n 1 "$1" | sed -n 's/^events: \([0-9]*\) recorded, \([0-9]*\) dropped$/\1 \2/p'
}
mark "small buffer"
insmod $K/kedr_sample.ko target_name=$TARGET
workload "big buffer"
cat $OUTPUT >/tmp/big.txt
# shellcheck disable=SC2046  # two numbers, split on purpose
set -- $(total /tmp/big.txt)
big=$(($1 + $2))
rmmod kedr_sample
insmod $K/kedr_sample.ko target_name=$TARGET nr_records=16
workload "small buffer"
# The binary stream opened before the text one is read: each gets every event.
exec 3</sys/kernel/debug/kedr_sample/trace
cat $OUTPUT >/tmp/small.txt
cat <&3 >/tmp/small.bin
exec 3<&-
per_cpu_ok=yes
while read -r cpu rec _ size _; do
	case $cpu in
	"#"* | all) continue ;;
	esac
	[ "$rec" -le 16 ] && [ "$size" -eq 16 ] || per_cpu_ok="cpu $cpu: $rec recorded, size $size"
done <$STATS
# shellcheck disable=SC2046
set -- $(total /tmp/small.txt)
if [ "$1" -lt 16 ] || [ "$2" -eq 0 ] || [ $(($1 + $2)) -ne "$big" ]; then
	fail "small buffer: $1 recorded + $2 dropped, expected $big in all, some dropped"
elif [ "$per_cpu_ok" != yes ]; then
	fail "small buffer: $per_cpu_ok"
else
	echo "ok: small buffer: $1 recorded + $2 dropped = $big"
fi
# A locked update's second record (LOCKED_DONE, kind 17) counts as recorded but
# is in the binary streams only: the kept ones, from the binary stream (kind
# at byte 40 of each record, after the header).
hs=$(od -An -tu2 -j10 -N2 /tmp/small.bin | tr -d ' ')
rs=$(od -An -tu2 -j12 -N2 /tmp/small.bin | tr -d ' ')
done_kept=$(od -An -tu1 -v /tmp/small.bin | awk -v hs="$hs" -v rs="$rs" '
	{ for (f = 1; f <= NF; f++) { if (i >= hs && (i - hs) % rs == 40 && $f == 17) n++; i++ } }
	END { print n + 0 }')
n_bin=$((($(wc -c </tmp/small.bin) - hs) / rs))
[ "$n_bin" -eq "$1" ] || fail "small buffer: the binary stream has $n_bin records, not $1"
if [ "$(grep -c '^TID=' /tmp/small.txt)" -eq $(($1 - done_kept)) ]; then
	echo "ok: small buffer: $1 records, $done_kept of them LOCKED_DONE (no line)"
else
	fail "small buffer: not $1 - $done_kept lines (LOCKED_DONE records have none)"
fi
! grep -q '^TID=' $OUTPUT || fail "small buffer: read twice"
rmmod kedr_sample

# --- the full scenario -------------------------------------------------------

mark "full"
insmod $K/kedr_sample.ko target_name=$TARGET
insmod $K/$TARGET.ko
# The output streams (consuming) until the target is gone.
cat $OUTPUT >/out/output.txt &
reader=$!
if since_mark | grep -q "kedr_sample: $TARGET: attached"; then
	echo "ok: full: $(since_mark | grep 'attached')"
else
	fail "full: not attached: $(since_mark | grep kedr_sample | tail -n 1)"
fi
if rmmod kedr_sample 2>/dev/null; then
	fail "full: rmmod kedr_sample while attached succeeded"
fi
echo 123456789788 >/dev/cfake0
got=$(dd if=/dev/cfake0 ibs=20 count=1 2>/dev/null)
[ "$got" = 123456789788 ] || fail "full: /dev/cfake0 gave '$got'"
echo abc >/dev/cfake1
got=$(cat /dev/cfake1)
[ "$got" = ABC ] || fail "full: /dev/cfake1 gave '$got'"
sleep 0.5
cp /out/output.txt /out/output-attached.txt
grep -q "^TID=.* entry: .*cfake_write" /out/output-attached.txt ||
	fail "full: nothing streamed while attached"
rmmod $TARGET
wait $reader

# Both CPUs in the copies at once, the output read meanwhile.
mark "smp"
insmod $K/$TARGET.ko
stress() {
	i=0
	while [ $i -lt 40 ]; do
		echo "$2$i" >"$1"
		got=$(cat "$1")
		[ "$got" = "$3$i" ] || echo "bad $1: '$got'"
		i=$((i + 1))
	done
}
cat $OUTPUT >/tmp/smp-output.txt &
reader=$!
stress /dev/cfake0 abc abc >/tmp/smp0 &
s0=$!
stress /dev/cfake1 abc ABC >/tmp/smp1 &
s1=$!
wait $s0 $s1
if [ -s /tmp/smp0 ] || [ -s /tmp/smp1 ]; then
	fail "smp: $(cat /tmp/smp0 /tmp/smp1 | head -n 1)"
fi
rmmod $TARGET
wait $reader
tail -n 1 /tmp/smp-output.txt | grep -q "^events: [0-9]* recorded, 0 dropped$" ||
	fail "smp: bad last line: $(tail -n 1 /tmp/smp-output.txt)"

# Reload: re-attach each time, events keep accumulating.
for i in 1 2 3; do
	mark "reload $i"
	insmod $K/$TARGET.ko
	since_mark | grep -q "$TARGET: attached" || fail "reload $i: not attached"
	check_io "reload $i"
	rmmod $TARGET
	since_mark | grep -q "$TARGET: detached" || fail "reload $i: not detached"
done
cp $OUTPUT /out/output-reloaded.txt
rmmod kedr_sample
[ ! -e $OUTPUT ] || fail "output still there after rmmod"

# Aliases (init_module, cleanup_module) may name the functions instead.
for f in "cfake_init_module\|init_module" cfake_open cfake_write cfake_read \
	cfake_release "cfake_exit_module\|cleanup_module" cfake_cleanup_module \
	cfake_store_upper; do
	grep -q "entry: addr=0x[0-9a-f]* (\"\($f\)\")" /out/output.txt ||
		fail "full: no entry of $f"
	grep -q "exit: addr=0x[0-9a-f]* (\"\($f\)\")" /out/output.txt ||
		fail "full: no exit of $f"
done
grep -q "^TID=0x[0-9a-f]* read at 0x[0-9a-f]* (cfake_write+0x[0-9a-f]*/0x[0-9a-f]* \[$TARGET\]): addr=0x[0-9a-f]*, size=[0-9]*$" \
	/out/output.txt || fail "full: no read line in cfake_write"
grep -q "^TID=0x[0-9a-f]* write at 0x[0-9a-f]* (cfake_[a-z_]*+0x[0-9a-f]*/0x[0-9a-f]* \[$TARGET\]): addr=0x[0-9a-f]*, size=[0-9]*$" \
	/out/output.txt || fail "full: no write line"
tail -n 1 /out/output.txt | grep -q "^events: [0-9]* recorded, 0 dropped$" ||
	fail "full: bad last line: $(tail -n 1 /out/output.txt)"

# --- kernel lockdown (last: it cannot be lifted) ----------------------------

# kedr_sample waits for crc7 (a module of the guest kernel, signed, so it
# still loads under lockdown), then the kernel is locked down: the blob must
# not be attached, and crc7 runs as it is.
mark "lockdown"
insmod $K/kedr_sample.ko target_name=crc7 blob=kedr/crc7.kedr
[ -e /sys/kernel/security/lockdown ] ||
	mount -t securityfs securityfs /sys/kernel/security
if echo integrity >/sys/kernel/security/lockdown 2>/dev/null; then
	modprobe crc7 || fail "lockdown: modprobe crc7"
	if since_mark | grep -q "kedr_sample: crc7: not instrumented: the kernel is locked down"; then
		echo "ok: lockdown: $(since_mark | grep 'kedr_sample: crc7' | tail -n 1)"
	else
		fail "lockdown: no refusal in dmesg: $(since_mark | grep kedr_sample | tail -n 1)"
	fi
	since_mark | grep -q "crc7: attached" && fail "lockdown: attached"
	rmmod crc7
	rmmod kedr_sample || fail "lockdown: rmmod kedr_sample"
else
	fail "lockdown: cannot write /sys/kernel/security/lockdown"
	rmmod kedr_sample
fi

echo "$failures failures"
[ $failures -eq 0 ]
