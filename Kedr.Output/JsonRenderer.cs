using System.Text.Json;
using System.Text.Json.Serialization;
using Kedr.Core.Dwarf;

namespace Kedr.Output;

/// <summary>The JSON document <see cref="JsonRenderer"/> writes. 64-bit addresses are "0x..." strings (JavaScript numbers lose bits).</summary>
public sealed record JsonReport(
    string Module, string Trace, int Version, string? CoreBase, string? InitBase,
    long Recorded, long Dropped, JsonCounts Totals,
    IReadOnlyList<JsonFunction> Functions, IReadOnlyList<JsonAddress> Addresses,
    IReadOnlyList<JsonDrop> Drops, IReadOnlyList<string> Warnings, IReadOnlyList<JsonEvent> Events);

public sealed record JsonCounts(long Entries, long Exits, long Reads, long Writes, long LockedUpdates,
    long BytesRead, long BytesWritten, long BytesLocked);

public sealed record JsonFunction(string Function, ulong Size, JsonCounts Counts);

public sealed record JsonAddress(string Address, JsonCounts Counts, IReadOnlyList<string> Functions);

public sealed record JsonDrop(int Cpu, uint FirstSeq, long Count, int BeforeEvent);

/// <summary>One event; <c>Function</c>, <c>Offset</c>, <c>FunctionSize</c> are null when the pc is unresolved;
/// <c>Source</c> (file:line) when there is no debug information; <c>Inlined</c> (innermost first, the
/// first frame at <c>Source</c>) when the code was not inlined. <c>Flags</c>: the record's flags ("per-cpu", "own-task":
/// docs/record-format.md, "Record flags"), null when it has none.</summary>
public sealed record JsonEvent(ulong Ts, int Cpu, uint Seq, uint Tid, string Context, string Kind, string Pc,
    string? Function, ulong? Offset, ulong? FunctionSize, string Addr, uint Size, uint Site,
    string? Source = null, IReadOnlyList<JsonFrame>? Inlined = null, IReadOnlyList<string>? Flags = null);

/// <summary>One function of an inline chain: <c>Function</c> at <c>File</c>:<c>Line</c>.</summary>
public sealed record JsonFrame(string Function, string File, uint Line);

/// <summary>The whole report as one JSON document: summaries, drops, warnings and every event.</summary>
public static class JsonRenderer
{
    /// <summary>The document's options (indented, snake_case names, nulls written), backed by generated code.</summary>
    public static readonly JsonSerializerOptions Options = JsonReportContext.Default.Options;

    public static JsonReport ToJson(TraceReport r) => new(
        r.Module, r.Trace.Path, r.Trace.Version,
        r.Symbols?.CoreBase is { } cb ? Hex(cb) : r.Trace.TargetCoreBase != 0 ? Hex(r.Trace.TargetCoreBase) : null,
        r.Symbols?.InitBase is { } ib ? Hex(ib) : null,
        r.Events.Count, r.Trace.DroppedCount, Counts(r.Totals),
        r.Functions.Select(f => new JsonFunction(f.Function, f.Size, Counts(f.Counts))).ToList(),
        r.Addresses.Select(a => new JsonAddress(Hex(a.Address), Counts(a.Counts), a.Functions)).ToList(),
        r.Trace.Drops.Select(d => new JsonDrop(d.Cpu, d.FirstSeq, d.Count, d.Position)).ToList(),
        r.Warnings.Select(w => w.ToString()).ToList(),
        r.Events.Select(x => new JsonEvent(x.Event.Timestamp, x.Event.Cpu, x.Event.Seq, x.Event.Tid,
            CsvRenderer.ContextName(x.Event.Context), TextRenderer.KindName(x.Event.Kind), Hex(x.Event.Pc),
            x.Where?.Function, x.Where?.Offset, x.Where?.Size, Hex(x.Event.Addr), x.Event.Size, x.Event.Site,
            x.Where?.Source?.Position.ToString(), Inlined(x.Where?.Source), FlagNames(x.Event.Flags))).ToList());

    /// <summary>The names of a record's flags (null: none).</summary>
    public static List<string>? FlagNames(TraceRecordFlags f) => f == 0 ? null :
        new[] { (TraceRecordFlags.PerCpu, "per-cpu"), (TraceRecordFlags.OwnTask, "own-task") }
            .Where(n => (f & n.Item1) != 0).Select(n => n.Item2).ToList();

    private static List<JsonFrame>? Inlined(SourceLocation? s) =>
        s is { IsInlined: true } ? s.Frames.Select(f => new JsonFrame(f.Function, f.Position.File, f.Position.Line)).ToList() : null;

    public static void Render(TraceReport report, Stream output) =>
        JsonSerializer.Serialize(output, ToJson(report), JsonReportContext.Default.JsonReport);

    public static JsonReport Parse(Stream input) =>
        JsonSerializer.Deserialize(input, JsonReportContext.Default.JsonReport) ?? throw new JsonException("empty document");

    private static JsonCounts Counts(KindCounts c) =>
        new(c.Entries, c.Exits, c.Reads, c.Writes, c.LockedUpdates, c.BytesRead, c.BytesWritten, c.BytesLocked);

    private static string Hex(ulong v) => $"0x{v:x}";
}
