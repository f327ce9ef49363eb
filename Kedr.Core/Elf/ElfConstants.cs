namespace Kedr.Core.Elf;

/// <summary>The subset of the ELF constants that x86-64 kernel modules use.</summary>
public static class ElfConstants
{
    public const int HeaderSize = 64;
    public const int SectionHeaderSize = 64;
    public const int SymbolSize = 24;
    public const int RelaSize = 24;

    public const byte ElfClass64 = 2;
    public const byte ElfData2Lsb = 1;
    public const ushort EtRel = 1;
    public const ushort EmX86_64 = 62;

    public const uint ShtNull = 0, ShtProgbits = 1, ShtSymtab = 2, ShtStrtab = 3, ShtRela = 4,
        ShtNote = 7, ShtNobits = 8, ShtRel = 9, ShtGroup = 17, ShtSymtabShndx = 18;

    public const ulong ShfWrite = 0x1, ShfAlloc = 0x2, ShfExecInstr = 0x4;

    public const ushort ShnUndef = 0, ShnLoReserve = 0xff00, ShnAbs = 0xfff1, ShnCommon = 0xfff2, ShnXIndex = 0xffff;

    public const byte SttNotype = 0, SttObject = 1, SttFunc = 2, SttSection = 3, SttFile = 4;
    public const byte StbLocal = 0, StbGlobal = 1, StbWeak = 2;

    public const uint NtGnuBuildId = 3;
}

/// <summary>x86-64 relocation types (psABI), those seen in kernel modules.</summary>
public enum RelocationType : uint
{
    None = 0,
    Abs64 = 1,      // S + A
    Pc32 = 2,       // S + A - P
    Plt32 = 4,      // L + A - P (the kernel treats it as PC32)
    Abs32 = 10,     // S + A, zero-extended
    Abs32S = 11,    // S + A, sign-extended
    Pc64 = 24,      // S + A - P
}
