using System.Text;
using Kedr.Cli.Tests.Vm;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Exactness;

/// <summary>
/// Every memory access of the exactness target recorded exactly: for each class of
/// instructions, the memory events of its case in the thread that ran it — kind, pc, address,
/// size, order — are exactly those the issue's semantics give for the instructions the case
/// executes (<see cref="ExactnessClasses"/>, <see cref="Semantics"/>), with pcs from the
/// guest's kallsyms and addresses from what the target reports. %rsp-based accesses are
/// expected only with process_sp_accesses=1. A class the rewriter does not instrument fails.
/// </summary>
public sealed class ExactnessTests(ExactnessRuns runs, ITestOutputHelper output) : IClassFixture<ExactnessRuns>
{
    public static TheoryData<string, bool> Classes()
    {
        var data = new TheoryData<string, bool>();
        foreach (var c in ExactnessClasses.All)
        {
            data.Add(c.Name, false);
            data.Add(c.Name, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Classes))]
    public void Class_is_recorded_exactly(string className, bool processSpAccesses)
    {
        var cls = ExactnessClasses.All.Single(c => c.Name == className);
        var run = runs.Get(processSpAccesses);
        if (run.Problem is not null) Assert.Fail(run.Problem);
        var facts = run.Facts!;

        Assert.True(facts.Cases.TryGetValue(cls.Case, out var caseRun), $"the target did not report {cls.Case}");
        if (!caseRun!.Ran)
        {
            // Only a CPU without the feature excuses a case, and then both the guest's cpuinfo
            // and the module must say so.
            Assert.True(cls.CpuFlag is not null && !facts.CpuFlags.Contains(cls.CpuFlag) && caseRun.SkipReason == "no_" + cls.CpuFlag,
                $"{cls.Case} did not run ({caseRun.SkipReason})");
            output.WriteLine($"{cls.Name}: not checkable here: the guest CPU has no {cls.CpuFlag} (/proc/cpuinfo)");
            return;
        }
        Assert.True(caseRun.CheckOk, $"{cls.Case}: the target's own check of its results failed (see kedr_exactness_main.c)");

        string tid = $"0x{facts.Tid:x}";
        var thread = run.Events.Where(e => e.Tid == tid).ToList();
        int entry = thread.FindIndex(e => e.Kind == "entry" && e.Function == cls.Case);
        Assert.True(entry >= 0, $"no entry event for {cls.Case}: its copy did not run\n{NotInstrumented(run, cls)}");

        var expected = cls.Expected(facts, caseRun).Where(a => processSpAccesses || !a.SpBased).ToList();
        var actual = thread.Where(e => e.PcFunction is not null && cls.Functions.Contains(e.PcFunction)).ToList();
        // The case runs once: its events follow its entry, and the resolved pc agrees with kallsyms.
        Assert.All(actual, e => Assert.True(thread.IndexOf(e) > entry, $"event before {cls.Case}'s entry: {e}"));
        Assert.All(actual, e => Assert.Equal(facts.Symbol(e.PcFunction!) + e.PcOffset, e.Pc));
        var labels = facts.Symbols.Where(s => s.Key.StartsWith("kxl_", StringComparison.Ordinal))
            .GroupBy(s => s.Value).ToDictionary(g => g.Key, g => string.Join('/', g.Select(s => s.Key)));

        var diff = Compare(expected, actual, facts, labels);
        foreach (var line in diff.Report) output.WriteLine(line);
        Assert.True(diff.Equal, $"{cls.Name} (process_sp_accesses={(processSpAccesses ? 1 : 0)}): recorded events differ from the expected ones\n"
            + string.Join('\n', diff.Report) + "\n" + NotInstrumented(run, cls));
    }

    private static (bool Equal, List<string> Report) Compare(List<Access> expected, List<OutputLine> actual, GuestFacts facts,
        Dictionary<ulong, string> labels)
    {
        var report = new List<string>();
        bool equal = expected.Count == actual.Count;
        int n = Math.Max(expected.Count, actual.Count);
        for (int i = 0; i < n; i++)
        {
            string exp = "-", act = "-";
            bool same = false;
            if (i < expected.Count)
            {
                var e = expected[i];
                exp = $"{e.OutputKind} at 0x{facts.Symbol(e.Label):x} ({e.Label}) addr=0x{e.Addr:x} size={e.Size}";
            }
            if (i < actual.Count)
            {
                var a = actual[i];
                act = $"{a.Kind} at 0x{a.Pc:x} ({(labels.TryGetValue(a.Pc, out var l) ? l : $"{a.PcFunction}+0x{a.PcOffset:x}")}) addr=0x{a.Addr:x} size={a.Size}";
            }
            if (i < expected.Count && i < actual.Count)
            {
                var e = expected[i];
                var a = actual[i];
                same = a.Kind == e.OutputKind && a.Pc == facts.Symbol(e.Label) && a.Addr == e.Addr && (ulong)a.Size == e.Size;
            }
            equal &= same;
            report.Add(same ? $"  ok  {exp}" : $"  ≠   expected {exp}\n        recorded {act}");
        }
        if (n == 0) report.Add("  (no events, as expected)");
        return (equal, report);
    }

    private static string NotInstrumented(ExactnessRun run, ExactnessClass cls)
    {
        var report = run.Result.Report;
        var sb = new StringBuilder();
        foreach (var s in report.NotInstrumented.Where(s => cls.Functions.Any(f => s.EndsWith(" in " + f, StringComparison.Ordinal))))
            sb.AppendLine("rewriter: not instrumented: " + s);
        foreach (var f in report.LeftOut.Where(f => cls.Functions.Contains(f.Name)))
            sb.AppendLine($"rewriter: left out {f.Name}: {f.Reason}");
        return sb.ToString();
    }
}
