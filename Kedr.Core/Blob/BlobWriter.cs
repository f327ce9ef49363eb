using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Kedr.Core.Diagnostics;
using static Kedr.Core.Blob.BlobLayout;

namespace Kedr.Core.Blob;

/// <summary>Lays out and writes a <see cref="KedrBlob"/>: header, strings, tables, then the code image.</summary>
public static class BlobWriter
{
    /// <summary>The blob as one array.</summary>
    public static byte[] Write(KedrBlob blob) => Write(blob, verify: true);

    /// <summary>
    /// Tests of the readers (BlobReader, the loader) only: the blob as one array, written whether or not the
    /// loader would take it.
    /// </summary>
    internal static byte[] WriteUnverified(KedrBlob blob) => Write(blob, verify: false);

    private static byte[] Write(KedrBlob blob, bool verify)
    {
        ThrowIfRetired(blob);
        var layout = new Layout(blob);
        if (verify) Verify(blob, layout);
        var buf = new byte[layout.Total];
        WriteHead(blob, layout, buf.AsSpan(0, layout.CodeOffset));
        blob.Code.CopyTo(buf.AsSpan(layout.CodeOffset));
        int at = layout.ChecksumOffset;
        U32(buf, at, BlobFormat.Checksum(buf, at));
        return buf;
    }

    /// <summary>The blob to a stream: the header and tables from a pooled buffer, then the code image as it is.</summary>
    public static void Write(KedrBlob blob, Stream output)
    {
        ThrowIfRetired(blob);
        var layout = new Layout(blob);
        Verify(blob, layout);
        var head = System.Buffers.ArrayPool<byte>.Shared.Rent(layout.CodeOffset);
        try
        {
            var span = head.AsSpan(0, layout.CodeOffset);
            span.Clear();
            WriteHead(blob, layout, span);
            int at = layout.ChecksumOffset;
            uint crc = BlobFormat.Crc32C(BlobFormat.Crc32C(~0u, span[..at]), span[(at + BlobFormat.ChecksumSize)..]);
            U32(span, at, ~BlobFormat.Crc32C(crc, blob.Code));
            output.Write(span);
            output.Write(blob.Code);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(head);
        }
    }

    /// <summary>
    /// The loader's rules (<see cref="BlobRules"/>, the ones <see cref="BlobReader"/> applies), before a byte is
    /// written: a blob the loader would refuse is a bug of whoever built it, reported as one.
    /// </summary>
    private static void Verify(KedrBlob blob, Layout layout)
    {
        if (BlobRules.Verify(blob) is not { } v) return;
        var at = v.ToDiagnostic(blob.Target.Name + ".kedr", layout.Tables);
        throw new KedrException(at with
        {
            Code = DiagnosticCodes.RewriterBlobBreaksLoaderRule.Code,
            Message = $"internal error: the blob breaks the loader's rule {v.Code}: {v.Message}",
        });
    }

    private static void ThrowIfRetired(KedrBlob blob)
    {
        if (blob.IsRetired)
            throw new InvalidOperationException($"the blob for {blob.Target.Name} was retired: its tables were reused for a later one (BlobBuffers)");
    }

    /// <summary>Where each table goes, with the string table they refer to.</summary>
    private sealed class Layout
    {
        public readonly StringTable Strings = new();
        public readonly uint TargetName, SrcVersion;
        public readonly uint[] FunctionNames;
        public readonly uint[] ImportNames;
        public readonly (int offset, int count, int entsize)[] Tables = new (int, int, int)[BlobFormat.TableCount];
        public readonly int Total;
        /// <summary>Where the code image starts: everything before it is header and tables.</summary>
        public int CodeOffset => Tables[(int)BlobTableId.Code].offset;
        /// <summary>Where the checksum goes (before the code image).</summary>
        public int ChecksumOffset => Tables[(int)BlobTableId.Checksum].offset;

