using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Kedr.Core.Blob;
using Kedr.Kernel.Tests.Vm;
using Kedr.Kernel.Vm;
using Kedr.Output;
using Xunit.Abstractions;

namespace Kedr.Kernel.Tests.Pipeline;

/// <summary>
/// kedr_sample's event pipeline in the real guest kernel on 4 vCPUs: per-CPU buffers that overflow,
/// exact counts, the text and binary streams, and reading the debugfs files in every state.
/// The expected number of events comes from kedr_stress_driver's own count of the calls it made
/// and from the target's code (kedr_stress_target.h: a call of kst_work(buf, n) gives 2 + 2n events,
/// kst_nested(buf, n) 6 + 2n: its locked update is recorded twice, before and after the instruction, blob 1.7),
/// never from kedr_sample. The text stream has a line for every record but a locked update's second one.
/// </summary>
public sealed partial class PipelineTests(PipelineFixture fx, ITestOutputHelper output) : IClassFixture<PipelineFixture>
{
    private const int TestTimeoutMs = 10 * 60 * 1000;

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Under_overflow_recorded_plus_dropped_is_what_ran_and_text_and_binary_agree()
    {
        const int records = 2048;
        var vm = await RunAsync("stress.sh", $"NR_RECORDS={records} WORKERS=4 WRITES=8 ITERS=200 CALLS=20\n");

        // What ran, by the driver's count and the target's code.
        // "<function> <context> <calls> <iterations>" lines; the driver's own "events" total is not used.
        var counts = Text(vm, "counts.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith("kst_", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToDictionary(p => string.Join(' ', p[..^2]), p => p[^2..].Select(ulong.Parse).ToArray());
        ulong Calls(string path) => counts[path][0];
        ulong Iters(string path) => counts[path][1];
        var paths = new[] { "kst_work task", "kst_work hardirq", "kst_nested irq_work", "kst_nested softirq" };
        Assert.All(paths, p => Assert.True(Calls(p) > 0, $"no call from {p}"));
        Assert.Equal(4UL * 8 * 20, Calls("kst_work task"));
        Assert.Equal(4UL * 8 * 20 * 200, Iters("kst_work task"));
        var executed = paths.Aggregate(0UL, (sum, p) => sum + (p.StartsWith("kst_nested", StringComparison.Ordinal) ? 6UL : 2UL) * Calls(p) + 2 * Iters(p));

        // kedr_sample's counts: per CPU and in total, from stats and from the text stream's last line.
        var stats = Stats.Parse(Text(vm, "stats.txt"));
        Assert.Equal(4, stats.Cpus.Count);
        Assert.All(stats.Cpus, c => Assert.Equal((ulong)records, c.Size));
        Assert.Equal(stats.Cpus.Aggregate(0UL, (sum, c) => sum + c.Recorded), stats.Recorded);
        Assert.Equal(stats.Cpus.Aggregate(0UL, (sum, c) => sum + c.Dropped), stats.Dropped);
        Assert.Equal(executed, stats.Recorded + stats.Dropped);
        Assert.True(stats.Dropped > 0, "the buffers never overflowed");

        var lines = Text(vm, "output.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"events: {stats.Recorded} recorded, {stats.Dropped} dropped", lines[^1]);
        var textEvents = lines[..^1];
        Assert.All(textEvents, l => Assert.Matches(SeedLine(), l));

        // The binary stream: the same events, per CPU in order, with gaps exactly where drops were.
        var trace = TraceStream.Parse(vm.Files["trace.bin"]);
        Assert.Equal(PipelineFixture.Target, trace.Target);
        Assert.Equal(TraceStream.RecordSizeV1, trace.RecordSize);
        Assert.NotEqual(0UL, trace.CoreBase);
        Assert.Equal(stats.Recorded, (ulong)trace.Records.Count);
        foreach (var cpu in stats.Cpus)
        {
            var mine = trace.Records.Where(r => r.Cpu == cpu.Cpu).ToList();
            Assert.Equal(cpu.Recorded, (ulong)mine.Count);
            // Stamps (docs/record-format.md, "Merge order"): local_clock() for most records, never going
            // back on a CPU; the shared clock for sync records (here the locked updates, LOCKED_UPDATE and
            // LOCKED_DONE): max(local_clock(), last + 1), so increasing, and not below this CPU's earlier
            // records. A record after a sync record may have a smaller stamp than it.
            ulong lastLocal = 0, lastSync = 0;
            for (var i = 0; i < mine.Count; i++)
            {
                if (i > 0) Assert.True(mine[i].Seq > mine[i - 1].Seq, $"cpu {cpu.Cpu}: seq {mine[i].Seq} after {mine[i - 1].Seq}");
                bool sync = mine[i].Kind is 5 or 17 || mine[i].Kind is >= 9 and <= 14;
                Assert.True(mine[i].Ts >= lastLocal && (!sync || mine[i].Ts > lastSync), $"cpu {cpu.Cpu}: time goes back at seq {mine[i].Seq}");
                if (sync) lastSync = mine[i].Ts;
                else lastLocal = mine[i].Ts;
            }
            if (mine.Count > 0) Assert.True(mine[^1].Seq < cpu.Recorded + cpu.Dropped);
        }
        Assert.Contains(trace.Records, r => r.Context == TraceStream.CtxHardirq);
        Assert.Contains(trace.Records, r => r.Context == TraceStream.CtxSoftirq);
        Assert.Contains(trace.Records, r => r.Context == TraceStream.CtxTask);
        Assert.All(trace.Records, r => Assert.True(r.Kind is >= 1 and <= 5 or 17 && r.Site < fx.Blob.Sites.Count, $"bad record {r}"));
        Assert.Contains(trace.Records, r => r.Kind == 5 && r.Size == 8);

        // Kedr.Output's reader sees the same records, and as drops exactly the gaps in each CPU's
        // sequence numbers before its last record (the rest of the CPU's drops came after it).
        Assert.True(TraceReader.TryRead(vm.Files["trace.bin"], "trace.bin", out var decoded, out var error), error?.ToString());
        Assert.Empty(decoded!.Warnings);
        Assert.Equal(trace.Records.Count, decoded.Events.Count);
        Assert.Equal(
            trace.Records.Select(r => (r.Cpu, r.Seq, r.Ts, r.Pc, r.Addr, r.Tid, r.Size, r.Site, r.Kind, r.Context)).Order(),
            decoded.Events.Select(e => (e.Cpu, e.Seq, e.Timestamp, e.Pc, e.Addr, e.Tid, e.Size, e.Site, (byte)e.Kind, (byte)e.Context)).Order());
        var gaps = stats.Cpus.Where(c => c.Recorded > 0).Aggregate(0L, (sum, c) =>
            sum + (long)(trace.Records.Where(r => r.Cpu == c.Cpu).Max(r => r.Seq) + 1 - c.Recorded));
        Assert.Equal(gaps, decoded.DroppedCount);

        // Event for event: every record, rendered with the seed's grammar from the blob, is a line of
        // the text stream, as many times as there.
        // A locked update's second record (KEDR_EV_LOCKED_DONE, after its instruction) has no text line.
        const byte LockedDone = 17;
        ulong doneRecords = (ulong)trace.Records.Count(r => r.Kind == LockedDone);
        Assert.True(doneRecords > 0, "no locked update was recorded twice (kst_nested's lock incq)");
        Assert.Equal(stats.Recorded, (ulong)textEvents.Length + doneRecords);
        var rendered = trace.Records.Where(r => r.Kind != LockedDone).Select(r => Render(r, fx.Blob)).ToList();
        var textBag = textEvents.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        var binBag = rendered.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        var diff = textBag.Where(kv => binBag.GetValueOrDefault(kv.Key) != kv.Value).Select(kv => kv.Key)
            .Concat(binBag.Keys.Where(k => !textBag.ContainsKey(k))).Take(5).ToList();
        Assert.True(diff.Count == 0, "text and binary differ, e.g.:\n" + string.Join('\n', diff));

        // `cat output` streamed while the target was loaded.
        var live = ulong.Parse(Text(vm, "live-lines.txt").Trim(), CultureInfo.InvariantCulture);
        Assert.True(live > 0, "nothing streamed while the target was loaded");

        var t = Text(vm, "timing.txt").Split(' ').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var seconds = Math.Max(t[1] - t[0], 0.01);
        output.WriteLine($"workload {seconds:F2} s: {executed} events ({executed / seconds:F0}/s), {stats.Recorded} recorded " +
            $"({stats.Recorded / seconds:F0}/s), {stats.Dropped} dropped; {live} lines streamed before the target was removed");
        foreach (var c in stats.Cpus) output.WriteLine($"cpu {c.Cpu}: {c.Recorded} recorded, {c.Dropped} dropped");
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task Reading_in_every_state_and_during_rmmod_never_hurts_the_guest()
    {
        var vm = await RunAsync("removal.sh");

        // O_NONBLOCK: EAGAIN when there is nothing, the pending events and then EAGAIN when there are.
        Assert.Equal("", Text(vm, "nb-empty.txt"));
        Assert.Equal("EAGAIN", Text(vm, "nb-empty-end.txt").Trim());
        Assert.Equal("EAGAIN", Text(vm, "nb-some-end.txt").Trim());
        var some = Text(vm, "nb-some.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2 + 2 * 5, some.Length); // kst_work(buf, 5)
        Assert.All(some, l => Assert.Matches(SeedLine(), l));
        Assert.Matches("entry: .*\"kst_work\"", some[0]);
        Assert.Matches("exit: .*\"kst_work\"", some[^1]);

        Assert.Equal("gone", Text(vm, "gone.txt").Trim());
        output.WriteLine($"rmmod kedr_sample refused {Text(vm, "rmmod-tries.txt").Trim()} time(s) while the files were read");
    }

    private async Task<VmRunResult> RunAsync(string script, string prelude = "")
    {
        var outDir = Path.Combine(fx.Work, Path.GetFileNameWithoutExtension(script) + "-" + Guid.NewGuid().ToString("N")[..8]);
        var vm = await VmRunner.RunAsync(fx.Request(script, outDir, prelude), new TestOutputLogger(output));
        output.WriteLine($"{script}: {vm.Elapsed.TotalSeconds:F1} s\n{vm.ScriptOutput}");
        Assert.True(vm.Healthy, "guest unhealthy:\n" + string.Join('\n', vm.Problems) + "\n" + vm.Console[^Math.Min(4000, vm.Console.Length)..]);
        Assert.Equal(0, vm.ScriptExitCode);
        return vm;
    }

    private static string Text(VmRunResult vm, string name) =>
        vm.Files.TryGetValue(name, out var b) ? Encoding.UTF8.GetString(b) : throw new Xunit.Sdk.XunitException($"no /out/{name}");

    /// <summary>The seed's grammar for the two kinds of lines.</summary>
    [GeneratedRegex(@"^TID=0x[0-9a-f]+ ((entry|exit): addr=0x[0-9a-f]+ \(""[^""]+""\)|(read|write|locked update) at 0x[0-9a-f]+ \([^+]+\+0x[0-9a-f]+/0x[0-9a-f]+ \[[^\]]+\]\): addr=0x[0-9a-f]+, size=[0-9]+)$")]
    private static partial Regex SeedLine();

    /// <summary>A record as the seed writes it, with names and offsets from the blob.</summary>
    private static string Render(TraceRecord r, KedrBlob blob)
    {
        var site = blob.Sites[(int)r.Site];
        var f = blob.Functions[(int)site.Function];
        var kind = r.Kind switch { 1 => "entry", 2 => "exit", 3 => "read", 4 => "write", 5 => "locked update", _ => "?" };
        return r.Kind is 1 or 2
            ? $"TID=0x{r.Tid:x} {kind}: addr=0x{r.Pc:x} (\"{blob.Functions[(int)f.Owner].Name}\")"
            : $"TID=0x{r.Tid:x} {kind} at 0x{r.Pc:x} ({f.Name}+0x{site.Offset:x}/0x{f.Size:x} [{blob.Target.Name}]): addr=0x{r.Addr:x}, size={r.Size}";
    }

    private sealed record CpuStats(int Cpu, ulong Recorded, ulong Dropped, ulong Size);

    /// <summary>/sys/kernel/debug/kedr_sample/stats: "# cpu recorded dropped size filtered waited_ms", a line per CPU, "all ...".</summary>
    private sealed record Stats(IReadOnlyList<CpuStats> Cpus, ulong Recorded, ulong Dropped)
    {
        public static Stats Parse(string text)
        {
            var cpus = new List<CpuStats>();
            ulong recorded = 0, dropped = 0;
            var sawAll = false;
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')))
            {
                var p = line.Split(' ');
                Assert.Equal(6, p.Length);
                var n = p[1..].Select(s => ulong.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                if (p[0] == "all") { (recorded, dropped, sawAll) = (n[0], n[1], true); }
                else cpus.Add(new CpuStats(int.Parse(p[0], CultureInfo.InvariantCulture), n[0], n[1], n[2]));
            }
            Assert.True(sawAll, "stats: no 'all' line");
            return new Stats(cpus, recorded, dropped);
        }
    }
}
