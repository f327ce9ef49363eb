using System.Buffers.Binary;

namespace Kedr.Core.Blob;

/// <summary>Constants of the blob format; the definition is <c>kmod/kedr_blob.h</c>.</summary>
public static class BlobFormat
{
    public static ReadOnlySpan<byte> Magic => "KEDRBLOB"u8;
    public const ushort VersionMajor = 1;
    public const ushort VersionMinor = 7;
    public const int BuildIdMax = 20;
    /// <summary>
    /// Tables this version writes; 1.0 blobs have <see cref="TableCountV1"/>, 1.1 and 1.2 ones <see cref="TableCountV1_1"/>,
    /// 1.3 ones <see cref="TableCountV1_3"/>, 1.4 ones <see cref="TableCountV1_4"/>.
    /// </summary>
    public const int TableCount = 14;
    public const int TableCountV1_4 = 13;
    public const int TableCountV1_3 = 11;
    public const int TableCountV1 = 7;
    public const int TableCountV1_1 = 10;
    /// <summary>From this minor version on a blob must have the <see cref="BlobTableId.Checksum"/> table.</summary>
    public const ushort ChecksumMinor = 3;
    public const int ChecksumSize = BlobLayout.Checksum.Size;
    /// <summary>The loader's code area (<c>KEDR_AREA_SIZE</c>, kmod/kedr_sample/kedr_area.h): a bigger code image is refused.</summary>
    public const int MaxCodeSize = 16 << 20;
    /// <summary>The helpers a fixup may call (<c>KEDR_HELPER_COUNT_V1_5</c>): <see cref="BlobHelper"/>'s values are 0 to this - 1.</summary>
    public const uint HelperCount = 6;
    /// <summary>The helpers of 1.0 to 1.4 (<c>KEDR_HELPER_COUNT_V1</c>).</summary>
    public const uint HelperCountV1 = 5;
    /// <summary>A probe's call sequence, <c>push $site; call helper</c> (<c>KEDR_PROBE_CALL_SIZE</c>).</summary>
    public const int ProbeCallSize = 10;

    // What kedr_blob_extable.data and kedr_blob_bug.flags may hold (kedr_blob.h, from the 6.1 kernel's
    // extable_fixup_types.h and asm-generic/bug.h).
    public const uint ExTypeMask = 0xff, ExTypeMin = 1, ExTypeMax = 20, ExTypeBpf = 7;
    public const uint ExFlagMask = 0xf000, ExFlagMax = 3;
    public const int ExFlagShift = 12;
    public const ushort BugKnownFlags = 0xf;
    public const int BugTaintShift = 8, BugTaintCount = 19;

    /// <summary>Does the kernel's <c>fixup_exception()</c> handle an entry with this <c>data</c> (type and flags)?</summary>
    public static bool IsExDataAccepted(uint data)
    {
        uint type = data & ExTypeMask, flag = (data & ExFlagMask) >> ExFlagShift;
        return type >= ExTypeMin && type <= ExTypeMax && type != ExTypeBpf && flag <= ExFlagMax;
    }

    /// <summary>Are these <c>BUGFLAG_*</c> flags (and taint) ones <c>report_bug()</c> handles?</summary>
    public static bool IsBugFlagsAccepted(ushort flags) =>
        (flags & 0xff & ~BugKnownFlags) == 0 && flags >> BugTaintShift < BugTaintCount;

    /// <summary>
    /// The blob checksum (<c>KEDR_TABLE_CHECKSUM</c>): CRC-32C of every byte of <paramref name="blob"/> but the
    /// 4 at <paramref name="at"/>.
    /// </summary>
    public static uint Checksum(ReadOnlySpan<byte> blob, int at) =>
        ~Crc32C(Crc32C(~0u, blob[..at]), blob[(at + ChecksumSize)..]);

