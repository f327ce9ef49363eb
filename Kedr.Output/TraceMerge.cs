namespace Kedr.Output;

/// <summary>
/// The merge of the CPUs' records into one order, the rule kedr_recorder.c's <c>kedr_next_cpu()</c> follows for
/// the trace and output streams: take, among the CPUs' next records, the one with the smallest timestamp (then the
/// lowest CPU), again and again. Each CPU's own order is kept whatever its stamps say. Reads, writes and function
/// records carry their CPU's <c>local_clock()</c>, which may disagree across CPUs; sync records (ACQUIRE ... FREE,
/// and LOCKED_UPDATE) carry
/// stamps of one clock all CPUs share (<c>kedr_sync_stamp()</c>: never below the CPU's own clock, always above the
/// last sync stamp). So a sync record comes after every sync record stamped before it, and after everything its
/// CPU recorded before it: a RELEASE is merged before the ACQUIRE it enabled on another CPU (docs/record-format.md,
/// "Merge order"). A sort by timestamp would not keep a CPU's order: the records after a sync record can have
/// smaller stamps than it.
/// </summary>
public static class TraceMerge
{
    /// <summary>Merges per-CPU streams, each in its CPU's recording order (stream i holds one CPU's records).</summary>
    public static IEnumerable<TraceEvent> Merge(IReadOnlyList<IEnumerator<TraceEvent>> cpus)
    {
        var heads = new PriorityQueue<int, (ulong Ts, byte Cpu, int Stream)>(Math.Max(1, cpus.Count));
        for (int i = 0; i < cpus.Count; i++)
            if (cpus[i].MoveNext()) heads.Enqueue(i, (cpus[i].Current.Timestamp, cpus[i].Current.Cpu, i));
        while (heads.TryDequeue(out int i, out _))
        {
            var e = cpus[i].Current;
            if (cpus[i].MoveNext()) heads.Enqueue(i, (cpus[i].Current.Timestamp, cpus[i].Current.Cpu, i));
            yield return e;
        }
    }

    /// <summary>Merges the records of a whole trace given in stream order (each CPU's records in its order).</summary>
    public static TraceEvent[] Merge(TraceEvent[] inStreamOrder)
    {
        var byCpu = new Dictionary<byte, List<TraceEvent>>();
        foreach (var e in inStreamOrder)
        {
            if (!byCpu.TryGetValue(e.Cpu, out var l)) byCpu[e.Cpu] = l = [];
            l.Add(e);
        }
        var streams = byCpu.OrderBy(p => p.Key).Select(p => (IEnumerator<TraceEvent>)p.Value.GetEnumerator()).ToList();
        var merged = new TraceEvent[inStreamOrder.Length];
        int n = 0;
        foreach (var e in Merge(streams)) merged[n++] = e;
        return merged;
    }
}
