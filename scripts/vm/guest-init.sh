#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the KEDR test guest (copied there by mkinitramfs.sh; busybox ash).
#
# Mounts proc, sysfs, devtmpfs (/dev), debugfs (/sys/kernel/debug) and a
# tmpfs on /tmp, makes /out, runs the guest script /kedr/script.sh with
# `sh -e` from / (stdin /dev/null, stdout and stderr to /tmp/kedr/script.log,
# KEDR_MODULES=/lib/modules/kedr and KEDR_OUT=/out in its environment), then
# sends the results to the host over the second serial port (/dev/ttyS1) and
# powers off. The protocol, one record per line:
#
#	KEDR-VM-BEGIN
#	KEDR-VM-STATUS <exit status of the script | timeout>
#	KEDR-VM-FILE <out|meta> <size> <name>	then the file gzipped, in
#	KEDR-VM-END				base64, then the end line
#	KEDR-VM-SKIP <name>			a non-regular file in /out
#	KEDR-VM-DONE
#
# "out" files are what the script left under /out (name relative to it);
# "meta" files are dmesg.txt and script.log. The script gets until
# kedr.deadline=<seconds of uptime> (kernel command line); past it the
# blocked tasks are dumped to dmesg (sysrq w) and the results sent anyway.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin

say() {
	echo "kedr-vm: $*" >/dev/console
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
mkdir -p /out /tmp/kedr

deadline=
read -r cmdline </proc/cmdline
for arg in $cmdline; do
	case "$arg" in
	kedr.deadline=*) deadline=${arg#kedr.deadline=} ;;
	esac
done
case "$deadline" in
'' | *[!0-9]*) deadline=60 ;;
esac

# For the script: where its modules are and where its results go.
export KEDR_MODULES=/lib/modules/kedr KEDR_OUT=/out

say "running /kedr/script.sh (sh -e), deadline ${deadline}s of uptime"
(
	cd /
	sh -e /kedr/script.sh </dev/null >/tmp/kedr/script.log 2>&1
	echo $? >/tmp/kedr/status.tmp
	mv /tmp/kedr/status.tmp /tmp/kedr/status
) &

status=
while [ -z "$status" ]; do
	if [ -f /tmp/kedr/status ]; then
		status=$(cat /tmp/kedr/status)
		break
	fi
	up=$(cut -d. -f1 /proc/uptime)
	if [ "$up" -ge "$deadline" ]; then
		status=timeout
		say "guest script still running at ${up}s: dumping blocked tasks"
		echo w >/proc/sysrq-trigger
		break
	fi
	sleep 0.1
done
say "guest script status: $status"
echo "----- kedr-vm: guest script output -----" >/dev/console
cat /tmp/kedr/script.log >/dev/console
echo "----- kedr-vm: end of guest script output -----" >/dev/console

dmesg -s 16777216 >/tmp/kedr/dmesg.txt

send_file() {	# kind name path
	echo "KEDR-VM-FILE $1 $(wc -c <"$3") $2"
	gzip -c <"$3" | base64
	echo "KEDR-VM-END"
}

if [ -c /dev/ttyS1 ]; then
	stty -F /dev/ttyS1 raw -echo 2>/dev/null
	{
		echo "KEDR-VM-BEGIN"
		echo "KEDR-VM-STATUS $status"
		(cd /out && find . ! -type d) | sed 's|^\./||' | sort |
		while read -r name; do
			if [ -f "/out/$name" ] && [ ! -L "/out/$name" ]; then
				send_file out "$name" "/out/$name"
			else
				echo "KEDR-VM-SKIP $name"
			fi
		done
		send_file meta script.log /tmp/kedr/script.log
		send_file meta dmesg.txt /tmp/kedr/dmesg.txt
		echo "KEDR-VM-DONE"
	} >/dev/ttyS1
else
	say "no /dev/ttyS1: cannot send the results to the host"
fi

poweroff -f
