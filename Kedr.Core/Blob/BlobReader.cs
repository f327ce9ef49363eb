using System.Buffers.Binary;
using System.Runtime.InteropServices;
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
        var tables = new (int off, int count, int entsize)[BlobFormat.TableCount];
        // A rule of BlobRules broken; a header field's diagnostic may still name the table it is about.
        KedrDiagnostic Broken(BlobViolation v, string? table = null)
        {
            var d = v.ToDiagnostic(path, tables);
            return table is null ? d : d with { Section = table };
        }

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
        if (BlobRules.HeaderFlags(flags) is { } badFlags) return Broken(badFlags);
        if (numTables < BlobFormat.TableCountV1 || Header.Tables + (long)numTables * Table.Size != headerSize)
            return Bad(DiagnosticCodes.BlobSizes, $"{numTables} tables, header size {headerSize}: need at least {BlobFormat.TableCountV1} and {Header.Tables} + {Table.Size} per table", off: Header.NumTables);
        uint idLen = U32(s, Header.TargetBuildIdLength);
        if (BlobRules.BuildIdLength(idLen) is { } badIdLen) return Broken(badIdLen);
        uint codeAlign = U32(s, Header.CodeAlign);
        if (BlobRules.CodeAlign(codeAlign) is { } badAlign) return Broken(badAlign);
        uint symbolCount = U32(s, Header.TargetNumSymtab);
        if (BlobRules.SymbolCount(symbolCount) is { } badCount) return Broken(badCount);

        var minEntsize = EntrySizes;
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
        if (BlobRules.CodeSize(codeLen) is { } badSize) return Broken(badSize, "Code");
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
            if (BlobRules.Function(f, i, symbolCount, codeLen, mc, fc) is { } badFunction) return Broken(badFunction);
            b.Functions.Add(f);
        }
        for (int i = 0; i < fc; i++)
            if (BlobRules.Owner(CollectionsMarshal.AsSpan(b.Functions), i) is { } badOwner) return Broken(badOwner);
        for (int i = 0; i < mc; i++)
        {
            int o = mo + i * me;
            b.Masks.Add(new BlobMask(U32(s, o + Mask.Offset), U32(s, o + Mask.Length)));
        }
        if (BlobRules.Masks(CollectionsMarshal.AsSpan(b.Functions), CollectionsMarshal.AsSpan(b.Masks)) is { } badMask) return Broken(badMask);
        var (xo, xc, xe) = tables[(int)BlobTableId.Fixups];
        for (int i = 0; i < xc; i++)
        {
            int o = xo + i * xe;
            var x = new BlobFixup(U32(s, o + Fixup.Offset), (BlobFixupType)s[o + Fixup.Type], (BlobFixupTarget)s[o + Fixup.Target],
                U32(s, o + Fixup.Index), (long)U64(s, o + Fixup.Addend));
            if (BlobRules.Fixup(x, i, symbolCount, flags, code) is { } badFixup) return Broken(badFixup);
            b.Fixups.Add(x);
        }
        var (so, sc, se) = tables[(int)BlobTableId.Sites];
        for (int i = 0; i < sc; i++)
        {
            int o = so + i * se;
            var x = new BlobSite(U32(s, o + Site.Function), U32(s, o + Site.Offset), (BlobEventKind)s[o + Site.Kind],
                (BlobSiteFlags)s[o + Site.Flags], U16(s, o + Site.AccessSize));
            if (BlobRules.Site(x, i, CollectionsMarshal.AsSpan(b.Functions)) is { } badSite) return Broken(badSite);
            b.Sites.Add(x);
        }
        var (po, pc, pe) = tables[(int)BlobTableId.Patches];
        for (int i = 0; i < pc; i++)
        {
            int o = po + i * pe;
            var x = new BlobPatch(U32(s, o + Patch.CopyOffset), U32(s, o + Patch.Function), U32(s, o + Patch.OriginalOffset),
                U16(s, o + Patch.Length), U16(s, o + Patch.SlotLength), (BlobPatchKind)s[o + Patch.Kind], U32(s, o + Patch.TargetCopyOffset));
            if (BlobRules.Patch(x, i, CollectionsMarshal.AsSpan(b.Functions), codeLen) is { } badPatch) return Broken(badPatch);
            b.Patches.Add(x);
        }
        if (BlobRules.LandingPads(b) is { } badPad) return Broken(badPad);
        var (eo, ec, ee) = tables[(int)BlobTableId.ExTable];
        for (int i = 0; i < ec; i++)
        {
            int o = eo + i * ee;
            var x = new BlobExTableEntry(U32(s, o + ExTable.InsnCopy), U32(s, o + ExTable.FixupCopy), U32(s, o + ExTable.FixupSymbol),
                (long)U64(s, o + ExTable.FixupAddend), U32(s, o + ExTable.Data));
            if (BlobRules.ExTableEntry(x, i, symbolCount, codeLen) is { } badEntry) return Broken(badEntry);
            b.ExTable.Add(x);
        }
        var (bo, bc, be) = tables[(int)BlobTableId.Bugs];
        for (int i = 0; i < bc; i++)
        {
            int o = bo + i * be;
            var x = new BlobBug(U32(s, o + Bug.CopyOffset), U32(s, o + Bug.FileSymbol), (long)U64(s, o + Bug.FileAddend),
                U16(s, o + Bug.Line), U16(s, o + Bug.Flags));
            if (BlobRules.Bug(x, i, symbolCount, codeLen) is { } badBug) return Broken(badBug);
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
            if (BlobRules.Orc(x, i, prevOrc, codeLen) is { } badOrc) return Broken(badOrc);
            prevOrc = x.CopyOffset;
            b.Orc.Add(x);
        }
        // Imports and calls (1.4).
        uint firstCopy = BlobRules.FirstCopy(CollectionsMarshal.AsSpan(b.Functions), codeLen);
        var (io, ic, ie) = tables[(int)BlobTableId.Imports];
        for (int i = 0; i < ic; i++)
        {
            int o = io + i * ie;
            var iname = Str(U32(s, o + Import.Name));
            if (iname is null)
                return Bad(DiagnosticCodes.BlobStringOrHeaderField, $"import {i}: name is not a string of the string table", "Imports", o + Import.Name);
            var x = new BlobImport(iname, U32(s, o + Import.SymbolIndex), U32(s, o + Import.StubOffset), (BlobImportFlags)U32(s, o + Import.Flags));
            if (BlobRules.Import(x, i, symbolCount, i > 0 ? b.Imports[i - 1].StubOffset + (ulong)BlobFormat.StubSize : 0, firstCopy) is { } badImport)
                return Broken(badImport);
            b.Imports.Add(x);
        }
        var (lo, lc, le) = tables[(int)BlobTableId.Calls];
        for (int i = 0; i < lc; i++)
        {
            int o = lo + i * le;
            var x = new BlobImportCall(U32(s, o + Call.ReturnOffset), U32(s, o + Call.Function), U32(s, o + Call.OriginalOffset), U32(s, o + Call.Import));
            if (BlobRules.Call(x, i, i > 0 ? b.Calls[i - 1].ReturnOffset : 0, CollectionsMarshal.AsSpan(b.Functions), CollectionsMarshal.AsSpan(b.Imports), code) is { } badCall)
                return Broken(badCall);
            b.Calls.Add(x);
        }
        var (qo, qc, qe) = tables[(int)BlobTableId.Probes];
        for (int i = 0; i < qc; i++)
        {
            int o = qo + i * qe;
            var x = new BlobProbe(U32(s, o + Probe.Function), U32(s, o + Probe.Offset), U32(s, o + Probe.CopyOffset), U32(s, o + Probe.Site), U16(s, o + Probe.Length));
            if (BlobRules.Probe(x, i, CollectionsMarshal.AsSpan(b.Functions), CollectionsMarshal.AsSpan(b.Probes), code) is { } badProbe)
                return Broken(badProbe);
            b.Probes.Add(x);
        }
        if (BlobRules.ProbeCalls(CollectionsMarshal.AsSpan(b.Fixups), CollectionsMarshal.AsSpan(b.Probes), code) is { } badProbeCall)
            return Broken(badProbeCall);
        blob = b;
        return null;
    }

    private static ushort U16(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt16LittleEndian(s[o..]);
    private static uint U32(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt32LittleEndian(s[o..]);
    private static ulong U64(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt64LittleEndian(s[o..]);
}
