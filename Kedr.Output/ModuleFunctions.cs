using Kedr.Core.Elf;

namespace Kedr.Output;

/// <summary>A function of the .ko: where it is in its section, its size and the name events use.</summary>
public sealed record ModuleFunction(string Name, int SectionIndex, ulong Start, ulong Size);

/// <summary>
/// The functions of a module by section, one name per address, chosen as <c>kedr instrument</c>
/// and the loader name them: the developer's name over the <c>init_module</c>/<c>cleanup_module</c>
/// aliases, a global name over a local one; of overlapping symbols the first one wins.
/// </summary>
public sealed class ModuleFunctions
{
    private readonly Dictionary<int, ModuleFunction[]> _bySection;

    public ModuleFunctions(ElfFile elf)
    {
        var list = new List<(ModuleFunction F, ElfSymbol Sym)>();
        foreach (var sym in elf.Symbols)
        {
            if (!sym.IsFunction || !sym.IsDefinedInSection || sym.Size == 0) continue;
            var sec = elf.Sections[sym.SectionIndex];
            if (!sec.IsExecutable || !sec.Holds(sym.Value, sym.Size)) continue;
            list.Add((new ModuleFunction(sym.Name, sym.SectionIndex, sym.Value, sym.Size), sym));
        }
        list.Sort((a, b) => a.F.SectionIndex != b.F.SectionIndex ? a.F.SectionIndex.CompareTo(b.F.SectionIndex)
            : a.F.Start != b.F.Start ? a.F.Start.CompareTo(b.F.Start) : Preference(a.Sym).CompareTo(Preference(b.Sym)));
        var kept = new List<ModuleFunction>(list.Count);
        foreach (var (f, _) in list)
        {
            if (kept.Count > 0 && kept[^1].SectionIndex == f.SectionIndex && f.Start < kept[^1].Start + kept[^1].Size) continue;
            kept.Add(f);
        }
        All = kept;
        _bySection = kept.GroupBy(f => f.SectionIndex).ToDictionary(g => g.Key, g => g.ToArray());
    }

    public IReadOnlyList<ModuleFunction> All { get; }

    /// <summary>The function containing byte <paramref name="offset"/> of section <paramref name="section"/>, or null.</summary>
    public ModuleFunction? Find(int section, ulong offset)
    {
        if (!_bySection.TryGetValue(section, out var arr)) return null;
        int lo = 0, hi = arr.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var f = arr[mid];
            if (offset < f.Start) hi = mid - 1;
            else if (offset >= f.Start + f.Size) lo = mid + 1;
            else return f;
        }
        return null;
    }

    /// <summary>Lower is preferred.</summary>
    private static int Preference(ElfSymbol s) =>
        (s.Name is "init_module" or "cleanup_module" ? 2 : 0) + (s.Bind == ElfConstants.StbLocal ? 1 : 0);
}
