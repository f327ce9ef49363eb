namespace Kedr.Core.Dwarf;

/// <summary>What kind of value an attribute form gives.</summary>
internal enum DwarfValueKind { Constant, Address, String, UnitReference, SectionReference, StringOffset, LineStringOffset, Index, Other }

/// <summary>An attribute's value, read by <see cref="DwarfForm.Read"/>.</summary>
internal readonly record struct DwarfValue(DwarfValueKind Kind, ulong Value, string? String = null, DwarfAddress Address = default);

/// <summary>The attribute forms of DWARF 2-5 (DWARF 5 §7.5.6): how many bytes each takes and what it means.</summary>
internal static class DwarfForm
{
    public const int Addr = 0x01, Block2 = 0x03, Block4 = 0x04, Data2 = 0x05, Data4 = 0x06, Data8 = 0x07, String = 0x08,
        Block = 0x09, Block1 = 0x0a, Data1 = 0x0b, Flag = 0x0c, Sdata = 0x0d, Strp = 0x0e, Udata = 0x0f, RefAddr = 0x10,
        Ref1 = 0x11, Ref2 = 0x12, Ref4 = 0x13, Ref8 = 0x14, RefUdata = 0x15, Indirect = 0x16, SecOffset = 0x17,
        Exprloc = 0x18, FlagPresent = 0x19, Strx = 0x1a, Addrx = 0x1b, RefSup4 = 0x1c, StrpSup = 0x1d, Data16 = 0x1e,
        LineStrp = 0x1f, RefSig8 = 0x20, ImplicitConst = 0x21, Loclistx = 0x22, Rnglistx = 0x23, RefSup8 = 0x24,
        Strx1 = 0x25, Strx2 = 0x26, Strx3 = 0x27, Strx4 = 0x28, Addrx1 = 0x29, Addrx2 = 0x2a, Addrx3 = 0x2b, Addrx4 = 0x2c,
        GnuAddrIndex = 0x1f01, GnuStrIndex = 0x1f02, GnuRefAlt = 0x1f20, GnuStrpAlt = 0x1f21;

    /// <summary>Reads one value of <paramref name="form"/>; <paramref name="section"/> names the section the
    /// cursor is in, to find the relocation of an address.</summary>
    public static DwarfValue Read(ref DwarfCursor c, int form, int offsetSize, int addressSize, long implicitConst,
        DwarfSections dwarf, string section)
    {
        switch (form)
        {
            case Addr:
                int at = c.Position;
                return new DwarfValue(DwarfValueKind.Address, 0, Address: dwarf.Address(section, at, c.Unsigned(addressSize)));
            case Data1: return new(DwarfValueKind.Constant, c.U8());
            case Data2: return new(DwarfValueKind.Constant, c.U16());
            case Data4: return new(DwarfValueKind.Constant, c.U32());
            case Data8: return new(DwarfValueKind.Constant, c.U64());
            case Data16: c.Skip(16); return new(DwarfValueKind.Other, 0);
            case Sdata: return new(DwarfValueKind.Constant, unchecked((ulong)c.Sleb()));
            case Udata: return new(DwarfValueKind.Constant, c.Uleb());
            case ImplicitConst: return new(DwarfValueKind.Constant, unchecked((ulong)implicitConst));
            case Flag: return new(DwarfValueKind.Constant, c.U8());
            case FlagPresent: return new(DwarfValueKind.Constant, 1);
            case String: return new(DwarfValueKind.String, 0, c.CString());
            case Strp: return new(DwarfValueKind.StringOffset, c.Unsigned(offsetSize));
            case LineStrp: return new(DwarfValueKind.LineStringOffset, c.Unsigned(offsetSize));
            case StrpSup or GnuStrpAlt or GnuRefAlt: c.Unsigned(offsetSize); return new(DwarfValueKind.Other, 0);
            case Ref1: return new(DwarfValueKind.UnitReference, c.U8());
            case Ref2: return new(DwarfValueKind.UnitReference, c.U16());
            case Ref4: return new(DwarfValueKind.UnitReference, c.U32());
            case Ref8: return new(DwarfValueKind.UnitReference, c.U64());
            case RefUdata: return new(DwarfValueKind.UnitReference, c.Uleb());
            case RefAddr: return new(DwarfValueKind.SectionReference, c.Unsigned(offsetSize));
            case RefSig8: c.U64(); return new(DwarfValueKind.Other, 0);
            case RefSup4: c.U32(); return new(DwarfValueKind.Other, 0);
            case RefSup8: c.U64(); return new(DwarfValueKind.Other, 0);
            case SecOffset: return new(DwarfValueKind.Constant, c.Unsigned(offsetSize));
            case Exprloc or Block: c.Skip(c.Uleb()); return new(DwarfValueKind.Other, 0);
            case Block1: c.Skip(c.U8()); return new(DwarfValueKind.Other, 0);
            case Block2: c.Skip(c.U16()); return new(DwarfValueKind.Other, 0);
            case Block4: c.Skip(c.U32()); return new(DwarfValueKind.Other, 0);
            case Strx or Addrx or Loclistx or Rnglistx or GnuAddrIndex or GnuStrIndex: return new(DwarfValueKind.Index, c.Uleb());
            case Strx1 or Addrx1: return new(DwarfValueKind.Index, c.U8());
            case Strx2 or Addrx2: return new(DwarfValueKind.Index, c.U16());
            case Strx3 or Addrx3: return new(DwarfValueKind.Index, c.U24());
            case Strx4 or Addrx4: return new(DwarfValueKind.Index, c.U32());
            case Indirect:
                return Read(ref c, (int)c.Uleb(), offsetSize, addressSize, implicitConst, dwarf, section);
            default:
                throw new DwarfFormatException($"unknown attribute form 0x{form:x} at 0x{c.Position:x} of {section}");
        }
    }

    /// <summary>The string a <c>strp</c> or <c>line_strp</c> value points at; null for other forms.</summary>
    public static string? StringOf(DwarfSections dwarf, int form, ulong offset) => form switch
    {
        Strp => DwarfCursor.StringAt(dwarf[".debug_str"], offset),
        LineStrp => DwarfCursor.StringAt(dwarf[".debug_line_str"], offset),
        _ => null,
    };

    /// <summary>The string of <paramref name="v"/>, if it is one the reader can find without an index section.</summary>
    public static string? StringOf(DwarfSections dwarf, in DwarfValue v) => v.Kind switch
    {
        DwarfValueKind.String => v.String,
        DwarfValueKind.StringOffset => DwarfCursor.StringAt(dwarf[".debug_str"], v.Value),
        DwarfValueKind.LineStringOffset => DwarfCursor.StringAt(dwarf[".debug_line_str"], v.Value),
        _ => null,
    };
}
