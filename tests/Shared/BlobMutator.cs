using System.Buffers.Binary;

namespace Kedr.Tests.Shared;

/// <summary>
/// Mutations of a valid blob for fuzzing its readers (kedr_blob.h's layout, read here from the blob's own
/// header): bit flips, bytes and 32-bit fields set to boundary values, table descriptors pointed outside the
/// blob or given huge counts, truncation and extension. Most mutants get their checksum (table 10, CRC-32C of
/// every other byte, computed here bit by bit) written again, or the checksum would refuse nearly all of them
/// before the checks behind it are reached.
/// </summary>
public sealed class BlobMutator(int seed)
{
    private const int Tables = 68, ChecksumTable = 10;
    private readonly Random _rng = new(seed);

    /// <summary>The kinds of mutation, for the figures.</summary>
    public enum Kind { BitFlip, Byte, Field, Descriptor, Entry, Truncate, Extend }

    /// <summary>A mutant of <paramref name="blob"/> and what was done to it.</summary>
    public (byte[] Bytes, Kind Kind, bool Sealed) Mutate(byte[] blob)
    {
        var b = (byte[])blob.Clone();
        var kind = (Kind)_rng.Next(7);
        int headEnd = HeadEnd(b);
        switch (kind)
        {
            case Kind.BitFlip:
                for (int n = 1 + _rng.Next(3); n > 0; n--)
                {
                    int at = Pick(b.Length, headEnd);
                    b[at] ^= (byte)(1 << _rng.Next(8));
                }
                break;
            case Kind.Byte:
                b[Pick(b.Length, headEnd)] = Interesting8[_rng.Next(Interesting8.Length)];
                break;
            case Kind.Field:
                Set32(b, Pick(b.Length - 3, headEnd) & ~3, Value32(b));
                break;
            case Kind.Descriptor:
            {
                int t = _rng.Next(ChecksumTable + 1), field = _rng.Next(3);
                Set32(b, Tables + 16 * t + 4 * field, Value32(b));
                break;
            }
            case Kind.Entry:
            {
                // A field of an entry of a table: where the checks are.
                int t = _rng.Next(ChecksumTable);
                uint off = U32(b, Tables + 16 * t), count = U32(b, Tables + 16 * t + 4), entsize = U32(b, Tables + 16 * t + 8);
                if (count == 0 || entsize == 0 || off + (ulong)count * entsize > (ulong)b.Length) goto case Kind.Field;
                long at = off + (long)_rng.Next((int)Math.Min(count, int.MaxValue)) * entsize + _rng.Next((int)Math.Min(entsize, 64));
                if (at + 4 <= b.Length && _rng.Next(2) == 0) Set32(b, (int)at, Value32(b));
                else if (at < b.Length) b[at] = Interesting8[_rng.Next(Interesting8.Length)];
                break;
            }
            case Kind.Truncate:
                b = b[.._rng.Next(b.Length)];
                if (b.Length >= 20 && _rng.Next(2) == 0) Set32(b, 16, (uint)b.Length); // blob_size kept right
                break;
            case Kind.Extend:
                Array.Resize(ref b, b.Length + 1 + _rng.Next(64));
                if (_rng.Next(2) == 0) Set32(b, 16, (uint)b.Length);
                break;
        }
        bool seal = _rng.Next(10) != 0 && Seal(b);
        return (b, kind, seal);
    }

    /// <summary>Writes the checksum of <paramref name="b"/> again, if its descriptor still says where: true if it did.</summary>
    public static bool Seal(byte[] b)
    {
        int d = Tables + 16 * ChecksumTable;
        if (b.Length < d + 16 || U32(b, 64) <= ChecksumTable) return false;
        long at = U32(b, d);
        if (at + 4 > b.Length) return false;
        uint crc = Crc32C(~0u, b.AsSpan(0, (int)at));
        crc = ~Crc32C(crc, b.AsSpan((int)at + 4));
        Set32(b, (int)at, crc);
        return true;
    }

    /// <summary>CRC-32C, reflected polynomial 0x82F63B78, a byte at a time through a table; no final inversion.</summary>
    public static uint Crc32C(uint crc, ReadOnlySpan<byte> bytes)
    {
        foreach (byte x in bytes) crc = CrcTable[(crc ^ x) & 0xff] ^ crc >> 8;
        return crc;
    }

    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(i =>
    {
        uint c = (uint)i;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? c >> 1 ^ 0x82F63B78u : c >> 1;
        return c;
    }).ToArray();

    private static readonly byte[] Interesting8 = [0, 1, 2, 3, 4, 5, 7, 8, 0x10, 0x13, 0x14, 0x15, 0x40, 0x7f, 0x80, 0xfe, 0xff];

    /// <summary>Where the code image starts, if the header says so sensibly: everything before is header and tables.</summary>
    private static int HeadEnd(byte[] b)
    {
        if (b.Length < Tables + 16 * 7) return b.Length;
        uint code = U32(b, Tables + 16 * 6);
        return code > 0 && code <= b.Length ? (int)code : b.Length;
    }

    /// <summary>An offset below <paramref name="length"/>: three times in four in the header and tables.</summary>
    private int Pick(int length, int headEnd) =>
        length <= 0 ? 0 : _rng.Next(4) != 0 ? _rng.Next(Math.Min(headEnd, length)) : _rng.Next(length);

    private uint Value32(byte[] b) => _rng.Next(12) switch
    {
        0 => 0,
        1 => 1,
        2 => uint.MaxValue,
        3 => 0x7fffffff,
        4 => 0x80000000,
        5 => (uint)b.Length,
        6 => (uint)b.Length + 1,
        7 => (uint)b.Length - 1,
        8 => (uint)_rng.Next(256),
        9 => 0x10000000u + (uint)_rng.Next(16),
        10 => (uint)_rng.Next(b.Length + 1),
        _ => (uint)_rng.NextInt64(0, 1L << 32),
    };

    private static uint U32(byte[] b, int at) => at + 4 <= b.Length ? BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at)) : 0;

    private static void Set32(byte[] b, int at, uint v)
    {
        if (at >= 0 && at + 4 <= b.Length) BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v);
    }
}
