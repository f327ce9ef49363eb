using Kedr.Core.Blob;
using static Kedr.Core.Tests.Blob.SampleBlob;

namespace Kedr.Core.Tests.Blob;

public sealed class BlobRoundTripTests
{
    private static KedrBlob ReadBack(byte[] bytes)
    {
        Assert.True(BlobReader.TryRead(bytes, "sample.kedr", out var blob, out var error), error?.ToString());
        return blob!;
    }

    private static void AssertSame(KedrBlob expected, KedrBlob actual)
    {
        Assert.Equal(expected.Target.Name, actual.Target.Name);
        Assert.Equal(expected.Target.SrcVersion, actual.Target.SrcVersion);
        Assert.Equal(expected.Target.SymbolCount, actual.Target.SymbolCount);
        Assert.Equal(expected.Target.BuildId, actual.Target.BuildId);
        Assert.Equal(expected.CodeAlign, actual.CodeAlign);
        Assert.Equal(expected.VersionMinor, actual.VersionMinor);
        Assert.Equal(expected.Flags, actual.Flags);
        Assert.Equal(expected.Code, actual.Code);
        Assert.Equal(expected.Functions, actual.Functions);
        Assert.Equal(expected.Masks, actual.Masks);
        Assert.Equal(expected.Fixups, actual.Fixups);
        Assert.Equal(expected.Sites, actual.Sites);
        Assert.Equal(expected.Patches, actual.Patches);
        Assert.Equal(expected.ExTable, actual.ExTable);
        Assert.Equal(expected.Bugs, actual.Bugs);
        Assert.Equal(expected.Orc, actual.Orc);
    }

    [Fact]
    public void Every_table_survives_write_then_read()
    {
        var blob = Create();
        var bytes = BlobWriter.Write(blob);
        var back = ReadBack(bytes);
        AssertSame(blob, back);
        for (int i = 0; i < back.Functions.Count; i++)
            Assert.Equal(blob.Masks.Skip((int)blob.Functions[i].MaskFirst).Take((int)blob.Functions[i].MaskCount), back.MasksOf(back.Functions[i]).ToArray());
        // And writing what was read gives the same bytes.
        Assert.Equal(bytes, BlobWriter.Write(back));
    }

    [Fact]
    public void Writing_to_a_stream_gives_the_bytes_of_the_array()
    {
        var blob = Create();
        // A stream that was written before, and a pool that may hand out dirty buffers: padding must still be zero.
        var dirty = System.Buffers.ArrayPool<byte>.Shared.Rent(4096);
        dirty.AsSpan().Fill(0xa5);
        System.Buffers.ArrayPool<byte>.Shared.Return(dirty);
        using var stream = new MemoryStream();
        stream.Write([1, 2, 3]);
        BlobWriter.Write(blob, stream);
        Assert.Equal(BlobWriter.Write(blob), stream.ToArray()[3..]);
    }

