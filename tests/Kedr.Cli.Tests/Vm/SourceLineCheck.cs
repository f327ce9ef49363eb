using System.Globalization;
using System.Text.RegularExpressions;
using Kedr.Tests.Shared;

namespace Kedr.Cli.Tests.Vm;

/// <summary>
/// Checks the <c>    at file:line</c> line <c>kedr report</c> writes after each memory event against
/// binutils: the event's function+offset placed in its section with <c>readelf -s</c> and
/// <c>readelf -S</c>, then <c>addr2line -j SECTION</c>, none of which is the code under test.
/// </summary>
internal static partial class SourceLineCheck
{
    [GeneratedRegex(@"^TID=0x[0-9a-f]+ (?:read|write|locked update) at 0x[0-9a-f]+ \(([^+]+)\+0x([0-9a-f]+)/0x[0-9a-f]+ \[[^\]]+\]\)")]
    private static partial Regex MemoryEvent();

    /// <summary>Returns how many memory events were checked; fails on the first one without the right line.</summary>
    public static int Check(string reportText, string ko)
    {
        var sectionNames = new Dictionary<string, string>();
        foreach (Match m in Regex.Matches(DebugModule.Run(".", "readelf", "-S", "-W", ko), @"^\s*\[\s*(\d+)\]\s+(\S+)", RegexOptions.Multiline))
            sectionNames[m.Groups[1].Value] = m.Groups[2].Value;
        var functions = new Dictionary<string, (string Section, ulong Value)>();
        foreach (var l in DebugModule.Run(".", "readelf", "-s", "-W", ko).Split('\n'))
        {
            var f = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 8 && f[3] == "FUNC" && sectionNames.TryGetValue(f[6], out var sec))
                functions.TryAdd(f[7], (sec, ulong.Parse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
        }
        var lines = reportText.Split('\n');
        int checkedCount = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            var m = MemoryEvent().Match(lines[i]);
            if (!m.Success) continue;
            var (section, value) = functions[m.Groups[1].Value];
            ulong offset = value + ulong.Parse(m.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var expected = DebugModule.Run(".", "addr2line", "-e", ko, "-j", section, $"0x{offset:x}").Trim();
            expected = Regex.Replace(expected, @" \(discriminator \d+\)$", "");
            Assert.True(i + 1 < lines.Length && lines[i + 1].StartsWith("    at " + expected, StringComparison.Ordinal),
                $"after '{lines[i]}' expected '    at {expected}' (addr2line -j {section} 0x{offset:x}), got '{(i + 1 < lines.Length ? lines[i + 1] : "")}'");
            checkedCount++;
        }
        return checkedCount;
    }
}