    /// <summary>CRC-32C (Castagnoli, reflected) of <paramref name="bytes"/> from <paramref name="crc"/>, without the final inversion.</summary>
    public static uint Crc32C(uint crc, ReadOnlySpan<byte> bytes)
    {
        int words = bytes.Length / sizeof(ulong);
        for (int i = 0; i < words; i++)
            crc = System.Numerics.BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(bytes.Slice(i * sizeof(ulong))));
        foreach (byte b in bytes[(words * sizeof(ulong))..]) crc = System.Numerics.BitOperations.Crc32C(crc, b);
        return crc;
    }

    // sizeof() of the C structs, from their description (BlobLayout).
    public const int TableSize = BlobLayout.Table.Size;
    public const int HeaderSize = BlobLayout.Header.Size;
    public const int HeaderSizeV1 = BlobLayout.Header.SizeV1;
    public const int FunctionSize = BlobLayout.Function.Size;
    public const int MaskSize = BlobLayout.Mask.Size;
    public const int FixupSize = BlobLayout.Fixup.Size;
    public const int SiteSize = BlobLayout.Site.Size;
    public const int PatchSize = BlobLayout.Patch.Size;
    public const int ExTableSize = BlobLayout.ExTable.Size;
    public const int BugSize = BlobLayout.Bug.Size;
    public const int OrcSize = BlobLayout.Orc.Size;
    public const int ImportSize = BlobLayout.Import.Size;
    public const int CallSize = BlobLayout.Call.Size;
    public const int ProbeSize = BlobLayout.Probe.Size;
    /// <summary><c>KEDR_STUB_SIZE</c>: bytes of the code image each import's stub takes (1.4); the loader writes them.</summary>
    public const int StubSize = 32;
    public const uint NoCopy = 0xffffffff;

    public const ulong DigestSeed = 0xcbf29ce484222325UL;
    public const ulong DigestPrime = 0x100000001b3UL;

    /// <summary>The header flags this version knows; a reader refuses others.</summary>
    public const BlobHeaderFlags KnownHeaderFlags = BlobHeaderFlags.WordDigest | BlobHeaderFlags.CallOrc;
    /// <summary>The import flags a reader accepts (<c>KEDR_IMPORT_KNOWN_FLAGS</c>, 1.6).</summary>
    public const BlobImportFlags KnownImportFlags = BlobImportFlags.AddressTaken | BlobImportFlags.StaticCall;

    /// <summary>A function's digest as a blob with <paramref name="flags"/> defines it, <paramref name="masks"/> (sorted, disjoint) read as zeroes.</summary>
    public static ulong Digest(ReadOnlySpan<byte> bytes, ReadOnlySpan<BlobMask> masks, BlobHeaderFlags flags) =>
        (flags & BlobHeaderFlags.WordDigest) != 0 ? Digest(bytes, masks) : ByteDigest(bytes, masks);

    /// <summary>
    /// The digest of blobs with <see cref="BlobHeaderFlags.WordDigest"/> (1.2 on): FNV-1a 64 steps over the
    /// bytes taken as 8-byte little-endian words, then over the last <c>size % 8</c> bytes one at a time;
    /// <paramref name="masks"/> (sorted, disjoint) read as zeroes.
    /// </summary>
    public static ulong Digest(ReadOnlySpan<byte> bytes, ReadOnlySpan<BlobMask> masks)
    {
        if (masks.IsEmpty) return WordDigest(bytes);
        var copy = bytes.ToArray();
        ZeroMasked(copy, masks);
        return WordDigest(copy);
    }

    /// <summary>Sets the bytes <paramref name="masks"/> cover to 0 (a mask past the end is cut at it).</summary>
    public static void ZeroMasked(Span<byte> bytes, ReadOnlySpan<BlobMask> masks)
    {
        foreach (var m in masks)
        {
            int start = (int)Math.Min(m.Offset, (uint)bytes.Length);
            bytes.Slice(start, (int)Math.Min(m.Length, (uint)(bytes.Length - start))).Clear();
        }
    }

    /// <summary><see cref="Digest(ReadOnlySpan{byte}, ReadOnlySpan{BlobMask})"/> of bytes whose masked ones are already zero.</summary>
    public static ulong WordDigest(ReadOnlySpan<byte> bytes)
    {
        ulong h = DigestSeed;
        int words = bytes.Length / sizeof(ulong);
        for (int i = 0; i < words; i++)
            h = (h ^ BinaryPrimitives.ReadUInt64LittleEndian(bytes.Slice(i * sizeof(ulong), sizeof(ulong)))) * DigestPrime;
        foreach (byte b in bytes[(words * sizeof(ulong))..]) h = (h ^ b) * DigestPrime;
        return h;
    }

    /// <summary>The digest of blobs without <see cref="BlobHeaderFlags.WordDigest"/> (1.0, 1.1): FNV-1a 64 of the bytes, <paramref name="masks"/> read as zeroes.</summary>
    public static ulong ByteDigest(ReadOnlySpan<byte> bytes, ReadOnlySpan<BlobMask> masks)
    {
        ulong h = DigestSeed;
        int pos = 0;
        foreach (var m in masks)
        {
            int start = Math.Clamp((int)m.Offset, pos, bytes.Length), end = Math.Clamp((int)(m.Offset + m.Length), start, bytes.Length);
            foreach (byte b in bytes[pos..start]) h = (h ^ b) * DigestPrime;
            for (int i = start; i < end; i++) h *= DigestPrime; // (h ^ 0) * prime
            pos = end;
        }
        foreach (byte b in bytes[pos..]) h = (h ^ b) * DigestPrime;
        return h;
    }
}

