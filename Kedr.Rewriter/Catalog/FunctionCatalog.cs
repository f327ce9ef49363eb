using Kedr.Core.Elf;

namespace Kedr.Rewriter.Catalog;

/// <summary>
/// The functions of a module that get copies: every <c>STT_FUNC</c> of at least
/// <see cref="MinimumSize"/> bytes in an executable section, one per address, sorted by
/// section and offset, with <c>.cold</c> parts tied to their parent.
/// </summary>
public sealed class FunctionCatalog
{
    /// <summary>A copy is reached by a 5-byte <c>jmp rel32</c> written over the original entry.</summary>
    public const int MinimumSize = 5;

    /// <summary>Per section index, its functions by offset.</summary>
    private readonly FunctionInfo[][] _bySection;

    public IReadOnlyList<FunctionInfo> Functions => _functions;
    /// <summary><see cref="Functions"/> as a read-only span: walked per function with no interface call.</summary>
    internal ReadOnlySpan<FunctionInfo> All => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_functions);
    private readonly List<FunctionInfo> _functions;
    /// <summary>Function symbols too small to hold the entry jump.</summary>
    public int TooSmallCount { get; }
    /// <summary>
    /// Static-call trampolines (<c>__SCT__*</c> in <c>.static_call.text</c>): the kernel owns and rewrites
    /// them in place (static_call_update), so they are not the module's functions to copy; the copies
    /// call the originals.
    /// </summary>
    public List<ElfSymbol> StaticCallTrampolines { get; } = [];
    /// <summary>Symbols dropped because another symbol already names the same code.</summary>
    public List<(ElfSymbol Symbol, string Reason)> Skipped { get; } = [];

    public FunctionCatalog(ElfFile elf)
    {
        var list = new List<FunctionInfo>();
        int tooSmall = 0;
        var kinds = SectionKinds(elf);
        for (int i = 0, count = elf.Symbols.Count; i < count; i++)
        {
            ref readonly var sym = ref elf.Symbol(i);
            if (!sym.IsFunction || !sym.IsDefinedInSection) continue;
            var kind = kinds[sym.SectionIndex];
            if (kind == SectionKind.NotCode) continue;
            if (sym.Size < MinimumSize) { tooSmall++; continue; }
            var sec = elf.Section(sym.SectionIndex);
            if (kind == SectionKind.StaticCallText || sym.Name.StartsWith("__SCT__", StringComparison.Ordinal))
            {
                StaticCallTrampolines.Add(sym);
                continue;
            }
            if (!sec.Holds(sym.Value, sym.Size))
            {
                Skipped.Add((sym, $"extends past the end of {sec.Name}"));
                continue;
            }
            list.Add(new FunctionInfo(sym, sec));
        }
        TooSmallCount = tooSmall;

        // Sort, then drop aliases and overlaps: the loader writes one entry jump per address.
        SortByPlace(list);
        var kept = new List<FunctionInfo>(list.Count);
        foreach (var f in list)
        {
            var prev = kept.Count > 0 ? kept[^1] : null;
            if (prev is not null && prev.Section == f.Section && f.Start < prev.End)
            {
                Skipped.Add((f.Symbol, f.Start == prev.Start ? $"alias of {prev.Name}" : $"overlaps {prev.Name}"));
                continue;
            }
            kept.Add(f);
        }
        for (int i = 0; i < kept.Count; i++) kept[i].Id = i;
        _functions = kept;
        _bySection = new FunctionInfo[elf.Sections.Count][];
        for (int i = 0; i < _bySection.Length; i++) _bySection[i] = [];
        // Sorted by section: each section's functions are one run.
        for (int first = 0, end; first < kept.Count; first = end)
        {
            int section = kept[first].Section.Index;
            for (end = first + 1; end < kept.Count && kept[end].Section.Index == section; end++) { }
            _bySection[section] = kept.GetRange(first, end - first).ToArray();
        }
        TieColdParts(elf, kept);
    }

    private enum SectionKind : byte { NotCode, Code, StaticCallText }

    /// <summary>Per section index: whether its functions are code with bytes in the file, and which are static-call trampolines.</summary>
    private static SectionKind[] SectionKinds(ElfFile elf)
    {
        var kinds = new SectionKind[elf.Sections.Count];
        for (int i = 0; i < kinds.Length; i++)
        {
            var sec = elf.Section(i);
            // Code is what the file holds (ModuleRewriter decodes the same sections).
            kinds[i] = !sec.IsExecutable || !sec.IsInFile ? SectionKind.NotCode
                : sec.Name == ".static_call.text" ? SectionKind.StaticCallText
                : SectionKind.Code;
        }
        return kinds;
    }

    /// <summary>
    /// By section and start, names for one place ordered by <see cref="ByPreference"/>. Section and start
    /// pack into one number (16 and 48 bits); only runs of one place (aliases) are compared by name.
    /// </summary>
    private static void SortByPlace(List<FunctionInfo> list)
    {
        var keys = new ulong[list.Count];
        var items = list.ToArray();
        for (int i = 0; i < items.Length; i++)
        {
            var f = items[i];
            if ((uint)f.Section.Index > ushort.MaxValue || (ulong)f.Start >= 1UL << 48)
            {
                list.Sort((a, b) => a.Section.Index != b.Section.Index ? a.Section.Index.CompareTo(b.Section.Index)
                    : a.Start != b.Start ? a.Start.CompareTo(b.Start) : ByPreference(a, b));
                return;
            }
            keys[i] = (ulong)f.Section.Index << 48 | (ulong)f.Start;
        }
        PackedKeySort.Sort(keys, items, s_byPreference);
        list.Clear();
        list.AddRange(items);
    }

    /// <summary>The function whose bytes contain (section, offset), or null.</summary>
    public FunctionInfo? Find(int section, long offset)
    {
        if ((uint)section >= (uint)_bySection.Length) return null;
        var arr = _bySection[section];
        int lo = 0, hi = arr.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var f = arr[mid];
            if (offset < f.Start) hi = mid - 1;
            else if (offset >= f.End) lo = mid + 1;
            else return f;
        }
        return null;
    }

    /// <summary>
    /// Of several names for one function, keep the developer's: module_init/module_exit add the
    /// aliases init_module/cleanup_module; otherwise a global name beats a local one.
    /// </summary>
    private static int PreferGlobal(FunctionInfo a, FunctionInfo b)
    {
        int byAlias = IsModuleAlias(a.Name).CompareTo(IsModuleAlias(b.Name));
        return byAlias != 0 ? byAlias
            : (b.Symbol.Bind != ElfConstants.StbLocal).CompareTo(a.Symbol.Bind != ElfConstants.StbLocal);
    }

    /// <summary><see cref="PreferGlobal"/>, then the first in the symbol table: names of equal standing (two
    /// local functions the compiler folded into one) are chosen by a rule, not by the sort's order.</summary>
    private static readonly IComparer<FunctionInfo> s_byPreference = Comparer<FunctionInfo>.Create(ByPreference);

    private static int ByPreference(FunctionInfo a, FunctionInfo b)
    {
        int c = PreferGlobal(a, b);
        return c != 0 ? c : a.Symbol.Index.CompareTo(b.Symbol.Index);
    }

    private static bool IsModuleAlias(string name) => name is "init_module" or "cleanup_module";

    /// <summary>
    /// GCC names the cold part of <c>foo</c> <c>foo.cold</c> (or <c>foo.cold.N</c>). Local names
    /// repeat across a module's source files, so among several <c>foo</c>s the parent is the one
    /// that branches to the part or is branched to from it (a relocation links the two sections),
    /// else the nearest in the symbol table.
    /// </summary>
    private void TieColdParts(ElfFile elf, List<FunctionInfo> functions)
    {
        var parts = new List<(FunctionInfo Part, string Parent)>();
        foreach (var f in functions)
        {
            int cold = f.Name.IndexOf(".cold", StringComparison.Ordinal);
            if (cold > 0) parts.Add((f, f.Name[..cold]));
        }
        if (parts.Count == 0) return;
        // Candidates by name, only for the names parts have.
        var byName = new Dictionary<string, List<FunctionInfo>>(StringComparer.Ordinal);
        foreach (var (_, parent) in parts) byName.TryAdd(parent, []);
        foreach (var f in functions)
            if (byName.TryGetValue(f.Name, out var list)) list.Add(f);
        foreach (var (f, parentName) in parts)
        {
            var candidates = byName[parentName];
            if (candidates.Count == 0) continue;
            var parent = candidates.Count == 1 ? candidates[0]
                : candidates.FirstOrDefault(c => Linked(elf, c, f) || Linked(elf, f, c))
                  ?? candidates.MinBy(c => Math.Abs(c.Symbol.Index - f.Symbol.Index))!;
            if (!ReferenceEquals(parent, f)) f.Owner = parent.Owner;
        }
    }

    /// <summary>Whether a relocation inside <paramref name="from"/> points into <paramref name="to"/>.</summary>
    private static bool Linked(ElfFile elf, FunctionInfo from, FunctionInfo to)
    {
        var relocs = elf.GetRelocations(from.Section);
        for (int i = elf.FirstRelocationAtOrAfter(from.Section, from.Start); i < relocs.Count && (long)relocs[i].Offset < from.End; i++)
        {
            var r = relocs[i];
            ref readonly var sym = ref elf.Symbol(r.SymbolIndex);
            if (sym.SectionIndex != to.Section.Index || !r.IsPcRelative) continue;
            long target = (long)sym.Value + r.Addend + 4;
            if (target >= to.Start && target < to.End) return true;
        }
        return false;
    }
}
