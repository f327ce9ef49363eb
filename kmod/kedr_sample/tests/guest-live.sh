#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest script for scripts/vm/run.sh (busybox sh -e), run by run-live-vm.sh:
# attaching to kedr_sample_target while it runs, and detaching, ROUNDS times
# (/lib/firmware/kedr-live/rounds, default 5) with readers and writers on /dev/cfake0 from
# several processes all along. Needs /lib/firmware/kedr/kedr_sample_target
# .kedr (the blob) and .ko (the target itself, read at a live attach).
#
# Each round: insmod kedr_sample (it attaches to the running target), events
# are recorded, echo 1 > .../parameters/detach (again while EBUSY), the
# original code compared with the pre-attach bytes (dmesg line), no events
# recorded after the detach, rmmod kedr_sample. At the end every reader saw
# what the writers write. Then kedr_pt_block (its blob and .ko there too):
# a reader asleep in a copy makes detach fail, naming it, until it leaves.
# "ok:" / "FAIL:" lines on stdout.

K=/lib/modules/kedr
TARGET=kedr_sample_target
STATS=/sys/kernel/debug/kedr_sample/stats
P=/sys/module/kedr_sample/parameters
PATTERN=0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ
ROUNDS=$(cat /lib/firmware/kedr-live/rounds 2>/dev/null || echo 5)
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

# recorded + dropped events of all CPUs
events() {
	awk '$1 == "all" { print $2 + $3 }' $STATS
}

mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
insmod $K/$TARGET.ko
printf %s "$PATTERN" >/dev/cfake0

# Writers put the same bytes at offset 0; readers must always get them.
: >/tmp/stop
rm -f /tmp/stop
for w in 1 2; do
	(while [ ! -e /tmp/stop ]; do
		printf %s "$PATTERN" | dd of=/dev/cfake0 conv=notrunc 2>/dev/null ||
			echo "writer $w: write failed" >>/tmp/errors
	done) &
done
for r in 1 2 3; do
	(n=0
	while [ ! -e /tmp/stop ]; do
		got=$(cat /dev/cfake0) || got="(read failed)"
		[ "$got" = "$PATTERN" ] || echo "reader $r: '$got'" >>/tmp/errors
		n=$((n + 1))
	done
	echo "$n" >"/tmp/reads.$r") &
done

i=0
while [ $i -lt "$ROUNDS" ]; do
	i=$((i + 1))
	mark "round $i"
	insmod $K/kedr_sample.ko target_name=$TARGET nr_records=4096
	start=$(date +%s)
	until since_mark | grep -q "kedr_sample: $TARGET: attached to the running module"; do
		if [ $(($(date +%s) - start)) -gt 20 ] ||
			since_mark | grep -q "kedr_sample: $TARGET: not instrumented"; then
			break
		fi
		sleep 0.1
	done
	if ! since_mark | grep -q "kedr_sample: $TARGET: attached to the running module"; then
		fail "round $i: not attached"
		since_mark | grep kedr_sample
		rmmod kedr_sample
		continue
	fi
	# The trace header says where the target is (struct kedr_trace_header:
	# target_core_base at 72), its core text starting with .text.
	base=$(dd if=/sys/kernel/debug/kedr_sample/trace bs=80 count=1 2>/dev/null |
		od -An -tx8 -j72 -N8 | tr -d ' ')
	[ "0x$base" = "$(cat /sys/module/$TARGET/sections/.text)" ] ||
		fail "round $i: trace header target_core_base 0x$base, .text at $(cat /sys/module/$TARGET/sections/.text)"
	e0=$(events)
	sleep 0.3
	e1=$(events)
	[ "$e1" -gt "$e0" ] || fail "round $i: no events while attached ($e0, $e1)"
	t=0
	until echo 1 >$P/detach 2>/dev/null; do
		t=$((t + 1))
		[ $t -lt 20 ] || { fail "round $i: detach refused 20 times"; break; }
	done
	since_mark | grep -q "kedr_sample: $TARGET: original code restored" ||
		fail "round $i: original code not restored: $(since_mark | grep 'kedr_sample: .*differs')"
	e2=$(events)
	sleep 0.3
	e3=$(events)
	[ "$e2" = "$e3" ] || fail "round $i: events after detach ($e2, $e3)"
	rmmod kedr_sample || fail "round $i: rmmod kedr_sample"