        public Layout(KedrBlob blob)
        {
            TargetName = Strings.Add(blob.Target.Name);
            SrcVersion = Strings.Add(blob.Target.SrcVersion);
            var functions = CollectionsMarshal.AsSpan(blob.Functions);
            FunctionNames = new uint[functions.Length];
            for (int i = 0; i < functions.Length; i++) FunctionNames[i] = Strings.Add(functions[i].Name);
            ImportNames = new uint[blob.Imports.Count];
            for (int i = 0; i < ImportNames.Length; i++) ImportNames[i] = Strings.Add(blob.Imports[i].Name);

            // Header, tables with 8-byte aligned entries, code aligned as it asks (and last).
            int pos = Header.Size;
            void Place(BlobTableId id, int count, int entsize, int align)
            {
                pos = Align(pos, align);
                Tables[(int)id] = (pos, count, entsize);
                pos += count * entsize;
            }
            Place(BlobTableId.Strings, Strings.Length, ByteEntrySize, NoAlign);
            Place(BlobTableId.Functions, blob.Functions.Count, Function.Size, TableAlign);
            Place(BlobTableId.Masks, blob.Masks.Count, Mask.Size, TableAlign);
            Place(BlobTableId.Fixups, blob.Fixups.Count, Fixup.Size, TableAlign);
            Place(BlobTableId.Sites, blob.Sites.Count, Site.Size, TableAlign);
            Place(BlobTableId.Patches, blob.Patches.Count, Patch.Size, TableAlign);
            Place(BlobTableId.ExTable, blob.ExTable.Count, ExTable.Size, TableAlign);
            Place(BlobTableId.Bugs, blob.Bugs.Count, Bug.Size, TableAlign);
            Place(BlobTableId.Orc, blob.Orc.Count, Orc.Size, TableAlign);
            Place(BlobTableId.Imports, blob.Imports.Count, Import.Size, TableAlign);
            Place(BlobTableId.Calls, blob.Calls.Count, Call.Size, TableAlign);
            Place(BlobTableId.Probes, blob.Probes.Count, Probe.Size, TableAlign);
            Place(BlobTableId.Checksum, 1, Checksum.Size, TableAlign);
            Place(BlobTableId.Code, blob.Code.Length, ByteEntrySize, (int)Math.Max(MinCodeAlign, blob.CodeAlign));
            Total = pos;
        }
    }

