using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Kedr.Core.Elf;

/// <summary>
/// An <c>Elf64_Rela</c> entry: patch <see cref="Offset"/> of the target section with symbol + addend.
/// Laid out as in the file (r_offset, r_info, r_addend), so that a RELA section's bytes can be read
/// as these without a copy (<see cref="RelocationTable"/>).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct ElfRelocation
{
    private readonly ulong _offset;
    /// <summary>r_info: the symbol's index in the high 32 bits, the type in the low 32.</summary>
    private readonly ulong _info;
    private readonly long _addend;

    public ElfRelocation(ulong offset, RelocationType type, int symbolIndex, long addend)
    {
        _offset = offset;
        _info = (ulong)(uint)symbolIndex << 32 | (uint)type;
        _addend = addend;
    }

    public ulong Offset => _offset;
    public RelocationType Type => (RelocationType)(uint)_info;
    public int SymbolIndex => (int)(_info >> 32);
    public long Addend => _addend;

    /// <summary>Bytes the relocation writes.</summary>
    /// <remarks>Asked per instruction by the rewriter: the NativeAOT build left these as calls without the hint.</remarks>
    public int Width
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Type switch
        {
            RelocationType.Abs64 or RelocationType.Pc64 => 8,
            RelocationType.None => 0,
            _ => 4,
        };
    }

    public bool IsPcRelative
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Type is RelocationType.Pc32 or RelocationType.Plt32 or RelocationType.Pc64;
    }
}
