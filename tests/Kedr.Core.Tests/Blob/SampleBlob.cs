using System.Buffers.Binary;
using Kedr.Core.Blob;

namespace Kedr.Core.Tests.Blob;

/// <summary>A valid blob with every table populated, and the raw offsets (from kedr_blob.h) to corrupt it.</summary>
internal static class SampleBlob
{
    public const int CodeLength = 256;
    public const uint SymbolCount = 40;

    // struct kedr_blob_header
    public const int HVersionMajor = 8, HVersionMinor = 10, HHeaderSize = 12, HBlobSize = 16, HFlags = 20,
        HTargetName = 24, HSrcVersion = 28, HNumSymtab = 32, HBuildIdLen = 36, HBuildId = 40, HCodeAlign = 60,
        HNumTables = 64, HTables = 68;

    public static KedrBlob Create() => new()
    {
        Target = new BlobTarget("sample_mod", "0123456789ABCDEF0123456", SymbolCount,
            Enumerable.Range(0xa0, 20).Select(i => (byte)i).ToArray()),
        CodeAlign = 32,
        Code = SampleCode(),
        Functions =
        [
            new("alpha", 5, 64, 0, 80, 0, 2, BlobFunctionFlags.None, 0x1122334455667788, 0),
            new("alpha.cold", 6, 16, 80, 32, 2, 1, BlobFunctionFlags.Part, 0x8877665544332211, 0),
            new("init_beta", 7, 32, 128, 48, 3, 0, BlobFunctionFlags.Init, 0xfedcba9876543210, 2),
        ],
        Masks = [new(1, 4), new(10, 4), new(0, 5)],
        Fixups =
        [
            new(1, BlobFixupType.Pc32, BlobFixupTarget.Symbol, 9, -4),
            new(16, BlobFixupType.Abs64, BlobFixupTarget.Symbol, 10, 0x1234),
            new(40, BlobFixupType.Abs32S, BlobFixupTarget.Helper, (uint)BlobHelper.FuncEvent, 0),
            new(129, BlobFixupType.Pc32, BlobFixupTarget.Helper, (uint)BlobHelper.MemEvent, -4),
        ],
        Sites =
        [
            new(0, 0, BlobEventKind.Entry, BlobSiteFlags.None, 0),
            new(0, 20, BlobEventKind.Read, BlobSiteFlags.Gs, 8),
            new(1, 3, BlobEventKind.Write, BlobSiteFlags.None, 4),
            new(0, 30, BlobEventKind.ReadWrite, BlobSiteFlags.None, 2),
            new(2, 5, BlobEventKind.LockedUpdate, BlobSiteFlags.None, 4),
            new(2, 31, BlobEventKind.Exit, BlobSiteFlags.None, 0),
        ],
        Patches =
        [
            new(60, 0, 30, 5, 6, BlobPatchKind.LiveBytes, 0),
            new(100, 1, 5, 2, 5, BlobPatchKind.JumpLabel, 120),
        ],
        ExTable =
        [
            new(5, 70, 0, 0, 0x12),
            new(130, BlobFormat.NoCopy, 11, 8, 3),
        ],
        Bugs = [new(50, 12, 0x40, 123, 0x0901)],
        Orc = [new(0, 0x050403020100), new(16, 0x0b0a09080706), new(128, 0x11100f0e0d0c)],
    };

    public static byte[] Bytes() => BlobWriter.Write(Create());

    /// <summary>Arbitrary bytes, with `push $imm32; call rel32` around the two helper fixups (KEDR_BLOB_CALL_ORC).</summary>
    private static byte[] SampleCode()
    {
        var code = Enumerable.Range(0, CodeLength).Select(i => (byte)(i * 7 + 1)).ToArray();
        foreach (int field in (int[])[40, 129])
        {
            code[field - 6] = 0x68;
            code[field - 1] = 0xe8;
        }
        return code;
    }

    /// <summary>
    /// Writes the right checksum into a changed blob, where its descriptor still says where (the checksum is a
    /// CRC-32C, computed here bit by bit from the polynomial, independently of BlobFormat's), so that a change
    /// reaches the check it is meant for. Returns <paramref name="b"/>.
    /// </summary>
    public static byte[] Seal(byte[] b)
    {
        int d = TableDescriptor(BlobTableId.Checksum);
        if (b.Length < d + 16) return b;
        long at = U32(b, d);
        if (at + 4 > b.Length) return b;
        Put32(b, (int)at, 0);
        uint crc = ~Crc32CBitwise(~0u, b.AsSpan(0, (int)at));
        crc = ~Crc32CBitwise(~crc, b.AsSpan((int)at + 4));
        Put32(b, (int)at, crc);
        return b;
    }

    /// <summary>CRC-32C, reflected polynomial 0x82F63B78, one bit at a time; no final inversion.</summary>
    public static uint Crc32CBitwise(uint crc, ReadOnlySpan<byte> bytes)
    {
        foreach (byte x in bytes)
        {
            crc ^= x;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? crc >> 1 ^ 0x82F63B78u : crc >> 1;
        }
        return crc;
    }

    public static uint U32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));
    public static void Put16(byte[] b, int at, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), v);
    public static void Put32(byte[] b, int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v);

    public static int TableDescriptor(BlobTableId t) => HTables + (int)t * 16;
    public static int TableOffset(byte[] b, BlobTableId t) => (int)U32(b, TableDescriptor(t));
    public static int TableCount(byte[] b, BlobTableId t) => (int)U32(b, TableDescriptor(t) + 4);
    public static int TableEntsize(byte[] b, BlobTableId t) => (int)U32(b, TableDescriptor(t) + 8);
    /// <summary>Where entry <paramref name="i"/> of table <paramref name="t"/> starts in the blob.</summary>
    public static int Entry(byte[] b, BlobTableId t, int i) => TableOffset(b, t) + i * TableEntsize(b, t);
}
