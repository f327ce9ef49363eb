using System.Runtime.CompilerServices;
using Kedr.Core.Blob;

namespace Kedr.Rewriter.Planning;

/// <summary>Why an instruction that accesses memory gets no event (<see cref="MemoryAccess.Reason"/>); the text is made only when reported.</summary>
internal enum NotInstrumentedReason : byte
{
    None,
    XlatAddress32,
    VectorIndexed,
    Address32,
    FsRelative,
    SizeNotKnown,
    StringNotKnown,
    StringFsRelative,
    StringAddress32,
    StringWithFixup,
}

/// <summary>
/// What <see cref="MemoryAccessClassifier.Classify(in Iced.Intel.Instruction)"/> found, in one register: the class, the event's
/// kind, site flags and size, why it is not instrumented, and whether the instruction overwrites %rax without reading it.
/// </summary>
internal readonly struct MemoryAccess
{
    // bits 0-7 class, 8-15 kind, 16-23 site flags, 24-31 reason, 32-47 size, 48 overwrites %rax
    private readonly ulong _bits;

    private MemoryAccess(ulong bits) => _bits = bits;

    public MemoryAccess(MemoryClass cls, BlobEventKind kind, BlobSiteFlags flags, ushort size, bool overwritesRax = false)
        : this((ulong)cls | (ulong)kind << 8 | (ulong)flags << 16 | (ulong)size << 32 | (overwritesRax ? 1UL << 48 : 0)) { }

    /// <summary>An access this version does not record, and why.</summary>
    public static MemoryAccess Refused(NotInstrumentedReason reason) => new((ulong)MemoryClass.NotInstrumented | (ulong)reason << 24);

    // Marked for inlining: NativeAOT left them as calls, with the value spilled to the stack for each.
    public MemoryClass Class { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => (MemoryClass)(byte)_bits; }
    public BlobEventKind Kind { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => (BlobEventKind)(byte)(_bits >> 8); }
    public BlobSiteFlags Flags { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => (BlobSiteFlags)(byte)(_bits >> 16); }
    public NotInstrumentedReason Reason { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => (NotInstrumentedReason)(byte)(_bits >> 24); }
    public ushort Size { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => (ushort)(_bits >> 32); }
    /// <summary>An operand load that writes all of %rax (or %eax) and reads no part of it: %rax before it is dead.</summary>
    public bool OverwritesRax { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => (_bits & 1UL << 48) != 0; }
}
