namespace Kedr.Output.Races;

/// <summary>What the detector found, and what it could not look at.</summary>
public sealed class RaceResult
{
    public required IReadOnlyList<RacePair> Races { get; init; }
    public long Events { get; init; }
    public long MemoryEvents { get; init; }
    public long SyncEvents { get; init; }
    public int Threads { get; init; }
    /// <summary>Shadow cells forgotten to keep within the cap.</summary>
    public long EvictedCells { get; init; }
    public int PeakCells { get; init; }
    /// <summary>Accesses longer than the per-access limit: only their first bytes were checked.</summary>
    public long TruncatedAccesses { get; init; }
    /// <summary>Racing occurrences not kept because the report limit was reached (new pairs only).</summary>
    public long PairsOverLimit { get; init; }
    /// <summary>Events lost by the recorder (the trace's drops): a lost release or signal can show as a false race.</summary>
    public long DroppedEvents { get; init; }
    public bool InitSeen { get; init; }
    /// <summary>Kernel stacks seen given to a new task: their shadow was forgotten (docs/races.md, "Stacks").</summary>
    public long ReusedStacks { get; init; }
    /// <summary>Unordered conflicts not reported because both accesses were %gs-relative: one CPU's copy of per-CPU data (docs/races.md, "Per-CPU data").</summary>
    public long PerCpuConflicts { get; init; }
    /// <summary>Unordered conflicts not reported because both were in their own task_struct, in two tasks: a task_struct reused (docs/races.md, "Tasks").</summary>
    public long ReusedTaskConflicts { get; init; }
    /// <summary>Publications (SIGNAL, KEDR_SIGNAL_PUBLISH) of an object inside a traced block: later accesses to the block are ordered after them.</summary>
    public long Publications { get; init; }
    /// <summary>Synchronization objects (lock, signal, atomic clocks) known at the end: those inside freed blocks are forgotten.</summary>
    public int SyncObjects { get; init; }
}
