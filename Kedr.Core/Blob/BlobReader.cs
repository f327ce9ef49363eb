using System.Buffers.Binary;
using System.Text;
using Kedr.Core.Diagnostics;
using static Kedr.Core.Blob.BlobLayout;

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

        var magic = BlobFormat.Magic;
        if (s.Length < Header.Magic + magic.Length || !s.Slice(Header.Magic, magic.Length).SequenceEqual(magic))
            return Bad(DiagnosticCodes.BlobBadMagic, "not a KEDR blob (bad magic)", off: Header.Magic);
        if (s.Length < Header.SizeV1)
            return Bad(DiagnosticCodes.BlobSizes, $"blob is {s.Length} bytes, smaller than a header ({Header.SizeV1})", off: s.Length);
        ushort major = U16(s, Header.VersionMajor), minor = U16(s, Header.VersionMinor);
        if (major != BlobFormat.VersionMajor)
            return Bad(DiagnosticCodes.BlobMajorVersion, $"blob format {major}.{minor}, this tool reads {BlobFormat.VersionMajor}.x", off: Header.VersionMajor);
        uint headerSize = U32(s, Header.HeaderSize), blobSize = U32(s, Header.BlobSize), numTables = U32(s, Header.NumTables);
        if (blobSize != s.Length)
            return Bad(DiagnosticCodes.BlobSizes, $"blob says it is {blobSize} bytes, the file has {s.Length}", off: Header.BlobSize);
        if (headerSize < Header.SizeV1 || headerSize > s.Length)
            return Bad(DiagnosticCodes.BlobSizes, $"header size {headerSize} is out of range", off: Header.HeaderSize);
        var flags = (BlobHeaderFlags)U32(s, Header.Flags);
        if ((flags & ~BlobFormat.KnownHeaderFlags) != 0)
            return Bad(DiagnosticCodes.BlobHeaderFlags, $"unknown flags 0x{(uint)(flags & ~BlobFormat.KnownHeaderFlags):x}", off: Header.Flags);
        if (numTables < BlobFormat.TableCountV1 || Header.Tables + (long)numTables * Table.Size != headerSize)
            return Bad(DiagnosticCodes.BlobSizes, $"{numTables} tables, header size {headerSize}: need at least {BlobFormat.TableCountV1} and {Header.Tables} + {Table.Size} per table", off: Header.NumTables);
        uint idLen = U32(s, Header.TargetBuildIdLength);
        if (idLen > BlobFormat.BuildIdMax)
            return Bad(DiagnosticCodes.BlobStringOrHeaderField, $"build-id length {idLen} exceeds {BlobFormat.BuildIdMax}", off: Header.TargetBuildIdLength);
        uint codeAlign = U32(s, Header.CodeAlign);
        if (codeAlign == 0 || (codeAlign & (codeAlign - 1)) != 0 || codeAlign > 4096)
            return Bad(DiagnosticCodes.BlobStringOrHeaderField, $"code alignment {codeAlign} is not a power of two up to 4096", off: Header.CodeAlign);
        uint symbolCount = U32(s, Header.TargetNumSymtab);
        if (symbolCount == 0)
            return Bad(DiagnosticCodes.BlobStringOrHeaderField, "target_num_symtab is 0", off: Header.TargetNumSymtab);

        var minEntsize = EntrySizes;
        var tables = new (int off, int count, int entsize)[BlobFormat.TableCount];
        for (int t = 0; t < Math.Min((int)numTables, BlobFormat.TableCount); t++)
        {
            int h = Header.TableAt(t);
            uint off = U32(s, h + Table.Offset), count = U32(s, h + Table.Count), entsize = U32(s, h + Table.EntrySize);
            string tableName = ((BlobTableId)t).ToString();
            if (entsize < minEntsize[t] || (IsByteTable(t) && entsize != ByteEntrySize))
                return Bad(DiagnosticCodes.BlobTableBounds, $"entry size {entsize}, at least {minEntsize[t]} expected", tableName, h + Table.EntrySize);
            if (count > 0 && ((ulong)off + (ulong)count * entsize > (ulong)s.Length || off < headerSize))
                return Bad(DiagnosticCodes.BlobTableBounds, $"{count} entries of {entsize} bytes at 0x{off:x} are outside the blob", tableName, h + Table.Offset);
            tables[t] = ((int)off, (int)count, (int)entsize);
        }
        // The checksum, before anything but the header and the descriptors is used.
        if (numTables <= (int)BlobTableId.Checksum)
        {
            if (minor >= BlobFormat.ChecksumMinor)
                return Bad(DiagnosticCodes.BlobChecksum, $"blob format 1.{minor} without a checksum", off: Header.NumTables);
        }
        else
        {
            var (co, cc, _) = tables[(int)BlobTableId.Checksum];
            if (cc != 1)
                return Bad(DiagnosticCodes.BlobChecksum, $"checksum table of {cc} entries, 1 expected", "Checksum", Header.TableAt(BlobTableId.Checksum) + Table.Count);
            uint want = U32(s, co), got = BlobFormat.Checksum(s, co);
            if (want != got)
                return Bad(DiagnosticCodes.BlobChecksum, $"checksum 0x{want:x8}, the blob's bytes give 0x{got:x8}: damaged", "Checksum", co);
        }

        var (so0, sc0, _) = tables[(int)BlobTableId.Strings];
        if (sc0 > 0 && s[so0 + sc0 - 1] != 0)
            return Bad(DiagnosticCodes.BlobStringOrHeaderField, "the string table does not end with a NUL", "Strings", so0 + sc0 - 1);
        var (codeOff, codeCount, _) = tables[(int)BlobTableId.Code];
        var codeLen = (uint)codeCount;
        if (codeLen > BlobFormat.MaxCodeSize)
            return Bad(DiagnosticCodes.BlobOutOfRange, $"code image of {codeLen} bytes, the loader's code area holds {BlobFormat.MaxCodeSize}", "Code", Header.TableAt(BlobTableId.Code) + Table.Count);
        var strings = s.Slice(so0, sc0).ToArray();
        string? Str(uint off)
        {
            if (off >= (uint)strings.Length) return null;
            int end = strings.AsSpan((int)off).IndexOf((byte)0);
            return Encoding.UTF8.GetString(strings, (int)off, end);
        }
        var name = Str(U32(s, Header.TargetName));
        if (name is null)
            return Bad(DiagnosticCodes.BlobStringOrHeaderField, "target name is not a string of the string table", off: Header.TargetName);
        var srcVersion = Str(U32(s, Header.TargetSrcVersion));
        if (srcVersion is null)
            return Bad(DiagnosticCodes.BlobStringOrHeaderField, "target srcversion is not a string of the string table", off: Header.TargetSrcVersion);

        var b = new KedrBlob
        {
            Target = new BlobTarget(name, srcVersion, symbolCount, s.Slice(Header.TargetBuildId, (int)idLen).ToArray()),
            CodeAlign = codeAlign,
            VersionMinor = minor,
            Flags = flags,
            Code = s.Slice(codeOff, codeCount).ToArray(),
        };
        var code = b.Code;

        var (mo, mc, me) = tables[(int)BlobTableId.Masks];
        var (fo, fc, fe) = tables[(int)BlobTableId.Functions];
        for (int i = 0; i < fc; i++)
        {
            int o = fo + i * fe;
            var fname = Str(U32(s, o + Function.Name));
            if (fname is null) return Bad(DiagnosticCodes.BlobStringOrHeaderField, $"function {i}: name is not a string of the string table", "Functions", o + Function.Name);
            var f = new BlobFunction(fname, U32(s, o + Function.SymbolIndex), U32(s, o + Function.OriginalSize), U32(s, o + Function.CopyOffset),
                U32(s, o + Function.CopySize), U32(s, o + Function.MaskFirst), U32(s, o + Function.MaskCount),
                (BlobFunctionFlags)U32(s, o + Function.Flags), U64(s, o + Function.Digest), U32(s, o + Function.Owner));
            if (f.SymbolIndex == 0 || f.SymbolIndex >= symbolCount)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{fname}': symbol {f.SymbolIndex} out of range ({symbolCount})", "Functions", o + Function.SymbolIndex);
            if (f.Size < 5) return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{fname}': size {f.Size} is below 5", "Functions", o + Function.OriginalSize);
            if (f.CopySize == 0 || (ulong)f.CopyOffset + f.CopySize > codeLen)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{fname}': copy [0x{f.CopyOffset:x}, +0x{f.CopySize:x}) is empty or outside the code (0x{codeLen:x})", "Functions", o + Function.CopyOffset);
            if ((ulong)f.MaskFirst + f.MaskCount > (ulong)mc)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{fname}': masks [{f.MaskFirst}, +{f.MaskCount}) out of range ({mc})", "Functions", o + Function.MaskFirst);
            if ((f.Flags & ~(BlobFunctionFlags.Init | BlobFunctionFlags.Part)) != 0)
                return Bad(DiagnosticCodes.BlobUnknownValue, $"function {i} '{fname}': unknown flags 0x{(uint)f.Flags:x}", "Functions", o + Function.Flags);
            if (f.Owner >= fc) return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{fname}': owner {f.Owner} out of range", "Functions", o + Function.Owner);
            b.Functions.Add(f);
        }
        for (int i = 0; i < fc; i++)
        {
            var f = b.Functions[i];
            bool part = (f.Flags & BlobFunctionFlags.Part) != 0;
            if (part ? f.Owner == i || (b.Functions[(int)f.Owner].Flags & BlobFunctionFlags.Part) != 0 : f.Owner != i)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{f.Name}': owner {f.Owner} with flags 0x{(uint)f.Flags:x}: a part's owner is another function that is no part, anything else owns itself", "Functions", fo + i * fe + Function.Owner);
        }
        for (int i = 0; i < mc; i++)
        {
            int o = mo + i * me;
            b.Masks.Add(new BlobMask(U32(s, o + Mask.Offset), U32(s, o + Mask.Length)));
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
        var (xo, xc, xe) = tables[(int)BlobTableId.Fixups];
        for (int i = 0; i < xc; i++)
        {
            int o = xo + i * xe;
            var x = new BlobFixup(U32(s, o + Fixup.Offset), (BlobFixupType)s[o + Fixup.Type], (BlobFixupTarget)s[o + Fixup.Target],
                U32(s, o + Fixup.Index), (long)U64(s, o + Fixup.Addend));
            int width = x.Type switch { BlobFixupType.Pc32 or BlobFixupType.Abs32S => 4, BlobFixupType.Abs64 => 8, _ => 0 };
            if (width == 0) return Bad(DiagnosticCodes.BlobUnknownValue, $"fixup {i}: unknown type {(byte)x.Type}", "Fixups", o + Fixup.Type);
            if ((ulong)x.Offset + (ulong)width > codeLen)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"fixup {i}: field at 0x{x.Offset:x} is outside the code", "Fixups", o + Fixup.Offset);
            if (x.Target == BlobFixupTarget.Symbol ? x.Index == 0 || x.Index >= symbolCount
                : x.Target == BlobFixupTarget.Helper ? x.Index > (uint)BlobHelper.MemEventNoFlags : true)
                return Bad(DiagnosticCodes.BlobUnknownValue, $"fixup {i}: target {(byte)x.Target} index {x.Index} is not valid", "Fixups", o + Fixup.Target);
            // With CallOrc the loader adds the call's ORC entries: it must be `push $imm32; call rel32`.
            if (x.Target == BlobFixupTarget.Helper && (flags & BlobHeaderFlags.CallOrc) != 0
                && (x.Offset < 6 || code[x.Offset - 6] != 0x68 || code[x.Offset - 1] != 0xe8))
                return Bad(DiagnosticCodes.BlobOutOfRange, $"fixup {i}: helper call at 0x{x.Offset:x} is not push $imm32; call rel32", "Fixups", o + Fixup.Offset);
            b.Fixups.Add(x);
        }
        var (so, sc, se) = tables[(int)BlobTableId.Sites];
        const BlobSiteFlags memFlags = BlobSiteFlags.Gs | BlobSiteFlags.StackPointer;
        for (int i = 0; i < sc; i++)
        {
            int o = so + i * se;
            var x = new BlobSite(U32(s, o + Site.Function), U32(s, o + Site.Offset), (BlobEventKind)s[o + Site.Kind],
                (BlobSiteFlags)s[o + Site.Flags], U16(s, o + Site.AccessSize));
            if (x.Function >= fc || x.Offset >= b.Functions[(int)x.Function].Size)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"site {i}: function {x.Function} offset 0x{x.Offset:x} out of range", "Sites", o + Site.Function);
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
                return Bad(DiagnosticCodes.BlobUnknownValue, $"site {i}: event kind {(byte)x.Kind} with flags 0x{(byte)x.Flags:x} and size {x.Size} is not valid", "Sites", o + Site.Kind);
            b.Sites.Add(x);
        }
        var (po, pc, pe) = tables[(int)BlobTableId.Patches];
        for (int i = 0; i < pc; i++)
        {
            int o = po + i * pe;
            var x = new BlobPatch(U32(s, o + Patch.CopyOffset), U32(s, o + Patch.Function), U32(s, o + Patch.OriginalOffset),
                U16(s, o + Patch.Length), U16(s, o + Patch.SlotLength), (BlobPatchKind)s[o + Patch.Kind], U32(s, o + Patch.TargetCopyOffset));
            if (x.Function >= fc)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: function {x.Function} out of range ({fc})", "Patches", o + Patch.Function);
            var f = b.Functions[(int)x.Function];
            if (x.Kind == BlobPatchKind.Landing)
            {
                // A jmp rel32 written into the original, clear of the entry jump, to an address of the copy.
                if (x.Length != LandingPadLength || x.SlotLength != 0)
                    return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: landing pad of {x.Length} bytes with a {x.SlotLength}-byte slot, {LandingPadLength} and none expected", "Patches", o + Patch.Length);
                if (x.OriginalOffset < LandingPadLength || (ulong)x.OriginalOffset + x.Length > f.Size)
                    return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: landing pad [0x{x.OriginalOffset:x}, +{x.Length}) not inside function {x.Function} '{f.Name}' ({f.Size} bytes) past its first {LandingPadLength}", "Patches", o + Patch.OriginalOffset);
                if (x.CopyOffset - f.CopyOffset >= f.CopySize)
                    return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: landing pad destination 0x{x.CopyOffset:x} not inside the copy of function {x.Function} '{f.Name}' [0x{f.CopyOffset:x}, +0x{f.CopySize:x})", "Patches", o + Patch.CopyOffset);
                b.Patches.Add(x);
                continue;
            }
            if (x.Length == 0 || (ulong)x.OriginalOffset + x.Length > f.Size)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: original site out of range", "Patches", o + Patch.Function);
            if (x.SlotLength < x.Length || (ulong)x.CopyOffset + x.SlotLength > codeLen)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: slot [0x{x.CopyOffset:x}, +{x.SlotLength}) out of range", "Patches", o + Patch.CopyOffset);
            if (x.Kind == BlobPatchKind.JumpLabel && (x.Length is not (2 or 5) || x.SlotLength < 5 || x.TargetCopyOffset >= codeLen))
                return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: jump label of {x.Length} bytes in a {x.SlotLength}-byte slot, or its target 0x{x.TargetCopyOffset:x} out of range", "Patches", o + Patch.CopyOffset);
            if (x.Kind is not (BlobPatchKind.LiveBytes or BlobPatchKind.JumpLabel))
                return Bad(DiagnosticCodes.BlobUnknownValue, $"patch {i}: unknown kind {(byte)x.Kind}", "Patches", o + Patch.Kind);
            b.Patches.Add(x);
        }
        if (CheckLandingPads(b, codeLen, po, pe, path) is { } landingError)
            return landingError;
        var (eo, ec, ee) = tables[(int)BlobTableId.ExTable];
        for (int i = 0; i < ec; i++)
        {
            int o = eo + i * ee;
            var x = new BlobExTableEntry(U32(s, o + ExTable.InsnCopy), U32(s, o + ExTable.FixupCopy), U32(s, o + ExTable.FixupSymbol),
                (long)U64(s, o + ExTable.FixupAddend), U32(s, o + ExTable.Data));
            if (x.InsnCopy >= codeLen || x.FixupCopy != BlobFormat.NoCopy && x.FixupCopy >= codeLen
                || x.FixupCopy == BlobFormat.NoCopy && (x.FixupSymbol == 0 || x.FixupSymbol >= symbolCount))
                return Bad(DiagnosticCodes.BlobOutOfRange, $"exception entry {i}: instruction, fixup or symbol out of range", "ExTable", o + ExTable.InsnCopy);
            if (!BlobFormat.IsExDataAccepted(x.Data))
                return Bad(DiagnosticCodes.BlobUnknownValue, $"exception entry {i}: data 0x{x.Data:x}: handler type {x.Data & BlobFormat.ExTypeMask} or its flags are not ones the kernel handles", "ExTable", o + ExTable.Data);
            b.ExTable.Add(x);
        }
        var (bo, bc, be) = tables[(int)BlobTableId.Bugs];
        for (int i = 0; i < bc; i++)
        {
            int o = bo + i * be;
            var x = new BlobBug(U32(s, o + Bug.CopyOffset), U32(s, o + Bug.FileSymbol), (long)U64(s, o + Bug.FileAddend),
                U16(s, o + Bug.Line), U16(s, o + Bug.Flags));
            if ((ulong)x.CopyOffset + 2 > codeLen || x.FileSymbol == 0 || x.FileSymbol >= symbolCount)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"bug entry {i}: site or file symbol out of range", "Bugs", o + Bug.CopyOffset);
            if (!BlobFormat.IsBugFlagsAccepted(x.Flags))
                return Bad(DiagnosticCodes.BlobUnknownValue, $"bug entry {i}: flags 0x{x.Flags:x}: unknown flags or taint", "Bugs", o + Bug.Flags);
            b.Bugs.Add(x);
        }
        var (oo, oc, oe) = tables[(int)BlobTableId.Orc];
        uint prevOrc = 0;
        for (int i = 0; i < oc; i++)
        {
            int o = oo + i * oe;
            ulong entry = 0;
            for (int k = 0; k < Orc.EntryLength; k++) entry |= (ulong)s[o + Orc.Entry + k] << (8 * k);
            var x = new BlobOrc(U32(s, o + Orc.CopyOffset), entry);
            if (x.CopyOffset > codeLen || x.CopyOffset < prevOrc)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"ORC entry {i}: offset 0x{x.CopyOffset:x} unsorted or outside the code", "Orc", o + Orc.CopyOffset);
            prevOrc = x.CopyOffset;
            b.Orc.Add(x);
        }
        // Imports (1.4): stubs sorted, disjoint, inside the code before the first copy.
        uint firstCopy = codeLen;
        foreach (var f in b.Functions) firstCopy = Math.Min(firstCopy, f.CopyOffset);
        var (io, ic, ie) = tables[(int)BlobTableId.Imports];
        ulong stubEnd = 0;
        for (int i = 0; i < ic; i++)
        {
            int o = io + i * ie;
            var iname = Str(U32(s, o + Import.Name));
            if (iname is null)
                return Bad(DiagnosticCodes.BlobStringOrHeaderField, $"import {i}: name is not a string of the string table", "Imports", o + Import.Name);
            var x = new BlobImport(iname, U32(s, o + Import.SymbolIndex), U32(s, o + Import.StubOffset));
            if (x.SymbolIndex == 0 || x.SymbolIndex >= symbolCount)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"import {i} '{iname}': symbol {x.SymbolIndex} out of range ({symbolCount})", "Imports", o + Import.SymbolIndex);
            if (x.StubOffset < stubEnd || (ulong)x.StubOffset + BlobFormat.StubSize > firstCopy)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"import {i} '{iname}': stub [0x{x.StubOffset:x}, +{BlobFormat.StubSize}) unsorted, overlapping, or not before the first copy (0x{firstCopy:x})", "Imports", o + Import.StubOffset);
            stubEnd = (ulong)x.StubOffset + BlobFormat.StubSize;
            b.Imports.Add(x);
        }
        // Calls (1.4): sorted, each a call rel32 of its function's copy to its import's stub.
        var (lo, lc, le) = tables[(int)BlobTableId.Calls];
        uint prevRet = 0;
        for (int i = 0; i < lc; i++)
        {
            int o = lo + i * le;
            var x = new BlobImportCall(U32(s, o + Call.ReturnOffset), U32(s, o + Call.Function), U32(s, o + Call.OriginalOffset), U32(s, o + Call.Import));
            if (x.Function >= fc || x.Import >= (uint)b.Imports.Count)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"call {i}: function {x.Function} or import {x.Import} out of range", "Calls", o + Call.Function);
            var f = b.Functions[(int)x.Function];
            if (x.ReturnOffset <= prevRet || x.OriginalOffset >= f.Size || x.ReturnOffset < f.CopyOffset + (ulong)CallLength
                || x.ReturnOffset > (ulong)f.CopyOffset + f.CopySize)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"call {i}: return offset 0x{x.ReturnOffset:x} unsorted or not in the copy of function {x.Function} '{f.Name}', or original offset 0x{x.OriginalOffset:x} outside it", "Calls", o + Call.ReturnOffset);
            int at = (int)x.ReturnOffset - CallLength;
            if (code[at] != 0xe8 || x.ReturnOffset + BinaryPrimitives.ReadInt32LittleEndian(code.AsSpan(at + 1)) != b.Imports[(int)x.Import].StubOffset)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"call {i}: the code at 0x{at:x} is not a call to the stub of import {x.Import}", "Calls", o + Call.ReturnOffset);
            prevRet = x.ReturnOffset;
            b.Calls.Add(x);
        }
        blob = b;
        return null;
    }

    /// <summary>A call rel32 (e8, <c>CALL_INSN_SIZE</c>) to a stub.</summary>
    private const int CallLength = 5;

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
                    path, "Patches", po + (long)pads[k] * pe + Patch.OriginalOffset);
            if (first && MarkInstructions(b, (int)p.Function, pads[k], slots, starts, po, pe, path) is { } error)
                return error;
            if (!starts[p.CopyOffset])
                return new KedrDiagnostic(DiagnosticCodes.BlobLandingPadNotAtInstruction,
                    $"patch {pads[k]}: landing pad destination 0x{p.CopyOffset:x} is not an instruction boundary of the copy of function {p.Function} '{b.Functions[(int)p.Function].Name}'",
                    path, "Patches", po + (long)pads[k] * pe + Patch.CopyOffset);
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
                    path, "Patches", po + (long)pad * pe + Patch.CopyOffset);
            pos += (uint)len;
            if (slot?.CopyOffset < pos)
                return new KedrDiagnostic(DiagnosticCodes.BlobCopyNotWalkable,
                    $"patch {slots[lo]}: slot at 0x{slot.Value.CopyOffset:x} is inside an instruction of the copy of function {fi} '{f.Name}'",
                    path, "Patches", po + (long)slots[lo] * pe + Patch.CopyOffset);
        }
        return null;
    }

    private static ushort U16(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt16LittleEndian(s[o..]);
    private static uint U32(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt32LittleEndian(s[o..]);
    private static ulong U64(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt64LittleEndian(s[o..]);
}
