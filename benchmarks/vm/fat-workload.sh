# SPDX-License-Identifier: GPL-2.0
# The vfat workload of issue 17, for the guest (busybox sh): a loop image, a
# few hundred files and a few MB written, unmounted, mounted again, read back
# and checksummed, unmounted, vfat and fat unloaded. Used by
# tests/Kedr.Cli.Tests/Record/RecordVmTests.cs and benchmarks/vm/overhead.sh.
# Needs the guest modules loop, vfat (fat), nls_ascii, nls_cp437.
# FAT_FILES (300) files of 8.9 KB and FAT_MB (4) MB of random data: the
# defaults are issue 17's workload (benchmarks/vm/overhead.sh); the record
# test sets smaller ones to stay within a few minutes.
files=${FAT_FILES:-300}
mb=${FAT_MB:-4}
modprobe loop
modprobe vfat
modprobe nls_ascii
modprobe nls_cp437
dd if=/dev/zero of=/tmp/fat.img bs=1M count=32 2>/dev/null
mkdosfs /tmp/fat.img > /dev/null
mkdir -p /mnt/fat
seq 1 2000 > /tmp/small.txt
dd if=/dev/urandom of=/tmp/big.bin bs=1M count=$mb 2>/dev/null
want=$(i=0; while [ $i -lt $files ]; do cat /tmp/small.txt; i=$((i + 1)); done | cat - /tmp/big.bin | md5sum)
mount -o loop -t vfat /tmp/fat.img /mnt/fat
i=0
while [ $i -lt $files ]; do
	cp /tmp/small.txt /mnt/fat/file$i.txt
	i=$((i + 1))
done
cp /tmp/big.bin /mnt/fat/big.bin
sync
umount /mnt/fat
mount -o loop -t vfat /tmp/fat.img /mnt/fat
got=$(i=0; while [ $i -lt $files ]; do cat /mnt/fat/file$i.txt; i=$((i + 1)); done | cat - /mnt/fat/big.bin | md5sum)
umount /mnt/fat
rmmod vfat
rmmod fat
rm -f /tmp/fat.img
[ "$got" = "$want" ] || { echo "fat workload: checksum $got, expected $want" >&2; exit 1; }
