#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test blobs for kedr_sample, independent of the C# rewriter.

    mkblob.py copy TARGET.ko OUT [--bad WHAT] [--only F1,F2...]
    mkblob.py empty TARGET.ko OUT

"copy" writes a blob (kmod/kedr_blob.h) whose copies are a small wrapper
around a byte-for-byte copy of each function:

    push $entry; call func_event         entry event
    push %rax; mov %rdi,%rax
    push $mem; call mem_event; pop %rax  a "read" of 8 bytes at %rdi
    push %rax; xor %eax,%eax
    push $gs; call mem_event; pop %rax   a %gs-relative "write" of 4 at 0
    call body
    push $exit; call func_event          exit event
    ret
    body: the original bytes

Moving the whole body keeps its internal branches right; its relocations
and its rel32 branches to other functions (found with objdump) become
fixups, its fentry, return-thunk and retpoline sites become
LIVE_BYTES patch slots (and masks). It is not a rewriter: a function with
stack arguments would see them shifted, and a function with a relocation
type or a run-time patch site it does not know is left out.

Where a 64-bit pointer in the module's data points into the middle of a
copied function (a computed goto's label table), the copy gets a landing
pad to the same byte of its body; a blob with landing pads is a 1.1 blob
(with empty 1.1 tables), any other a 1.0 one.

"empty" writes a valid blob with no functions (attach/detach without code).

--bad digest|name|nsyms|srcversion makes one thing disagree with the live
module, for the loader's refusal paths; --bad landing-boundary|
landing-overlap|landing-entry makes the first landing pad go to the middle
of an instruction, adds one 2 bytes after it, or adds one over the entry.
--only copies just the functions named.
"""
import argparse
import re
import struct
import subprocess
import sys

MAGIC = b"KEDRBLOB"
HEADER_SIZE = 180
SEED = 0xCBF29CE484222325
PRIME = 0x100000001B3

R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32, R_X86_64_32S = 1, 2, 4, 11
SHF_EXECINSTR = 0x4
FUNC_INIT = 0x1
FIX_PC32, FIX_ABS64, FIX_ABS32S = 1, 2, 3
TGT_SYMBOL, TGT_HELPER = 1, 2
HELPER_FUNC, HELPER_MEM = 0, 1
EV_ENTRY, EV_EXIT, EV_READ, EV_WRITE = 1, 2, 3, 4
SITE_GS = 1
PATCH_LIVE_BYTES = 1
PATCH_LANDING = 3
SHF_ALLOC = 0x2


class Elf:
    def __init__(self, data):
        self.data = data
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shnum, shstrndx = struct.unpack_from("<HH", data, 0x3C)
        self.sh = []
        for i in range(shnum):
            f = struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * 64)
            self.sh.append(dict(name=f[0], type=f[1], flags=f[2],
                                offset=f[4], size=f[5], link=f[6],
                                info=f[7]))
        strs = self.sh[shstrndx]
        for s in self.sh:
            s["sname"] = self.cstr(strs["offset"] + s["name"])
        symtab = next(s for s in self.sh if s["type"] == 2)
        symstr = self.sh[symtab["link"]]["offset"]
        self.syms = []
        for i in range(symtab["size"] // 24):
            n, info, _, shndx, value, size = struct.unpack_from(
                "<IBBHQQ", data, symtab["offset"] + i * 24)
            self.syms.append(dict(name=self.cstr(symstr + n), type=info & 15,
                                  shndx=shndx, value=value, size=size))

    def cstr(self, off):
        return self.data[off:self.data.index(b"\0", off)].decode()

    def relas(self, secidx):
        """Relocations applying to section secidx: (offset, sym, type, add)."""
        out = []
        for s in self.sh:
            if s["type"] == 4 and s["info"] == secidx:
                for i in range(s["size"] // 24):
                    off, info, add = struct.unpack_from(
                        "<QQq", self.data, s["offset"] + i * 24)
                    out.append((off, info >> 32, info & 0xFFFFFFFF, add))
        return out

    def branch_cache(self, secname, sym):
        if not hasattr(self, "_branches"):
            self._branches = {}
        if secname not in self._branches:
            self._branches[secname] = branches(self.path, secname)
        return self._branches[secname]

    def func_at(self, shndx, value):
        for i, s in enumerate(self.syms):
            if s["type"] == 2 and s["shndx"] == shndx and \
                    s["value"] == value:
                return i
        return None

    def section(self, name):
        for i, s in enumerate(self.sh):
            if s["sname"] == name:
                return i
        return None

    def sites(self, name):
        """Code locations (section index, offset) a site table points to."""
        idx = self.section(name)
        if idx is None:
            return set()
        out = set()
        for _, sym, _, add in self.relas(idx):
            s = self.syms[sym]
            out.add((s["shndx"], s["value"] + add))
        return out


def branches(ko, secname):
    """Direct call/jmp/jcc in a section: (offset, length, opcode, target)."""
    out = subprocess.run(["objdump", "-d", "-j", secname, ko], check=True,
                         capture_output=True, text=True).stdout
    insns = []
    line_re = re.compile(r"^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t?(.*)$")
    for line in out.splitlines():
        m = line_re.match(line)
        if not m:
            continue
        off, raw, text = int(m.group(1), 16), m.group(2).split(), m.group(3)
        if not text and insns:     # continuation of the previous bytes
            insns[-1][1] += len(raw)
            continue
        insns.append([off, len(raw), raw, text])
    result = []
    for off, length, raw, text in insns:
        m = re.match(r"^(call|jmp|j[a-z]+|loop\w*)\s+([0-9a-f]+) <", text)
        if m:
            result.append((off, length, int(raw[0], 16), int(m.group(2), 16)))
    return result


def digest(code, masks):
    masked = bytearray(code)
    for off, length in masks:
        masked[off:off + length] = bytes(length)
    h = SEED
    for b in masked:
        h = ((h ^ b) * PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


class Blob:
    def __init__(self, target):
        self.strings = bytearray(b"\0")
        self.names = {}
        self.funcs, self.masks, self.fixups = [], [], []
        self.sites, self.patches = [], []
        self.code = bytearray()
        self.target = self.string(target)
        self.srcversion = 0
        self.landing = False

    def string(self, s):
        if s not in self.names:
            self.names[s] = len(self.strings)
            self.strings += s.encode() + b"\0"
        return self.names[s]

    def site(self, func, offset, kind, flags=0, size=0):
        self.sites.append(struct.pack("<IIBBH", func, offset, kind, flags,
                                      size))
        return len(self.sites) - 1

    def fixup(self, offset, ftype, target, index, addend):
        self.fixups.append(struct.pack("<IBBHIIq", offset, ftype, target, 0,
                                       index, 0, addend))

    def write(self, path, num_symtab, code_align=16):
        tables = [(self.strings, 1, 1), (self.funcs, 48, 0),
                  (self.masks, 8, 0), (self.fixups, 24, 0),
                  (self.sites, 12, 0), (self.patches, 24, 0),
                  (self.code, 1, 1)]
        # Landing pads are 1.1: then the 1.1 tables too (empty).
        minor = 1 if self.landing else 0
        if minor:
            tables += [([], 24, 0), ([], 24, 0), ([], 12, 0)]
        header_size = HEADER_SIZE + 16 * (len(tables) - 7)
        body = bytearray()
        descs = []
        for content, entsize, is_bytes in tables:
            while (header_size + len(body)) % 8:
                body.append(0)
            off = header_size + len(body)
            if is_bytes:
                body += content
                count = len(content)
            else:
                body += b"".join(content)
                count = len(content)
            descs.append(struct.pack("<IIII", off if count else 0, count,
                                     entsize, 0))
        size = header_size + len(body)
        hdr = MAGIC + struct.pack("<HHIIIIIII", 1, minor, header_size, size,
                                  0, self.target, self.srcversion,
                                  num_symtab, 0)
        hdr += bytes(20) + struct.pack("<II", code_align, len(descs))
        hdr += b"".join(descs)
        assert len(hdr) == header_size
        with open(path, "wb") as f:
            f.write(hdr + body)


# The kernel's own tables: their pointers into code are no branch targets.
KERNEL_TABLES = {"__mcount_loc", ".parainstructions", ".altinstructions",
                 "__jump_table", "__ex_table", "__bug_table", ".smp_locks",
                 ".static_call_sites", ".retpoline_sites", ".return_sites",
                 ".orc_unwind_ip", ".orc_unwind", "_kprobe_blacklist",
                 "__patchable_function_entries", ".ibt_endbr_seal"}


def data_pointers(elf):
    """Code places 64-bit pointers in allocated data point to: (shndx, off)."""
    out = set()
    for idx, sec in enumerate(elf.sh):
        if sec["flags"] & (SHF_ALLOC | SHF_EXECINSTR) != SHF_ALLOC or \
                sec["sname"] in KERNEL_TABLES:
            continue
        for _, sym, rtype, add in elf.relas(idx):
            s = elf.syms[sym]
            if rtype == R_X86_64_64 and 0 < s["shndx"] < len(elf.sh) and \
                    elf.sh[s["shndx"]]["flags"] & SHF_EXECINSTR:
                out.add((s["shndx"], s["value"] + add))
    return out


def make_copy(elf, blob, bad, only):
    fentry = {i for i, s in enumerate(elf.syms) if s["name"] == "__fentry__"}
    pointers = data_pointers(elf)
    returns = elf.sites(".return_sites")
    retpolines = elf.sites(".retpoline_sites")
    unknown = set()
    for name in ("__jump_table", ".altinstructions", ".static_call_sites"):
        if elf.section(name) is not None:
            unknown |= {name}
    if unknown:
        print("mkblob: note: %s present; functions with such sites are "
              "not detected, expect refusals" % sorted(unknown),
              file=sys.stderr)

    seen = set()
    for symidx, s in enumerate(elf.syms):
        if s["type"] != 2 or s["size"] < 5 or not s["shndx"] or \
                s["shndx"] >= len(elf.sh):
            continue
        sec = elf.sh[s["shndx"]]
        if not sec["flags"] & SHF_EXECINSTR:
            continue
        if only and s["name"] not in only:
            continue
        key = (s["shndx"], s["value"])
        if key in seen:        # an alias: one copy per address
            continue
        seen.add(key)
        start, size = s["value"], s["size"]
        orig = elf.data[sec["offset"] + start:
                        sec["offset"] + start + size]

        masks, patches, fixups = [], [], []
        # run-time patched sites: (offset in function, length)
        live = []
        for (shndx, off) in returns | retpolines:
            if shndx == s["shndx"] and start <= off < start + size:
                o = off - start
                live.append((o, 6 if orig[o] == 0x0F else 5))
        ok = True
        for (off, sym, rtype, add) in elf.relas(s["shndx"]):
            if not start <= off < start + size:
                continue
            o = off - start
            if sym in fentry:
                live.append((o - 1, 5))
                continue
            if any(lo <= o < lo + ln for lo, ln in live):
                continue
            if rtype in (R_X86_64_PC32, R_X86_64_PLT32):
                fixups.append((o, FIX_PC32, sym, add))
                masks.append((o, 4))
            elif rtype == R_X86_64_64:
                fixups.append((o, FIX_ABS64, sym, add))
                masks.append((o, 8))
            elif rtype == R_X86_64_32S:
                fixups.append((o, FIX_ABS32S, sym, add))
                masks.append((o, 4))
            else:
                print("mkblob: %s: relocation type %d, left out"
                      % (s["name"], rtype), file=sys.stderr)
                ok = False
        # branches leaving the function that the assembler resolved
        relocated = {f[0] for f in fixups} | {lo + 1 for lo, _ in live}
        for (off, length, op, dest) in elf.branch_cache(sec["sname"], s):
            if not start <= off < start + size or \
                    start <= dest < start + size:
                continue
            o = off - start
            if o + length - 4 in relocated:
                continue
            tsym = elf.func_at(s["shndx"], dest)
            if op not in (0xE8, 0xE9, 0x0F) or tsym is None:
                print("mkblob: %s: short or unknown branch out at +0x%x, "
                      "left out" % (s["name"], o), file=sys.stderr)
                ok = False
                continue
            field = o + length - 4
            fixups.append((field, FIX_PC32, tsym,
                           dest - elf.syms[tsym]["value"] - 4))
        # a fixup inside a live site is overwritten by the site's bytes
        fixups = [f for f in fixups
                  if not any(lo <= f[0] < lo + ln for lo, ln in live)]
        masks = [m for m in masks
                 if not any(lo <= m[0] < lo + ln for lo, ln in live)]
        masks += live
        # sorted and disjoint, as the format wants: merge what touches
        merged = []
        for o, ln in sorted(masks):
            if merged and o <= merged[-1][0] + merged[-1][1]:
                end = max(merged[-1][0] + merged[-1][1], o + ln)
                merged[-1] = (merged[-1][0], end - merged[-1][0])
            else:
                merged.append((o, ln))
        masks = merged
        if not ok:
            continue

        fi = len(blob.funcs)
        entry = blob.site(fi, 0, EV_ENTRY)
        exit_ = blob.site(fi, 0, EV_EXIT)
        mem = blob.site(fi, 0, EV_READ, 0, 8)
        gs = blob.site(fi, min(1, size - 1), EV_WRITE, SITE_GS, 4)

        while len(blob.code) % 16:
            blob.code.append(0xCC)
        base = len(blob.code)
        w = bytearray()

        def helper_call(site, helper):
            w.extend(b"\x68" + struct.pack("<I", site) + b"\xe8")
            blob.fixup(base + len(w), FIX_PC32, TGT_HELPER, helper, -4)
            w.extend(bytes(4))

        helper_call(entry, HELPER_FUNC)
        w.extend(b"\x50\x48\x89\xf8")               # push %rax; mov %rdi,%rax
        helper_call(mem, HELPER_MEM)
        w.extend(b"\x58")                           # pop %rax
        w.extend(b"\x50\x31\xc0")                   # push %rax; xor %eax,%eax
        helper_call(gs, HELPER_MEM)
        w.extend(b"\x58")                           # pop %rax
        call_at = len(w)
        w.extend(b"\xe8" + bytes(4))                # call body
        helper_call(exit_, HELPER_FUNC)
        w.extend(b"\xc3")                           # ret
        body = len(w)
        struct.pack_into("<i", w, call_at + 1, body - (call_at + 5))
        w.extend(orig)
        for (o, ftype, sym, add) in fixups:
            blob.fixup(base + body + o, ftype, TGT_SYMBOL, sym, add)
        for (o, ln) in live:
            blob.patches.append(struct.pack(
                "<IIIHHB3xI", base + body + o, fi, o, ln, ln,
                PATCH_LIVE_BYTES, 0))
        # Landing pads: the body is the original, byte for byte.
        pads = sorted(v - start for (shndx, v) in pointers
                      if shndx == s["shndx"] and start < v < start + size)
        if pads and bad == "landing-overlap":
            pads.insert(1, pads[0] + 2)
        if pads and bad == "landing-entry":
            pads.insert(0, 2)
        for n, o in enumerate(pads):
            dest = base + body + o
            if n == 0 and bad == "landing-boundary":
                dest += 1
            blob.patches.append(struct.pack(
                "<IIIHHB3xI", dest, fi, o, 5, 0, PATCH_LANDING, 0))
            blob.landing = True
        blob.code += w

        first_mask = len(blob.masks)
        for (o, ln) in masks:
            blob.masks.append(struct.pack("<II", o, ln))
        d = digest(orig, masks)
        name = s["name"]
        if bad == "digest" and fi == 0:
            d ^= 1
        if bad == "name" and fi == 0:
            name = name + "_x"
        flags = FUNC_INIT if sec["sname"].startswith(".init") else 0
        blob.funcs.append(struct.pack(
            "<IIIIIIIIQII", blob.string(name), symidx, size, base,
            len(w), first_mask, len(masks), flags, d, fi, 0))
        print("mkblob: %-28s %4d bytes, %d fixups, %d live sites, "
              "%d landing pads%s"
              % (s["name"], size, len(fixups), len(live), len(pads),
                 " (init)" if flags else ""), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["copy", "empty"])
    ap.add_argument("ko")
    ap.add_argument("out")
    ap.add_argument("--bad", choices=["digest", "name", "nsyms",
                                      "srcversion", "landing-boundary",
                                      "landing-overlap", "landing-entry"])
    ap.add_argument("--only", help="comma-separated function names")
    a = ap.parse_args()
    with open(a.ko, "rb") as f:
        elf = Elf(f.read())
    elf.path = a.ko
    modinfo = elf.sh[elf.section(".modinfo")]
    info = elf.data[modinfo["offset"]:modinfo["offset"] + modinfo["size"]]
    fields = dict(x.split("=", 1) for x in info.decode().split("\0") if x)
    blob = Blob(fields["name"].replace("-", "_"))
    if "srcversion" in fields:
        blob.srcversion = blob.string(fields["srcversion"])
    if a.bad == "srcversion":
        blob.srcversion = blob.string("0123456789ABCDEF")
    if a.mode == "copy":
        make_copy(elf, blob, a.bad, set(a.only.split(",")) if a.only else None)
    nsyms = len(elf.syms) + (1 if a.bad == "nsyms" else 0)
    blob.write(a.out, nsyms)


if __name__ == "__main__":
    main()
