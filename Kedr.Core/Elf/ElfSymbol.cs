namespace Kedr.Core.Elf;

/// <summary>An entry of <c>.symtab</c>. <see cref="Index"/> is its position, which the kernel keeps.</summary>
public readonly record struct ElfSymbol
{
    private readonly ElfSymbolNames _names;

    internal ElfSymbol(int index, ElfSymbolNames names, uint nameOffset, ulong value, ulong size, byte info, byte other, ushort sectionIndex)
    {
        Index = index;
        _names = names;
        NameOffset = nameOffset;
        Value = value;
        Size = size;
        Info = info;
        Other = other;
        SectionIndex = sectionIndex;
    }

    public int Index { get; }
    /// <summary>The name, decoded from the string table when first asked for (most symbols' names are never needed).</summary>
    public string Name => _names.Get(Index, NameOffset);
    /// <summary>Where the name starts in the symbol table's string table.</summary>
    public uint NameOffset { get; }
    public ulong Value { get; }
    public ulong Size { get; }
    public byte Info { get; }
    public byte Other { get; }
    public ushort SectionIndex { get; }

    public byte Type => (byte)(Info & 0xf);
    public byte Bind => (byte)(Info >> 4);
    public bool IsFunction => Type == ElfConstants.SttFunc;
    public bool IsSection => Type == ElfConstants.SttSection;
    public bool IsUndefined => SectionIndex == ElfConstants.ShnUndef;

    /// <summary>True where the symbol lives in a section of this file.</summary>
    public bool IsDefinedInSection
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        get => SectionIndex != ElfConstants.ShnUndef && SectionIndex < ElfConstants.ShnLoReserve;
    }
}
