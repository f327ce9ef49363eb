using System.Globalization;
using Kedr.Output.Source;

namespace Kedr.Output;

/// <summary>
/// The events in kedr_sample's text format (the format of <c>/sys/kernel/debug/kedr_sample/output</c>):
/// <code>
/// TID=&lt;tid&gt; {entry|exit}: addr=&lt;function&gt; ("&lt;name&gt;")
/// TID=&lt;tid&gt; {read|write|locked update} at &lt;pc&gt; (&lt;function&gt;+&lt;off&gt;/&lt;size&gt; [&lt;module&gt;]): addr=&lt;addr&gt;, size=&lt;size&gt;
/// events: &lt;n&gt; recorded, &lt;m&gt; dropped
/// </code>
/// A <c>kedr record</c> file with drops adds where kedr_sample counted them (<see cref="RenderRecordingDrops"/>).
/// An address that cannot be resolved is shown without the parenthesised part. With the module's debug
/// information each resolved event is followed by <c>    at file:line</c> (<see cref="SourceText"/>). Where a CPU lost
/// events a line <c>&lt;...&gt;</c> stands for them, as in the format's examples.
/// </summary>
public static class TextRenderer
{
    public const string DropMarker = "<...>";
    /// <summary>Starts the line after an event that gives its source (when the module's DWARF was found).</summary>
    public const string SourcePrefix = "    at ";

    public static void Render(TraceReport report, TextWriter w, bool summary = false)
    {
        int d = 0;
        var drops = report.Trace.Drops;
        var registers = ProbeRegisters.Index(report.Events);
        for (int i = 0; i < report.Events.Count; i++)
        {
            var kind = report.Events[i].Event.Kind;
            if (kind == TraceEventKind.ProbeRegs && registers is not null) continue; // on its probe's line
            // A locked update's second record (its acquire side, for `kedr races`) is not an access: kedr_sample's
            // text streams leave it out, and so does this (it still counts as recorded below).
            if (kind == TraceEventKind.LockedDone) continue;
            bool marked = false;
            for (; d < drops.Count && drops[d].Position <= i; d++)
            {
                if (!marked) w.WriteLine(DropMarker);
                marked = true;
            }
            w.WriteLine(kind == TraceEventKind.Probe ? ProbeRegisters.Line(report.Events[i], registers) : Line(report.Events[i]));
            if (report.Events[i].Where?.Source is { } src) w.WriteLine(SourcePrefix + SourceText.Format(src));
        }
        if (d < drops.Count) w.WriteLine(DropMarker);
        // A recording knows kedr_sample's own count, which also has drops after a CPU's last record.
        long dropped = report.Trace.Recording is { } rec ? (long)rec.Dropped : report.Trace.DroppedCount;
        w.WriteLine($"events: {report.Events.Count} recorded, {dropped} dropped");
        if (report.Trace.Recording is { Dropped: > 0 } r) RenderRecordingDrops(r, w);
        if (summary) RenderSummary(report, w);
    }

    /// <summary>
    /// A recording's drops where kedr_sample counted them: per CPU, per function of the target (most first), and
    /// those it could put on no function.
    /// </summary>
    public static void RenderRecordingDrops(RecordingCounts r, TextWriter w)
    {
        foreach (var c in r.Cpus.Where(c => c.Dropped > 0))
            w.WriteLine($"dropped on cpu {c.Cpu}: {c.Dropped}");
        foreach (var f in r.Functions)
            w.WriteLine($"dropped in {f.Name}: {f.Dropped}");
        if (r.DroppedWithoutFunction > 0)
            w.WriteLine($"dropped without a function (nested, indirect-branch or payload events): {r.DroppedWithoutFunction}");
    }

