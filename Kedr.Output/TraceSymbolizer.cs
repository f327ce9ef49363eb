using Kedr.Core.Diagnostics;
using Kedr.Core.Dwarf;
using Kedr.Core.Elf;

namespace Kedr.Output;

/// <summary>A live code address as <c>function+offset/size [module]</c>, like kallsyms shows it.</summary>
public sealed record ResolvedPc(string Function, ulong Offset, ulong Size, string Module)
{
    /// <summary>The source line (and inlined calls) from the module's DWARF; null without debug information.</summary>
    public SourceLocation? Source { get; init; }

    public override string ToString() => $"{Function}+0x{Offset:x}/0x{Size:x} [{Module}]";
}

/// <summary>
/// Maps the live addresses in a trace back to the functions of the target's .ko.
/// </summary>
/// <remarks>
/// <para>The kernel (6.1, <c>layout_sections()</c>) puts a module's executable sections at the
/// start of its core or init allocation, in section-header order, each at the next multiple of its
/// alignment; sections named <c>.init*</c> go to the init allocation. So one base address per
/// allocation places every function. The trace header carries the core base
/// (<c>target_core_base</c>); the init base it does not carry is found from the function-entry
/// events, whose pc is the function's own address: the page-aligned base that puts the most
/// entry pcs outside the core text exactly on init functions' starts. The same search places
/// the core text when the header's base is 0. Entry pcs that then land off a function start are
/// reported: the .ko is not the one that ran, or the kernel lays modules out differently.</para>
/// </remarks>
public sealed class TraceSymbolizer
{
    private const ulong PageSize = 4096;

    private readonly ModuleFunctions _functions;
    private readonly ElfFile _elf;
    private readonly SourceMap? _sources;
    private readonly List<(ulong Start, ulong End, int Section)> _regions = [];
    private readonly Dictionary<ulong, ResolvedPc?> _cache = [];

    public string Module { get; }
    /// <summary>Where the core text was: the header's value or, if it had none, the one found from the events.</summary>
    public ulong? CoreBase { get; }
    /// <summary>Where the init text was, found from the entry events; null if no entry event was there.</summary>
    public ulong? InitBase { get; }

    private TraceSymbolizer(ElfFile elf, string target, ulong targetCoreBase, List<ulong> entries, List<KedrDiagnostic> warnings, SourceMap? sources)
    {
        _functions = new ModuleFunctions(elf);
        _elf = elf;
        _sources = sources;
        Module = target.Length > 0 ? target : elf.ModuleName;
        if (elf.ModuleName != target)
            warnings.Add(new KedrDiagnostic(DiagnosticCodes.ReportModuleMismatch,
                $"the trace is of module '{target}', the .ko is '{elf.ModuleName}': names will be wrong", elf.Path));

        var core = Layout(elf, init: false, out ulong coreSize);
        var init = Layout(elf, init: true, out _);
        CoreBase = targetCoreBase != 0 ? targetCoreBase : Calibrate(core, entries);
        if (CoreBase is { } cb) Place(core, cb);
        var outside = entries.Where(pc => !InCore(pc, coreSize)).ToList();
        InitBase = Calibrate(init, outside);
        if (InitBase is { } ib) Place(init, ib);

        var off = entries.Where(pc => Resolve(pc) is not { Offset: 0 }).Order().ToList();
        if (off.Count > 0)
            warnings.Add(new KedrDiagnostic(DiagnosticCodes.ReportEntryNotFunctionStart,
                $"{off.Count} function entry address(es) are not the start of a function of the .ko (first 0x{off[0]:x}): " +
                "is this the .ko that ran?" + (CoreBase is null ? " (the trace header has no target_core_base)" : ""), elf.Path));
    }

    /// <summary>Builds the map; what does not fit is added to <paramref name="warnings"/> (KEDR51xx).</summary>
    /// <param name="sources">The module's source map, to give each pc its source line; null for none.</param>
    public static TraceSymbolizer Create(ElfFile elf, Trace trace, List<KedrDiagnostic> warnings, SourceMap? sources = null) =>
        new(elf, trace.Target, trace.TargetCoreBase, trace.Events.Where(e => e.Kind == TraceEventKind.Entry).Select(e => e.Pc).Distinct().ToList(),
            warnings, sources);

    /// <summary>As the other overload, for a trace read as a stream: its header and the functions it entered.</summary>
    public static TraceSymbolizer Create(ElfFile elf, StreamedTrace trace, List<KedrDiagnostic> warnings, SourceMap? sources = null) =>
        new(elf, trace.Target, trace.TargetCoreBase, trace.EntryPcs.Order().ToList(), warnings, sources);

    /// <summary><paramref name="pc"/> as function+offset/size, or null if it is in no function of the .ko.</summary>
    public ResolvedPc? Resolve(ulong pc)
    {
        if (_cache.TryGetValue(pc, out var hit)) return hit;
        ResolvedPc? r = null;
        foreach (var (start, end, section) in _regions)
        {
            if (pc < start || pc >= end) continue;
            var f = _functions.Find(section, pc - start);
            if (f is not null)
                r = new ResolvedPc(f.Name, pc - start - f.Start, f.Size, Module) { Source = _sources?.Find(_elf.Sections[section].Name, pc - start) };
            break;
        }
        return _cache[pc] = r;
    }

    private bool InCore(ulong pc, ulong coreSize) => CoreBase is { } b && pc >= b && pc - b < coreSize;

    private void Place(List<(ElfSection Section, ulong Offset)> layout, ulong b)
    {
        foreach (var (sec, o) in layout)
            _regions.Add((b + o, b + o + sec.Size, sec.Index));
    }

    /// <summary>The executable sections of the core (or init) allocation with their offsets in it.</summary>
    public static List<(ElfSection Section, ulong Offset)> Layout(ElfFile elf, bool init, out ulong size)
    {
        var list = new List<(ElfSection, ulong)>();
        ulong pos = 0;
        foreach (var sec in elf.Sections)
        {
            if (!sec.IsAlloc || !sec.IsExecutable) continue;
            if (sec.Name.StartsWith(".init", StringComparison.Ordinal) != init) continue;
            ulong align = Math.Max(sec.Alignment, 1);
            pos = (pos + align - 1) / align * align;
            list.Add((sec, pos));
            pos += sec.Size;
        }
        size = pos;
        return list;
    }

    /// <summary>The page-aligned base that puts the most of <paramref name="entryPcs"/> on function starts.</summary>
    private ulong? Calibrate(List<(ElfSection Section, ulong Offset)> layout, List<ulong> entryPcs)
    {
        if (layout.Count == 0 || entryPcs.Count == 0) return null;
        var starts = new List<ulong>();
        foreach (var (sec, o) in layout)
            starts.AddRange(_functions.All.Where(f => f.SectionIndex == sec.Index).Select(f => o + f.Start));
        var votes = new Dictionary<ulong, int>();
        foreach (var pc in entryPcs.Take(4096))
            foreach (var s in starts)
            {
                ulong b = unchecked(pc - s);
                if (b % PageSize != 0) continue;
                votes[b] = votes.GetValueOrDefault(b) + 1;
            }
        if (votes.Count == 0) return null;
        return votes.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).First().Key;
    }
}
