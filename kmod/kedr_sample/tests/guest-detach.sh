#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest script for scripts/vm/run.sh (busybox sh -e), run by
# run-detach-vm.sh: the corner cases of detach.
#
# A payload's handler reached by a tail call: kedr_pt_tail's read ends in
# a tail call of schedule_timeout_interruptible, which kedr_pt_tailpay
# claims and sleeps in with its own frame on the stack. With a reader
# asleep there, no return address is in the copies: detach must still see
# the task (in the payload's text) and refuse, naming the handler, else
# rmmod of the payload frees code the reader returns into. Once the reader
# has left, detach and rmmod of the payload succeed.
#
# A target attached at COMING (kedr_sample loaded first: its originals
# rewritten, int3 over the bodies, jmps at entries without an fentry site
# and at landing pads), detached while it runs: every byte back as before
# attaching (dmesg line), no events after, and it keeps working: kedr_pt_tail
# (a notrace function entered by a jmp) and kedr_pt_goto (a computed goto:
# landing pads), each used before and after, its results checked. For
# kedr_pt_tail two detach requests at once (one succeeds), and rmmod of it
# and of kedr_sample refused while its jmps are being put back.
#
# A task asleep where its stack's walk ends short of the top (ORC's end
# marker, as in the kernel's retpoline thunks), above a copy: detach must
# count it as not known, and refuse, naming where the walk stopped.
#
# A writer asleep in the pre handler of a variadic function that a
# generated payload claims (kedr_pt_varpay: an asm trampoline, then
# kedr_pre_kasprintf): detach refuses, naming the pre handler.
#
# README's scenario, as README says it, with kedr_sample_target as mydrv.
#
# Needs /lib/firmware/kedr/<target>.kedr and .ko of each target.
# "ok:" / "FAIL:" lines on stdout.

K=/lib/modules/kedr
P=/sys/module/kedr_sample/parameters
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

mark() {
	echo "kedr-test: $*" >/dev/kmsg
}

since_mark() {
	# shellcheck disable=SC2016  # sed's $, not the shell's
	dmesg | sed -n '/kedr-test: /h; /kedr-test: /!H; ${x;p}'
}

# attached TARGET [live]: waits up to 20 s for the "attached" line.
attached() {
	start=$(date +%s)
	until since_mark | grep -q "kedr_sample: $1: attached$2"; do
		[ $(($(date +%s) - start)) -le 20 ] || break
		sleep 0.1
	done
	since_mark | grep -q "kedr_sample: $1: attached$2"
}

mount -t debugfs none /sys/kernel/debug 2>/dev/null || true

# --- a payload's handler asleep after a tail call ---
TAIL=kedr_pt_tail
PAY=kedr_pt_tailpay
mark "tail call into a payload"
insmod $K/$TAIL.ko sleep_ms=4000
insmod $K/kedr_sample.ko target_name=$TAIL detach_timeout_ms=1000
attached $TAIL " to the running module" ||
	fail "$TAIL: not attached: $(since_mark | grep kedr_sample)"
insmod $K/$PAY.ko
cat /dev/$TAIL >/tmp/tail1 &
reader=$!
sleep 1
[ "$(cat /sys/module/$PAY/parameters/calls)" = 1 ] ||
	fail "$PAY: the handler was not called ($(cat /sys/module/$PAY/parameters/calls) calls)"
if echo 1 >$P/detach 2>/dev/null; then
	fail "$TAIL: detached with a reader asleep in $PAY's handler"
	# What that allows: the payload goes, the reader wakes up in freed text.
	rmmod $PAY && echo "rmmod $PAY done while the reader sleeps in it"
else
	since_mark | grep -q "kedr_sample: $TAIL: not detached: cat\[$reader\] is inside kptt_sleep+.*\[$PAY\]" ||
		fail "$TAIL: no dmesg line naming the reader and kptt_sleep: $(since_mark | grep 'not detached')"
	echo "ok: detach refused while a reader sleeps in a payload's handler after a tail call"
