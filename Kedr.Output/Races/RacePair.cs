namespace Kedr.Output.Races;

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

