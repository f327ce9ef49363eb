using System.Text.Json;

namespace Kedr.Output.Races;

public sealed record JsonRaceFrame(string Function, string? Source);

public sealed record JsonRaceAccess(string Kind, string Addr, uint Size, string Pc, string? Function, ulong? Offset, string? Source,
    string Context, uint Tid, int Cpu, ulong Ts, IReadOnlyList<JsonRaceFrame> Stack, IReadOnlyList<string> Locks);

public sealed record JsonRaceAllocation(string Block, ulong Size, ulong Offset, string Pc, string? Function, string? Source);

public sealed record JsonRace(string Title, long Count, JsonRaceAccess First, JsonRaceAccess Second, JsonRaceAllocation? Allocation, IReadOnlyList<string> ProtectingLocks);

public sealed record JsonRaces(string Module, string Trace, long Events, long MemoryEvents, long SyncEvents, int Threads,
    long Dropped, long EvictedCells, int PeakCells, long TruncatedAccesses, IReadOnlyList<JsonRace> Races);

/// <summary>The races as one JSON document (addresses as "0x..." strings, as JsonRenderer writes them).</summary>
public static class RaceJsonRenderer
{
    public static JsonRaces ToJson(RaceResult r, RaceNames n, string module, string trace) => new(
        module, trace, r.Events, r.MemoryEvents, r.SyncEvents, r.Threads, r.DroppedEvents, r.EvictedCells, r.PeakCells, r.TruncatedAccesses,
        r.Races.Select(p => new JsonRace(n.Title(p), p.Count, Access(p.First, n), Access(p.Second, n),
            p.Allocation is { } a ? new JsonRaceAllocation(Hex(a.Block), a.Size, a.Offset, Hex(a.Pc), n.Resolve(a.Pc)?.Function, n.Source(a.Pc)) : null,
            p.ProtectingLocks.Select(Hex).ToList())).ToList());

    public static void Render(RaceResult r, RaceNames n, string module, string trace, Stream s) =>
        JsonSerializer.Serialize(s, ToJson(r, n, module, trace), JsonReportContext.Default.JsonRaces);

    private static JsonRaceAccess Access(RaceAccess a, RaceNames n)
    {
        var where = n.Resolve(a.Pc);
        return new JsonRaceAccess(RaceNames.Kind(a), Hex(a.Addr), a.Size, Hex(a.Pc), where?.Function, where?.Offset, n.Source(a.Pc),
            CsvRenderer.ContextName(a.Thread.Context), a.Tid, a.Cpu, a.Timestamp,
            n.Callers(a).Select(f => new JsonRaceFrame(n.Function(f), n.Source(f))).ToList(),
            a.Locks.Select(l => l.ToString()).ToList());
    }

    private static string Hex(ulong v) => $"0x{v:x}";
}
