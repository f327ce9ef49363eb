# SPDX-License-Identifier: GPL-2.0
# The vfat workload of issue 17, for the guest (busybox sh): a loop image, a
# few hundred files and a few MB written, unmounted, mounted again, read back
# and checksummed, unmounted, vfat and fat unloaded. Used by
# tests/Kedr.Cli.Tests/Record/RecordVmTests.cs and benchmarks/vm/overhead.sh.
# Needs the guest modules loop, vfat (fat), nls_ascii, nls_cp437.
modprobe loop
modprobe vfat
modprobe nls_ascii
modprobe nls_cp437
dd if=/dev/zero of=/tmp/fat.img bs=1M count=32 2>/dev/null
mkdosfs /tmp/fat.img > /dev/null
mkdir -p /mnt/fat
seq 1 2000 > /tmp/small.txt
dd if=/dev/urandom of=/tmp/big.bin bs=1M count=4 2>/dev/null
want=$(i=0; while [ $i -lt 300 ]; do cat /tmp/small.txt; i=$((i + 1)); done | cat - /tmp/big.bin | md5sum)
mount -o loop -t vfat /tmp/fat.img /mnt/fat
i=0
while [ $i -lt 300 ]; do
	cp /tmp/small.txt /mnt/fat/file$i.txt
	i=$((i + 1))
done
cp /tmp/big.bin /mnt/fat/big.bin
sync
umount /mnt/fat
mount -o loop -t vfat /tmp/fat.img /mnt/fat
got=$(i=0; while [ $i -lt 300 ]; do cat /mnt/fat/file$i.txt; i=$((i + 1)); done | cat - /mnt/fat/big.bin | md5sum)
umount /mnt/fat
rmmod vfat
rmmod fat
rm -f /tmp/fat.img
[ "$got" = "$want" ] || { echo "fat workload: checksum $got, expected $want" >&2; exit 1; }