fi
wait $reader || fail "$TAIL: the reader failed"
[ -e /sys/module/$PAY ] && [ "$(cat /sys/module/$PAY/parameters/returns)" != 1 ] &&
	fail "$PAY: the handler did not return"
if [ -e $P/detach ] && [ "$(cat $P/detach)" = 0 ]; then
	echo 1 >$P/detach || fail "$TAIL: detach refused once the reader had left"
fi
since_mark | grep -q "kedr_sample: $TAIL: original code restored" ||
	fail "$TAIL: original code not restored"
[ ! -e /sys/module/$PAY ] || rmmod $PAY || fail "rmmod $PAY"
rmmod kedr_sample || fail "$TAIL: rmmod kedr_sample"
cat /dev/$TAIL >/tmp/tail2 || fail "$TAIL: a read after detach failed"
rmmod $TAIL || fail "rmmod $TAIL"

# --- a writer asleep where its stack's walk ends, above a copy ---
# kedr_pt_tail's write calls kedr_pt_endstack_sleep(), whose ORC entry
# ends the stack as the kernel's retpoline thunks' do: the walk stops
# there, without an error, above the copy of write(). Detach must not take
# that for a task outside the copies (one preempted in
# __x86_indirect_thunk_r11 on its way to a payload's handler looks so),
# else the writer returns into freed copies.
mark "a stack walk that ends short of the top"
insmod $K/kedr_pt_endstack.ko
insmod $K/$TAIL.ko sleep_ms=0 end_ms=4000
insmod $K/kedr_sample.ko target_name=$TAIL detach_timeout_ms=1000
attached $TAIL " to the running module" ||
	fail "$TAIL: not attached: $(since_mark | grep kedr_sample)"
(echo x >/dev/$TAIL) &
writer=$!
sleep 1
if echo 1 >$P/detach 2>/dev/null; then
	fail "$TAIL: detached with a writer asleep above a copy, its stack walked only to kedr_pt_endstack_sleep"
else
	if since_mark | grep -q "kedr_sample: $TAIL: not detached: .*\[$writer\]'s stack could not be walked past kedr_pt_endstack_sleep+.*\[kedr_pt_endstack\]"; then
		echo "ok: detach refused while a writer sleeps where its stack walk ends, above a copy"
	else
		fail "$TAIL: no dmesg line naming the writer and kedr_pt_endstack_sleep: $(since_mark | grep 'not detached')"
	fi
fi
wait $writer || fail "$TAIL: the writer failed"
[ "$(cat /sys/module/$TAIL/parameters/writes)" = 1 ] ||
	fail "$TAIL: $(cat /sys/module/$TAIL/parameters/writes) writes counted, not 1"
if [ "$(cat $P/detach)" = 0 ]; then
	echo 1 >$P/detach || fail "$TAIL: detach refused once the writer had left"
fi
since_mark | grep -q "kedr_sample: $TAIL: original code restored" ||
	fail "$TAIL: original code not restored"
rmmod kedr_sample || fail "$TAIL: rmmod kedr_sample"
rmmod $TAIL || fail "rmmod $TAIL"
rmmod kedr_pt_endstack || fail "rmmod kedr_pt_endstack"

# --- a writer asleep in a generated variadic pre handler ---
# kedr_pt_varpay claims kasprintf (variadic: an asm trampoline calls
# kedr_pre_kasprintf, whose code sleeps 3 s). The first address of the
# payload's text on the writer's stack is kedr_pre_kasprintf's: detach must
# name it (the trampoline and the pre handler are in the payload's text,
# which detach waits for), refuse, and succeed once the writer has left;
# then the payload can go.
VAR=kedr_pt_varpay
mark "asleep in a variadic pre handler"
insmod $K/$TAIL.ko sleep_ms=0 name=1
insmod $K/kedr_sample.ko target_name=$TAIL detach_timeout_ms=1000
attached $TAIL " to the running module" ||
	fail "$TAIL: not attached: $(since_mark | grep kedr_sample)"
