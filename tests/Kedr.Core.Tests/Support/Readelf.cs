using System.Globalization;
using System.Text.RegularExpressions;

namespace Kedr.Core.Tests.Support;

/// <summary>
/// GNU readelf (binutils) output, parsed: the independent reference the ELF reader is compared with.
/// Only the formats of <c>-SW</c>, <c>-sW</c>, <c>-rW</c>, <c>-n</c> and <c>-p</c> are handled.
/// </summary>
internal static partial class Readelf
{
    private const string Why = "to check the ELF reader against an independent one (binutils)";

    public sealed record Section(int Index, string Name, uint Type, ulong Offset, ulong Size, ulong EntrySize, ulong Flags, uint Link, uint Info, ulong Alignment);
    public sealed record Symbol(int Index, ulong Value, ulong Size, byte Type, byte Bind, ushort SectionIndex, string Name);
    public sealed record Relocation(ulong Offset, ulong Info, long Addend);

    public static string Output(string path, params string[] options) => TestEnvironment.Run("readelf", Why, [.. options, path]);

    private static readonly Dictionary<string, uint> SectionTypes = new()
    {
        ["NULL"] = 0, ["PROGBITS"] = 1, ["SYMTAB"] = 2, ["STRTAB"] = 3, ["RELA"] = 4, ["HASH"] = 5, ["DYNAMIC"] = 6,
        ["NOTE"] = 7, ["NOBITS"] = 8, ["REL"] = 9, ["INIT_ARRAY"] = 14, ["FINI_ARRAY"] = 15, ["GROUP"] = 17,
    };

    // readelf's key to the flags column.
    private static readonly Dictionary<char, ulong> SectionFlags = new()
    {
        ['W'] = 0x1, ['A'] = 0x2, ['X'] = 0x4, ['M'] = 0x10, ['S'] = 0x20, ['I'] = 0x40, ['L'] = 0x80,
        ['O'] = 0x100, ['G'] = 0x200, ['T'] = 0x400, ['C'] = 0x800, ['E'] = 0x80000000, ['l'] = 0x10000000,
    };

    public static List<Section> Sections(string path)
    {
        var result = new List<Section>();
        foreach (var line in Output(path, "-SW").Split('\n'))
        {
            var m = SectionLine().Match(line);
            if (!m.Success) continue;
            int index = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            var t = m.Groups[2].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // [0] has no name; most sections have flags, some (.comment-like, .symtab) none.
            string name = index == 0 ? "" : t[0];
            var rest = index == 0 ? t : t[1..];
            if (rest.Length is not (8 or 9))
                throw new FormatException($"readelf -SW line not understood: {line}");
            string flags = rest.Length == 9 ? rest[5] : "";
            int k = rest.Length == 9 ? 6 : 5;
            if (!SectionTypes.TryGetValue(rest[0], out var type))
                throw new FormatException($"section type {rest[0]} not known to the test: {line}");
            ulong f = 0;
            foreach (var c in flags)
                f |= SectionFlags.TryGetValue(c, out var bit) ? bit : throw new FormatException($"section flag '{c}' not known to the test: {line}");
            result.Add(new Section(index, name, type, Hex(rest[2]), Hex(rest[3]), Hex(rest[4]), f,
                uint.Parse(rest[k], CultureInfo.InvariantCulture), uint.Parse(rest[k + 1], CultureInfo.InvariantCulture),
                ulong.Parse(rest[k + 2], CultureInfo.InvariantCulture)));
        }
        return result;
    }

