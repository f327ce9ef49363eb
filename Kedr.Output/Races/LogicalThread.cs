namespace Kedr.Output.Races;

/// <summary>
/// A sequential context of execution, as the detector orders events: a task (its tid; the idle task,
/// tid 0, once per CPU), or the softirq or hardirq (or NMI) context of one CPU. An interrupt runs
/// inside whatever task it interrupted but is not ordered with it: the task's events before and
/// after the interrupt are concurrent with the interrupt's unless a modelled primitive orders them
/// (docs/races.md).
/// </summary>
public readonly record struct ThreadIdentity(TraceContext Context, uint Tid, int Cpu)
{
    public static ThreadIdentity Of(in TraceEvent e) => e.Context == TraceContext.Task
        ? new ThreadIdentity(TraceContext.Task, e.Tid, e.Tid == 0 ? e.Cpu : -1)
        : new ThreadIdentity(e.Context, 0, e.Cpu);

    public override string ToString() => Context switch
    {
        TraceContext.Task when Tid == 0 => $"idle task on CPU {Cpu}",
        TraceContext.Task => $"task {Tid}",
        TraceContext.SoftIrq => $"softirq on CPU {Cpu}",
        TraceContext.HardIrq => $"hardirq on CPU {Cpu}",
        _ => $"NMI on CPU {Cpu}",
    };
}

/// <summary>The detector's state of one logical thread: its clock and its call stack.</summary>
internal sealed class LogicalThread(int index, ThreadIdentity identity)
{
    public int Index { get; } = index;
    public ThreadIdentity Identity { get; } = identity;
    public VectorClock Clock { get; } = NewClock(index);
    /// <summary>The interned call stack (<see cref="CallStacks"/>) the thread is in now.</summary>
    public int Stack { get; set; } = CallStacks.Root;
    /// <summary>The locks held now (ACQUIRE seen, RELEASE not yet), and their interned set.</summary>
    public List<HeldLock> Held { get; } = [];
    public int LockSet { get; set; } = LockSets.None;
    /// <summary>Last tid seen in this context (interrupt contexts run in varying tasks).</summary>
    public uint LastTid { get; set; }

    public int Now => Clock[Index];
    public long Epoch => Races.Epoch.Make(Index, Now);

    /// <summary>Ends the thread's current step: what it does next is not covered by clocks taken before.</summary>
    public void Tick() => Clock[Index] = Now + 1;

    private static VectorClock NewClock(int index)
    {
        var c = new VectorClock(index + 1);
        c[index] = 1;
        return c;
    }
}