insmod $K/$VAR.ko
(echo x >/dev/$TAIL) &
writer=$!
sleep 1
if echo 1 >$P/detach 2>/dev/null; then
	fail "$TAIL: detached with a writer asleep in $VAR's pre handler"
	rmmod $VAR && echo "rmmod $VAR done while the writer sleeps in it"
else
	if since_mark | grep -q "kedr_sample: $TAIL: not detached: .*\[$writer\] is inside kedr_pre_kasprintf+.*\[$VAR\], a payload's handler"; then
		echo "ok: detach refused while a writer sleeps in a variadic function's pre handler"
	else
		fail "$TAIL: no dmesg line naming the writer and kedr_pre_kasprintf: $(since_mark | grep 'not detached')"
	fi
fi
wait $writer || fail "$TAIL: the writer failed"
if [ "$(cat $P/detach)" = 0 ]; then
	echo 1 >$P/detach || fail "$TAIL: detach refused once the writer had left"
fi
since_mark | grep -q "kedr_sample: $TAIL: original code restored" ||
	fail "$TAIL: original code not restored"
rmmod $VAR || fail "rmmod $VAR"
rmmod kedr_sample || fail "$TAIL: rmmod kedr_sample"
rmmod $TAIL || fail "rmmod $TAIL"

# recorded + dropped events of all CPUs
events() {
	awk '$1 == "all" { print $2 + $3 }' /sys/kernel/debug/kedr_sample/stats
}

# detach_coming TARGET: detach succeeds, restores, and no events follow
# (the caller uses the target in between: see below).
detach_coming() {
	echo 1 >$P/detach || fail "$1: detach refused"
	since_mark | grep -q "kedr_sample: $1: original code restored" ||
		fail "$1: original code not restored: $(since_mark | grep 'kedr_sample: .*\(differs\|not detached\)')"
	[ "$(cat $P/detach)" = 1 ] || fail "$1: still attached after detach"
}

# --- attached at COMING, detached while it runs: a jmp at an entry ---
mark "attached at COMING: $TAIL"
insmod $K/kedr_sample.ko target_name=$TAIL
insmod $K/$TAIL.ko sleep_ms=0
attached $TAIL ": " || fail "$TAIL: not attached at COMING: $(since_mark | grep kedr_sample)"
since_mark | grep -q "kedr_sample: $TAIL: attached: .* [1-9][0-9]* by jmp" ||
	fail "$TAIL: no function entered by a jmp: $(since_mark | grep 'attached')"
e0=$(events)
echo abc >/dev/$TAIL
cat /dev/$TAIL >/dev/null
e1=$(events)
[ "$e1" -gt "$e0" ] || fail "$TAIL: no events while attached ($e0, $e1)"
# Two detach requests at once, with the int3s left 3 s over the jmps: one
# detaches, the other (waiting for it) finds nothing attached. Meanwhile
# the target cannot unload (the detach holds it: its exit is still
# kedr_sample's wrapper) nor can kedr_sample.
echo 3000 >$P/restore_delay_ms
(echo 1 >$P/detach) 2>/dev/null &
d1=$!
sleep 1
(echo 1 >$P/detach) 2>/dev/null &
d2=$!
rmmod $TAIL 2>/dev/null && fail "$TAIL: unloaded while its originals were being put back"
rmmod kedr_sample 2>/dev/null && fail "$TAIL: kedr_sample unloaded while detaching"
ok1=0
ok2=0
wait $d1 && ok1=1
wait $d2 && ok2=1
[ $((ok1 + ok2)) = 1 ] || fail "$TAIL: $((ok1 + ok2)) of two concurrent detach requests succeeded, 1 expected"
echo 0 >$P/restore_delay_ms
[ -e /sys/module/$TAIL ] || fail "$TAIL: gone after the detach"
since_mark | grep -q "kedr_sample: $TAIL: original code restored" ||
	fail "$TAIL: original code not restored: $(since_mark | grep 'kedr_sample: .*\(differs\|not detached\)')"
