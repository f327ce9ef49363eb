# Guest side of benchmarks/vm/probe-cost.sh (busybox sh). Prints
# "CASE CALLS NS" lines: CALLS calls of kedr_pb_work() timed in the kernel,
# the best of $REPS runs (N calls, N / 10 with the plain kprobe: its hits are
# the slowest by far), for the original plain, with a kprobe, with an optimized kprobe,
# then under kedr_sample: the copy with its probe disabled, and enabled with
# a handler. Every probe does the same handler work (kedr_probe_handler's).
N=${N:-20000}
REPS=${REPS:-5}
K=/lib/modules/kedr
P=/sys/module/kedr_pb_drive/parameters
D=/sys/kernel/debug

best() {
	b=
	for r in $(seq "$REPS"); do
		echo "$2" > $P/run
		t=$(cat $P/last_ns)
		if [ -z "$b" ] || [ "$t" -lt "$b" ]; then b=$t; fi
	done
	echo "$1 $2 $b"
}

insmod $K/kedr_pb_target.ko
insmod $K/kedr_pb_drive.ko offset="$OFFSET"
echo "$N" > $P/run
best plain $N
echo 1 > $P/kprobe
echo "kprobe: $(grep kedr_pb_work $D/kprobes/list)"
best kprobe $((N / 10))
echo 2 > $P/kprobe
# The optimizer works from a delayed work item (OPTIMIZE_DELAY, 5 jiffies).
sleep 1
echo "optimized kprobe: $(grep kedr_pb_work $D/kprobes/list)"
best optprobe $N
echo "kprobe_hits $(cat $P/kprobe_hits)"
echo 0 > $P/kprobe
rmmod kedr_pb_drive
rmmod kedr_pb_target

insmod $K/kedr_sample.ko target_name=kedr_pb_target probes_enabled=0 probe_records=0
insmod $K/kedr_pb_target.ko
insmod $K/kedr_pb_drive.ko offset="$OFFSET"
insmod $K/kedr_probe_handler.ko func=kedr_pb_work offset="$OFFSET"
echo "$N" > $P/run
best copy $N
echo "enable 0" > $D/kedr_sample/probes
best copy_probe $N
echo "probe: $(grep -v '^#' $D/kedr_sample/probes)"
echo "handler_hits $(cat /sys/module/kedr_probe_handler/parameters/hits)"
rmmod kedr_probe_handler
rmmod kedr_pb_drive
rmmod kedr_pb_target
