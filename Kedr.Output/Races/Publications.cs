namespace Kedr.Output.Races;

/// <summary>
/// The traced blocks published to other tasks: a SIGNAL with KEDR_SIGNAL_PUBLISH on an address inside a live
/// block (an inode put in the icache or the dcache; docs/races.md, "Publication"). Each keeps the join of its
/// publishers' clocks at their publications, which an access by any thread to the block joins, and the epoch
/// of each publication, so that a thread already past all of them skips the join (the common case: one
/// dictionary lookup per access). Found by address through a 4 KiB page index; forgotten when the block is
/// freed or allocated over.
/// </summary>
public sealed class Publications
{
    private const int PageShift = 12;
    /// <summary>Blocks spanning more pages than this are not published (an inode is far smaller).</summary>
    private const ulong MaxPages = 16;

    private sealed class Published(ulong block, ulong end)
    {
        public ulong Block { get; } = block;
        public ulong End { get; } = end;
        public VectorClock Clock { get; } = new();
        /// <summary>The latest publication epoch of each publishing thread.</summary>
        public List<long> Epochs { get; } = [];
    }

    private readonly Dictionary<ulong, Published> _blocks = [];
    private readonly Dictionary<ulong, List<Published>> _pages = [];

    /// <summary>Blocks published now (not freed since).</summary>
    public int Count => _blocks.Count;

    /// <summary>
    /// Thread <paramref name="thread"/>, whose clock is <paramref name="clock"/>, publishes the block [block, block+size).
    /// False if the block is too large to be published.
    /// </summary>
    public bool Publish(ulong block, ulong size, int thread, VectorClock clock)
    {
        ulong end = block + size < block ? ulong.MaxValue : block + size;
        if (((end - 1) >> PageShift) - (block >> PageShift) >= MaxPages) return false;
        if (!_blocks.TryGetValue(block, out var p) || p.End != end)
        {
            if (p is not null) Forget(block, p.End - block);
            _blocks[block] = p = new Published(block, end);
            for (ulong page = block >> PageShift; page <= (end - 1) >> PageShift; page++)
            {
                if (!_pages.TryGetValue(page, out var list)) _pages[page] = list = [];
                list.Add(p);
            }
        }
        p.Clock.Join(clock);
        long epoch = Epoch.Make(thread, clock[thread]);
        int i = p.Epochs.FindIndex(e => Epoch.Thread(e) == thread);
        if (i >= 0) p.Epochs[i] = epoch; else p.Epochs.Add(epoch);
        return true;
    }

    /// <summary>
    /// An access by a thread whose clock is <paramref name="clock"/> to <paramref name="addr"/>: if the address is
    /// in a published block, the thread acquires the publications (as if it had waited on them). True if it did.
    /// </summary>
    public bool Acquire(ulong addr, VectorClock clock)
    {
        if (_blocks.Count == 0 || !_pages.TryGetValue(addr >> PageShift, out var list)) return false;
        foreach (var p in list)
        {
            if (addr < p.Block || addr >= p.End) continue;
            foreach (long e in p.Epochs)
                if (!clock.Covers(Epoch.Thread(e), Epoch.Clock(e)))
                {
                    clock.Join(p.Clock);
                    return true;
                }
            return false;
        }
        return false;
    }

    /// <summary>Forgets the publications of blocks overlapping [addr, addr+size) (freed, or allocated over).</summary>
    public void Forget(ulong addr, ulong size)
    {
        if (_blocks.Count == 0) return;
        if (size == 0) size = 1;
        ulong end = addr + size < addr ? ulong.MaxValue : addr + size;
        ulong first = addr >> PageShift, last = (end - 1) >> PageShift;
        var gone = new List<Published>();
        if (last - first <= MaxPages * 4)
        {
            for (ulong page = first; page <= last && page >= first; page++)
                if (_pages.TryGetValue(page, out var list))
                    gone.AddRange(list.Where(p => p.Block < end && addr < p.End));
        }
        else
            gone.AddRange(_blocks.Values.Where(p => p.Block < end && addr < p.End));
        foreach (var p in gone.Distinct())
        {
            _blocks.Remove(p.Block);
            for (ulong page = p.Block >> PageShift; page <= (p.End - 1) >> PageShift; page++)
                if (_pages.TryGetValue(page, out var list))
                {
                    list.Remove(p);
                    if (list.Count == 0) _pages.Remove(page);
                }
        }
    }
}
