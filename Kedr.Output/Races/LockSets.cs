namespace Kedr.Output.Races;

/// <summary>A lock a thread held at an access (ACQUIRE without its RELEASE yet).</summary>
public readonly record struct HeldLock(ulong Lock, bool Shared)
{
    public override string ToString() => $"0x{Lock:x}{(Shared ? " (shared)" : "")}";
}

/// <summary>
/// The sets of locks threads held, interned so that an access keeps its lockset in one int (0: no lock).
/// Used only to name the lock that would protect a racy pair (Eraser's locksets); ordering is the
/// vector clocks' business. At most <see cref="Capacity"/> distinct sets; past that, new ones are
/// not kept (the access shows no locks).
/// </summary>
public sealed class LockSets
{
    public const int None = 0;

    private readonly List<HeldLock[]> _sets = [[]];
    private readonly Dictionary<string, int> _ids = new() { [""] = None };

    public LockSets(int capacity = 1 << 16) => Capacity = capacity;

    public int Capacity { get; }

    public IReadOnlyList<HeldLock> this[int id] => _sets[id];

    /// <summary>The id of the set <paramref name="held"/> (any order, duplicates kept as one).</summary>
    public int Intern(List<HeldLock> held)
    {
        if (held.Count == 0) return None;
        var sorted = held.Distinct().OrderBy(h => h.Lock).ThenBy(h => h.Shared).ToArray();
        var key = string.Join(',', sorted.Select(h => h.ToString()));
        if (_ids.TryGetValue(key, out int id)) return id;
        if (_sets.Count >= Capacity) return None;
        _sets.Add(sorted);
        return _ids[key] = _sets.Count - 1;
    }
}
