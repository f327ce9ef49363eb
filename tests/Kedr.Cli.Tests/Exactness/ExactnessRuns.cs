using System.Text;
using Kedr.Cli.Tests.Vm;
using Kedr.Cli.Vm;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kedr.Cli.Tests.Exactness;

/// <summary>One run of the exactness target under kedr_sample, and what came back.</summary>
internal sealed record ExactnessRun(bool ProcessSpAccesses, InstrumentedRunResult Result, GuestFacts? Facts, IReadOnlyList<OutputLine> Events,
    string? Problem);

/// <summary>
/// Runs the exactness target twice in the guest, with and without process_sp_accesses=1: the
/// target built from kmod/ by scripts/vm/build-kmod.sh, instrumented by the rewriter, loaded
/// under kedr_sample; every case run once through debugfs; the target unloaded. Shared by
/// every class's test.
/// </summary>
public sealed class ExactnessRuns : IAsyncLifetime
{
    public const string Target = "kedr_exactness_target";

    private const string Script = """
        insmod /lib/modules/kedr/kedr_exactness_target.ko
        grep '\[kedr_exactness_target\]' /proc/kallsyms > /out/kallsyms.txt
        grep -m1 '^flags' /proc/cpuinfo > /out/cpuflags.txt
        echo run > /sys/kernel/debug/kedr_exactness/run
        cat /sys/kernel/debug/kedr_exactness/expected > /out/expected.txt
        rmmod kedr_exactness_target
        """;

    private readonly Dictionary<bool, ExactnessRun> _runs = [];

    internal ExactnessRun Get(bool processSpAccesses) => _runs[processSpAccesses];

    public async Task InitializeAsync()
    {
        var script = Path.GetTempFileName();
        File.WriteAllText(script, Script);
        try
        {
            // One after the other: two TCG guests at once would only slow each other down.
            foreach (bool sp in new[] { false, true })
            {
                var result = await InstrumentedRun.RunAsync(new InstrumentedRunRequest(Target, script) { ProcessSpAccesses = sp },
                    NullLogger.Instance, default);
                _runs[sp] = Collect(sp, result);
            }
        }
        finally
        {
            File.Delete(script);
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static ExactnessRun Collect(bool sp, InstrumentedRunResult result)
    {
        var vm = result.Vm;
        var events = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(OutputLine.Parse).Where(e => e is not null).Select(e => e!).ToList();
        string? problem = null;
        var loaderLines = string.Join('\n', vm.Dmesg.Split('\n').Where(l => l.Contains("kedr_sample:", StringComparison.Ordinal)));
        if (!vm.Healthy || vm.ScriptExitCode != 0)
            problem = $"guest run failed (healthy={vm.Healthy}, script status {vm.ScriptExitCode}):\n"
                + string.Join('\n', vm.Problems) + "\n" + vm.ScriptOutput + "\n" + loaderLines;
        else if (!vm.Dmesg.Contains($"kedr_sample: {Target}: attached", StringComparison.Ordinal))
            problem = $"kedr_sample did not attach to {Target}:\n" + loaderLines;
        GuestFacts? facts = null;
        if (vm.Files.TryGetValue("expected.txt", out var expected) && vm.Files.TryGetValue("kallsyms.txt", out var kallsyms))
        {
            var flags = vm.Files.TryGetValue("cpuflags.txt", out var f) ? Encoding.UTF8.GetString(f) : "";
            facts = GuestFacts.Parse(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(kallsyms), flags);
            if (!facts.Done) problem ??= "the exactness target's run did not finish:\n" + Encoding.UTF8.GetString(expected);
        }
        else problem ??= "the guest brought back no expected.txt/kallsyms.txt";
        return new ExactnessRun(sp, result, facts, events, problem);
    }
}
