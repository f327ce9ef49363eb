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
            throw new KedrException(new KedrDiagnostic("KEDR3000", $"cannot read: {e.Message}", path));
        }
        return TryRead(bytes, path, out var blob, out var error) ? blob! : throw new KedrException(error!);
    }

    public static bool TryRead(ReadOnlySpan<byte> s, string path, out KedrBlob? blob, out KedrDiagnostic? error)
    {
        blob = null;
        error = Parse(s, path, out blob);
        return error is null;
    }

    private static KedrDiagnostic? Parse(ReadOnlySpan<byte> s, string path, out KedrBlob? blob)
    {
        blob = null;
        KedrDiagnostic Bad(string code, string msg, string? table = null, long? off = null) => new(code, msg, path, table, off);

        if (s.Length < BlobFormat.HeaderSizeV1)
            return Bad("KEDR3001", $"blob is {s.Length} bytes, smaller than a header ({BlobFormat.HeaderSizeV1})");
        if (!s[..8].SequenceEqual(BlobFormat.Magic))
            return Bad("KEDR3002", "not a KEDR blob (bad magic)", off: 0);
        ushort major = U16(s, 8), minor = U16(s, 10);
        if (major != BlobFormat.VersionMajor)
            return Bad("KEDR3003", $"blob format {major}.{minor}, this tool reads {BlobFormat.VersionMajor}.x", off: 8);
        uint headerSize = U32(s, 12), blobSize = U32(s, 16), numTables = U32(s, 64);
        if (headerSize < BlobFormat.HeaderSizeV1 || headerSize > s.Length)
            return Bad("KEDR3001", $"header size {headerSize} is out of range", off: 12);
        if (blobSize != s.Length)
            return Bad("KEDR3001", $"blob says it is {blobSize} bytes, the file has {s.Length}", off: 16);
        var flags = (BlobHeaderFlags)U32(s, 20);
        if ((flags & ~BlobFormat.KnownHeaderFlags) != 0)
            return Bad("KEDR3004", $"unknown flags 0x{(uint)(flags & ~BlobFormat.KnownHeaderFlags):x}", off: 20);
        if (numTables < BlobFormat.TableCountV1 || 68 + (long)numTables * BlobFormat.TableSize > headerSize)
            return Bad("KEDR3001", $"{numTables} tables do not fit the header", off: 64);

        int[] minEntsize = [1, BlobFormat.FunctionSize, BlobFormat.MaskSize, BlobFormat.FixupSize, BlobFormat.SiteSize,
            BlobFormat.PatchSize, 1, BlobFormat.ExTableSize, BlobFormat.BugSize, BlobFormat.OrcSize];
        var tables = new (int off, int count, int entsize)[BlobFormat.TableCount];
        for (int t = 0; t < Math.Min((int)numTables, BlobFormat.TableCount); t++)
        {
            int h = 68 + t * BlobFormat.TableSize;
            uint off = U32(s, h), count = U32(s, h + 4), entsize = U32(s, h + 8);
            string tableName = ((BlobTableId)t).ToString();
            if (entsize < minEntsize[t] || (t is 0 or 6 && entsize != 1))
                return Bad("KEDR3005", $"entry size {entsize}, at least {minEntsize[t]} expected", tableName);
            if ((ulong)off + (ulong)count * entsize > (ulong)s.Length || off < headerSize && count > 0)
                return Bad("KEDR3005", $"{count} entries of {entsize} bytes at 0x{off:x} are outside the blob", tableName);
            tables[t] = ((int)off, (int)count, (int)entsize);
        }
        var strings = s.Slice(tables[0].off, tables[0].count).ToArray();
        string? Str(uint off)
        {
            if (off >= (uint)strings.Length) return null;
            int end = strings.AsSpan((int)off).IndexOf((byte)0);
            return end < 0 ? null : Encoding.UTF8.GetString(strings, (int)off, end);
        }
        var name = Str(U32(s, 24));
        var srcVersion = Str(U32(s, 28));
        if (name is null || srcVersion is null)
            return Bad("KEDR3006", "target name or srcversion is not a string of the string table", off: 24);
        uint idLen = U32(s, 36);
        if (idLen > BlobFormat.BuildIdMax)
            return Bad("KEDR3006", $"build-id length {idLen} exceeds {BlobFormat.BuildIdMax}", off: 36);
        uint codeAlign = U32(s, 60);
        if (codeAlign == 0 || (codeAlign & (codeAlign - 1)) != 0 || codeAlign > 4096)
            return Bad("KEDR3006", $"code alignment {codeAlign} is not a power of two up to 4096", off: 60);
        var codeLen = (uint)tables[6].count;

        var b = new KedrBlob
        {
            Target = new BlobTarget(name, srcVersion, U32(s, 32), s.Slice(40, (int)idLen).ToArray()),
            CodeAlign = codeAlign,
            VersionMinor = minor,
            Flags = flags,
            Code = s.Slice(tables[6].off, tables[6].count).ToArray(),
        };

        var (mo, mc, me) = tables[2];
        for (int i = 0; i < mc; i++)
        {
            int o = mo + i * me;
            b.Masks.Add(new BlobMask(U32(s, o), U32(s, o + 4)));
        }
        var (fo, fc, fe) = tables[1];
        for (int i = 0; i < fc; i++)
        {
            int o = fo + i * fe;
            var fname = Str(U32(s, o));
            if (fname is null) return Bad("KEDR3006", $"function {i}: name is not a string of the string table", "Functions", o);
            var f = new BlobFunction(fname, U32(s, o + 4), U32(s, o + 8), U32(s, o + 12), U32(s, o + 16), U32(s, o + 20),
                U32(s, o + 24), (BlobFunctionFlags)U32(s, o + 28), U64(s, o + 32), U32(s, o + 40));
            if ((ulong)f.CopyOffset + f.CopySize > codeLen)
                return Bad("KEDR3007", $"function {i} '{fname}': copy [0x{f.CopyOffset:x}, +0x{f.CopySize:x}) is outside the code (0x{codeLen:x})", "Functions", o);
            if ((ulong)f.MaskFirst + f.MaskCount > (ulong)mc)
                return Bad("KEDR3007", $"function {i} '{fname}': masks [{f.MaskFirst}, +{f.MaskCount}) out of range ({mc})", "Functions", o);
            if (f.Owner >= fc) return Bad("KEDR3007", $"function {i} '{fname}': owner {f.Owner} out of range", "Functions", o);
            if (f.Size < 5) return Bad("KEDR3007", $"function {i} '{fname}': size {f.Size} is below 5", "Functions", o);
            if (f.SymbolIndex == 0 || f.SymbolIndex >= b.Target.SymbolCount)
                return Bad("KEDR3007", $"function {i} '{fname}': symbol {f.SymbolIndex} out of range ({b.Target.SymbolCount})", "Functions", o);
            if ((f.Flags & ~(BlobFunctionFlags.Init | BlobFunctionFlags.Part)) != 0)
                return Bad("KEDR3008", $"function {i} '{fname}': unknown flags 0x{(uint)f.Flags:x}", "Functions", o);
            uint prevEnd = 0;
            for (uint m = f.MaskFirst; m < f.MaskFirst + f.MaskCount; m++)
            {
                var mask = b.Masks[(int)m];
                if (mask.Offset < prevEnd || (ulong)mask.Offset + mask.Length > f.Size)
                    return Bad("KEDR3007", $"function {i} '{fname}': mask {m} [0x{mask.Offset:x}, +{mask.Length}) unsorted or outside the function", "Masks");
                prevEnd = mask.Offset + mask.Length;
            }
            b.Functions.Add(f);
        }
        var (xo, xc, xe) = tables[3];
        for (int i = 0; i < xc; i++)
        {
            int o = xo + i * xe;
            var x = new BlobFixup(U32(s, o), (BlobFixupType)s[o + 4], (BlobFixupTarget)s[o + 5], U32(s, o + 8), (long)U64(s, o + 16));
            int width = x.Type switch { BlobFixupType.Pc32 or BlobFixupType.Abs32S => 4, BlobFixupType.Abs64 => 8, _ => 0 };
            if (width == 0) return Bad("KEDR3008", $"fixup {i}: unknown type {(byte)x.Type}", "Fixups", o);
            if ((ulong)x.Offset + (ulong)width > codeLen)
                return Bad("KEDR3007", $"fixup {i}: field at 0x{x.Offset:x} is outside the code", "Fixups", o);
            if (x.Target == BlobFixupTarget.Symbol ? x.Index == 0 || x.Index >= b.Target.SymbolCount
                : x.Target == BlobFixupTarget.Helper ? x.Index > (uint)BlobHelper.MemEventNoFlags : true)
                return Bad("KEDR3008", $"fixup {i}: target {(byte)x.Target} index {x.Index} is not valid", "Fixups", o);
            b.Fixups.Add(x);
        }
        var (so, sc, se) = tables[4];
        for (int i = 0; i < sc; i++)
        {
            int o = so + i * se;
            var x = new BlobSite(U32(s, o), U32(s, o + 4), (BlobEventKind)s[o + 8], (BlobSiteFlags)s[o + 9], U16(s, o + 10));
            if (x.Function >= fc || x.Offset >= b.Functions[(int)x.Function].Size)
                return Bad("KEDR3007", $"site {i}: function {x.Function} offset 0x{x.Offset:x} out of range", "Sites", o);
            if (x.Kind is < BlobEventKind.Entry or > BlobEventKind.String)
                return Bad("KEDR3008", $"site {i}: unknown event kind {(byte)x.Kind}", "Sites", o);
            b.Sites.Add(x);
        }
        var (po, pc, pe) = tables[5];
        for (int i = 0; i < pc; i++)
        {
            int o = po + i * pe;
            var x = new BlobPatch(U32(s, o), U32(s, o + 4), U32(s, o + 8), U16(s, o + 12), U16(s, o + 14), (BlobPatchKind)s[o + 16], U32(s, o + 20));
            if (x.Kind is not (BlobPatchKind.LiveBytes or BlobPatchKind.JumpLabel or BlobPatchKind.Landing))
                return Bad("KEDR3008", $"patch {i}: unknown kind {(byte)x.Kind}", "Patches", o);
            if (x.Kind == BlobPatchKind.Landing)
            {
                if (x.Function >= fc || x.Length != 5 || x.OriginalOffset < 5 || (ulong)x.OriginalOffset + 5 > b.Functions[(int)x.Function].Size || x.CopyOffset >= codeLen)
                    return Bad("KEDR3007", $"patch {i}: landing pad out of range", "Patches", o);
                b.Patches.Add(x);
                continue;
            }
            if (x.Function >= fc || (ulong)x.OriginalOffset + x.Length > b.Functions[(int)x.Function].Size)
                return Bad("KEDR3007", $"patch {i}: original site out of range", "Patches", o);
            if (x.SlotLength < x.Length || (ulong)x.CopyOffset + x.SlotLength > codeLen ||
                x.Kind == BlobPatchKind.JumpLabel && (x.SlotLength < 5 || x.TargetCopyOffset >= codeLen))
                return Bad("KEDR3007", $"patch {i}: slot [0x{x.CopyOffset:x}, +{x.SlotLength}) or target out of range", "Patches", o);
            b.Patches.Add(x);
        }
        var (eo, ec, ee) = tables[(int)BlobTableId.ExTable];
        for (int i = 0; i < ec; i++)
        {
            int o = eo + i * ee;
            var x = new BlobExTableEntry(U32(s, o), U32(s, o + 4), U32(s, o + 8), (long)U64(s, o + 16), U32(s, o + 12));
            if (x.InsnCopy >= codeLen || x.FixupCopy != BlobFormat.NoCopy && x.FixupCopy >= codeLen
                || x.FixupCopy == BlobFormat.NoCopy && (x.FixupSymbol == 0 || x.FixupSymbol >= b.Target.SymbolCount))
                return Bad("KEDR3007", $"exception entry {i}: instruction, fixup or symbol out of range", "ExTable", o);
            b.ExTable.Add(x);
        }
        var (bo, bc, be) = tables[(int)BlobTableId.Bugs];
        for (int i = 0; i < bc; i++)
        {
            int o = bo + i * be;
            var x = new BlobBug(U32(s, o), U32(s, o + 4), (long)U64(s, o + 8), U16(s, o + 16), U16(s, o + 18));
            if ((ulong)x.CopyOffset + 2 > codeLen || x.FileSymbol >= b.Target.SymbolCount)
                return Bad("KEDR3007", $"bug entry {i}: site or file symbol out of range", "Bugs", o);
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
                return Bad("KEDR3007", $"ORC entry {i}: offset 0x{x.CopyOffset:x} unsorted or outside the code", "Orc", o);
            prevOrc = x.CopyOffset;
            b.Orc.Add(x);
        }
        blob = b;
        return null;
    }

    private static ushort U16(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt16LittleEndian(s[o..]);
    private static uint U32(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt32LittleEndian(s[o..]);
    private static ulong U64(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt64LittleEndian(s[o..]);
}