    /// <summary>The entries of <c>.symtab</c>, and the count from readelf's heading.</summary>
    public static (int Declared, List<Symbol> Symbols) Symbols(string path)
    {
        var result = new List<Symbol>();
        int declared = -1;
        foreach (var line in Output(path, "-sW").Split('\n'))
        {
            var h = SymtabHeading().Match(line);
            if (h.Success) { declared = int.Parse(h.Groups[1].Value, CultureInfo.InvariantCulture); continue; }
            var m = SymbolLine().Match(line);
            if (!m.Success) continue;
            string size = m.Groups[3].Value;
            byte type = m.Groups[4].Value switch
            {
                "NOTYPE" => 0, "OBJECT" => 1, "FUNC" => 2, "SECTION" => 3, "FILE" => 4, "COMMON" => 5, "TLS" => 6,
                var x => throw new FormatException($"symbol type {x} not known to the test"),
            };
            byte bind = m.Groups[5].Value switch
            {
                "LOCAL" => 0, "GLOBAL" => 1, "WEAK" => 2, "UNIQUE" => 10,
                var x => throw new FormatException($"symbol binding {x} not known to the test"),
            };
            ushort ndx = m.Groups[7].Value switch
            {
                "UND" => 0, "ABS" => 0xfff1, "COM" => 0xfff2,
                var x => ushort.Parse(x, CultureInfo.InvariantCulture),
            };
            result.Add(new Symbol(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Hex(m.Groups[2].Value),
                size.StartsWith("0x", StringComparison.Ordinal) ? Hex(size[2..]) : ulong.Parse(size, CultureInfo.InvariantCulture),
                type, bind, ndx, m.Groups[8].Value));
        }
        return (declared, result);
    }

    /// <summary>Per relocation section (by name): the count in readelf's heading and the entries listed.</summary>
    public static Dictionary<string, (int Declared, List<Relocation> Entries)> Relocations(string path)
    {
        var result = new Dictionary<string, (int, List<Relocation>)>();
        List<Relocation>? current = null;
        foreach (var line in Output(path, "-rW").Split('\n'))
        {
            var h = RelaHeading().Match(line);
            if (h.Success)
            {
                current = [];
                result[h.Groups[1].Value] = (int.Parse(h.Groups[2].Value, CultureInfo.InvariantCulture), current);
                continue;
            }
            var m = RelaLine().Match(line);
            if (!m.Success || current is null) continue;
            // "... symbol value  name + 1f" or "name - 4"; with no symbol, just the addend.
            var tail = m.Groups[3].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long addend = tail.Length switch
            {
                >= 2 when tail[^2] is "+" or "-" => tail[^2] == "-" ? -(long)Hex(tail[^1]) : (long)Hex(tail[^1]),
                1 => tail[0].StartsWith('-') ? -(long)Hex(tail[0][1..]) : (long)Hex(tail[0]),
                _ => throw new FormatException($"readelf -rW line not understood: {line}"),
            };
            current.Add(new Relocation(Hex(m.Groups[1].Value), Hex(m.Groups[2].Value), addend));
        }
        return result;
    }

    /// <summary>The strings of <c>.modinfo</c>, in order.</summary>
    public static List<string> ModInfo(string path) =>
        Output(path, "-p", ".modinfo").Split('\n').Select(l => ModInfoLine().Match(l)).Where(m => m.Success)
            .Select(m => m.Groups[1].Value).ToList();

    /// <summary>The GNU build-id as lowercase hex, or null.</summary>
    public static string? BuildId(string path)
    {
        var m = BuildIdLine().Match(Output(path, "-n"));
        return m.Success ? m.Groups[1].Value : null;
    }

    private static ulong Hex(string s) => ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^\s*\[\s*(\d+)\]\s(.*)$")] private static partial Regex SectionLine();
    [GeneratedRegex(@"^Symbol table '\.symtab' contains (\d+) entr")] private static partial Regex SymtabHeading();
    [GeneratedRegex(@"^\s*(\d+):\s+([0-9a-f]{16})\s+(\S+)\s+(\w+)\s+(\w+)\s+(\w+)\s+(\S+)(?: (.*))?$")] private static partial Regex SymbolLine();
    [GeneratedRegex(@"^Relocation section '(.+)' at offset 0x[0-9a-f]+ contains (\d+) entr")] private static partial Regex RelaHeading();
    [GeneratedRegex(@"^([0-9a-f]{16})\s+([0-9a-f]{16})\s+\S+\s*(.*)$")] private static partial Regex RelaLine();
    [GeneratedRegex(@"^\s*\[\s*[0-9a-f]+\]  (.*)$")] private static partial Regex ModInfoLine();
    [GeneratedRegex(@"Build ID: ([0-9a-f]+)")] private static partial Regex BuildIdLine();
}
