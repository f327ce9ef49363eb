namespace Kedr.Core.Dwarf;

/// <summary>One abbreviation declaration: a DIE's tag, whether it has children, and its attributes' forms.</summary>
internal sealed record DwarfAbbreviation(ulong Tag, bool HasChildren, (int Name, int Form, long ImplicitConst)[] Attributes);

/// <summary>The abbreviation tables of <c>.debug_abbrev</c> (DWARF 5 §7.5.3), read once per offset.</summary>
internal sealed class DwarfAbbreviations(DwarfSections dwarf)
{
    private readonly Dictionary<ulong, Dictionary<ulong, DwarfAbbreviation>> _tables = [];

    public Dictionary<ulong, DwarfAbbreviation> At(ulong offset)
    {
        if (_tables.TryGetValue(offset, out var t)) return t;
        var data = dwarf[".debug_abbrev"];
        if (offset >= (ulong)data.Length) throw new DwarfFormatException($"abbreviation offset 0x{offset:x} past the end of .debug_abbrev");
        var c = new DwarfCursor(data, (int)offset);
        t = [];
        for (ulong code; (code = c.Uleb()) != 0;)
        {
            ulong tag = c.Uleb();
            bool children = c.U8() != 0;
            var attrs = new List<(int, int, long)>();
            for (;;)
            {
                ulong name = c.Uleb(), form = c.Uleb();
                if (name == 0 && form == 0) break;
                long implicitConst = form == DwarfForm.ImplicitConst ? c.Sleb() : 0;
                attrs.Add(((int)Math.Min(name, int.MaxValue), (int)Math.Min(form, int.MaxValue), implicitConst));
            }
            t[code] = new DwarfAbbreviation(tag, children, attrs.ToArray());
        }
        return _tables[offset] = t;
    }
}