    /// <summary>Writes everything before the code image into <paramref name="s"/> (zeroed, as long as the code's offset).</summary>
    private static void WriteHead(KedrBlob blob, Layout layout, Span<byte> s)
    {
        var tables = layout.Tables;
        var (strings, targetName, srcVersion, funcNames) = (layout.Strings, layout.TargetName, layout.SrcVersion, layout.FunctionNames);
        var functions = CollectionsMarshal.AsSpan(blob.Functions);
        BlobFormat.Magic.CopyTo(s[Header.Magic..]);
        U16(s, Header.VersionMajor, BlobFormat.VersionMajor);
        U16(s, Header.VersionMinor, blob.VersionMinor);
        U32(s, Header.HeaderSize, Header.Size);
        U32(s, Header.BlobSize, (uint)layout.Total);
        U32(s, Header.Flags, (uint)blob.Flags);
        U32(s, Header.TargetName, targetName);
        U32(s, Header.TargetSrcVersion, srcVersion);
        U32(s, Header.TargetNumSymtab, blob.Target.SymbolCount);
        var id = blob.Target.BuildId.AsSpan(0, Math.Min(blob.Target.BuildId.Length, BlobFormat.BuildIdMax));
        U32(s, Header.TargetBuildIdLength, (uint)id.Length);
        id.CopyTo(s[Header.TargetBuildId..]);
        U32(s, Header.CodeAlign, blob.CodeAlign);
        U32(s, Header.NumTables, BlobFormat.TableCount);
        for (int t = 0; t < BlobFormat.TableCount; t++)
        {
            int h = Header.TableAt(t);
            U32(s, h + Table.Offset, (uint)tables[t].offset);
            U32(s, h + Table.Count, (uint)tables[t].count);
            U32(s, h + Table.EntrySize, (uint)tables[t].entsize);
        }

        strings.CopyTo(s[tables[(int)BlobTableId.Strings].offset..]);
        int o = tables[(int)BlobTableId.Functions].offset;
        for (int i = 0; i < functions.Length; i++, o += Function.Size)
        {
            ref readonly var f = ref functions[i];
            U32(s, o + Function.Name, funcNames[i]); U32(s, o + Function.SymbolIndex, f.SymbolIndex); U32(s, o + Function.OriginalSize, f.Size);
            U32(s, o + Function.CopyOffset, f.CopyOffset); U32(s, o + Function.CopySize, f.CopySize); U32(s, o + Function.MaskFirst, f.MaskFirst);
            U32(s, o + Function.MaskCount, f.MaskCount); U32(s, o + Function.Flags, (uint)f.Flags); U64(s, o + Function.Digest, f.Digest);
            U32(s, o + Function.Owner, f.Owner);
        }
        // The big tables (an entry or more per instruction with an event): the table's slice is checked
        // once, and each entry's stores stay within its size.
        ref byte e = ref TableStart(s, tables, BlobTableId.Masks);
        foreach (ref readonly var m in CollectionsMarshal.AsSpan(blob.Masks))
        {
            W32(ref e, Mask.Offset, m.Offset); W32(ref e, Mask.Length, m.Length);
            e = ref Unsafe.Add(ref e, Mask.Size);
        }
        e = ref TableStart(s, tables, BlobTableId.Fixups);
        foreach (ref readonly var x in CollectionsMarshal.AsSpan(blob.Fixups))
        {
            W32(ref e, Fixup.Offset, x.Offset); Unsafe.Add(ref e, Fixup.Type) = (byte)x.Type; Unsafe.Add(ref e, Fixup.Target) = (byte)x.Target;
            W32(ref e, Fixup.Index, x.Index); W64(ref e, Fixup.Addend, (ulong)x.Addend);
            e = ref Unsafe.Add(ref e, Fixup.Size);
        }
        e = ref TableStart(s, tables, BlobTableId.Sites);
        foreach (ref readonly var x in CollectionsMarshal.AsSpan(blob.Sites))
        {
            W32(ref e, Site.Function, x.Function); W32(ref e, Site.Offset, x.Offset);
            Unsafe.Add(ref e, Site.Kind) = (byte)x.Kind; Unsafe.Add(ref e, Site.Flags) = (byte)x.Flags;
            W16(ref e, Site.AccessSize, x.Size);
            e = ref Unsafe.Add(ref e, Site.Size);
        }
        o = tables[(int)BlobTableId.Patches].offset;
        foreach (ref readonly var x in CollectionsMarshal.AsSpan(blob.Patches))
        {
            U32(s, o + Patch.CopyOffset, x.CopyOffset); U32(s, o + Patch.Function, x.Function); U32(s, o + Patch.OriginalOffset, x.OriginalOffset);
            U16(s, o + Patch.Length, x.Length); U16(s, o + Patch.SlotLength, x.SlotLength); s[o + Patch.Kind] = (byte)x.Kind;
            U32(s, o + Patch.TargetCopyOffset, x.TargetCopyOffset);
            o += Patch.Size;
        }
        o = tables[(int)BlobTableId.ExTable].offset;
        foreach (ref readonly var x in CollectionsMarshal.AsSpan(blob.ExTable))
        {
            U32(s, o + ExTable.InsnCopy, x.InsnCopy); U32(s, o + ExTable.FixupCopy, x.FixupCopy);
            U32(s, o + ExTable.FixupSymbol, x.FixupSymbol); U32(s, o + ExTable.Data, x.Data);
            U64(s, o + ExTable.FixupAddend, (ulong)x.FixupAddend);
            o += ExTable.Size;
        }
        o = tables[(int)BlobTableId.Bugs].offset;
        foreach (ref readonly var x in CollectionsMarshal.AsSpan(blob.Bugs))
        {
            U32(s, o + Bug.CopyOffset, x.CopyOffset); U32(s, o + Bug.FileSymbol, x.FileSymbol); U64(s, o + Bug.FileAddend, (ulong)x.FileAddend);
            U16(s, o + Bug.Line, x.Line); U16(s, o + Bug.Flags, x.Flags);
            o += Bug.Size;
        }
        e = ref TableStart(s, tables, BlobTableId.Orc);
        foreach (ref readonly var x in CollectionsMarshal.AsSpan(blob.Orc))
        {
            // u32 offset, then the 6 bytes of struct orc_entry and the 2 reserved ones after it: one 8-byte store.
            W32(ref e, Orc.CopyOffset, x.CopyOffset); W64(ref e, Orc.Entry, x.Entry & OrcEntryMask);
            e = ref Unsafe.Add(ref e, Orc.Size);
        }
        o = tables[(int)BlobTableId.Imports].offset;
        for (int i = 0; i < blob.Imports.Count; i++, o += Import.Size)
        {
            var x = blob.Imports[i];
            U32(s, o + Import.Name, layout.ImportNames[i]); U32(s, o + Import.SymbolIndex, x.SymbolIndex);
            U32(s, o + Import.StubOffset, x.StubOffset); U32(s, o + Import.Flags, (uint)x.Flags);
        }
        o = tables[(int)BlobTableId.Calls].offset;
        foreach (ref readonly var x in CollectionsMarshal.AsSpan(blob.Calls))
        {
            U32(s, o + Call.ReturnOffset, x.ReturnOffset); U32(s, o + Call.Function, x.Function);
            U32(s, o + Call.OriginalOffset, x.OriginalOffset); U32(s, o + Call.Import, x.Import);
            o += Call.Size;
        }
        o = tables[(int)BlobTableId.Probes].offset;
        foreach (ref readonly var x in CollectionsMarshal.AsSpan(blob.Probes))
        {
            U32(s, o + Probe.Function, x.Function); U32(s, o + Probe.Offset, x.Offset);
            U32(s, o + Probe.CopyOffset, x.CopyOffset); U32(s, o + Probe.Site, x.Site); U16(s, o + Probe.Length, x.Length);
            o += Probe.Size;
        }
    }

