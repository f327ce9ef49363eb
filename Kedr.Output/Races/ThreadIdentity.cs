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
