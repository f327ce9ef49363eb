#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest script (busybox sh -e) for PipelineTests: reading kedr_sample's
# debugfs files never hurts, whatever state it is in. O_NONBLOCK reads
# first, then readers of every file in loops while the target is driven
# from task and interrupt context, after it is gone, and while kedr_sample
# is removed. Results in /out: nb-*.txt (nbread's data and how it
# stopped), rmmod-tries.txt, gone.txt.
K=/lib/modules/kedr
S=/sys/kernel/debug/kedr_sample
W=/sys/kernel/debug/kedr_stress

# Put in /lib/modules/kedr by the harness, without its x bit.
chmod +x $K/nbread
insmod $K/kedr_sample.ko target_name=kedr_stress_target nr_records=256
insmod $K/kedr_stress_target.ko
insmod $K/kedr_stress_driver.ko

# Attached, nothing recorded yet: EAGAIN at once. Then one call of 5
# iterations (12 events): those, then EAGAIN.
$K/nbread $S/output >/out/nb-empty.txt 2>/out/nb-empty-end.txt
echo "5 1" >$W/work
$K/nbread $S/output >/out/nb-some.txt 2>/out/nb-some-end.txt

loop() {
	while [ -e "$1" ]; do
		$2 "$1" || true
	done >/dev/null 2>&1
}
partial() {
	head -c 100 "$1"
}
loop $S/output cat &
r1=$!
loop $S/trace cat &
r2=$!
loop $S/stats cat &
r3=$!
loop $S/output partial &
r4=$!
loop $S/trace partial &
r5=$!

echo 1 >$W/irq
pids=
for _ in 1 2 3; do
	echo "100 20" >$W/work &
	pids="$pids $!"
done
# shellcheck disable=SC2086  # one pid per word
wait $pids
sleep 0.5
echo 0 >$W/irq
rmmod kedr_stress_driver
rmmod kedr_stress_target
# Target gone: the loops now reopen the files as fast as they can.
sleep 0.5

tries=0
until rmmod kedr_sample 2>/dev/null; do
	tries=$((tries + 1))
	[ $tries -lt 100000 ] || break
done
echo $tries >/out/rmmod-tries.txt
wait $r1 $r2 $r3 $r4 $r5
if [ -e /sys/module/kedr_sample ] || [ -e $S ]; then
	echo "still there" >/out/gone.txt
else
	echo "gone" >/out/gone.txt
fi
