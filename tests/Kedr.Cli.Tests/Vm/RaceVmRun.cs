using System.Text.Json;
using System.Text.RegularExpressions;
using Kedr.Cli.Vm;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Vm;

/// <summary>
/// One race target of kmod/kedr_race_target in the guest (4 vCPUs) with kedr_sample attached: load it,
/// let its two threads run their steps, unload it, bring the binary trace back and give it to
/// <c>kedr races --ko ... --format json</c>. <paramref name="extraModules"/> (payloads) are loaded before the target.
/// </summary>
internal static class RaceVmRun
{
    public static string TargetDir => Path.Combine(RepositoryPaths.Kmod, "kedr_race_target");

    public static async Task<JsonElement> RunAsync(string target, ITestOutputHelper output, IReadOnlyList<string>? extraModules = null) =>
        (await RunWithEventsAsync(target, output, extraModules)).Races;

    /// <summary>As <see cref="RunAsync"/>, plus the trace's events as <c>kedr report --format json</c> gives them.</summary>
    public static async Task<(JsonElement Races, List<JsonElement> Events)> RunWithEventsAsync(string target, ITestOutputHelper output,
        IReadOnlyList<string>? extraModules = null)
    {
        var script = Path.GetTempFileName();
        var dir = Directory.CreateTempSubdirectory("kedr-race-vm-");
        // Payloads use kedr_sample's symbols: loaded before the target, unloaded (last first) once the trace is read,
        // or kedr_sample cannot be unloaded after the script.
        var names = (extraModules ?? []).Select(k => Path.GetFileNameWithoutExtension(k)).ToList();
        var loads = string.Concat(names.Select(n => $"insmod /lib/modules/kedr/{n}.ko\n"));
        var unloads = string.Concat(Enumerable.Reverse(names).Select(n => $"\nrmmod {n}"));
        File.WriteAllText(script, $"""
            {loads}insmod /lib/modules/kedr/{target}.ko
            # 50 steps of each thread, 200-400 us apart: well within a second, even under TCG.
            sleep 2
            # A target with a debugfs file of its name (kedr_race_work's exit twin): one write through it, closed before rmmod.
            if [ -e /sys/kernel/debug/{target} ]; then echo 1 > /sys/kernel/debug/{target}; fi
            # kedr_race_completion's recycled bio: two processes, one after the other, on one CPU (the same block again).
            if [ -e /sys/kernel/debug/{target}.bio ]; then taskset 1 sh -c 'echo 1 > /sys/kernel/debug/{target}.bio'; taskset 1 sh -c 'echo 2 > /sys/kernel/debug/{target}.bio'; fi
            rmmod {target}
            cat /sys/kernel/debug/kedr_sample/trace > /out/race-trace.bin{unloads}
            """);
        try
        {
            var result = await InstrumentedRun.RunAsync(new InstrumentedRunRequest(target, script)
            {
                Cpus = 4,
                ExtraModules = extraModules ?? [],
                Timeout = TimeSpan.FromSeconds(240),
            }, NullLogger.Instance, default);
            var vm = result.Vm;
            Assert.True(vm.Healthy, "guest unhealthy:\n" + string.Join('\n', vm.Problems));
            Assert.True(vm.ScriptExitCode == 0 && vm.Files.ContainsKey("race-trace.bin"), $"the guest script failed ({vm.ScriptExitCode})\n{vm.ScriptOutput}");
            var tracePath = Path.Combine(dir.FullName, "trace.bin");
            File.WriteAllBytes(tracePath, vm.Files["race-trace.bin"]);
            var ko = Path.Combine(TargetDir, target + ".ko");
            var text = KedrProcess.Run(dir.FullName, "races", tracePath, "--ko", ko);
            output.WriteLine(text.ToString());
            var r = KedrProcess.Run(dir.FullName, "races", tracePath, "--ko", ko, "--format", "json");
            Assert.True(r.ExitCode == 0, r.ToString());
            using var doc = JsonDocument.Parse(r.Stdout);
            var root = doc.RootElement.Clone();
            Assert.True(root.GetProperty("memory_events").GetInt64() > 0, "no memory event recorded:\n" + r.Stdout);
            Assert.True(root.GetProperty("dropped").GetInt64() == 0, "events were lost:\n" + r.Stdout);
            var report = KedrProcess.Run(dir.FullName, "report", tracePath, "--ko", ko, "--format", "json");
            Assert.True(report.ExitCode == 0, report.ToString());
            using var events = JsonDocument.Parse(report.Stdout);
            return (root, events.RootElement.GetProperty("events").EnumerateArray().Select(e => e.Clone()).ToList());
        }
        finally
        {
            File.Delete(script);
            dir.Delete(true);
        }
    }

    /// <summary>The line of <paramref name="source"/> that carries <paramref name="mark"/>, found by reading the file.</summary>
    public static int LineOf(string source, string mark)
    {
        var lines = File.ReadAllLines(Path.Combine(TargetDir, source));
        var hits = Enumerable.Range(0, lines.Length).Where(i => lines[i].Contains(mark, StringComparison.Ordinal)).ToList();
        Assert.True(hits.Count == 1, $"{source}: {hits.Count} lines with '{mark}'");
        return hits[0] + 1;
    }

    /// <summary>
    /// The logical threads (docs/races.md) of the memory events of <paramref name="events"/> at the line of
    /// <paramref name="source"/> marked <paramref name="mark"/>: "task TID" for a task other than the idle
    /// one, "CONTEXT cpu N" for the idle task and the interrupt contexts.
    /// </summary>
    public static HashSet<string> ThreadsAt(List<JsonElement> events, string source, string mark)
    {
        var threads = new HashSet<string>();
        foreach (var e in EventsAt(events, source, mark))
        {
            var context = e.GetProperty("context").GetString();
            uint tid = e.GetProperty("tid").GetUInt32();
            threads.Add(context == "task" && tid != 0 ? $"task {tid}" : $"{context} cpu {e.GetProperty("cpu").GetInt32()}");
        }
        return threads;
    }

    /// <summary>The memory events (reads, writes) of <paramref name="events"/> at the line of <paramref name="source"/> marked <paramref name="mark"/>.</summary>
    public static List<JsonElement> EventsAt(List<JsonElement> events, string source, string mark)
    {
        int line = LineOf(source, mark);
        var at = new List<JsonElement>();
        foreach (var e in events)
        {
            var kind = e.GetProperty("kind").GetString();
            if (kind is not ("read" or "write") || e.GetProperty("source").GetString() is not { } s) continue;
            var m = Regex.Match(s, @"^(\S+):(\d+)");
            if (m.Success && Path.GetFileName(m.Groups[1].Value) == source && int.Parse(m.Groups[2].Value) == line) at.Add(e);
        }
        return at;
    }

    /// <summary>The record flags of a <c>kedr report --format json</c> event ("per-cpu", "own-task"; none: empty).</summary>
    public static HashSet<string> Flags(JsonElement e) =>
        e.TryGetProperty("flags", out var f) && f.ValueKind == JsonValueKind.Array ? f.EnumerateArray().Select(x => x.GetString()!).ToHashSet() : [];

    /// <summary>file:line of one side of a race ("…/kedr_race_racy.c:17"), the line as a number.</summary>
    public static (string File, int Line) Source(JsonElement access)
    {
        var s = access.GetProperty("source").GetString() ?? "";
        var m = Regex.Match(s, @"^(\S+):(\d+)");
        Assert.True(m.Success, $"no file:line in '{s}'");
        return (Path.GetFileName(m.Groups[1].Value), int.Parse(m.Groups[2].Value));
    }
}
