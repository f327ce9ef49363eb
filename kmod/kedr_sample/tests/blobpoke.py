#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Changes bytes of a blob (kmod/kedr_blob.h), for the loader's tests.

    blobpoke.py IN OUT [--seal] WHERE=HEX...

WHERE is a byte offset in the blob, or TABLE+N: N bytes into table TABLE
(a number, or one of strings functions masks fixups sites patches code
extable bugs orc checksum), e.g. code+3, extable+12. HEX is the new bytes
("ff", "0a00"); "~" flips every bit of the byte there instead.

--seal writes the checksum (1.3, table 10: CRC-32C of every other byte)
again afterwards, so that the change reaches the check it is meant for;
without it a 1.3 loader refuses the blob as damaged.
"""
import argparse
import struct
import sys

TABLES = ["strings", "functions", "masks", "fixups", "sites", "patches",
          "code", "extable", "bugs", "orc", "checksum"]
HEADER_TABLES = 68
CHECKSUM = 10


def crc32c(data, crc=0xFFFFFFFF):
    """CRC-32C (reflected polynomial 0x82F63B78), no final inversion."""
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc


def table_offset(blob, t):
    return struct.unpack_from("<I", blob, HEADER_TABLES + 16 * t)[0]


def seal(blob):
    ntables = struct.unpack_from("<I", blob, 64)[0]
    if ntables <= CHECKSUM:
        sys.exit("blobpoke.py: the blob has no checksum table")
    at = table_offset(blob, CHECKSUM)
    crc = crc32c(blob[:at])
    crc = crc32c(blob[at + 4:], crc) ^ 0xFFFFFFFF
    struct.pack_into("<I", blob, at, crc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--seal", action="store_true")
    ap.add_argument("changes", nargs="+")
    a = ap.parse_args()
    with open(a.inp, "rb") as f:
        blob = bytearray(f.read())
    for change in a.changes:
        where, value = change.split("=", 1)
        if "+" in where:
            name, n = where.split("+", 1)
            t = TABLES.index(name) if name in TABLES else int(name)
            off = table_offset(blob, t) + int(n, 0)
        else:
            off = int(where, 0)
        if value == "~":
            blob[off] ^= 0xFF
        else:
            new = bytes.fromhex(value)
            blob[off:off + len(new)] = new
    if a.seal:
        seal(blob)
    with open(a.out, "wb") as f:
        f.write(blob)


if __name__ == "__main__":
    main()
