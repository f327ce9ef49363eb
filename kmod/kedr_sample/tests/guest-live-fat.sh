#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest script for scripts/vm/run.sh (busybox sh -e), run by
# run-live-fat-vm.sh: the guest kernel's fat module, mounted (vfat on a ram
# disk) and busy (a writer and a checker of files), attached to, recorded,
# detached from; the workload finishes correctly and the file system reads
# back after a remount. Needs /lib/firmware/kedr/fat.kedr and fat.ko.
# "ok:" / "FAIL:" lines on stdout.

K=/lib/modules/kedr
OUTPUT=/sys/kernel/debug/kedr_sample/output
P=/sys/module/kedr_sample/parameters
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
modprobe vfat
modprobe brd rd_nr=1 rd_size=8192
modprobe nls_cp437
modprobe nls_ascii
mkdosfs /dev/ram0 >/dev/null
mkdir -p /mnt/fat
mount -t vfat /dev/ram0 /mnt/fat

# The workload: files written, read back and checked, renamed, removed.
rm -f /tmp/stop /tmp/errors
(n=0
while [ ! -e /tmp/stop ]; do
	n=$((n + 1))
	f=/mnt/fat/file$((n % 40)).txt
	echo "content of file $n" >"$f.tmp" && mv "$f.tmp" "$f" ||
		echo "write $n failed" >>/tmp/errors
	[ "$(cat "$f")" = "content of file $n" ] || echo "file $n read back wrong" >>/tmp/errors
	[ $((n % 7)) -ne 0 ] || ls /mnt/fat >/dev/null || echo "ls failed" >>/tmp/errors
done
echo "$n" >/tmp/nfiles) &
work=$!
sleep 1

insmod $K/kedr_sample.ko target_name=fat
start=$(date +%s)
until dmesg | grep -q "kedr_sample: fat: attached to the running module"; do
	if [ $(($(date +%s) - start)) -gt 60 ] || dmesg | grep -q "kedr_sample: fat: not instrumented"; then
		break
	fi
	sleep 0.2
done
if dmesg | grep -q "kedr_sample: fat: attached to the running module"; then
	echo "ok: attached to the mounted fat"
	cat $OUTPUT >/tmp/events.txt &
	reader=$!
	sleep 3
	t=0
	until echo 1 >$P/detach 2>/dev/null; do
		t=$((t + 1))
		[ $t -lt 20 ] || { fail "detach refused 20 times"; break; }
	done
	dmesg | grep -q "kedr_sample: fat: original code restored" ||
		fail "original code not restored: $(dmesg | grep 'kedr_sample: fat: core text differs')"
	wait $reader
	n=$(grep -c '("fat_' /tmp/events.txt || true)
	[ "$n" -gt 0 ] || fail "no entry events of fat functions in the output"
	echo "ok: $n entry/exit events of fat_* functions, $(wc -l </tmp/events.txt) lines in all"
	rmmod kedr_sample || fail "rmmod kedr_sample"
else
	fail "not attached: $(dmesg | grep 'kedr_sample: fat')"
	rmmod kedr_sample || true
fi

sleep 1
: >/tmp/stop
wait $work
[ ! -s /tmp/errors ] || fail "workload: $(head -n 1 /tmp/errors)"
umount /mnt/fat
mount -t vfat /dev/ram0 /mnt/fat
n=$(cat /tmp/nfiles)
[ "$n" -gt 0 ] || fail "the workload wrote nothing"
last=/mnt/fat/file$((n % 40)).txt
[ "$(cat "$last")" = "content of file $n" ] ||
	fail "after a remount $last holds '$(cat "$last")'"
umount /mnt/fat
rmmod vfat
rmmod fat || fail "rmmod fat"
echo "ok: the workload wrote $n files, all read back"
echo "failures: $failures"
[ $failures -eq 0 ]
