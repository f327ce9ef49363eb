namespace Kedr.Core.Blob;

/// <summary><c>struct kedr_blob_func</c>; <see cref="Name"/> is resolved from the string table.</summary>
public record struct BlobFunction(string Name, uint SymbolIndex, uint Size, uint CopyOffset, uint CopySize,
    uint MaskFirst, uint MaskCount, BlobFunctionFlags Flags, ulong Digest, uint Owner);

/// <summary><c>struct kedr_blob_mask</c>: bytes of a function the kernel writes; offsets sorted, disjoint.</summary>
public readonly record struct BlobMask(uint Offset, uint Length);

/// <summary><c>struct kedr_blob_fixup</c>.</summary>
public readonly record struct BlobFixup(uint Offset, BlobFixupType Type, BlobFixupTarget Target, uint Index, long Addend);

/// <summary><c>struct kedr_blob_site</c>: an event's original function and pc offset.</summary>
public readonly record struct BlobSite(uint Function, uint Offset, BlobEventKind Kind, BlobSiteFlags Flags, ushort Size);

/// <summary><c>struct kedr_blob_patch</c>.</summary>
public readonly record struct BlobPatch(uint CopyOffset, uint Function, uint OriginalOffset, ushort Length,
    ushort SlotLength, BlobPatchKind Kind, uint TargetCopyOffset);

/// <summary>What the blob was built for.</summary>
public sealed record BlobTarget(string Name, string SrcVersion, uint SymbolCount, byte[] BuildId);
