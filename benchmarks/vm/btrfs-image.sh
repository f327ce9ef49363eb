#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The btrfs image of issue 17's btrfs workload, made on the host (the guest has
# no mkfs.btrfs; scripts/vm/setup.sh installs btrfs-progs here):
#
#   benchmarks/vm/btrfs-image.sh DIR
#
# mkfs.btrfs with its defaults on a sparse file of BTRFS_IMAGE_MB (128) MB: a
# single device needs at least 109 MiB (114294784 bytes, mkfs.btrfs 6.2), but
# only ~4.6 MB of it are written. The guest gets just those blocks, so neither
# the initramfs nor the guest's tmpfs holds the zeros:
#   DIR/btrfs-image.runs     first line the image size in bytes, then one line
#                            a run of 4 KiB blocks holding all the non-zero
#                            ones (gaps of up to 64 zero blocks included):
#                            "SEEK COUNT SKIP" (first block in the image,
#                            blocks, first block in the data)
#   DIR/btrfs-image.data.gz  those blocks, one after another, gzipped
# Prints the run.sh arguments that put both at the guest's
# /lib/firmware/kedr/, where benchmarks/vm/btrfs-workload.sh restores the
# image from them (busybox dd). Used by benchmarks/vm/overhead.sh and
# tests/Kedr.Cli.Tests/Record/RecordVmTests.cs.
#
# Exit status: 0 done, 2 no mkfs.btrfs or python3, or mkfs failed.
set -euo pipefail
dir=${1:?usage: btrfs-image.sh DIR}
mb=${BTRFS_IMAGE_MB:-128}
mkfs=$(PATH=$PATH:/usr/sbin:/sbin command -v mkfs.btrfs) ||
	{ echo "btrfs-image.sh: mkfs.btrfs not found (scripts/vm/setup.sh installs btrfs-progs)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "btrfs-image.sh: python3 not found" >&2; exit 2; }
mkdir -p "$dir"
img="$dir/btrfs.img"
rm -f "$img"
truncate -s "${mb}M" "$img"
"$mkfs" -q "$img" >/dev/null 2>&1 || { echo "btrfs-image.sh: $mkfs $img failed" >&2; exit 2; }
python3 - "$img" "$dir/btrfs-image.runs" "$dir/btrfs-image.data" <<'PY'
import os, sys
img, runs_path, data_path = sys.argv[1:]
bs = 4096
zero = bytes(bs)
size = os.path.getsize(img)
runs = []  # [seek, count, skip]
written = 0
with open(img, 'rb') as f, open(data_path, 'wb') as data:
    fd = f.fileno()
    off = 0
    while off < size:
        try:
            off = os.lseek(fd, off, os.SEEK_DATA) // bs * bs
        except OSError:
            break
        end = os.lseek(fd, off, os.SEEK_HOLE)
        f.seek(off)
        while off < end:
            block = f.read(bs)
            if block != zero:
                gap = off // bs - (runs[-1][0] + runs[-1][1]) if runs else None
                if gap is not None and gap <= 64:
                    # a short gap goes along as zeros: fewer dd runs in the guest
                    data.write(zero * gap)
                    written += gap
                    runs[-1][1] += gap + 1
                else:
                    runs.append([off // bs, 1, written])
                data.write(block)
                written += 1
            off += bs
with open(runs_path, 'w') as r:
    r.write(f'{size}\n')
    for seek, count, skip in runs:
        r.write(f'{seek} {count} {skip}\n')
PY
rm -f "$img" "$dir/btrfs-image.data.gz"
gzip -9 "$dir/btrfs-image.data"
printf '%s\n' --firmware "$dir/btrfs-image.runs:kedr/btrfs-image.runs" \
	--firmware "$dir/btrfs-image.data.gz:kedr/btrfs-image.data.gz"
