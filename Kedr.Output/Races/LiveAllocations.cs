namespace Kedr.Output.Races;

/// <summary>
/// The blocks allocated (ALLOC) and not yet freed (FREE), found by address through a 4 KiB page index.
/// A new block overlapping a known one means the old one was freed by a call the trace does not show:
/// the old one is dropped, so the set stays the live blocks and a lookup names the current owner.
/// </summary>
public sealed class LiveAllocations
{
    private const int PageShift = 12;
    /// <summary>Blocks spanning more pages than this are kept in one list that lookups scan.</summary>
    private const ulong MaxIndexedPages = 16;
    private readonly Dictionary<ulong, (ulong Size, ulong Pc)> _blocks = [];
    private readonly Dictionary<ulong, List<ulong>> _pages = [];
    private readonly List<ulong> _large = [];

    public int Count => _blocks.Count;

    public void Add(ulong block, ulong size, ulong pc)
    {
        if (size == 0) size = 1;
        foreach (var old in Overlapping(block, size).ToList()) Remove(old, out _);
        _blocks[block] = (size, pc);
        if (Pages(block, size, out ulong first, out ulong last))
            for (ulong p = first; p <= last; p++)
            {
                if (!_pages.TryGetValue(p, out var list)) _pages[p] = list = [];
                list.Add(block);
            }
        else
            _large.Add(block);
    }

    public bool Remove(ulong block, out ulong size)
    {
        size = 0;
        if (!_blocks.Remove(block, out var b)) return false;
        size = b.Size;
        if (Pages(block, b.Size, out ulong first, out ulong last))
            for (ulong p = first; p <= last; p++)
            {
                if (!_pages.TryGetValue(p, out var list)) continue;
                list.Remove(block);
                if (list.Count == 0) _pages.Remove(p);
            }
        else
            _large.Remove(block);
        return true;
    }

    /// <summary>The live block holding <paramref name="addr"/>, or null.</summary>
    public RaceAllocation? Find(ulong addr)
    {
        foreach (var block in Overlapping(addr, 1))
        {
            var (size, pc) = _blocks[block];
            return new RaceAllocation(block, size, pc, addr - block);
        }
        return null;
    }

    private IEnumerable<ulong> Overlapping(ulong addr, ulong size)
    {
        ulong end = addr + size < addr ? ulong.MaxValue : addr + size;
        ulong first = addr >> PageShift, last = (end - 1) >> PageShift;
        var seen = new HashSet<ulong>();
        if (last - first < (ulong)Math.Max(_pages.Count, (int)MaxIndexedPages))
        {
            for (ulong p = first; p <= last && p >= first; p++)
                if (_pages.TryGetValue(p, out var list))
                    foreach (var b in list)
                        if (Overlaps(b, addr, end) && seen.Add(b)) yield return b;
        }
        else
        {
            foreach (var (p, list) in _pages)
                if (p >= first && p <= last)
                    foreach (var b in list)
                        if (Overlaps(b, addr, end) && seen.Add(b)) yield return b;
        }
        foreach (var b in _large)
            if (Overlaps(b, addr, end) && seen.Add(b)) yield return b;
    }

    private bool Overlaps(ulong block, ulong addr, ulong end)
    {
        ulong size = _blocks[block].Size;
        ulong blockEnd = block + size < block ? ulong.MaxValue : block + size;
        return block < end && addr < blockEnd;
    }

    private static bool Pages(ulong block, ulong size, out ulong first, out ulong last)
    {
        ulong end = block + size < block ? ulong.MaxValue : block + size;
        first = block >> PageShift;
        last = (end - 1) >> PageShift;
        return last - first < MaxIndexedPages;
    }
}
