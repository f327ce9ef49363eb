# SPDX-License-Identifier: GPL-2.0
# The btrfs workload of issue 17, for the guest (busybox sh): the image made
# on the host by benchmarks/vm/btrfs-image.sh (its files in
# /lib/firmware/kedr/) restored to a sparse /tmp/btrfs.img, mounted through a
# loop device, a few hundred files and a few MB written, unmounted, mounted
# again, read back and checksummed, unmounted, btrfs unloaded. The same steps
# as benchmarks/vm/fat-workload.sh. Used by
# tests/Kedr.Cli.Tests/Record/RecordVmTests.cs and benchmarks/vm/overhead.sh.
# Needs the guest modules loop and btrfs (modprobe loads what btrfs depends
# on: modinfo -F depends btrfs.ko).
# BTRFS_FILES (300) files of 8.9 KB and BTRFS_MB (4) MB of random data: the
# defaults are issue 17's workload; the record test sets smaller ones.
files=${BTRFS_FILES:-300}
mb=${BTRFS_MB:-4}
fw=/lib/firmware/kedr
modprobe loop
modprobe btrfs
{
	read size
	rm -f /tmp/btrfs.img
	truncate -s "$size" /tmp/btrfs.img
	zcat $fw/btrfs-image.data.gz > /tmp/btrfs-image.data
	while read seek count skip; do
		dd if=/tmp/btrfs-image.data of=/tmp/btrfs.img bs=4096 seek="$seek" skip="$skip" \
			count="$count" conv=notrunc 2>/dev/null
	done
} < $fw/btrfs-image.runs
rm -f /tmp/btrfs-image.data
mkdir -p /mnt/btrfs
seq 1 2000 > /tmp/small.txt
dd if=/dev/urandom of=/tmp/big.bin bs=1M count=$mb 2>/dev/null
want=$(i=0; while [ $i -lt $files ]; do cat /tmp/small.txt; i=$((i + 1)); done | cat - /tmp/big.bin | md5sum)
mount -o loop -t btrfs /tmp/btrfs.img /mnt/btrfs
i=0
while [ $i -lt $files ]; do
	cp /tmp/small.txt /mnt/btrfs/file$i.txt
	i=$((i + 1))
done
cp /tmp/big.bin /mnt/btrfs/big.bin
sync
umount /mnt/btrfs
mount -o loop -t btrfs /tmp/btrfs.img /mnt/btrfs
got=$(i=0; while [ $i -lt $files ]; do cat /mnt/btrfs/file$i.txt; i=$((i + 1)); done | cat - /mnt/btrfs/big.bin | md5sum)
umount /mnt/btrfs
rmmod btrfs
rm -f /tmp/btrfs.img
[ "$got" = "$want" ] || { echo "btrfs workload: checksum $got, expected $want" >&2; exit 1; }