    public static string Line(in ReportEvent re)
    {
        var e = re.Event;
        var r = re.Where;
        if (e.IsFunctionEvent)
            return r is null
                ? $"TID=0x{e.Tid:x} {KindName(e.Kind)}: addr=0x{e.Pc:x}"
                : $"TID=0x{e.Tid:x} {KindName(e.Kind)}: addr=0x{e.Pc:x} (\"{r.Function}\")";
        // kedr_sample writes a record without a site (kedr_record.h) with its bare pc: so does this, and
        // the source line, if any, follows on the next line.
        return r is null || e.Site == TraceFormat.NoSite
            ? $"TID=0x{e.Tid:x} {KindName(e.Kind)} at 0x{e.Pc:x}: addr=0x{e.Addr:x}, size={e.Size}"
            : $"TID=0x{e.Tid:x} {KindName(e.Kind)} at 0x{e.Pc:x} ({r}): addr=0x{e.Addr:x}, size={e.Size}";
    }

    public static string KindName(TraceEventKind kind) => kind switch
    {
        TraceEventKind.Entry => "entry",
        TraceEventKind.Exit => "exit",
        TraceEventKind.Read => "read",
        TraceEventKind.Write => "write",
        TraceEventKind.LockedUpdate => "locked update",
        TraceEventKind.LockedDone => "locked done",
        TraceEventKind.Indirect => "indirect",
        TraceEventKind.Acquire => "acquire",
        TraceEventKind.Release => "release",
        TraceEventKind.Signal => "signal",
        TraceEventKind.Wait => "wait",
        TraceEventKind.Alloc => "alloc",
        TraceEventKind.Free => "free",
        TraceEventKind.Probe => "probe",
        TraceEventKind.ProbeRegs => "probe regs",
        _ => "?",
    };

    /// <summary>Per-function and per-address tables, after the events.</summary>
    public static void RenderSummary(TraceReport report, TextWriter w, int maxAddresses = 50)
    {
        w.WriteLine();
        w.WriteLine($"per function ({report.Functions.Count}):");
        int width = Math.Max(8, report.Functions.Select(f => f.Function.Length).DefaultIfEmpty(0).Max());
        w.WriteLine($"  {"function".PadRight(width)} {"entries",8} {"exits",8} {"reads",8} {"writes",8} {"locked",8} {"B read",10} {"B written",10} {"B locked",10}");
        foreach (var f in report.Functions)
        {
            var c = f.Counts;
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {f.Function.PadRight(width)} {c.Entries,8} {c.Exits,8} {c.Reads,8} {c.Writes,8} {c.LockedUpdates,8} {c.BytesRead,10} {c.BytesWritten,10} {c.BytesLocked,10}"));
        }
        w.WriteLine();
        var shown = report.Addresses.Take(maxAddresses).ToList();
        w.WriteLine($"per address ({report.Addresses.Count}{(shown.Count < report.Addresses.Count ? $", the {shown.Count} most accessed" : "")}):");
        w.WriteLine($"  {"address",-18} {"reads",8} {"writes",8} {"locked",8} {"bytes",10}  functions");
        foreach (var a in shown)
        {
            var c = a.Counts;
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  0x{a.Address:x16} {c.Reads,8} {c.Writes,8} {c.LockedUpdates,8} {c.BytesRead + c.BytesWritten + c.BytesLocked,10}  {string.Join(", ", a.Functions)}"));
        }
        if (report.Trace.Drops.Count > 0)
        {
            w.WriteLine();
            w.WriteLine($"drops ({report.Trace.DroppedCount} events):");
            foreach (var g in report.Trace.Drops.GroupBy(x => x.Cpu).OrderBy(g => g.Key))
                w.WriteLine($"  cpu {g.Key}: {g.Sum(x => x.Count)} in {g.Count()} gap(s)");
        }
        if (report.Trace.Recording is { } r)
        {
            w.WriteLine();
            w.WriteLine($"recording: {r.Written} written, kedr_sample recorded {r.Recorded} and dropped {r.Dropped}"
                + (r.Interrupted ? " (stopped by the user)" : r.Ended ? "" : " (did not reach the end)"));
            foreach (var c in r.Cpus)
                w.WriteLine($"  cpu {c.Cpu}: {c.Written} written, {c.Recorded} recorded, {c.Dropped} dropped");
        }
    }
}
