namespace Kedr.Output.Races;

/// <summary>
/// Shadow memory at 8-byte granularity (a cell per aligned 8 bytes, the bytes accessed kept as a mask),
/// with at most <see cref="Capacity"/> cells. Eviction is by generations: cells live in a young and an
/// old table; when the young one holds half the capacity, the old one is dropped and the young one
/// becomes old; a cell found in the old table moves back to the young one. So a cell not accessed
/// during the last capacity/2 new cells may be forgotten: a race between an access and one that
/// old is then not seen (counted in <see cref="Evicted"/>).
/// </summary>
public sealed class ShadowMemory
{
    private Dictionary<ulong, ShadowCell> _young = [];
    private Dictionary<ulong, ShadowCell> _old = [];

    public ShadowMemory(int capacity = 1 << 21) => Capacity = Math.Max(capacity, 2);

    public int Capacity { get; }
    public long Evicted { get; private set; }
    public int Count => _young.Count + _old.Count;
    public int PeakCount { get; private set; }

    internal ShadowCell Get(ulong cell)
    {
        if (_young.TryGetValue(cell, out var c)) return c;
        if (_old.Remove(cell, out c)) { _young[cell] = c; return c; }
        if (_young.Count >= Capacity / 2)
        {
            Evicted += _old.Count;
            (_old, _young) = (_young, _old);
            _young.Clear();
        }
        c = new ShadowCell();
        _young[cell] = c;
        if (Count > PeakCount) PeakCount = Count;
        return c;
    }

    /// <summary>Forgets the bytes [addr, addr+size) (memory freed or allocated anew): whole cells only.</summary>
    public void Clear(ulong addr, ulong size)
    {
        if (size == 0) return;
        ulong first = addr >> 3, last = (addr + size - 1) >> 3;
        if (last - first + 1 > (ulong)Count)
        {
            foreach (var t in new[] { _young, _old })
                foreach (var k in t.Keys.Where(k => k >= first && k <= last).ToList()) t.Remove(k);
            return;
        }
        for (ulong k = first; k <= last; k++) { _young.Remove(k); _old.Remove(k); }
    }
}
