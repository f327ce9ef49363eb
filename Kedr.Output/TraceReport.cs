using Kedr.Core.Diagnostics;
using Kedr.Core.Dwarf;
using Kedr.Core.Elf;

namespace Kedr.Output;

/// <summary>Counts of one kind of event and the bytes they touched.</summary>
public sealed class KindCounts
{
    public long Entries { get; set; }
    public long Exits { get; set; }
    public long Reads { get; set; }
    public long Writes { get; set; }
    public long LockedUpdates { get; set; }
    public long BytesRead { get; set; }
    public long BytesWritten { get; set; }
    public long BytesLocked { get; set; }

    public long MemoryEvents => Reads + Writes + LockedUpdates;
    public long Events => Entries + Exits + MemoryEvents;

    internal void Add(in TraceEvent e)
    {
        switch (e.Kind)
        {
            case TraceEventKind.Entry: Entries++; break;
            case TraceEventKind.Exit: Exits++; break;
            case TraceEventKind.Read: Reads++; BytesRead += e.Size; break;
            case TraceEventKind.Write: Writes++; BytesWritten += e.Size; break;
            case TraceEventKind.LockedUpdate: LockedUpdates++; BytesLocked += e.Size; break;
        }
    }
}

/// <summary>What happened in one function: its entries and exits, and the memory accesses made from its code.</summary>
public sealed record FunctionSummary(string Function, ulong Size, KindCounts Counts);

/// <summary>What happened to one accessed address, and from which functions.</summary>
public sealed record AddressSummary(ulong Address, KindCounts Counts, IReadOnlyList<string> Functions);

/// <summary>One event with its pc resolved (null when there is no .ko or the pc is in none of its functions).</summary>
public readonly record struct ReportEvent(TraceEvent Event, ResolvedPc? Where);

/// <summary>
/// A trace with its addresses resolved and summed up: what every renderer (text, CSV, JSON, HTML) shows.
/// </summary>
public sealed class TraceReport
{
    /// <summary>Name used for events whose pc cannot be resolved.</summary>
    public const string Unresolved = "?";
    /// <summary>The name of a payload's events whose call came by a tail call: no call site in the target (pc 0, kmod/kedr_payload.h).</summary>
    public const string NoCallSite = "(tail call)";

    public required Trace Trace { get; init; }
    public required string Module { get; init; }
    public TraceSymbolizer? Symbols { get; init; }
    /// <summary>True when the module's debug information was read: resolved pcs carry their source line.</summary>
    public bool HasSources { get; init; }
    public required IReadOnlyList<ReportEvent> Events { get; init; }
    /// <summary>By events, most first; memory accesses are counted for the function whose code made them.</summary>
    public required IReadOnlyList<FunctionSummary> Functions { get; init; }
    /// <summary>Accessed addresses, most accessed first.</summary>
    public required IReadOnlyList<AddressSummary> Addresses { get; init; }
    public required KindCounts Totals { get; init; }
    /// <summary>The trace's warnings and the symbolizer's.</summary>
    public required IReadOnlyList<KedrDiagnostic> Warnings { get; init; }

    /// <summary>Resolves <paramref name="trace"/> against <paramref name="elf"/> (optional) and sums it up.</summary>
    /// <param name="sources">Where the source map comes from (<see cref="Source.ModuleSources"/>); null for no source lines.</param>
    public static TraceReport Build(Trace trace, ElfFile? elf, Func<ElfFile, List<KedrDiagnostic>, SourceMap?>? sources = null)
    {
        var warnings = new List<KedrDiagnostic>(trace.Warnings);
        var map = elf is null || sources is null ? null : sources(elf, warnings);
        var symbols = elf is null ? null : TraceSymbolizer.Create(elf, trace, warnings, map);
        var events = new ReportEvent[trace.Events.Count];
        var byFunction = new Dictionary<string, (ulong Size, KindCounts Counts)>(StringComparer.Ordinal);
        var byAddress = new Dictionary<ulong, (KindCounts Counts, SortedSet<string> Functions)>();
        var totals = new KindCounts();
        long unresolved = 0;
        ulong firstUnresolved = 0;
        for (int i = 0; i < events.Length; i++)
        {
            var e = trace.Events[i];
            bool noCallSite = e.Pc == 0 && e.Site == TraceFormat.NoSite;
            var where = noCallSite ? null : symbols?.Resolve(e.Pc);
            events[i] = new ReportEvent(e, where);
            if (symbols is not null && where is null && !noCallSite && unresolved++ == 0) firstUnresolved = e.Pc;
            string name = where?.Function ?? (noCallSite ? NoCallSite : Unresolved);
            if (!byFunction.TryGetValue(name, out var f)) byFunction[name] = f = (where?.Size ?? 0, new KindCounts());
            f.Counts.Add(e);
            totals.Add(e);
            if (!e.IsMemoryEvent) continue;
            if (!byAddress.TryGetValue(e.Addr, out var a)) byAddress[e.Addr] = a = (new KindCounts(), new SortedSet<string>(StringComparer.Ordinal));
            a.Counts.Add(e);
            a.Functions.Add(name);
        }
        if (unresolved > 0)
            warnings.Add(new KedrDiagnostic(DiagnosticCodes.ReportUnknownPc,
                $"{unresolved} event(s) at addresses in no function of the .ko (first 0x{firstUnresolved:x}); shown without a name", elf!.Path));
        return new TraceReport
        {
            Trace = trace,
            Module = symbols?.Module ?? trace.Target,
            Symbols = symbols,
            HasSources = map is not null,
            Events = events,
            Functions = byFunction.Select(kv => new FunctionSummary(kv.Key, kv.Value.Size, kv.Value.Counts))
                .OrderByDescending(f => f.Counts.Events).ThenBy(f => f.Function, StringComparer.Ordinal).ToList(),
            Addresses = byAddress.Select(kv => new AddressSummary(kv.Key, kv.Value.Counts, kv.Value.Functions.ToList()))
                .OrderByDescending(a => a.Counts.MemoryEvents).ThenBy(a => a.Address).ToList(),
            Totals = totals,
            Warnings = warnings,
        };
    }
}
