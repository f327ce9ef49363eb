using Kedr.Output.Races;
using Kedr.Output.Tests.Support;

namespace Kedr.Output.Tests;

/// <summary>
/// <see cref="StreamedTrace"/> gives what <see cref="TraceReader"/> gives (the same events in the same order, the
/// same drops, so the same race reports) without holding the trace: its allocations do not grow with the file.
/// </summary>
public sealed class StreamedTraceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kedr-streamed.").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>
    /// A recording-like file: 4 CPUs with clocks up to 700 ns apart, each CPU's records in its order, written in
    /// chunks of 1-50 records taken from the CPUs in turn (as kedr record's threads append them); locks, signals,
    /// a few races, drops (seq gaps), and a record of an unknown kind.
    /// </summary>
    private static TraceBuilder Workload(int steps, int seed)
    {
        var rng = new Random(seed);
        long[] skew = [0, 700, -300, 250];
        var perCpu = Enumerable.Range(0, 4).Select(_ => new List<Rec>()).ToArray();
        var seq = new uint[4];
        ulong now = 1_000_000, lastSync = 0;
        void Ev(byte cpu, byte kind, uint tid, ulong pc, ulong addr = 0, uint size = 0, byte ctx = 0)
        {
            now += (ulong)rng.Next(1, 20);
            ulong ts = (ulong)((long)now + skew[cpu]);
            if (kind is >= Kinds.Acquire and <= Kinds.Free) ts = lastSync = Math.Max(ts, lastSync + 1);
            if (rng.Next(500) == 0) seq[cpu] += (uint)rng.Next(1, 4);          // dropped
            perCpu[cpu].Add(new Rec(ts, pc, addr, seq[cpu]++, tid, size, kind >= Kinds.Acquire ? Kinds.NoSite : 0, kind, cpu, ctx));
        }
        const ulong Fn = 0xffff_ffff_c000_0000, Lock = 0xffff_8880_0001_0000, Data = 0xffff_8880_0002_0000;
        for (int i = 0; i < steps; i++)
        {
            uint tid = (uint)rng.Next(100, 116);
            byte cpu = (byte)rng.Next(4);
            ulong fn = Fn + (ulong)rng.Next(8) * 0x100, lk = Lock + (ulong)rng.Next(4) * 64;
            Ev(cpu, Kinds.Entry, tid, fn);
            Ev(cpu, Kinds.Acquire, tid, fn + 4, lk);
            Ev(cpu, rng.Next(2) == 0 ? Kinds.Read : Kinds.Write, tid, fn + 8, Data + (lk - Lock) * 16 + (ulong)rng.Next(8) * 8, 8);
            Ev(cpu, Kinds.Release, tid, fn + 12, lk);
            if (rng.Next(10) == 0) Ev(cpu, Kinds.Write, tid, fn + 16 + (ulong)rng.Next(4), Data + 0x10000 + (ulong)rng.Next(4) * 8, 4);
            if (rng.Next(20) == 0) { Ev(cpu, Kinds.Signal, tid, fn + 32, Data + 0x20000); Ev((byte)((cpu + 1) % 4), Kinds.Wait, 0, fn + 36, Data + 0x20000, 0, 1); }
            if (i == steps / 2) perCpu[cpu].Add(new Rec(now, fn, 0, seq[cpu]++, tid, 0, 0, 77, cpu));   // unknown kind
            Ev(cpu, Kinds.Exit, tid, fn);
        }
        var b = new TraceBuilder();
        var at = new int[4];
        while (at.Select((a, c) => a < perCpu[c].Count).Any(x => x))
            for (int c = 0; c < 4; c++)
            {
                int n = Math.Min(rng.Next(1, 50), perCpu[c].Count - at[c]);
                b.Add([.. perCpu[c].GetRange(at[c], n)]);
                at[c] += n;
            }
        return b;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Streamed_events_drops_and_race_reports_are_those_of_the_whole_trace(int seed)
    {
        var path = Workload(3000, seed).WriteTo(_dir);
        var whole = TraceReader.Read(path);
        var streamed = StreamedTrace.Open(path);
        Assert.Equal(whole.Events, streamed.Events().ToList());
        Assert.True(whole.DroppedCount > 0, "the workload has drops");
        Assert.Equal(whole.DroppedCount, streamed.DroppedCount);
        Assert.Equal(whole.Warnings.Select(w => (w.Code, w.Offset)), streamed.Warnings.Select(w => (w.Code, w.Offset)));
        Assert.Equal(whole.Events.Where(e => e.Kind == TraceEventKind.Entry).Select(e => e.Pc).Distinct().Order(), streamed.EntryPcs.Order());

        var a = RaceDetector.Run(whole);
        var b = RaceDetector.Run(streamed);
        Assert.NotEmpty(a.Races);
        Assert.Equal(a.Races.Select(Key), b.Races.Select(Key));
        Assert.Equal((a.Events, a.MemoryEvents, a.SyncEvents, a.Threads, a.DroppedEvents), (b.Events, b.MemoryEvents, b.SyncEvents, b.Threads, b.DroppedEvents));
    }

    private static string Key(RacePair p) => $"{p.First.Pc:x}/{p.Second.Pc:x}/{p.Count}/{p.First.Timestamp}/{p.Second.Timestamp}";

    /// <summary>
    /// 1.5 million records (72 MB): reading them all as a stream allocates a few chunks, not the file (TraceReader
    /// holds the file and every decoded event: more than twice its size).
    /// </summary>
    [Fact]
    public void Reading_a_large_trace_as_a_stream_allocates_a_bounded_amount()
    {
        const int records = 1_500_000;
        var path = Path.Combine(_dir, "large.bin");
        using (var f = new BufferedStream(File.Create(path), 1 << 20))
        {
            var chunk = new TraceBuilder();
            var seq = new uint[4];
            for (int i = 0; i < records; i++)
            {
                byte cpu = (byte)(i % 4);
                chunk.Add(new Rec((ulong)i, 0xffff_ffff_c000_0010, 0xffff_8880_0000_0000 + (ulong)(i % 4096) * 8, seq[cpu]++, 100u + cpu, 8, 0, Kinds.Read, cpu));
                if (chunk.Records.Count == 100_000 || i == records - 1)
                {
                    var bytes = chunk.Build();
                    if (f.Position == 0) f.Write(bytes);
                    else f.Write(bytes.AsSpan(TraceLayout.Header.Size));
                    chunk.Records.Clear();
                }
            }
        }
        long fileBytes = new FileInfo(path).Length;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var t = StreamedTrace.Open(path);
        long n = 0;
        ulong sum = 0;
        foreach (var e in t.Events()) { n++; sum += e.Timestamp; }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(records, n);
        Assert.Equal((ulong)records * (records - 1) / 2, sum);
        Assert.Equal(0, t.DroppedCount);
        Assert.True(allocated < 8 << 20, $"reading {fileBytes:N0} bytes as a stream allocated {allocated:N0} bytes");
    }
}
