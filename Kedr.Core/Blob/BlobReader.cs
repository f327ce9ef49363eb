using System.Buffers.Binary;
using System.Text;
using Kedr.Core.Diagnostics;

namespace Kedr.Core.Blob;

/// <summary>
/// Reads a blob and checks it the way the loader does: every table inside the blob,
/// every string terminated, every index and code range in bounds, every kind known.
/// </summary>
public static class BlobReader
{
    public static KedrBlob Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KedrException(new KedrDiagnostic(DiagnosticCodes.BlobCannotRead, $"cannot read: {e.Message}", path));
        }
        return TryRead(bytes, path, out var blob, out var error) ? blob! : throw new KedrException(error!);
    }

    public static bool TryRead(ReadOnlySpan<byte> s, string path, out KedrBlob? blob, out KedrDiagnostic? error)
    {
        blob = null;
        error = Parse(s, path, out blob);
        return error is null;
    }

    /// <summary>
    /// The loader's checks (kmod/kedr_sample/kedr_blob.c), in its order: the header, the table descriptors, the
    /// checksum, then each table. Every rejection names the offset in the blob it is about.
    /// </summary>
    private static KedrDiagnostic? Parse(ReadOnlySpan<byte> s, string path, out KedrBlob? blob)
    {
        blob = null;
        KedrDiagnostic Bad(DiagnosticCode code, string msg, string? table = null, long? off = null) => new(code, msg, path, table, off);

        if (s.Length < 8 || !s[..8].SequenceEqual(BlobFormat.Magic))
            return Bad(DiagnosticCodes.BlobBadMagic, "not a KEDR blob (bad magic)", off: 0);
        if (s.Length < BlobFormat.HeaderSizeV1)
            return Bad(DiagnosticCodes.BlobSizes, $"blob is {s.Length} bytes, smaller than a header ({BlobFormat.HeaderSizeV1})", off: s.Length);
        ushort major = U16(s, 8), minor = U16(s, 10);
        if (major != BlobFormat.VersionMajor)
            return Bad(DiagnosticCodes.BlobMajorVersion, $"blob format {major}.{minor}, this tool reads {BlobFormat.VersionMajor}.x", off: 8);
        uint headerSize = U32(s, 12), blobSize = U32(s, 16), numTables = U32(s, 64);
        if (blobSize != s.Length)
            return Bad(DiagnosticCodes.BlobSizes, $"blob says it is {blobSize} bytes, the file has {s.Length}", off: 16);
        if (headerSize < BlobFormat.HeaderSizeV1 || headerSize > s.Length)
            return Bad(DiagnosticCodes.BlobSizes, $"header size {headerSize} is out of range", off: 12);
        var flags = (BlobHeaderFlags)U32(s, 20);
        if ((flags & ~BlobFormat.KnownHeaderFlags) != 0)
            return Bad(DiagnosticCodes.BlobHeaderFlags, $"unknown flags 0x{(uint)(flags & ~BlobFormat.KnownHeaderFlags):x}", off: 20);
        if (numTables < BlobFormat.TableCountV1 || 68 + (long)numTables * BlobFormat.TableSize != headerSize)
            return Bad(DiagnosticCodes.BlobSizes, $"{numTables} tables, header size {headerSize}: need at least {BlobFormat.TableCountV1} and 68 + 16 per table", off: 64);
        uint idLen = U32(s, 36);
        if (idLen > BlobFormat.BuildIdMax)
            return Bad(DiagnosticCodes.BlobStringOrHeaderField, $"build-id length {idLen} exceeds {BlobFormat.BuildIdMax}", off: 36);
        uint codeAlign = U32(s, 60);
        if (codeAlign == 0 || (codeAlign & (codeAlign - 1)) != 0 || codeAlign > 4096)
            return Bad(DiagnosticCodes.BlobStringOrHeaderField, $"code alignment {codeAlign} is not a power of two up to 4096", off: 60);
        uint symbolCount = U32(s, 32);
        if (symbolCount == 0)
            return Bad(DiagnosticCodes.BlobStringOrHeaderField, "target_num_symtab is 0", off: 32);

        int[] minEntsize = [1, BlobFormat.FunctionSize, BlobFormat.MaskSize, BlobFormat.FixupSize, BlobFormat.SiteSize,
            BlobFormat.PatchSize, 1, BlobFormat.ExTableSize, BlobFormat.BugSize, BlobFormat.OrcSize, BlobFormat.ChecksumSize];
        var tables = new (int off, int count, int entsize)[BlobFormat.TableCount];
        for (int t = 0; t < Math.Min((int)numTables, BlobFormat.TableCount); t++)
        {
            int h = 68 + t * BlobFormat.TableSize;
            uint off = U32(s, h), count = U32(s, h + 4), entsize = U32(s, h + 8);
            string tableName = ((BlobTableId)t).ToString();
            if (entsize < minEntsize[t] || (t is 0 or 6 && entsize != 1))
                return Bad(DiagnosticCodes.BlobTableBounds, $"entry size {entsize}, at least {minEntsize[t]} expected", tableName, h + 8);
            if (count > 0 && ((ulong)off + (ulong)count * entsize > (ulong)s.Length || off < headerSize))
                return Bad(DiagnosticCodes.BlobTableBounds, $"{count} entries of {entsize} bytes at 0x{off:x} are outside the blob", tableName, h);
            tables[t] = ((int)off, (int)count, (int)entsize);
        }
        // The checksum, before anything but the header and the descriptors is used.
        if (numTables <= (int)BlobTableId.Checksum)
        {
            if (minor >= BlobFormat.ChecksumMinor)
                return Bad(DiagnosticCodes.BlobChecksum, $"blob format 1.{minor} without a checksum", off: 64);
        }
        else
        {
            var (co, cc, _) = tables[(int)BlobTableId.Checksum];
            if (cc != 1)
                return Bad(DiagnosticCodes.BlobChecksum, $"checksum table of {cc} entries, 1 expected", "Checksum", 68 + (int)BlobTableId.Checksum * BlobFormat.TableSize + 4);
            uint want = U32(s, co), got = BlobFormat.Checksum(s, co);
            if (want != got)
                return Bad(DiagnosticCodes.BlobChecksum, $"checksum 0x{want:x8}, the blob's bytes give 0x{got:x8}: damaged", "Checksum", co);
        }

        var (so0, sc0, _) = tables[0];
        if (sc0 > 0 && s[so0 + sc0 - 1] != 0)
            return Bad(DiagnosticCodes.BlobStringOrHeaderField, "the string table does not end with a NUL", "Strings", so0 + sc0 - 1);
        var codeLen = (uint)tables[6].count;
        if (codeLen > BlobFormat.MaxCodeSize)
            return Bad(DiagnosticCodes.BlobOutOfRange, $"code image of {codeLen} bytes, the loader's code area holds {BlobFormat.MaxCodeSize}", "Code", 68 + 6 * BlobFormat.TableSize + 4);
        var strings = s.Slice(so0, sc0).ToArray();
        string? Str(uint off)
        {
            if (off >= (uint)strings.Length) return null;
            int end = strings.AsSpan((int)off).IndexOf((byte)0);
            return Encoding.UTF8.GetString(strings, (int)off, end);
        }
        var name = Str(U32(s, 24));
        if (name is null)
            return Bad(DiagnosticCodes.BlobStringOrHeaderField, "target name is not a string of the string table", off: 24);
        var srcVersion = Str(U32(s, 28));
        if (srcVersion is null)
            return Bad(DiagnosticCodes.BlobStringOrHeaderField, "target srcversion is not a string of the string table", off: 28);

        var b = new KedrBlob
        {
            Target = new BlobTarget(name, srcVersion, symbolCount, s.Slice(40, (int)idLen).ToArray()),
            CodeAlign = codeAlign,
            VersionMinor = minor,
            Flags = flags,
            Code = s.Slice(tables[6].off, tables[6].count).ToArray(),
        };
        var code = b.Code;

        var (mo, mc, me) = tables[2];
        var (fo, fc, fe) = tables[1];
        for (int i = 0; i < fc; i++)
        {
            int o = fo + i * fe;
            var fname = Str(U32(s, o));
            if (fname is null) return Bad(DiagnosticCodes.BlobStringOrHeaderField, $"function {i}: name is not a string of the string table", "Functions", o);
            var f = new BlobFunction(fname, U32(s, o + 4), U32(s, o + 8), U32(s, o + 12), U32(s, o + 16), U32(s, o + 20),
                U32(s, o + 24), (BlobFunctionFlags)U32(s, o + 28), U64(s, o + 32), U32(s, o + 40));
            if (f.SymbolIndex == 0 || f.SymbolIndex >= symbolCount)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{fname}': symbol {f.SymbolIndex} out of range ({symbolCount})", "Functions", o + 4);
            if (f.Size < 5) return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{fname}': size {f.Size} is below 5", "Functions", o + 8);
            if (f.CopySize == 0 || (ulong)f.CopyOffset + f.CopySize > codeLen)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{fname}': copy [0x{f.CopyOffset:x}, +0x{f.CopySize:x}) is empty or outside the code (0x{codeLen:x})", "Functions", o + 12);
            if ((ulong)f.MaskFirst + f.MaskCount > (ulong)mc)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{fname}': masks [{f.MaskFirst}, +{f.MaskCount}) out of range ({mc})", "Functions", o + 20);
            if ((f.Flags & ~(BlobFunctionFlags.Init | BlobFunctionFlags.Part)) != 0)
                return Bad(DiagnosticCodes.BlobUnknownValue, $"function {i} '{fname}': unknown flags 0x{(uint)f.Flags:x}", "Functions", o + 28);
            if (f.Owner >= fc) return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{fname}': owner {f.Owner} out of range", "Functions", o + 40);
            b.Functions.Add(f);
        }
        for (int i = 0; i < fc; i++)
        {
            var f = b.Functions[i];
            bool part = (f.Flags & BlobFunctionFlags.Part) != 0;
            if (part ? f.Owner == i || (b.Functions[(int)f.Owner].Flags & BlobFunctionFlags.Part) != 0 : f.Owner != i)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{f.Name}': owner {f.Owner} with flags 0x{(uint)f.Flags:x}: a part's owner is another function that is no part, anything else owns itself", "Functions", fo + i * fe + 40);
        }
        for (int i = 0; i < mc; i++)
        {
            int o = mo + i * me;
            b.Masks.Add(new BlobMask(U32(s, o), U32(s, o + 4)));
        }
        // Each mask belongs to one function at most: the walk is linear in the table.
        var used = new bool[mc];
        for (int i = 0; i < fc; i++)
        {
            var f = b.Functions[i];
            uint prevEnd = 0;
            for (uint m = f.MaskFirst; m < f.MaskFirst + f.MaskCount; m++)
            {
                var mask = b.Masks[(int)m];
                if (used[m])
                    return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{f.Name}': mask {m} belongs to another function too", "Masks", mo + m * me);
                used[m] = true;
                if (mask.Length == 0 || mask.Offset < prevEnd || (ulong)mask.Offset + mask.Length > f.Size)
                    return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{f.Name}': mask {m} [0x{mask.Offset:x}, +{mask.Length}) empty, unsorted, overlapping or outside the function", "Masks", mo + m * me);
                prevEnd = mask.Offset + mask.Length;
            }
        }
        var (xo, xc, xe) = tables[3];
        for (int i = 0; i < xc; i++)
        {
            int o = xo + i * xe;
            var x = new BlobFixup(U32(s, o), (BlobFixupType)s[o + 4], (BlobFixupTarget)s[o + 5], U32(s, o + 8), (long)U64(s, o + 16));
            int width = x.Type switch { BlobFixupType.Pc32 or BlobFixupType.Abs32S => 4, BlobFixupType.Abs64 => 8, _ => 0 };
            if (width == 0) return Bad(DiagnosticCodes.BlobUnknownValue, $"fixup {i}: unknown type {(byte)x.Type}", "Fixups", o + 4);
            if ((ulong)x.Offset + (ulong)width > codeLen)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"fixup {i}: field at 0x{x.Offset:x} is outside the code", "Fixups", o);
            if (x.Target == BlobFixupTarget.Symbol ? x.Index == 0 || x.Index >= symbolCount
                : x.Target == BlobFixupTarget.Helper ? x.Index > (uint)BlobHelper.MemEventNoFlags : true)
                return Bad(DiagnosticCodes.BlobUnknownValue, $"fixup {i}: target {(byte)x.Target} index {x.Index} is not valid", "Fixups", o + 5);
            // With CallOrc the loader adds the call's ORC entries: it must be `push $imm32; call rel32`.
            if (x.Target == BlobFixupTarget.Helper && (flags & BlobHeaderFlags.CallOrc) != 0
                && (x.Offset < 6 || code[x.Offset - 6] != 0x68 || code[x.Offset - 1] != 0xe8))
                return Bad(DiagnosticCodes.BlobOutOfRange, $"fixup {i}: helper call at 0x{x.Offset:x} is not push $imm32; call rel32", "Fixups", o);
            b.Fixups.Add(x);
        }
        var (so, sc, se) = tables[4];
        const BlobSiteFlags memFlags = BlobSiteFlags.Gs | BlobSiteFlags.StackPointer;
        for (int i = 0; i < sc; i++)
        {
            int o = so + i * se;
            var x = new BlobSite(U32(s, o), U32(s, o + 4), (BlobEventKind)s[o + 8], (BlobSiteFlags)s[o + 9], U16(s, o + 10));
            if (x.Function >= fc || x.Offset >= b.Functions[(int)x.Function].Size)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"site {i}: function {x.Function} offset 0x{x.Offset:x} out of range", "Sites", o);
            bool ok = x.Kind switch
            {
                BlobEventKind.Entry or BlobEventKind.Exit => x.Flags == 0 && x.Size == 0,
                BlobEventKind.Read or BlobEventKind.Write or BlobEventKind.LockedUpdate or BlobEventKind.ReadWrite => (x.Flags & ~memFlags) == 0,
                BlobEventKind.String => (x.Flags & ~memFlags) is BlobSiteFlags.StringSourceRead or BlobSiteFlags.StringDestinationRead
                    or BlobSiteFlags.StringDestinationWrite or (BlobSiteFlags.StringSourceRead | BlobSiteFlags.StringDestinationWrite)
                    or (BlobSiteFlags.StringSourceRead | BlobSiteFlags.StringDestinationRead) && x.Size is 1 or 2 or 4 or 8,
                _ => false,
            };
            if (!ok)
                return Bad(DiagnosticCodes.BlobUnknownValue, $"site {i}: event kind {(byte)x.Kind} with flags 0x{(byte)x.Flags:x} and size {x.Size} is not valid", "Sites", o + 8);
            b.Sites.Add(x);
        }
        var (po, pc, pe) = tables[5];
        for (int i = 0; i < pc; i++)
        {
            int o = po + i * pe;
            var x = new BlobPatch(U32(s, o), U32(s, o + 4), U32(s, o + 8), U16(s, o + 12), U16(s, o + 14), (BlobPatchKind)s[o + 16], U32(s, o + 20));
            if (x.Function >= fc)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: function {x.Function} out of range ({fc})", "Patches", o + 4);
            var f = b.Functions[(int)x.Function];
            if (x.Kind == BlobPatchKind.Landing)
            {
                // A jmp rel32 written into the original, clear of the entry jump, to an address of the copy.
                if (x.Length != LandingPadLength || x.SlotLength != 0)
                    return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: landing pad of {x.Length} bytes with a {x.SlotLength}-byte slot, {LandingPadLength} and none expected", "Patches", o + 12);
                if (x.OriginalOffset < LandingPadLength || (ulong)x.OriginalOffset + x.Length > f.Size)
                    return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: landing pad [0x{x.OriginalOffset:x}, +{x.Length}) not inside function {x.Function} '{f.Name}' ({f.Size} bytes) past its first {LandingPadLength}", "Patches", o + 8);
                if (x.CopyOffset - f.CopyOffset >= f.CopySize)
                    return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: landing pad destination 0x{x.CopyOffset:x} not inside the copy of function {x.Function} '{f.Name}' [0x{f.CopyOffset:x}, +0x{f.CopySize:x})", "Patches", o);
                b.Patches.Add(x);
                continue;
            }
            if (x.Length == 0 || (ulong)x.OriginalOffset + x.Length > f.Size)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: original site out of range", "Patches", o + 4);
            if (x.SlotLength < x.Length || (ulong)x.CopyOffset + x.SlotLength > codeLen)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: slot [0x{x.CopyOffset:x}, +{x.SlotLength}) out of range", "Patches", o);
            if (x.Kind == BlobPatchKind.JumpLabel && (x.Length is not (2 or 5) || x.SlotLength < 5 || x.TargetCopyOffset >= codeLen))
                return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: jump label of {x.Length} bytes in a {x.SlotLength}-byte slot, or its target 0x{x.TargetCopyOffset:x} out of range", "Patches", o);
            if (x.Kind is not (BlobPatchKind.LiveBytes or BlobPatchKind.JumpLabel))
                return Bad(DiagnosticCodes.BlobUnknownValue, $"patch {i}: unknown kind {(byte)x.Kind}", "Patches", o + 16);
            b.Patches.Add(x);
        }
        if (CheckLandingPads(b, codeLen, po, pe, path) is { } landingError)
            return landingError;
        var (eo, ec, ee) = tables[(int)BlobTableId.ExTable];
        for (int i = 0; i < ec; i++)
        {
            int o = eo + i * ee;
            var x = new BlobExTableEntry(U32(s, o), U32(s, o + 4), U32(s, o + 8), (long)U64(s, o + 16), U32(s, o + 12));
            if (x.InsnCopy >= codeLen || x.FixupCopy != BlobFormat.NoCopy && x.FixupCopy >= codeLen
                || x.FixupCopy == BlobFormat.NoCopy && (x.FixupSymbol == 0 || x.FixupSymbol >= symbolCount))
                return Bad(DiagnosticCodes.BlobOutOfRange, $"exception entry {i}: instruction, fixup or symbol out of range", "ExTable", o);
            if (!BlobFormat.IsExDataAccepted(x.Data))
                return Bad(DiagnosticCodes.BlobUnknownValue, $"exception entry {i}: data 0x{x.Data:x}: handler type {x.Data & BlobFormat.ExTypeMask} or its flags are not ones the kernel handles", "ExTable", o + 12);
            b.ExTable.Add(x);
        }
        var (bo, bc, be) = tables[(int)BlobTableId.Bugs];
        for (int i = 0; i < bc; i++)
        {
            int o = bo + i * be;
            var x = new BlobBug(U32(s, o), U32(s, o + 4), (long)U64(s, o + 8), U16(s, o + 16), U16(s, o + 18));
            if ((ulong)x.CopyOffset + 2 > codeLen || x.FileSymbol == 0 || x.FileSymbol >= symbolCount)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"bug entry {i}: site or file symbol out of range", "Bugs", o);
            if (!BlobFormat.IsBugFlagsAccepted(x.Flags))
                return Bad(DiagnosticCodes.BlobUnknownValue, $"bug entry {i}: flags 0x{x.Flags:x}: unknown flags or taint", "Bugs", o + 18);
            b.Bugs.Add(x);
        }
        var (oo, oc, oe) = tables[(int)BlobTableId.Orc];
        uint prevOrc = 0;
        for (int i = 0; i < oc; i++)
        {
            int o = oo + i * oe;
            ulong entry = 0;
            for (int k = 0; k < 6; k++) entry |= (ulong)s[o + 4 + k] << (8 * k);
            var x = new BlobOrc(U32(s, o), entry);
            if (x.CopyOffset > codeLen || x.CopyOffset < prevOrc)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"ORC entry {i}: offset 0x{x.CopyOffset:x} unsorted or outside the code", "Orc", o);
            prevOrc = x.CopyOffset;
            b.Orc.Add(x);
        }
        blob = b;
        return null;
    }

    /// <summary>A landing pad is a jmp rel32 (<c>JMP32_INSN_SIZE</c>) written into the original.</summary>
    private const int LandingPadLength = 5;

    /// <summary>
    /// kedr_blob.c's kedr_check_landing_pads(): taken by function and original offset (then table order), no two
    /// landing pads of a function overlap, and each goes to an instruction boundary of the function's copy, as the
    /// loader's length decoder (<see cref="LoaderInstructionLength"/>) walks it from its start, taking patch slots
    /// (taken by copy offset, then table order) whole.
    /// </summary>
    private static KedrDiagnostic? CheckLandingPads(KedrBlob b, uint codeLen, int po, int pe, string path)
    {
        var pads = new List<int>();
        var slots = new List<int>();
        for (int i = 0; i < b.Patches.Count; i++) (b.Patches[i].Kind == BlobPatchKind.Landing ? pads : slots).Add(i);
        if (pads.Count == 0) return null;
        pads.Sort((x, y) => (b.Patches[x].Function, b.Patches[x].OriginalOffset, x).CompareTo((b.Patches[y].Function, b.Patches[y].OriginalOffset, y)));
        slots.Sort((x, y) => (b.Patches[x].CopyOffset, x).CompareTo((b.Patches[y].CopyOffset, y)));
        var starts = new bool[codeLen];
        for (int k = 0; k < pads.Count; k++)
        {
            var p = b.Patches[pads[k]];
            bool first = k == 0 || b.Patches[pads[k - 1]].Function != p.Function;
            var q = k > 0 ? b.Patches[pads[k - 1]] : default;
            if (!first && q.OriginalOffset + q.Length > p.OriginalOffset)
                return new KedrDiagnostic(DiagnosticCodes.BlobLandingPadsOverlap,
                    $"patches {pads[k - 1]} and {pads[k]}: landing pads at 0x{q.OriginalOffset:x} and 0x{p.OriginalOffset:x} of function {p.Function} '{b.Functions[(int)p.Function].Name}' overlap",
                    path, "Patches", po + (long)pads[k] * pe + 8);
            if (first && MarkInstructions(b, (int)p.Function, pads[k], slots, starts, po, pe, path) is { } error)
                return error;
            if (!starts[p.CopyOffset])
                return new KedrDiagnostic(DiagnosticCodes.BlobLandingPadNotAtInstruction,
                    $"patch {pads[k]}: landing pad destination 0x{p.CopyOffset:x} is not an instruction boundary of the copy of function {p.Function} '{b.Functions[(int)p.Function].Name}'",
                    path, "Patches", po + (long)pads[k] * pe);
        }
        return null;
    }

    /// <summary>kedr_blob.c's kedr_mark_insns(): marks where the instructions of function <paramref name="fi"/>'s copy start.</summary>
    private static KedrDiagnostic? MarkInstructions(KedrBlob b, int fi, int pad, List<int> slots, bool[] starts, int po, int pe, string path)
    {
        var f = b.Functions[fi];
        uint pos = f.CopyOffset, end = f.CopyOffset + f.CopySize;
        // The first slot at or after the copy's start.
        int lo = 0, hi = slots.Count;
        while (lo < hi)
        {
            int mid = lo + (hi - lo) / 2;
            if (b.Patches[slots[mid]].CopyOffset < pos) lo = mid + 1;
            else hi = mid;
        }
        while (pos < end)
        {
            BlobPatch? slot = lo < slots.Count ? b.Patches[slots[lo]] : null;
            starts[pos] = true;
            if (slot?.CopyOffset == pos)
            {
                pos += slot.Value.SlotLength;
                lo++;
                continue;
            }
            int len = LoaderInstructionLength.Of(b.Code.AsSpan((int)pos, (int)(end - pos)));
            if (len < 0)
                return new KedrDiagnostic(DiagnosticCodes.BlobCopyNotWalkable,
                    $"patch {pad}: the copy of function {fi} '{f.Name}' cannot be decoded at 0x{pos:x} ({Convert.ToHexString(b.Code, (int)pos, (int)Math.Min(end - pos, 8))}) to check its landing pads",
                    path, "Patches", po + (long)pad * pe);
            pos += (uint)len;
            if (slot?.CopyOffset < pos)
                return new KedrDiagnostic(DiagnosticCodes.BlobCopyNotWalkable,
                    $"patch {slots[lo]}: slot at 0x{slot.Value.CopyOffset:x} is inside an instruction of the copy of function {fi} '{f.Name}'",
                    path, "Patches", po + (long)slots[lo] * pe);
        }
        return null;
    }

    private static ushort U16(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt16LittleEndian(s[o..]);
    private static uint U32(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt32LittleEndian(s[o..]);
    private static ulong U64(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt64LittleEndian(s[o..]);
}