    [Fact]
    public void Header_says_what_the_writer_wrote()
    {
        var bytes = Bytes();
        Assert.Equal("KEDRBLOB"u8.ToArray(), bytes[..8]);
        Assert.Equal(1u, U32(bytes, HVersionMajor) & 0xffff);
        Assert.Equal((uint)BlobFormat.HeaderSize, U32(bytes, HHeaderSize));
        Assert.Equal((uint)bytes.Length, U32(bytes, HBlobSize));
        Assert.Equal((uint)(BlobHeaderFlags.WordDigest | BlobHeaderFlags.CallOrc), U32(bytes, HFlags));
        Assert.Equal(SymbolCount, U32(bytes, HNumSymtab));
        Assert.Equal(20u, U32(bytes, HBuildIdLen));
        Assert.Equal(32u, U32(bytes, HCodeAlign));
        Assert.Equal((uint)BlobFormat.TableCount, U32(bytes, HNumTables));
        // Sizes from kedr_blob.h (BlobLayoutTests compiles it to check them).
        var counts = new Dictionary<BlobTableId, int>
        {
            [BlobTableId.Functions] = 3, [BlobTableId.Masks] = 3, [BlobTableId.Fixups] = 4,
            [BlobTableId.Sites] = 6, [BlobTableId.Patches] = 2, [BlobTableId.Code] = CodeLength,
            [BlobTableId.ExTable] = 2, [BlobTableId.Bugs] = 1, [BlobTableId.Orc] = 3,
        };
        var entsizes = new Dictionary<BlobTableId, int>
        {
            [BlobTableId.Strings] = 1, [BlobTableId.Functions] = 48, [BlobTableId.Masks] = 8, [BlobTableId.Fixups] = 24,
            [BlobTableId.Sites] = 12, [BlobTableId.Patches] = 24, [BlobTableId.Code] = 1,
            [BlobTableId.ExTable] = 24, [BlobTableId.Bugs] = 24, [BlobTableId.Orc] = 12,
        };
        for (int i = 0; i < BlobFormat.TableCount; i++)
        {
            var t = (BlobTableId)i;
            if (counts.TryGetValue(t, out var count)) Assert.Equal(count, TableCount(bytes, t));
            if (entsizes.TryGetValue(t, out var entsize)) Assert.Equal(entsize, TableEntsize(bytes, t));
            Assert.True(TableCount(bytes, t) == 0 || TableOffset(bytes, t) >= BlobFormat.HeaderSize
                && TableOffset(bytes, t) + TableCount(bytes, t) * TableEntsize(bytes, t) <= bytes.Length, t.ToString());
        }
        // The strings table starts with "" and holds each name once.
        var strings = bytes.AsSpan(TableOffset(bytes, BlobTableId.Strings), TableCount(bytes, BlobTableId.Strings));
        Assert.Equal(0, strings[0]);
        Assert.Equal("\0sample_mod\00123456789ABCDEF0123456\0alpha\0alpha.cold\0init_beta\0", System.Text.Encoding.ASCII.GetString(strings));
        Assert.Equal(Create().Code, bytes.AsSpan(TableOffset(bytes, BlobTableId.Code), CodeLength).ToArray());
    }

    [Fact]
    public void Empty_tables_and_no_build_id_round_trip()
    {
        var blob = new KedrBlob { Target = new BlobTarget("empty", "", 1, []) };
        var back = ReadBack(BlobWriter.Write(blob));
        AssertSame(blob, back);
    }

    [Fact]
    public void A_newer_minor_version_is_read()
    {
        var bytes = Bytes();
        Put16(bytes, HVersionMinor, 7);
        Assert.Equal(7, ReadBack(Seal(bytes)).VersionMinor);
    }

    /// <summary>Minor versions may lengthen entries: the reader steps by entsize and ignores the tail.</summary>
    /// <summary>A 1.0 blob (7 tables, 180-byte header) is still read: the 1.1 tables are then empty.</summary>
    [Fact]
    public void A_version_1_0_blob_is_read()
    {
        var blob = Create();
        blob.ExTable.Clear();
        blob.Bugs.Clear();
        blob.Orc.Clear();
        var bytes = BlobWriter.Write(blob);
        const int v10Header = HTables + 7 * 16;
        int cut = BlobFormat.HeaderSize - v10Header;
        var old = new byte[bytes.Length - cut];
        bytes.AsSpan(0, v10Header).CopyTo(old);
        bytes.AsSpan(BlobFormat.HeaderSize).CopyTo(old.AsSpan(v10Header));
        Put16(old, HVersionMinor, 0);
        Put32(old, HFlags, 0); // 1.0 digests are plain FNV-1a
        Put32(old, HHeaderSize, v10Header);
        Put32(old, HBlobSize, (uint)old.Length);
        Put32(old, HNumTables, 7);
        for (int t = 0; t < 7; t++)
            Put32(old, TableDescriptor((BlobTableId)t), (uint)(TableOffset(bytes, (BlobTableId)t) - cut));
        var back = ReadBack(old);
        Assert.Equal(0, back.VersionMinor);
        AssertSame(new KedrBlob
        {
            Target = blob.Target, CodeAlign = blob.CodeAlign, VersionMinor = 0, Flags = BlobHeaderFlags.None, Code = blob.Code, Functions = blob.Functions,
            Masks = blob.Masks, Fixups = blob.Fixups, Sites = blob.Sites, Patches = blob.Patches,
        }, back);
    }

