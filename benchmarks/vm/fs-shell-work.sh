# SPDX-License-Identifier: GPL-2.0
# The guest side of the shells' file-system workload that races-fs.sh and vfs-probes-cost.sh run
# (busybox sh; each script puts this text in its guest script with @FILES@ replaced by --files):
# `work N` makes the folder dN of the mount /mnt/t, writes, appends to the shared file, reads and
# lists @FILES@ files, renames one, reads a file of another shell's folder, then removes its own.
work() {
	d=/mnt/t/d$1
	mkdir $d
	i=0
	while [ $i -lt @FILES@ ]; do
		echo "shell $1 file $i" > $d/f$i
		echo "$1 $i" >> /mnt/t/shared
		cat $d/f$i > /dev/null
		ls /mnt/t > /dev/null
		i=$((i + 1))
	done
	mv $d/f0 $d/g0
	cat /mnt/t/d$(($1 % 4 + 1))/f1 > /dev/null 2>&1 || true
	rm -r $d
}

# run_shells LABEL: work 1 to 4 at once, then "LABEL: T0 s to T1 s of uptime" (what the scripts read).
run_shells() {
	pids=
	t0=$(cut -d' ' -f1 /proc/uptime)
	for s in 1 2 3 4; do work $s & pids="$pids $!"; done
	wait $pids
	echo "$1: $t0 s to $(cut -d' ' -f1 /proc/uptime) s of uptime"
}
