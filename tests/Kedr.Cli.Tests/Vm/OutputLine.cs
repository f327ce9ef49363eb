using System.Globalization;
using System.Text.RegularExpressions;

namespace Kedr.Cli.Tests.Vm;

/// <summary>One line of kedr_sample's output, parsed with the seed's grammar (written here, not taken from the code under test).</summary>
internal sealed partial record OutputLine(string Tid, string Kind, ulong Addr, string? Function, ulong Pc, string? PcFunction, ulong PcOffset, int Size)
{
    [GeneratedRegex(@"^TID=(0x[0-9a-f]+) (entry|exit): addr=0x([0-9a-f]+) \(""([^""]+)""\)$")]
    private static partial Regex FunctionEvent();

    [GeneratedRegex(@"^TID=(0x[0-9a-f]+) (read|write|locked update) at 0x([0-9a-f]+) \(([^+]+)\+0x([0-9a-f]+)/0x[0-9a-f]+ \[([^\]]+)\]\): addr=0x([0-9a-f]+), size=([0-9]+)$")]
    private static partial Regex MemoryEvent();

    public static OutputLine? Parse(string line)
    {
        var m = FunctionEvent().Match(line);
        if (m.Success)
            return new OutputLine(m.Groups[1].Value, m.Groups[2].Value, Hex(m.Groups[3].Value), m.Groups[4].Value, 0, null, 0, 0);
        m = MemoryEvent().Match(line);
        if (m.Success)
            return new OutputLine(m.Groups[1].Value, m.Groups[2].Value, Hex(m.Groups[7].Value), null, Hex(m.Groups[3].Value),
                m.Groups[4].Value, Hex(m.Groups[5].Value), int.Parse(m.Groups[8].Value, CultureInfo.InvariantCulture));
        return null;
    }

    private static ulong Hex(string s) => ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
