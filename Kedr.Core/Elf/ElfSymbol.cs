namespace Kedr.Core.Elf;

/// <summary>An entry of <c>.symtab</c>. <see cref="Index"/> is its position, which the kernel keeps.</summary>
public readonly record struct ElfSymbol(int Index, string Name, ulong Value, ulong Size, byte Info, byte Other, ushort SectionIndex)
{
    public byte Type => (byte)(Info & 0xf);
    public byte Bind => (byte)(Info >> 4);
    public bool IsFunction => Type == ElfConstants.SttFunc;
    public bool IsSection => Type == ElfConstants.SttSection;
    public bool IsUndefined => SectionIndex == ElfConstants.ShnUndef;

    /// <summary>True where the symbol lives in a section of this file.</summary>
    public bool IsDefinedInSection => SectionIndex != ElfConstants.ShnUndef && SectionIndex < ElfConstants.ShnLoReserve;
}
