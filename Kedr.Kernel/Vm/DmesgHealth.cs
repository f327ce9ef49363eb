using System.Text.RegularExpressions;

namespace Kedr.Kernel.Vm;

/// <summary>
/// Tells whether a guest kernel log shows a problem: an oops, BUG, WARN, a fault the
/// kernel died on, a panic, a stack dump, a hung task or an RCU stall.
/// </summary>
/// <remarks>
/// The patterns are the lines of <c>scripts/vm/dmesg-problems.ere</c>, which
/// <c>run.sh</c> uses with <c>grep -E</c>; a test keeps the two identical. None of them
/// occurs in a clean boot of the 6.1 cloud kernel (taint messages for unsigned
/// out-of-tree modules do not match). <c>int3</c> is matched as the kernel reports it when
/// it dies on one (<c>int3: 0000 [#1] ...</c>), so a message merely mentioning int3 is not
/// a problem; the die header <c>&lt;what&gt;: 0000 [#N]</c> is also matched on its own,
/// whatever the trap.
/// </remarks>
public static class DmesgHealth
{
    /// <summary>The patterns, in the syntax common to .NET and POSIX extended regular expressions.</summary>
    public static IReadOnlyList<string> Patterns { get; } =
    [
        @"\b[Oo]ops\b",
        @"BUG:",
        @"kernel BUG",
        @"WARNING:",
        @"general protection",
        @"invalid opcode",
        @"\bint3: [0-9a-f]{4} \[#[0-9]+\]",
        @"[A-Za-z0-9)]: [0-9a-f]{4} \[#[0-9]+\]",
        @"Kernel panic",
        @"Call Trace",
        @"INFO: task .* blocked for more than",
        @"rcu: INFO: .* detected stalls",
        @"rcu: INFO: .* self-detected stall",
    ];

    private static readonly Regex Problem = new(
        string.Join("|", Patterns.Select(p => $"(?:{p})")),
        RegexOptions.CultureInvariant | RegexOptions.Compiled);

    /// <summary>The lines of <paramref name="log"/> that show a problem, in order, without line ends.</summary>
    public static IReadOnlyList<string> FindProblems(string log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var problems = new List<string>();
        foreach (var raw in log.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (Problem.IsMatch(line)) problems.Add(line);
        }
        return problems;
    }

    /// <summary>True if no line of <paramref name="log"/> shows a problem.</summary>
    public static bool IsHealthy(string log) => FindProblems(log).Count == 0;
}
