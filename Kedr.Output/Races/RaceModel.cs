namespace Kedr.Output.Races;

/// <summary>One side of a race: the access, its thread, its call stack (function entry addresses, innermost first) and the locks it held.</summary>
public sealed record RaceAccess(bool IsWrite, ulong Pc, ulong Addr, uint Size, ThreadIdentity Thread, uint Tid, int Cpu, ulong Timestamp, IReadOnlyList<ulong> Stack)
{
    public IReadOnlyList<HeldLock> Locks { get; init; } = [];
}

/// <summary>The allocation (ALLOC event) that held the raced address when the race was seen.</summary>
public sealed record RaceAllocation(ulong Block, ulong Size, ulong Pc, ulong Offset);

/// <summary>
/// A pair of instructions whose accesses raced: <see cref="First"/> is the earlier access of the first
/// occurrence, <see cref="Second"/> the later one; <see cref="Count"/> counts every occurrence of the pair.
/// </summary>
public sealed class RacePair
{
    public required RaceAccess First { get; init; }
    public required RaceAccess Second { get; init; }
    public RaceAllocation? Allocation { get; init; }
    public long Count { get; set; } = 1;

    /// <summary>
    /// Locks one access held and the other did not (by address, any mode): taking one of them around the
    /// other access too would have ordered the pair. Empty when neither held a lock, or they held the same ones.
    /// </summary>
    public IReadOnlyList<ulong> ProtectingLocks =>
        First.Locks.Select(l => l.Lock).Concat(Second.Locks.Select(l => l.Lock)).Distinct()
            .Where(l => First.Locks.Any(h => h.Lock == l) != Second.Locks.Any(h => h.Lock == l)).ToList();
}

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
}
