# Guest side of benchmarks/vm/slowdown.sh: the same workload on the sample target,
# first uninstrumented, then under kedr_sample, in one boot. Prints
# "plain_ms=..." and "instrumented_ms=..." lines (busybox date has no %N:
# /proc/uptime's 10 ms ticks, so keep each phase at a few seconds).
ITER=${ITER:-2000}

workload() {
	i=0
	while [ $i -lt "$ITER" ]; do
		echo 123456789788 > /dev/cfake0
		dd if=/dev/cfake0 of=/dev/null bs=1 count=13 2>/dev/null
		i=$((i + 1))
	done
}

now_ms() {
	read -r up _ </proc/uptime
	echo $((${up%.*} * 1000 + 10 * ${up#*.}))
}

timed() {
	start=$(now_ms)
	workload
	end=$(now_ms)
	echo "$1_ms=$((end - start))"
}

insmod /lib/modules/kedr/kedr_sample_target.ko
workload # warm-up
timed plain
rmmod kedr_sample_target

$KEDR_LOAD
insmod /lib/modules/kedr/kedr_sample_target.ko
workload
timed instrumented
rmmod kedr_sample_target
grep -h . /sys/kernel/debug/kedr_sample/stats 2>/dev/null || true