[ "$(cat $P/detach)" = 1 ] || fail "$TAIL: still attached after detach"
since_mark | grep -q "kedr_sample: $TAIL: the originals put back while it runs: [1-9][0-9]* int3 bytes, then [1-9][0-9]* jmps" ||
	fail "$TAIL: no int3 bytes or no jmp put back: $(since_mark | grep 'put back')"
echo abc >/dev/$TAIL
cat /dev/$TAIL >/dev/null
[ "$(events)" = "$e1" ] || fail "$TAIL: events after detach ($e1, $(events))"
[ "$(cat /sys/module/$TAIL/parameters/writes)" = 2 ] ||
	fail "$TAIL: $(cat /sys/module/$TAIL/parameters/writes) writes counted, 2 made"
rmmod kedr_sample || fail "$TAIL (COMING): rmmod kedr_sample"
echo abc >/dev/$TAIL
[ "$(cat /sys/module/$TAIL/parameters/writes)" = 3 ] ||
	fail "$TAIL: $(cat /sys/module/$TAIL/parameters/writes) writes counted, 3 made"
# Its code is as it loaded: attached again, now as a running module.
mark "attached again: $TAIL"
insmod $K/kedr_sample.ko target_name=$TAIL
attached $TAIL " to the running module" ||
	fail "$TAIL: not attached again after a detach: $(since_mark | grep kedr_sample)"
e0=$(events)
echo abc >/dev/$TAIL
[ "$(events)" -gt "$e0" ] || fail "$TAIL: no events attached again"
echo 1 >$P/detach || fail "$TAIL: second detach refused"
rmmod kedr_sample || fail "$TAIL (again): rmmod kedr_sample"
rmmod $TAIL || fail "rmmod $TAIL (COMING)"
echo "ok: $TAIL attached at COMING, detached while running"

# --- the same with landing pads: a computed goto ---
GOTO=kedr_pt_goto
CTL=/sys/kernel/debug/$GOTO/ctl
mark "attached at COMING: $GOTO"
insmod $K/kedr_sample.ko target_name=$GOTO
insmod $K/$GOTO.ko
attached $GOTO ": " || fail "$GOTO: not attached at COMING: $(since_mark | grep kedr_sample)"
# (5 + 3) * 2 = 16; then 16 * 3 + 1 and 16 * 5 + 2
echo "5 a3 m2" >$CTL
set -- $(cat $CTL)
[ "$1 $2 $3" = "16 49 82" ] || fail "$GOTO attached: '$*', expected 16 49 82 ..."
# Detach with a writer running programs all along: the int3s stay 2 s
# over the jmps (restore_delay_ms), and the dispatches meet them.
: >/tmp/goto-errors
rm -f /tmp/stop
(while [ ! -e /tmp/stop ]; do
	echo "5 a3 m2" >$CTL
	case "$(cat $CTL)" in
	"16 49 82 "*) ;;
	*) cat $CTL >>/tmp/goto-errors ;;
	esac
done) &
loop=$!
sleep 1
echo 2000 >$P/restore_delay_ms
detach_coming $GOTO
: >/tmp/stop
wait $loop
[ ! -s /tmp/goto-errors ] || fail "$GOTO: wrong results during the detach: $(head -n 1 /tmp/goto-errors)"
since_mark | grep -q "kedr_sample: $GOTO: the originals put back while it runs: .* through int3 ([1-9][0-9]* hits)" ||
	fail "$GOTO: no CPU met an int3 of the detach: $(since_mark | grep 'put back')"
