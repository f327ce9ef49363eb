using Kedr.Core.Elf;

namespace Kedr.Output.Races;

/// <summary>Where the module's init and exit functions were in the run: the entry pc that the symbolizer places on the .ko's <c>init_module</c> (<c>cleanup_module</c>).</summary>
public static class ModuleInit
{
    /// <summary>The live address of the init function, or null (no <c>init_module</c>, or init ran before the trace began).</summary>
    public static ulong? Find(ElfFile elf, TraceSymbolizer symbols, Trace trace) =>
        Find(elf, symbols, trace.Events.Where(e => e.Kind == TraceEventKind.Entry).Select(e => e.Pc));

    /// <summary>As the other overload, from the pcs of the trace's entry events.</summary>
    public static ulong? Find(ElfFile elf, TraceSymbolizer symbols, IEnumerable<ulong> entryPcs) =>
        FindAlias(elf, symbols, entryPcs, "init_module");

    /// <summary>
    /// The live address of the exit function (<c>cleanup_module</c>, module_exit()'s alias), or null (none, or
    /// the trace does not enter it: the module was not unloaded while recording).
    /// </summary>
    public static ulong? FindExit(ElfFile elf, TraceSymbolizer symbols, IEnumerable<ulong> entryPcs) =>
        FindAlias(elf, symbols, entryPcs, "cleanup_module");

    private static ulong? FindAlias(ElfFile elf, TraceSymbolizer symbols, IEnumerable<ulong> entryPcs, string alias)
    {
        var found = elf.Symbols.Where(s => s.Name == alias && s.IsFunction && s.IsDefinedInSection).Take(1).ToList();
        if (found.Count == 0) return null;
        var sym = found[0];
        var f = new ModuleFunctions(elf).Find(sym.SectionIndex, sym.Value);
        if (f is null || f.Start != sym.Value) return null;
        foreach (var pc in entryPcs)
            if (symbols.Resolve(pc) is { Offset: 0 } r && r.Function == f.Name) return pc;
        return null;
    }

    /// <summary>The live addresses of the functions named <paramref name="names"/> that the trace enters; names never entered are listed in <paramref name="missing"/>.</summary>
    public static HashSet<ulong> FindEntered(TraceSymbolizer symbols, Trace trace, IReadOnlyCollection<string> names, out List<string> missing) =>
        FindEntered(symbols, trace.Events.Where(e => e.Kind == TraceEventKind.Entry).Select(e => e.Pc), names, out missing);

    /// <summary>As the other overload, from the pcs of the trace's entry events.</summary>
    public static HashSet<ulong> FindEntered(TraceSymbolizer symbols, IEnumerable<ulong> entryPcs, IReadOnlyCollection<string> names, out List<string> missing)
    {
        var found = new HashSet<ulong>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pc in entryPcs.Distinct())
            if (symbols.Resolve(pc) is { Offset: 0 } r && names.Contains(r.Function)) { found.Add(pc); seen.Add(r.Function); }
        missing = names.Where(n => !seen.Contains(n)).ToList();
        return found;
    }
}
