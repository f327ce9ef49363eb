using System.Text;
using Microsoft.Extensions.Logging;

namespace Kedr.Cli.Vm;

/// <summary>The demo's result: the instrumented run, kedr_alloc's trace lines and its leak report.</summary>
internal sealed record DemoResult(InstrumentedRunResult Run, string AllocTrace, string Leaks);

/// <summary>
/// <c>kedr demo</c>: the sample target instrumented, with the built-in kedr_alloc payload loaded after
/// kedr_sample and before the target, its trace events enabled; a scenario script drives the target;
/// then the tracing buffer and kedr_alloc's leak report come back.
/// </summary>
internal static class DemoRun
{
    public const string Target = "kedr_sample_target";

    /// <summary>The built-in payload the demo loads.</summary>
    public static string AllocSpec => Path.Combine(RepositoryPaths.Kmod, "payloads", "kedr_alloc", "kedr_alloc.json");

    /// <summary>The demo's own scenario: the seed's usage of /dev/cfake0.</summary>
    public static string Scenario => Path.Combine(RepositoryPaths.Root, "scripts", "demo", "cfake.sh");

    public static async Task<DemoResult> RunAsync(string scenarioPath, ILogger log, CancellationToken ct)
    {
        await KmodBuilder.BuildAsync(log, ct);
        var payload = await PayloadBuilder.BuildAsync(AllocSpec, log, ct);
        var script = Path.GetTempFileName();
        try
        {
            File.WriteAllText(script, GuestScript(File.ReadAllText(scenarioPath)));
            var run = await InstrumentedRun.RunAsync(new InstrumentedRunRequest(Target, script) { ExtraModules = [payload] }, log, ct);
            return new DemoResult(run, Text(run, "alloc-trace.txt"), Text(run, "alloc-leaks.txt"));
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static string Text(InstrumentedRunResult run, string file) =>
        run.Vm.Files.TryGetValue(file, out var b) ? Encoding.UTF8.GetString(b) : "";

    /// <summary>
    /// kedr_alloc loaded and its events (group kedr_alloc) enabled around the scenario; the trace and the
    /// leak report (written at the target's unload) saved, and kedr_alloc unloaded so that kedr_sample can be.
    /// </summary>
    private static string GuestScript(string scenario) => $"""
        T=/sys/kernel/debug/tracing
        insmod /lib/modules/kedr/kedr_alloc.ko
        echo nop > $T/current_tracer
        echo > $T/trace
        echo 1 > $T/events/kedr_alloc/enable
        {scenario}
        echo 0 > $T/events/kedr_alloc/enable
        cat $T/trace > /out/alloc-trace.txt
        cat /sys/kernel/debug/kedr_alloc/leaks > /out/alloc-leaks.txt
        rmmod kedr_alloc

        """;
}
