namespace Kedr.Output.Races;

/// <summary>
/// The vector clocks of one kind of synchronization object (lock releases, signals, locked updates),
/// by the object's address, indexed by 4 KiB page so that the objects inside a freed block can be
/// forgotten: a lock or an atomic in freed memory is gone, and one allocated at the same address
/// later is a new object (its clock must not carry the old one's edges, nor live on in memory).
/// </summary>
public sealed class SyncClocks
{
    private const int PageShift = 12;
    private readonly Dictionary<ulong, VectorClock> _clocks = [];
    private readonly Dictionary<ulong, List<ulong>> _pages = [];

    public int Count => _clocks.Count;

    public bool TryGetValue(ulong addr, out VectorClock clock) => _clocks.TryGetValue(addr, out clock!);

    /// <summary>The clock of the object at <paramref name="addr"/>, created empty when first used.</summary>
    public VectorClock Get(ulong addr)
    {
        if (_clocks.TryGetValue(addr, out var c)) return c;
        _clocks[addr] = c = new VectorClock();
        ulong page = addr >> PageShift;
        if (!_pages.TryGetValue(page, out var list)) _pages[page] = list = [];
        list.Add(addr);
        return c;
    }

    /// <summary>Forgets the objects in [addr, addr+size).</summary>
    public void Forget(ulong addr, ulong size)
    {
        if (size == 0 || _clocks.Count == 0) return;
        ulong last = addr + size - 1 < addr ? ulong.MaxValue : addr + size - 1;
        ulong first = addr >> PageShift, lastPage = last >> PageShift;
        if (lastPage - first >= (ulong)_pages.Count)
        {
            foreach (var p in _pages.Keys.Where(p => p >= first && p <= lastPage).ToList()) ForgetIn(p, addr, last);
            return;
        }
        for (ulong p = first; p <= lastPage; p++) ForgetIn(p, addr, last);
    }

    private void ForgetIn(ulong page, ulong addr, ulong last)
    {
        if (!_pages.TryGetValue(page, out var list)) return;
        list.RemoveAll(a =>
        {
            if (a < addr || a > last) return false;
            _clocks.Remove(a);
            return true;
        });
        if (list.Count == 0) _pages.Remove(page);
    }
}
