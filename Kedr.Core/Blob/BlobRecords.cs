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

/// <summary><c>struct kedr_blob_extable</c>: an exception-table entry moved to the copy.</summary>
public readonly record struct BlobExTableEntry(uint InsnCopy, uint FixupCopy, uint FixupSymbol, long FixupAddend, uint Data);

/// <summary><c>struct kedr_blob_bug</c>: a WARN/BUG site moved to the copy.</summary>
public readonly record struct BlobBug(uint CopyOffset, uint FileSymbol, long FileAddend, ushort Line, ushort Flags);

/// <summary><c>struct kedr_blob_orc</c>: unwind data from <see cref="CopyOffset"/> on (6 raw bytes of struct orc_entry).</summary>
public readonly record struct BlobOrc(uint CopyOffset, ulong Entry);

/// <summary>
/// <c>struct kedr_blob_import</c> (1.4): a kernel function (an undefined symbol) the copies call or tail-call
/// through the stub at <see cref="StubOffset"/>, or (1.6, <see cref="BlobImportFlags.AddressTaken"/>) whose address
/// the target's data holds; <see cref="Name"/> is resolved from the string table.
/// </summary>
public readonly record struct BlobImport(string Name, uint SymbolIndex, uint StubOffset, BlobImportFlags Flags = BlobImportFlags.None);

/// <summary>
/// <c>struct kedr_blob_call</c> (1.4): the <c>call</c> to import <see cref="Import"/>'s stub that ends at
/// <see cref="ReturnOffset"/> of the code image, made for the instruction at <see cref="OriginalOffset"/> of
/// function <see cref="Function"/>'s original.
/// </summary>
public readonly record struct BlobImportCall(uint ReturnOffset, uint Function, uint OriginalOffset, uint Import);

/// <summary>
/// <c>struct kedr_blob_probe</c> (1.5): a probe at the instruction at <see cref="Offset"/> (<see cref="Length"/> bytes)
/// of function <see cref="Function"/>'s original; its copy is preceded by <c>push $site; call</c> at
/// <see cref="CopyOffset"/>, where <see cref="Site"/> is the index of the first probe at the same place.
/// </summary>
public readonly record struct BlobProbe(uint Function, uint Offset, uint CopyOffset, uint Site, ushort Length);
