namespace Kedr.Core.Blob;

/// <summary>Constants of the blob format; the definition is <c>kmod/kedr_blob.h</c>.</summary>
public static class BlobFormat
{
    public static ReadOnlySpan<byte> Magic => "KEDRBLOB"u8;
    public const ushort VersionMajor = 1;
    public const ushort VersionMinor = 1;
    public const int BuildIdMax = 20;
    /// <summary>Tables this version writes; 1.0 blobs have <see cref="TableCountV1"/>.</summary>
    public const int TableCount = 10;
    public const int TableCountV1 = 7;

    // sizeof() of the C structs; BlobLayoutTests compiles the header to check them.
    public const int TableSize = 16;
    public const int HeaderSize = 68 + TableCount * TableSize;
    public const int HeaderSizeV1 = 68 + TableCountV1 * TableSize;
    public const int FunctionSize = 48;
    public const int MaskSize = 8;
    public const int FixupSize = 24;
    public const int SiteSize = 12;
    public const int PatchSize = 24;
    public const int ExTableSize = 24;
    public const int BugSize = 24;
    public const int OrcSize = 12;
    public const uint NoCopy = 0xffffffff;

    public const ulong DigestSeed = 0xcbf29ce484222325UL;
    public const ulong DigestPrime = 0x100000001b3UL;

    /// <summary>FNV-1a 64 of <paramref name="bytes"/> with <paramref name="masks"/> (sorted, disjoint) read as zeroes.</summary>
    public static ulong Digest(ReadOnlySpan<byte> bytes, ReadOnlySpan<BlobMask> masks)
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

public enum BlobTableId { Strings = 0, Functions, Masks, Fixups, Sites, Patches, Code, ExTable, Bugs, Orc }

[Flags]
public enum BlobFunctionFlags : uint { None = 0, Init = 0x1, Part = 0x2 }

public enum BlobFixupType : byte { Pc32 = 1, Abs64 = 2, Abs32S = 3 }

public enum BlobFixupTarget : byte { Symbol = 1, Helper = 2 }

public enum BlobHelper : uint { FuncEvent = 0, MemEvent = 1, StringEvent = 2, BitOpEvent = 3, MemEventNoFlags = 4 }

public enum BlobEventKind : byte { Entry = 1, Exit, Read, Write, LockedUpdate, ReadWrite, String }

[Flags]
public enum BlobSiteFlags : byte { None = 0, Gs = 0x1, StackPointer = 0x2, StringSourceRead = 0x4, StringDestinationRead = 0x8, StringDestinationWrite = 0x10 }

public enum BlobPatchKind : byte { LiveBytes = 1, JumpLabel = 2, Landing = 3 }
