using System.Buffers.Binary;
using System.Diagnostics;
using Kedr.Output;
using Kedr.Output.Races;

namespace Kedr.Benchmarks;

/// <summary>
/// <c>-- races stream [EVENTS]</c>: a synthetic workload of EVENTS events (default 30 million) fed to
/// <see cref="RaceDetector"/> as it is generated (no trace in memory), with the events/s and the
/// process's peak working set. <c>-- races write EVENTS FILE</c>: the same workload as a binary trace
/// file (kedr_record.h), to time <c>kedr races FILE</c> end to end (reader included).
/// </summary>
/// <remarks>
/// The workload: 64 tasks on 4 CPUs and the CPUs' softirq contexts; each step a task enters a function,
/// takes one of 256 locks, makes 8 accesses (reads and writes) to a 64 MiB heap under it, releases it,
/// does a locked update of one of 1,024 counters, and every 64th step writes a field of a shared
/// table with no lock (the races), and hands an object to a softirq (signal/wait).
/// </remarks>
public static class RaceDetectorThroughput
{
    public static int Run(string[] args)
    {
        if (args is ["write", var n, var file]) return Write(long.Parse(n), file);
        long events = args is ["stream", var m, ..] ? long.Parse(m) : 30_000_000;
        var d = new RaceDetector();
        var sw = Stopwatch.StartNew();
        long count = 0;
        foreach (var e in Generate(events)) { d.Process(e); count++; }
        sw.Stop();
        var r = d.Result();
        using var p = Process.GetCurrentProcess();
        Console.WriteLine($"races stream: {count:N0} events in {sw.Elapsed.TotalSeconds:F1} s = {count / sw.Elapsed.TotalSeconds / 1e6:F2} M events/s; " +
            $"{r.Races.Count} racy pairs, {r.Threads} threads, peak shadow cells {r.PeakCells:N0}, evicted {r.EvictedCells:N0}; " +
            $"peak working set {p.PeakWorkingSet64 / (1 << 20):N0} MiB");
        return 0;
    }

    private static int Write(long events, string file)
    {
        using var f = new BufferedStream(File.Create(file), 1 << 20);
        var h = new byte[TraceLayout.Header.Size];
        TraceFormat.Magic.CopyTo(h);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(TraceLayout.Header.Version), TraceFormat.Version);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(TraceLayout.Header.HeaderSize), TraceLayout.Header.Size);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(TraceLayout.Header.RecordSize), TraceLayout.Record.Size);
        "synthetic"u8.CopyTo(h.AsSpan(TraceLayout.Header.Target));
        f.Write(h);
        var rec = new byte[TraceLayout.Record.Size];
        var seq = new uint[256];
        foreach (var e in Generate(events))
        {
            Array.Clear(rec);
            BinaryPrimitives.WriteUInt64LittleEndian(rec.AsSpan(TraceLayout.Record.Timestamp), e.Timestamp);
            BinaryPrimitives.WriteUInt64LittleEndian(rec.AsSpan(TraceLayout.Record.Pc), e.Pc);
            BinaryPrimitives.WriteUInt64LittleEndian(rec.AsSpan(TraceLayout.Record.Address), e.Addr);
            BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(TraceLayout.Record.Seq), seq[e.Cpu]++);
            BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(TraceLayout.Record.Tid), e.Tid);
            BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(TraceLayout.Record.AccessSize), e.Size);
            BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(TraceLayout.Record.Site), e.Site);
            rec[TraceLayout.Record.Kind] = (byte)e.Kind;
            rec[TraceLayout.Record.CpuLow] = e.Cpu;
            rec[TraceLayout.Record.Context] = (byte)e.Context;
            f.Write(rec);
        }
        Console.WriteLine($"races write: {events:N0} events to {file}");
        return 0;
    }

    /// <summary>The workload of the remarks, deterministic (fixed seed), in timestamp order.</summary>
    public static IEnumerable<TraceEvent> Generate(long events)
    {
        const ulong Heap = 0xffff888100000000, Table = 0xffff888200000000, Locks = 0xffff888300000000, Counters = 0xffff888400000000;
        const ulong Text = 0xffffffffc0000000;
        var rng = new Random(18);
        ulong ts = 0;
        long n = 0, step = 0;
        while (n < events)
        {
            uint tid = (uint)rng.Next(100, 164);
            byte cpu = (byte)(tid % 4);
            var ctx = TraceContext.Task;
            ulong fn = Text + (ulong)rng.Next(0, 512) * 0x100;
            ulong lk = Locks + (ulong)rng.Next(0, 256) * 64;
            TraceEvent E(TraceEventKind k, ulong pc, ulong addr, uint size) =>
                new(++ts, pc, addr, 0, tid, size, k >= TraceEventKind.Acquire ? TraceFormat.NoSite : 0, k, cpu, ctx, 0);
            yield return E(TraceEventKind.Entry, fn, 0, 0);
            yield return E(TraceEventKind.Acquire, fn + 4, lk, 0);
            // The lock's data: 4 KiB per lock (so accesses under one lock always meet it), plus the heap at random.
            for (int i = 0; i < 8; i++)
            {
                ulong addr = i < 4 ? Heap + (lk - Locks) / 64 * 4096 + (ulong)rng.Next(0, 512) * 8 : Heap + 0x100_0000 + (ulong)rng.Next(0, 6 << 20) * 8;
                bool write = i < 4 ? rng.Next(2) == 0 : false;
                yield return E(write ? TraceEventKind.Write : TraceEventKind.Read, fn + 8 + (ulong)i * 4, addr, 8);
            }
            yield return E(TraceEventKind.Release, fn + 0x40, lk, 0);
            yield return E(TraceEventKind.LockedUpdate, fn + 0x44, Counters + (ulong)rng.Next(0, 1024) * 8, 4);
            n += 13;
            if (++step % 64 == 0)
            {
                yield return E(TraceEventKind.Write, fn + 0x48, Table + (ulong)rng.Next(0, 64) * 8, 8);
                yield return E(TraceEventKind.Signal, fn + 0x4c, Table + 0x1000 + tid, 0);
                ctx = TraceContext.SoftIrq;
                yield return E(TraceEventKind.Wait, Text + 0x10000, Table + 0x1000 + tid, 0);
                yield return E(TraceEventKind.Read, Text + 0x10010, Table + 0x1000 + tid, 8);
                n += 4;
            }
            ctx = TraceContext.Task;
            yield return E(TraceEventKind.Exit, fn, 0, 0);
            n++;
        }
    }
}
