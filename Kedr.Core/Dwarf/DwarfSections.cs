using System.Buffers.Binary;
using Kedr.Core.Elf;

namespace Kedr.Core.Dwarf;

/// <summary>An address in the debug information: an offset in code section <see cref="Section"/> (the
/// name of the section the relocation's symbol is in), or an absolute address when Section is null.</summary>
public readonly record struct DwarfAddress(string? Section, ulong Value)
{
    public DwarfAddress Plus(ulong delta) => this with { Value = Value + delta };
    public override string ToString() => Section is null ? $"0x{Value:x}" : $"{Section}+0x{Value:x}";
}

/// <summary>
/// The <c>.debug_*</c> sections of an ELF file that source lines use (<see cref="Used"/>), with the relocations of their <c>.rela.debug_*</c>
/// sections applied. A module is a relocatable object: its debug information refers to code and to the
/// other debug sections through relocations (R_X86_64_64 / R_X86_64_32 against section symbols, the
/// section offset in the addend), with zeros in the section bytes. Each relocation writes S + A into a
/// copy of the bytes; one whose symbol is in an allocated section is remembered, so that the address
/// read there is known to be relative to that section (<see cref="Address"/>).
/// </summary>
public sealed class DwarfSections
{
    private readonly Dictionary<string, byte[]> _data = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<int, string>> _addressTargets = new(StringComparer.Ordinal);

    /// <summary>The sections source lines read; the others (.debug_loclists, .debug_frame...) are not copied.</summary>
    public static readonly IReadOnlySet<string> Used = new HashSet<string>(StringComparer.Ordinal)
    {
        ".debug_line", ".debug_line_str", ".debug_info", ".debug_abbrev", ".debug_str", ".debug_rnglists", ".debug_ranges",
    };

    private DwarfSections(ElfFile elf)
    {
        foreach (var sec in elf.Sections)
        {
            if (!Used.Contains(sec.Name) || sec.Type == ElfConstants.ShtNobits) continue;
            var bytes = sec.Data.ToArray();
            var targets = new Dictionary<int, string>();
            foreach (ref readonly var r in elf.RelocationSpan(sec))
            {
                int width = r.Type switch
                {
                    RelocationType.Abs64 => 8,
                    RelocationType.Abs32 or RelocationType.Abs32S => 4,
                    _ => 0,
                };
                if (width == 0 || r.Offset > (ulong)bytes.Length || (ulong)bytes.Length - r.Offset < (ulong)width) continue;
                if (r.SymbolIndex <= 0 || r.SymbolIndex >= elf.Symbols.Count) continue;
                ref readonly var sym = ref elf.Symbol(r.SymbolIndex);
                ulong value = unchecked(sym.Value + (ulong)r.Addend);
                var at = bytes.AsSpan((int)r.Offset, width);
                if (width == 8) BinaryPrimitives.WriteUInt64LittleEndian(at, value);
                else BinaryPrimitives.WriteUInt32LittleEndian(at, (uint)value);
                if (sym.IsDefinedInSection && sym.SectionIndex < elf.Sections.Count && elf.Sections[sym.SectionIndex].IsAlloc)
                    targets[(int)r.Offset] = elf.Sections[sym.SectionIndex].Name;
            }
            _data[sec.Name] = bytes;
            if (targets.Count > 0) _addressTargets[sec.Name] = targets;
        }
        IsRelocatable = elf.Sections.Any(s => s.Type == ElfConstants.ShtRela && s.Name.StartsWith(".rela.debug_", StringComparison.Ordinal));
    }

    /// <summary>The debug sections of <paramref name="elf"/>, or null if it has no <c>.debug_line</c>.</summary>
    public static DwarfSections? Load(ElfFile elf)
    {
        var line = elf.FindSection(".debug_line");
        if (line is null || line.Type == ElfConstants.ShtNobits || line.Size == 0) return null;
        return new DwarfSections(elf);
    }

    /// <summary>True if addresses are section-relative (a relocatable object such as a .ko).</summary>
    public bool IsRelocatable { get; }

    /// <summary>The relocated bytes of section <paramref name="name"/> (e.g. ".debug_line"); empty if absent.</summary>
    public ReadOnlySpan<byte> this[string name] => _data.TryGetValue(name, out var b) ? b : default;

    public bool Has(string name) => _data.ContainsKey(name);

    /// <summary>The address <paramref name="value"/> read at <paramref name="offset"/> of <paramref name="section"/>,
    /// relative to the code section its relocation named (absolute when none did).</summary>
    public DwarfAddress Address(string section, int offset, ulong value) =>
        _addressTargets.TryGetValue(section, out var t) && t.TryGetValue(offset, out var s) ? new DwarfAddress(s, value)
        : new DwarfAddress(null, value);
}
