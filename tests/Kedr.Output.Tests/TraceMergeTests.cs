using Kedr.Output.Races;
using Kedr.Output.Tests.Support;

namespace Kedr.Output.Tests;

/// <summary>
/// The merge across CPUs whose clocks disagree (vCPUs under TCG): memory records carry their CPU's local clock,
/// sync records (and locked updates) the clock all CPUs share, max(local clock, last sync stamp + 1), as kedr_recorder.c's
/// kedr_sync_stamp() writes them. <see cref="SkewedRecorder"/> writes such a trace from events given in the order
/// they really happened.
/// </summary>
public sealed class TraceMergeTests
{
    private const ulong L = 0xffff_8880_0000_1000, X = 0xffff_8880_0000_2000, PcA = 0xffff_ffff_c000_0010, PcB = 0xffff_ffff_c000_0020;

    /// <summary>
    /// Writes records with per-CPU clock offsets: the true time advances by 10 per event, CPU c's clock reads true
    /// time + offset[c]; sync kinds take max(that, last sync stamp + 1). Records go to the file CPU by CPU (as a
    /// <c>kedr record</c> file holds them), each CPU's in its order.
    /// </summary>
    private sealed class SkewedRecorder(params long[] offsets)
    {
        private readonly List<Rec> _recs = [];
        private readonly Dictionary<byte, uint> _seq = [];
        private ulong _now = 100_000, _lastSync;

        public SkewedRecorder Ev(byte cpu, byte kind, uint tid, ulong pc, ulong addr = 0, uint size = 4)
        {
            _now += 10;
            ulong ts = (ulong)((long)_now + offsets[cpu]);
            if (kind is >= Kinds.Acquire and <= Kinds.Free or Kinds.Locked) ts = _lastSync = Math.Max(ts, _lastSync + 1);
            uint seq = _seq.GetValueOrDefault(cpu);
            _seq[cpu] = seq + 1;
            _recs.Add(new Rec(ts, pc, addr, seq, tid, size, kind >= Kinds.Acquire ? Kinds.NoSite : 0, kind, cpu));
            return this;
        }

        public Trace Read()
        {
            var b = new TraceBuilder().Add([.. _recs.OrderBy(r => r.Cpu)]);
            Assert.True(TraceReader.TryRead(b.Build(), "skewed.bin", out var t, out var error), error?.ToString());
            return t!;
        }
    }

    /// <summary>CPU 0's clock runs 500 ns ahead of CPU 1's; thread 1 (CPU 0) hands the lock to thread 2 (CPU 1).</summary>
    private static SkewedRecorder HandOff() => new SkewedRecorder(500, 0)
        .Ev(0, Kinds.Acquire, 1, 0x1, L, 0).Ev(0, Kinds.Write, 1, PcA, X).Ev(0, Kinds.Release, 1, 0x2, L, 0)
        .Ev(1, Kinds.Acquire, 2, 0x1, L, 0).Ev(1, Kinds.Write, 2, PcB, X).Ev(1, Kinds.Release, 2, 0x2, L, 0);

    [Fact]
    public void A_lock_handed_to_a_CPU_whose_clock_is_behind_orders_the_two_critical_sections()
    {
        var r = RaceDetector.Run(HandOff().Read());
        Assert.Equal(4, r.SyncEvents);
        Assert.Empty(r.Races);
    }

    /// <summary>A lock made of atomics (cmpxchg takes it, xchg gives it back: locked updates of one address), as kedr_race_atomic.</summary>
    [Fact]
    public void An_atomic_lock_handed_to_a_CPU_whose_clock_is_behind_orders_the_two_critical_sections()
    {
        var t = new SkewedRecorder(500, 0)
            .Ev(0, Kinds.Locked, 1, 0x1, L).Ev(0, Kinds.Write, 1, PcA, X).Ev(0, Kinds.Locked, 1, 0x2, L)
            .Ev(1, Kinds.Locked, 2, 0x1, L).Ev(1, Kinds.Write, 2, PcB, X).Ev(1, Kinds.Locked, 2, 0x2, L).Read();
        Assert.Empty(RaceDetector.Run(t).Races);
    }

    [Fact]
    public void Each_CPU_keeps_its_order_and_a_release_comes_before_the_acquire_it_enabled()
    {
        var t = HandOff().Read();
        var order = t.Events.Select(e => (e.Cpu, e.Kind)).ToList();
        Assert.Equal([TraceEventKind.Acquire, TraceEventKind.Write, TraceEventKind.Release],
            order.Where(o => o.Cpu == 0).Select(o => o.Kind));
        Assert.Equal([TraceEventKind.Acquire, TraceEventKind.Write, TraceEventKind.Release],
            order.Where(o => o.Cpu == 1).Select(o => o.Kind));
        Assert.True(order.IndexOf((0, TraceEventKind.Release)) < order.IndexOf((1, TraceEventKind.Acquire)));
        Assert.True(order.IndexOf((1, TraceEventKind.Acquire)) < order.IndexOf((1, TraceEventKind.Write)));
    }

    [Fact]
    public void Without_sync_records_CPUs_with_monotonic_clocks_merge_by_timestamp()
    {
        var t = new SkewedRecorder(0, 0, 0)
            .Ev(2, Kinds.Read, 1, 1).Ev(0, Kinds.Read, 2, 2).Ev(1, Kinds.Read, 3, 3).Ev(0, Kinds.Read, 2, 4).Read();
        Assert.Equal([1UL, 2, 3, 4], t.Events.Select(e => e.Pc));
    }
}
