namespace Kedr.Output;

/// <summary>
/// A probe's registers: the KEDR_REC_PROBE_REGS records that follow a KEDR_REC_PROBE record on its CPU, with the
/// next sequence numbers (kedr_probes.c records them in one go, interrupts off), joined into the probe's line:
/// <c>TID=… probe at 0x… (func+0x9/0x101 [mod]): id=0 rdi=0x… rsi=0x… …</c>.
/// </summary>
public static class ProbeRegisters
{
    /// <summary>The register records by (CPU, sequence number); null if the trace has none.</summary>
    public static Dictionary<(byte Cpu, uint Seq), TraceEvent>? Index(IReadOnlyList<ReportEvent> events)
    {
        Dictionary<(byte, uint), TraceEvent>? index = null;
        foreach (var re in events)
            if (re.Event.Kind == TraceEventKind.ProbeRegs)
                (index ??= [])[(re.Event.Cpu, re.Event.Seq)] = re.Event;
        return index;
    }

    /// <summary>The registers of probe record <paramref name="probe"/> as "name=0x…" pairs (those found).</summary>
    public static IEnumerable<(string Name, ulong Value)> Of(in TraceEvent probe, Dictionary<(byte Cpu, uint Seq), TraceEvent>? index)
    {
        var list = new List<(string, ulong)>();
        if (index is null) return list;
        var names = TraceFormat.ProbeRegisterNames;
        for (uint k = 0; k < Math.Min(probe.Size, (uint)TraceFormat.ProbeRegRecords); k++)
        {
            if (!index.TryGetValue((probe.Cpu, probe.Seq + 1 + k), out var r) || r.Size != k) break;
            if (names[(int)(2 * k)] is { } a) list.Add((a, r.Pc));
            if (names[(int)(2 * k + 1)] is { } b) list.Add((b, r.Addr));
        }
        return list;
    }

    public static string Line(in ReportEvent re, Dictionary<(byte Cpu, uint Seq), TraceEvent>? index)
    {
        var e = re.Event;
        var where = re.Where is { } r ? $" ({r})" : "";
        var regs = string.Join(" ", Of(e, index).Select(x => $"{x.Name}=0x{x.Value:x}"));
        return $"TID=0x{e.Tid:x} probe at 0x{e.Pc:x}{where}: id={e.Addr} {regs}".TrimEnd();
    }
}