done
echo "ok: $ROUNDS rounds of attach and detach"

: >/tmp/stop
wait
reads=$(cat /tmp/reads.* | awk '{ s += $1 } END { print s }')
[ "$reads" -gt 0 ] || fail "the readers read nothing"
if [ -s /tmp/errors ]; then
	fail "workload: $(wc -l </tmp/errors) errors, first: $(head -n 1 /tmp/errors)"
else
	echo "ok: workload correct ($reads reads)"
fi
[ "$(cat /dev/cfake0)" = "$PATTERN" ] || fail "cfake0 content at the end"
rmmod $TARGET || fail "rmmod $TARGET"

# A reader asleep inside a copy (kedr_pt_block_read): detach refuses while
# it sleeps there, naming the function, and succeeds once it has left.
BLOCK=kedr_pt_block
insmod $K/$BLOCK.ko
mark "blocked reader"
insmod $K/kedr_sample.ko target_name=$BLOCK detach_timeout_ms=1000
start=$(date +%s)
until since_mark | grep -q "kedr_sample: $BLOCK: attached to the running module"; do
	[ $(($(date +%s) - start)) -le 20 ] || break
	sleep 0.1
done
since_mark | grep -q "kedr_sample: $BLOCK: attached to the running module" ||
	fail "$BLOCK: not attached: $(since_mark | grep kedr_sample)"
cat /dev/$BLOCK >/tmp/block1 &
reader=$!
sleep 1
if echo 1 >$P/detach 2>/dev/null; then
	fail "$BLOCK: detached with a reader asleep in the copy of ${BLOCK}_read"
else
	since_mark | grep -q "kedr_sample: $BLOCK: not detached: cat\[$reader\] is inside ${BLOCK}_read" ||
		fail "$BLOCK: no dmesg line naming the reader and ${BLOCK}_read: $(since_mark | grep 'not detached')"
	echo "ok: detach refused while a reader sleeps in the copy"
fi
echo x >/dev/$BLOCK
wait $reader || fail "$BLOCK: the reader failed"
[ "$(cat /tmp/block1)" = 1 ] || fail "$BLOCK: the reader got '$(cat /tmp/block1)'"
echo 1 >$P/detach || fail "$BLOCK: detach refused once the reader had left"
since_mark | grep -q "kedr_sample: $BLOCK: original code restored" ||
	fail "$BLOCK: original code not restored"
rmmod kedr_sample || fail "$BLOCK: rmmod kedr_sample"
cat /dev/$BLOCK >/tmp/block2 &
reader=$!
sleep 0.5
echo x >/dev/$BLOCK
wait $reader || fail "$BLOCK: the reader after detach failed"
[ "$(cat /tmp/block2)" = 2 ] || fail "$BLOCK: after detach the reader got '$(cat /tmp/block2)'"

# Attached while running, then the target unloads: detached at its GOING,
# after which kedr_sample can go too.
mark "target unloaded while attached"
insmod $K/kedr_sample.ko target_name=$BLOCK
start=$(date +%s)
until since_mark | grep -q "kedr_sample: $BLOCK: attached to the running module"; do
	[ $(($(date +%s) - start)) -le 20 ] || break
	sleep 0.1
done
rmmod $BLOCK || fail "rmmod $BLOCK while attached"
since_mark | grep -q "kedr_sample: $BLOCK: detached" ||
	fail "$BLOCK unloaded while attached: not detached"
rmmod kedr_sample || fail "rmmod kedr_sample after $BLOCK went"

echo "failures: $failures"
[ $failures -eq 0 ]
