namespace Kedr.Core.Elf;

/// <summary>An <c>Elf64_Rela</c> entry: patch <see cref="Offset"/> of the target section with symbol + addend.</summary>
public readonly record struct ElfRelocation(ulong Offset, RelocationType Type, int SymbolIndex, long Addend)
{
    /// <summary>Bytes the relocation writes.</summary>
    public int Width => Type switch
    {
        RelocationType.Abs64 or RelocationType.Pc64 => 8,
        RelocationType.None => 0,
        _ => 4,
    };

    public bool IsPcRelative => Type is RelocationType.Pc32 or RelocationType.Plt32 or RelocationType.Pc64;
}
