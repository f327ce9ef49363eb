namespace Kedr.Output.Races;

/// <summary>
/// The races as text, one block per pair in KCSAN's layout: the title, then each access (kind, address,
/// size, thread) with its function+offset, source line and callers, the allocation, the count.
/// </summary>
public static class RaceTextRenderer
{
    public const string Rule = "==================================================================";

    public static void Render(RaceResult result, RaceNames names, TextWriter w)
    {
        foreach (var p in result.Races)
        {
            w.WriteLine(Rule);
            w.WriteLine($"BUG: KEDR: {names.Title(p)}");
            w.WriteLine();
            Access(p.First, names, w);
            w.WriteLine();
            Access(p.Second, names, w);
            w.WriteLine();
            if (p.Allocation is { } al)
                w.WriteLine($"0x{p.Second.Addr:x} is {al.Offset} bytes inside the {al.Size}-byte block 0x{al.Block:x} allocated at {names.Pc(al.Pc)}" +
                    (names.Source(al.Pc) is { } s ? $" ({s})" : ""));
            if (p.ProtectingLocks.Count > 0)
                w.WriteLine($"held by one side only: {string.Join(", ", p.ProtectingLocks.Select(l => $"0x{l:x}"))} (the lock that would protect the pair)");
            w.WriteLine($"seen {p.Count} time{(p.Count == 1 ? "" : "s")}");
            w.WriteLine(Rule);
        }
        Summary(result, w);
    }

    public static void Access(RaceAccess a, RaceNames names, TextWriter w)
    {
        w.WriteLine($"{RaceNames.Kind(a)} to 0x{a.Addr:x} of {a.Size} bytes by {RaceNames.Who(a)}:");
        w.WriteLine($" {names.Pc(a.Pc)}" + (names.Source(a.Pc) is { } s ? $" {s}" : ""));
        foreach (var f in names.Callers(a))
            w.WriteLine($" {names.Function(f)}" + (names.Source(f) is { } fs ? $" ({fs})" : ""));
        if (a.Locks.Count > 0)
            w.WriteLine($" holding {string.Join(", ", a.Locks)}");
    }

    public static void Summary(RaceResult r, TextWriter w)
    {
        w.WriteLine($"{r.Races.Count} racy pair(s) in {r.Events} events ({r.MemoryEvents} memory accesses, {r.SyncEvents} synchronization events, {r.Threads} threads)");
        if (r.DroppedEvents > 0) w.WriteLine($"warning: the recorder lost {r.DroppedEvents} events: a lost release or signal can show as a race");
        if (r.EvictedCells > 0) w.WriteLine($"note: {r.EvictedCells} shadow cells were forgotten to stay within the cap (peak {r.PeakCells}): races with accesses that old are not seen");
        if (r.ReusedStacks > 0) w.WriteLine($"note: {r.ReusedStacks} kernel stacks were seen given to a new task: what was done there before is forgotten");
        if (r.PerCpuConflicts > 0) w.WriteLine($"note: {r.PerCpuConflicts} conflicting accesses both through %gs (one CPU's per-CPU data, one instruction each) were not reported");
        if (r.ReusedTaskConflicts > 0) w.WriteLine($"note: {r.ReusedTaskConflicts} conflicting accesses of two tasks each to its own task_struct (memory reused) were not reported");
        if (r.Publications > 0) w.WriteLine($"note: {r.Publications} publications of objects in traced blocks ordered the later accesses to those blocks");
        if (r.TruncatedAccesses > 0) w.WriteLine($"note: {r.TruncatedAccesses} long accesses were checked on their first bytes only");
        if (r.PairsOverLimit > 0) w.WriteLine($"note: {r.PairsOverLimit} racing accesses of pairs over the report limit were not kept");
    }
}