    /// <summary>The start of a table whose whole extent (count times entry size) is checked to lie in <paramref name="s"/>.</summary>
    private static ref byte TableStart(Span<byte> s, (int offset, int count, int entsize)[] tables, BlobTableId id)
    {
        var (offset, count, size) = tables[(int)id];
        return ref MemoryMarshal.GetReference(s.Slice(offset, checked(count * size)));
    }

    private static void W16(ref byte e, int at, ushort v) =>
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref e, at), BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v));
    private static void W32(ref byte e, int at, uint v) =>
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref e, at), BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v));
    private static void W64(ref byte e, int at, ulong v) =>
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref e, at), BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v));

    private const ulong OrcEntryMask = (1UL << (8 * Orc.EntryLength)) - 1;
    /// <summary>The string table is not aligned.</summary>
    private const int NoAlign = 1;

    private static int Align(int v, int a) => (v + a - 1) & -a;
    // Checked stores for the header and the small tables; the big ones check their slice once (TableStart).
    private static void U16(Span<byte> s, int o, ushort v) => W16(ref MemoryMarshal.GetReference(s.Slice(o, sizeof(ushort))), 0, v);
    private static void U32(Span<byte> s, int o, uint v) => W32(ref MemoryMarshal.GetReference(s.Slice(o, sizeof(uint))), 0, v);
    private static void U64(Span<byte> s, int o, ulong v) => W64(ref MemoryMarshal.GetReference(s.Slice(o, sizeof(ulong))), 0, v);

    /// <summary>NUL-terminated UTF-8 strings, each stored once; offset 0 is "".</summary>
    private sealed class StringTable
    {
        private readonly Dictionary<string, uint> _offsets = new(StringComparer.Ordinal) { [""] = 0 };
        private byte[] _bytes = new byte[4096];
        public int Length { get; private set; } = 1;

        public uint Add(string value)
        {
            if (_offsets.TryGetValue(value, out var off)) return off;
            off = (uint)Length;
            int need = Length + Encoding.UTF8.GetMaxByteCount(value.Length) + 1;
            if (need > _bytes.Length) Array.Resize(ref _bytes, Math.Max(need, 2 * _bytes.Length));
            Length += Encoding.UTF8.GetBytes(value, _bytes.AsSpan(Length));
            _bytes[Length++] = 0;
            _offsets[value] = off;
            return off;
        }

        public void CopyTo(Span<byte> dest) => _bytes.AsSpan(0, Length).CopyTo(dest);
    }
}
