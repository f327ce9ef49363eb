#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest script (busybox sh -e) for PipelineTests: kedr_sample's per-CPU
# buffers under load. kedr_stress_driver calls the instrumented
# kedr_stress_target from $WORKERS processes and from hardirq, irq_work and
# softirq context while `cat` streams both debugfs outputs; the buffers
# ($NR_RECORDS records per CPU) are small enough to overflow. The test
# prepends the variables. Results in /out:
#   output.txt, trace.bin  what the two streams gave, from start to end
#   live-lines.txt         lines of output.txt while the target was loaded
#   counts.txt             the driver's own count of the target's events
#   stats.txt              kedr_sample's per-CPU counts at the end
#   timing.txt             "<workload start> <end>" (uptime, seconds)
: "${NR_RECORDS:=1024}" "${WORKERS:=4}" "${WRITES:=5}" "${ITERS:=200}" \
	"${CALLS:=20}"
K=/lib/modules/kedr
S=/sys/kernel/debug/kedr_sample
W=/sys/kernel/debug/kedr_stress

insmod $K/kedr_sample.ko target_name=kedr_stress_target \
	nr_records="$NR_RECORDS"
insmod $K/kedr_stress_target.ko
# Both streams open before either reads (each has its own cursor; a stream
# opened later would miss what the other had consumed), after the target is
# attached (with none attached a stream ends at once) and before the driver
# starts the work; what the target's init recorded is still kept then.
exec 3<$S/output 4<$S/trace
cat <&3 >/out/output.txt &
output_pid=$!
cat <&4 >/out/trace.bin &
trace_pid=$!
exec 3<&- 4<&-
insmod $K/kedr_stress_driver.ko

worker() {
	i=0
	while [ $i -lt "$WRITES" ]; do
		echo "$ITERS $CALLS" >$W/work
		i=$((i + 1))
	done
}

start=$(cut -d ' ' -f 1 /proc/uptime)
echo 1 >$W/irq
pids=
w=0
while [ $w -lt "$WORKERS" ]; do
	worker &
	pids="$pids $!"
	w=$((w + 1))
done
# shellcheck disable=SC2086  # one pid per word
wait $pids
echo 0 >$W/irq
end=$(cut -d ' ' -f 1 /proc/uptime)
echo "$start $end" >/out/timing.txt

# Still loaded: what `cat` has streamed so far.
sleep 0.5
wc -l </out/output.txt >/out/live-lines.txt
cat $W/counts >/out/counts.txt

rmmod kedr_stress_driver
rmmod kedr_stress_target
# The streams end once the target is gone and they have read everything.
wait $output_pid $trace_pid
cat $S/stats >/out/stats.txt
rmmod kedr_sample
