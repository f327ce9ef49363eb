namespace Kedr.Output.Races;

/// <summary>
/// A vector clock over the detector's logical threads (dense indices): entry i is the last step of
/// thread i known to happen before. Grows on demand; missing entries are 0.
/// </summary>
public sealed class VectorClock
{
    private int[] _c;

    public VectorClock(int capacity = 4) => _c = new int[Math.Max(capacity, 1)];

    public int this[int thread]
    {
        get => thread < _c.Length ? _c[thread] : 0;
        set
        {
            if (thread >= _c.Length) Array.Resize(ref _c, Math.Max(thread + 1, _c.Length * 2));
            _c[thread] = value;
        }
    }

    /// <summary>this := this ⊔ other.</summary>
    public void Join(VectorClock other)
    {
        if (other._c.Length > _c.Length) Array.Resize(ref _c, other._c.Length);
        var o = other._c;
        for (int i = 0; i < o.Length; i++)
            if (o[i] > _c[i]) _c[i] = o[i];
    }

    /// <summary>this := other.</summary>
    public void CopyFrom(VectorClock other)
    {
        if (_c.Length < other._c.Length) _c = new int[other._c.Length];
        Array.Copy(other._c, _c, other._c.Length);
        Array.Clear(_c, other._c.Length, _c.Length - other._c.Length);
    }

    /// <summary>Whether the epoch (step <paramref name="clock"/> of <paramref name="thread"/>) happens before this clock.</summary>
    public bool Covers(int thread, int clock) => clock <= this[thread];

    /// <summary>Bytes held (for the memory figure).</summary>
    public int Bytes => _c.Length * sizeof(int) + 24;
}