/// <summary><c>KEDR_BLOB_*</c> header flags: each changes what the loader must do, so one it does not know is refused.</summary>
[Flags]
public enum BlobHeaderFlags : uint
{
    None = 0,
    /// <summary>Function digests are taken over 8-byte words (<see cref="BlobFormat.Digest(ReadOnlySpan{byte}, ReadOnlySpan{BlobMask})"/>); set by 1.2 writers.</summary>
    WordDigest = 0x1,
    /// <summary>
    /// The ORC entries of each helper call (<c>push $site</c> at fixup offset - 6, <c>call</c> at - 1) are not in
    /// the ORC table: the loader adds them from the state in effect at the push (that state with 8 more bytes
    /// from the call on, the state itself after it), where that state's CFA is %rsp-based; set by 1.2 writers.
    /// </summary>
    CallOrc = 0x2,
}

public enum BlobTableId { Strings = 0, Functions, Masks, Fixups, Sites, Patches, Code, ExTable, Bugs, Orc, Checksum, Imports, Calls, Probes }

[Flags]
public enum BlobFunctionFlags : uint { None = 0, Init = 0x1, Part = 0x2 }

/// <summary>
/// <c>KEDR_IMPORT_*</c> (1.6): <see cref="AddressTaken"/>, the target's data holds the function's address;
/// <see cref="StaticCall"/>, the symbol is a static call trampoline (<c>__SCT__*</c>) the copies call.
/// </summary>
[Flags]
public enum BlobImportFlags : uint { None = 0, AddressTaken = 0x1, StaticCall = 0x2 }

public enum BlobFixupType : byte { Pc32 = 1, Abs64 = 2, Abs32S = 3 }

public enum BlobFixupTarget : byte { Symbol = 1, Helper = 2 }

public enum BlobHelper : uint { FuncEvent = 0, MemEvent = 1, StringEvent = 2, BitOpEvent = 3, MemEventNoFlags = 4, Probe = 5 }

public enum BlobEventKind : byte
{
    Entry = 1, Exit, Read, Write, LockedUpdate, ReadWrite, String,
    /// <summary>1.7: a <see cref="LockedUpdate"/>'s instruction again, reported after it ran (the acquire side); also its record kind.</summary>
    LockedDone = 17,
}

[Flags]
public enum BlobSiteFlags : byte { None = 0, Gs = 0x1, StackPointer = 0x2, StringSourceRead = 0x4, StringDestinationRead = 0x8, StringDestinationWrite = 0x10 }

public enum BlobPatchKind : byte { LiveBytes = 1, JumpLabel = 2, Landing = 3 }