    [Theory]
    [InlineData(BlobTableId.ExTable)]
    [InlineData(BlobTableId.Bugs)]
    [InlineData(BlobTableId.Orc)]
    [InlineData(BlobTableId.Functions)]
    [InlineData(BlobTableId.Masks)]
    [InlineData(BlobTableId.Fixups)]
    [InlineData(BlobTableId.Sites)]
    [InlineData(BlobTableId.Patches)]
    public void Longer_entries_are_read_by_their_entsize(BlobTableId table)
    {
        var bytes = Bytes();
        int off = TableOffset(bytes, table), count = TableCount(bytes, table), size = TableEntsize(bytes, table);
        const int extra = 8;
        var grown = new byte[bytes.Length + count * (size + extra)];
        bytes.CopyTo(grown, 0);
        for (int i = 0; i < count; i++)
        {
            int to = bytes.Length + i * (size + extra);
            bytes.AsSpan(off + i * size, size).CopyTo(grown.AsSpan(to));
            grown.AsSpan(to + size, extra).Fill(0xee);
        }
        Put32(grown, TableDescriptor(table), (uint)bytes.Length);
        Put32(grown, TableDescriptor(table) + 8, (uint)(size + extra));
        Put32(grown, HBlobSize, (uint)grown.Length);
        AssertSame(Create(), ReadBack(Seal(grown)));
    }

    /// <summary>The checksum is the standard CRC-32C: its check value, and the one the blob carries.</summary>
    [Fact]
    public void The_checksum_is_CRC32C_of_the_rest()
    {
        Assert.Equal(0xE3069283u, ~BlobFormat.Crc32C(~0u, "123456789"u8));
        Assert.Equal(0xE3069283u, ~Crc32CBitwise(~0u, "123456789"u8));
        var bytes = Bytes();
        int at = TableOffset(bytes, BlobTableId.Checksum);
        Assert.Equal(1, TableCount(bytes, BlobTableId.Checksum));
        Assert.Equal(4, TableEntsize(bytes, BlobTableId.Checksum));
        uint stored = U32(bytes, at);
        Assert.Equal(stored, U32(Seal((byte[])bytes.Clone()), at));
        using var stream = new MemoryStream();
        BlobWriter.Write(Create(), stream);
        Assert.Equal(bytes, stream.ToArray());
    }

    /// <summary>A 1.2 blob (10 tables, no checksum) is still read; a 1.3 one must have it.</summary>
    [Fact]
    public void A_version_1_2_blob_without_a_checksum_is_read()
    {
        var bytes = Bytes();
        Put16(bytes, HVersionMinor, 2);
        Put32(bytes, HNumTables, 10);
        Put32(bytes, HHeaderSize, HTables + 10 * 16);
        Assert.Equal(2, ReadBack(bytes).VersionMinor);
    }

    /// <summary>Minor versions may add tables: a longer header with one more descriptor is read.</summary>
    [Fact]
    public void More_tables_in_a_longer_header_are_read()
    {
        var bytes = Bytes();
        int header = BlobFormat.HeaderSize, n = BlobFormat.TableCount;
        Assert.Equal(HTables + n * 16, header);
        var grown = new byte[bytes.Length + 16];
        bytes.AsSpan(0, header).CopyTo(grown);
        bytes.AsSpan(header).CopyTo(grown.AsSpan(header + 16));
        grown.AsSpan(header, 16).Fill(0); // the unknown table: empty
        Put32(grown, HHeaderSize, (uint)header + 16);
        Put32(grown, HBlobSize, (uint)grown.Length);
        Put32(grown, HNumTables, (uint)n + 1);
        for (int t = 0; t < n; t++)
            Put32(grown, TableDescriptor((BlobTableId)t), (uint)TableOffset(bytes, (BlobTableId)t) + 16);
        AssertSame(Create(), ReadBack(Seal(grown)));
    }
}
