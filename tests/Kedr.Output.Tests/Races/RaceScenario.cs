using Kedr.Output.Races;
using Kedr.Output.Tests.Support;

namespace Kedr.Output.Tests.Races;

/// <summary>
/// A synthetic trace written event by event with <see cref="TraceBuilder"/> (so it goes through
/// <see cref="TraceReader"/> as a recorded one does), in the order the scenario says things happened.
/// Timestamps increase with each event; each CPU keeps its own sequence numbers.
/// </summary>
internal sealed class RaceScenario
{
    private readonly TraceBuilder _b = new();
    private readonly Dictionary<byte, uint> _seq = [];
    private ulong _ts = 1000;

    public RaceScenario Ev(byte kind, uint tid, ulong pc, ulong addr = 0, uint size = 0, byte cpu = 0, byte ctx = 0, byte stackOrder = 0,
        byte flags = 0)
    {
        uint seq = _seq.GetValueOrDefault(cpu);
        _seq[cpu] = seq + 1;
        uint site = kind >= Kinds.Acquire ? Kinds.NoSite : 0;
        _b.Add(new Rec(_ts += 10, pc, addr, seq, tid, size, site, kind, cpu, ctx, stackOrder, flags));
        return this;
    }

    /// <summary>An access the recorder marked as on the running task's own stack (stack_order 14: 16 KiB stacks).</summary>
    public RaceScenario OwnStackWrite(uint tid, ulong pc, ulong addr, byte cpu = 0) => Ev(Kinds.Write, tid, pc, addr, 4, cpu, 0, 14);
    public RaceScenario OwnStackRead(uint tid, ulong pc, ulong addr, byte cpu = 0) => Ev(Kinds.Read, tid, pc, addr, 4, cpu, 0, 14);

    /// <summary>A %gs-relative access (KEDR_REC_F_PERCPU = 1): this CPU's copy of per-CPU data.</summary>
    public RaceScenario PerCpuWrite(uint tid, ulong pc, ulong addr, byte cpu = 0, byte ctx = 0) => Ev(Kinds.Write, tid, pc, addr, 4, cpu, ctx, 0, 1);
    public RaceScenario PerCpuRead(uint tid, ulong pc, ulong addr, byte cpu = 0, byte ctx = 0) => Ev(Kinds.Read, tid, pc, addr, 4, cpu, ctx, 0, 1);
    /// <summary>An access inside the running task's own task_struct (KEDR_REC_F_OWN_TASK = 2).</summary>
    public RaceScenario OwnTaskWrite(uint tid, ulong pc, ulong addr, byte cpu = 0, byte ctx = 0) => Ev(Kinds.Write, tid, pc, addr, 8, cpu, ctx, 0, 2);
    public RaceScenario OwnTaskRead(uint tid, ulong pc, ulong addr, byte cpu = 0, byte ctx = 0) => Ev(Kinds.Read, tid, pc, addr, 8, cpu, ctx, 0, 2);

    public RaceScenario Write(uint tid, ulong pc, ulong addr, uint size = 4, byte cpu = 0, byte ctx = 0) => Ev(Kinds.Write, tid, pc, addr, size, cpu, ctx);
    public RaceScenario Read(uint tid, ulong pc, ulong addr, uint size = 4, byte cpu = 0, byte ctx = 0) => Ev(Kinds.Read, tid, pc, addr, size, cpu, ctx);
    public RaceScenario Enter(uint tid, ulong fn, byte cpu = 0, byte ctx = 0) => Ev(Kinds.Entry, tid, fn, 0, 0, cpu, ctx);
    public RaceScenario Leave(uint tid, ulong fn, byte cpu = 0, byte ctx = 0) => Ev(Kinds.Exit, tid, fn, 0, 0, cpu, ctx);
    public RaceScenario Lock(uint tid, ulong lk, bool shared = false, byte cpu = 0) => Ev(Kinds.Acquire, tid, 0x1, lk, shared ? 1u : 0u, cpu);
    public RaceScenario Unlock(uint tid, ulong lk, bool shared = false, byte cpu = 0) => Ev(Kinds.Release, tid, 0x2, lk, shared ? 1u : 0u, cpu);
    public RaceScenario Atomic(uint tid, ulong addr, byte cpu = 0) => Ev(Kinds.Locked, tid, 0x3, addr, 4, cpu);
    /// <summary>The locked update's second record, stamped after its instruction ran (blob 1.7).</summary>
    public RaceScenario AtomicDone(uint tid, ulong addr, byte cpu = 0) => Ev(Kinds.LockedDone, tid, 0x3, addr, 4, cpu);
    public RaceScenario Signal(uint tid, ulong obj, byte cpu = 0, byte ctx = 0) => Ev(Kinds.Signal, tid, 0x4, obj, 0, cpu, ctx);
    /// <summary>A publication (SIGNAL with KEDR_SIGNAL_PUBLISH = 1): <paramref name="obj"/> made visible to other tasks.</summary>
    public RaceScenario Publish(uint tid, ulong obj, byte cpu = 0) => Ev(Kinds.Signal, tid, 0x8, obj, 1, cpu);
    public RaceScenario Wait(uint tid, ulong obj, byte cpu = 0, byte ctx = 0) => Ev(Kinds.Wait, tid, 0x5, obj, 0, cpu, ctx);
    /// <summary>A wait for the end of the callback at <paramref name="fn"/> (WAIT with KEDR_WAIT_CALLBACK_END = 1: cancel_work_sync returned).</summary>
    public RaceScenario WaitEnd(uint tid, ulong fn, byte cpu = 0, byte ctx = 0) => Ev(Kinds.Wait, tid, 0x9, fn, 1, cpu, ctx);
    public RaceScenario Alloc(uint tid, ulong block, uint size, ulong pc = 0x6) => Ev(Kinds.Alloc, tid, pc, block, size);
    public RaceScenario Free(uint tid, ulong block) => Ev(Kinds.Free, tid, 0x7, block);

    public Trace Trace()
    {
        Assert.True(TraceReader.TryRead(_b.Build(), "scenario.bin", out var t, out var error), error?.ToString());
        Assert.Empty(t!.Warnings);
        return t;
    }

    public RaceResult Run(RaceDetectorOptions? o = null) => RaceDetector.Run(Trace(), o);
}
