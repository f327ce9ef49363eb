using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Kedr.Output.Races;

/// <summary>
/// The shadow of one 8-byte cell, byte-exact: the last write of each byte (entries with disjoint masks), and the reads
/// of each byte since its last write (one read, or FastTrack's read-shared state: one entry per thread when reads were
/// concurrent). An access takes its bytes away from the entries it supersedes and leaves the other bytes' entries
/// alone, so an access to one field of the cell never hides an earlier access to an adjacent field. One entry is kept
/// inline (<see cref="Write"/>, <see cref="Read"/>; the list is null), several in the list (the inline one is none).
/// </summary>
internal sealed class ShadowCell
{
    public ShadowAccess Write;
    public List<ShadowAccess>? Writes;
    public ShadowAccess Read;
    public List<ShadowAccess>? SharedReads;

    public Span<ShadowAccess> AllWrites => Entries(ref Write, Writes);
    public Span<ShadowAccess> AllReads => Entries(ref Read, SharedReads);

    /// <summary>A write: the last write of its bytes from now on; the reads of its bytes are forgotten (FastTrack).</summary>
    public void PutWrite(in ShadowAccess cur, LogicalThread t)
    {
        Put(ref Write, ref Writes, cur, t, Supersede.All);
        Forget(ref Read, ref SharedReads, cur.Mask);
    }

    /// <summary>
    /// A read: it supersedes, for its bytes, the earlier reads of its own thread and those the thread is ordered after
    /// (a later write that races with one of those races with this read too); concurrent ones are kept (read-shared).
    /// FastTrack keeps the ordered ones in the read-shared state; forgetting them keeps the lists short (a cell read by
    /// every task of a workload) at the price of reporting the newer read's instruction for such a pair.
    /// </summary>
    public void PutRead(in ShadowAccess cur, LogicalThread t) =>
        Put(ref Read, ref SharedReads, cur, t, Supersede.SameThreadOrCovered);

    private enum Supersede { All, SameThread, SameThreadOrCovered }

    private static Span<ShadowAccess> Entries(ref ShadowAccess one, List<ShadowAccess>? many) =>
        many is not null ? CollectionsMarshal.AsSpan(many) : one.IsNone ? [] : MemoryMarshal.CreateSpan(ref one, 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Superseded(in ShadowAccess e, LogicalThread t, Supersede s) =>
        s == Supersede.All || Epoch.Thread(e.Epoch) == t.Index ||
        (s == Supersede.SameThreadOrCovered && t.Clock.Covers(Epoch.Thread(e.Epoch), Epoch.Clock(e.Epoch)));

    /// <summary>Takes <paramref name="cur"/>'s bytes from the entries it supersedes, then adds it (merged into an entry of its epoch and pc).</summary>
    private static void Put(ref ShadowAccess one, ref List<ShadowAccess>? many, in ShadowAccess cur, LogicalThread t, Supersede s)
    {
        if (many is null)
        {
            if (one.IsNone) { one = cur; return; }
            if (Superseded(one, t, s))
            {
                byte left = (byte)(one.Mask & ~cur.Mask);
                if (left == 0) { one = cur; return; }
                if (one.Epoch == cur.Epoch && one.Pc == cur.Pc) { one = cur with { Mask = (byte)(left | cur.Mask) }; return; }
                one = one with { Mask = left };
            }
            many = [one, cur];
            one = default;
            return;
        }
        // In place, by reference: a read-shared cell may hold an entry per thread.
        var span = CollectionsMarshal.AsSpan(many);
        int n = 0;
        bool merged = false;
        for (int i = 0; i < span.Length; i++)
        {
            ref var e = ref span[i];
            if (Superseded(e, t, s))
            {
                if (!merged && e.Epoch == cur.Epoch && e.Pc == cur.Pc) { e = cur with { Mask = (byte)(e.Mask | cur.Mask) }; merged = true; }
                else if ((e.Mask & ~cur.Mask) == 0) continue;
                else e = e with { Mask = (byte)(e.Mask & ~cur.Mask) };
            }
            if (n != i) span[n] = e;
            n++;
        }
        if (n < span.Length) many.RemoveRange(n, span.Length - n);
        if (!merged) many.Add(cur);
        Normalize(ref one, ref many);
    }

    /// <summary>Takes the bytes of <paramref name="mask"/> from every entry.</summary>
    private static void Forget(ref ShadowAccess one, ref List<ShadowAccess>? many, byte mask)
    {
        if (many is null)
        {
            if (!one.IsNone) one = (one.Mask & ~mask) == 0 ? default : one with { Mask = (byte)(one.Mask & ~mask) };
            return;
        }
        var span = CollectionsMarshal.AsSpan(many);
        int n = 0;
        for (int i = 0; i < span.Length; i++)
        {
            ref var e = ref span[i];
            if ((e.Mask & mask) != 0)
            {
                if ((e.Mask & ~mask) == 0) continue;
                e = e with { Mask = (byte)(e.Mask & ~mask) };
            }
            if (n != i) span[n] = e;
            n++;
        }
        if (n < span.Length) many.RemoveRange(n, span.Length - n);
        Normalize(ref one, ref many);
    }

    /// <summary>A single entry back inline; none, nothing.</summary>
    private static void Normalize(ref ShadowAccess one, ref List<ShadowAccess>? many)
    {
        if (many!.Count > 1) return;
        one = many.Count == 1 ? many[0] : default;
        many = null;
    }
}
