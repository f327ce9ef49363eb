# Guest script for tracer-onoff.sh: ROUNDS times, around loading and unloading
# kedr_pt_ftrace, the function tracer (module filter, then one function) and a
# kprobe on and off. Each switch patches kernel text with text_poke_bp (jump
# labels and static calls of the sched_switch/sched_wakeup tracepoints, ftrace
# sites), with an IPI to every CPU each time.
T=/sys/kernel/debug/tracing
C=/sys/kernel/debug/kedr_pt_ftrace/ctl
rounds=@ROUNDS@
i=0
while [ "$i" -lt "$rounds" ]; do
	i=$((i + 1))
	echo ':mod:kedr_pt_ftrace' >$T/set_ftrace_filter
	echo function >$T/current_tracer
	insmod "$KEDR_MODULES/kedr_pt_ftrace.ko"
	echo 5 >$C
	cat $T/trace >/dev/null
	echo nop >$T/current_tracer
	echo kedr_pt_write >$T/set_ftrace_filter
	echo function >$T/current_tracer
	echo 7 >$C
	cat $T/trace >/dev/null
	echo nop >$T/current_tracer
	echo >$T/set_ftrace_filter
	echo 'p:kedrkp kedr_pt_write' >$T/kprobe_events
	echo 1 >$T/events/kprobes/kedrkp/enable
	echo 9 >$C
	echo 0 >$T/events/kprobes/kedrkp/enable
	echo >$T/kprobe_events
	rmmod kedr_pt_ftrace
	echo >$T/trace
done
echo "$i" >/out/rounds.txt
