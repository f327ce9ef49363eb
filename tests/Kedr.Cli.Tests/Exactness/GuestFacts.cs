using System.Globalization;
using System.Text.RegularExpressions;

namespace Kedr.Cli.Tests.Exactness;

/// <summary>What the exactness target reported about one case of its run.</summary>
internal sealed record CaseRun(string Name, bool Ran, string? SkipReason, int Cpu, ulong Pcpu, bool CheckOk, ulong? Sp);

/// <summary>
/// The facts a run of the exactness target gives the test: from
/// /sys/kernel/debug/kedr_exactness/expected the thread and the buffers it used, per case
/// whether it ran and where; from the guest's /proc/kallsyms the address of every kxl_*
/// label (one per instruction of interest) and kx_* function; the guest CPU's flags.
/// </summary>
internal sealed partial class GuestFacts
{
    public required int Tid { get; init; }
    public required ulong A { get; init; }
    public required ulong B { get; init; }
    public required ulong C { get; init; }
    /// <summary>kx_data.</summary>
    public required ulong D { get; init; }
    /// <summary>kx_fptr.</summary>
    public required ulong Fptr { get; init; }
    public required bool Done { get; init; }
    public required IReadOnlyDictionary<string, CaseRun> Cases { get; init; }
    public required IReadOnlyDictionary<string, ulong> Symbols { get; init; }
    public required IReadOnlySet<string> CpuFlags { get; init; }

    [GeneratedRegex(@"^case (\S+) ran cpu=(\d+) pcpu=0x([0-9a-f]+) check=(ok|bad)(?: sp=0x([0-9a-f]+))?$")]
    private static partial Regex RanLine();

    [GeneratedRegex(@"^case (\S+) skipped (\S+)$")]
    private static partial Regex SkippedLine();

    public ulong Symbol(string name) =>
        Symbols.TryGetValue(name, out var a) ? a
        : throw new Xunit.Sdk.XunitException($"{name} is not in the guest's kallsyms for kedr_exactness_target");

    public static GuestFacts Parse(string expected, string kallsyms, string cpuinfoFlags)
    {
        var values = new Dictionary<string, string>();
        var cases = new Dictionary<string, CaseRun>();
        bool done = false;
        foreach (var raw in expected.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var line = raw.Trim();
            Match m;
            if (line == "done") done = true;
            else if ((m = RanLine().Match(line)).Success)
                cases[m.Groups[1].Value] = new CaseRun(m.Groups[1].Value, true, null, int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
                    Hex(m.Groups[3].Value), m.Groups[4].Value == "ok", m.Groups[5].Success ? Hex(m.Groups[5].Value) : null);
            else if ((m = SkippedLine().Match(line)).Success)
                cases[m.Groups[1].Value] = new CaseRun(m.Groups[1].Value, false, m.Groups[2].Value, -1, 0, false, null);
            else if (line.IndexOf('=') is int eq and > 0)
                values[line[..eq]] = line[(eq + 1)..];
        }
        ulong Addr(string key) => values.TryGetValue(key, out var v) && v.StartsWith("0x", StringComparison.Ordinal) ? Hex(v[2..])
            : throw new Xunit.Sdk.XunitException($"kedr_exactness/expected has no {key}=0x...:\n{expected}");

        var symbols = new Dictionary<string, ulong>();
        foreach (var line in kallsyms.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 3 && parts[1] is "t" or "T")
                symbols.TryAdd(parts[2], Hex(parts[0]));
        }
        var flags = cpuinfoFlags.Split([' ', '\t', '\n', ':'], StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        return new GuestFacts
        {
            Tid = values.TryGetValue("tid", out var tid) ? int.Parse(tid, CultureInfo.InvariantCulture)
                : throw new Xunit.Sdk.XunitException("kedr_exactness/expected has no tid=: did the run happen?\n" + expected),
            A = Addr("a"), B = Addr("b"), C = Addr("c"), D = Addr("data"), Fptr = Addr("fptr"),
            Done = done, Cases = cases, Symbols = symbols, CpuFlags = flags,
        };
    }

    private static ulong Hex(string s) => ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