e1=$(events)
# Seven labels in the dispatch table: seven landing pads at least.
n=$(since_mark | sed -n "s/.*kedr_sample: $GOTO: the originals put back while it runs: [0-9]* int3 bytes, then \([0-9]*\) jmps.*/\1/p")
[ "${n:-0}" -ge 7 ] || fail "$GOTO: ${n:-no} jmps put back, 7 landing pads at least"
# (7 - 2) << 1 = 10, then 31 and 52; xor, negate: -(10 ^ 3) = -9
echo "7 s2 l1" >$CTL
set -- $(cat $CTL)
[ "$1 $2 $3" = "10 31 52" ] || fail "$GOTO detached: '$*', expected 10 31 52 ..."
echo "10 x3 n" >$CTL
set -- $(cat $CTL)
[ "$1" = "-9" ] || fail "$GOTO detached: '$*', expected -9 ..."
[ "$(events)" = "$e1" ] || fail "$GOTO: events after detach ($e1, $(events))"
rmmod kedr_sample || fail "$GOTO: rmmod kedr_sample"
rmmod $GOTO || fail "rmmod $GOTO"
echo "ok: $GOTO attached at COMING, detached while running"

# --- README's scenario: load a target, use it, attach, see events,
# detach, keep using it (the sample target as mydrv) ---
T=kedr_sample_target
PATTERN=0123456789abcdef
mark "README: $T"
insmod $K/$T.ko
: >/tmp/use-errors
rm -f /tmp/stop
(while [ ! -e /tmp/stop ]; do
	printf %s "$PATTERN" >/dev/cfake0
	[ "$(cat /dev/cfake0)" = "$PATTERN" ] || echo bad >>/tmp/use-errors
done) &
user=$!
insmod $K/kedr_sample.ko target_name=$T
attached $T " to the running module" || fail "README: not attached: $(since_mark | grep kedr_sample)"
cat /sys/kernel/debug/kedr_sample/output >/tmp/events.txt &
reader=$!
sleep 1
t=0
until echo 1 >$P/detach 2>/dev/null; do
	t=$((t + 1))
	[ $t -lt 10 ] || { fail "README: detach refused 10 times"; break; }
done
wait $reader || fail "README: the output reader failed"
grep -q "^TID=.* entry: .*cfake_write" /tmp/events.txt ||
	fail "README: no cfake_write entry event in the output ($(wc -l </tmp/events.txt) lines)"
rmmod kedr_sample || fail "README: rmmod kedr_sample"
sleep 1
: >/tmp/stop
wait $user
[ ! -s /tmp/use-errors ] || fail "README: $(wc -l </tmp/use-errors) wrong reads"
[ "$(cat /dev/cfake0)" = "$PATTERN" ] || fail "README: cfake0 after detach"
rmmod $T || fail "README: rmmod $T"
echo "ok: README's scenario ($(wc -l </tmp/events.txt) lines of events)"

# --- a target with a die notifier of its own, entered by a jmp ---
# Reading "seen" during the restore meets the int3 at its getter's entry:
# kedr_sample's notifier must be the first of the die chain, else the
# target's notifier (registered before it) meets the int3 at its own entry,
# recursively, until the stack overflows.
DIE=kedr_pt_die
mark "attached at COMING: $DIE"
insmod $K/kedr_sample.ko target_name=$DIE
insmod $K/$DIE.ko
attached $DIE ": " || fail "$DIE: not attached at COMING: $(since_mark | grep kedr_sample)"
since_mark | grep -q "kedr_sample: $DIE: attached: .* [1-9][0-9]* by jmp" ||
	fail "$DIE: no function entered by a jmp: $(since_mark | grep 'attached')"
echo 2000 >$P/restore_delay_ms
(echo 1 >$P/detach) &
d=$!
sleep 1
cat /sys/module/$DIE/parameters/seen >/dev/null || fail "$DIE: reading seen failed"
wait $d || fail "$DIE: detach refused"
echo 0 >$P/restore_delay_ms
since_mark | grep -q "kedr_sample: $DIE: the originals put back while it runs: .* through int3 ([1-9][0-9]* hits)" ||
	fail "$DIE: the read did not meet an int3 of the detach: $(since_mark | grep 'put back')"
rmmod kedr_sample || fail "$DIE: rmmod kedr_sample"
rmmod $DIE || fail "rmmod $DIE"
echo "ok: $DIE (a die notifier of its own) detached while read"

echo "failures: $failures"
[ $failures -eq 0 ]
