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

echo "failures: $failures"
[ $failures -eq 0 ]
