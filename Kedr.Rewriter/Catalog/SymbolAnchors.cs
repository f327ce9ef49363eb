using Kedr.Core.Elf;

namespace Kedr.Rewriter.Catalog;

/// <summary>
/// Names a place in the module as "symbol + addend", which is what fixups can express:
/// the function containing it, else the section's STT_SECTION symbol, else any symbol of that section.
/// </summary>
public sealed class SymbolAnchors
{
    private readonly ElfFile _elf;
    private readonly FunctionCatalog _catalog;
    /// <summary>Per section index, the symbol to name its places by (-1: none); made when first needed (most places are in functions).</summary>
    private int[]? _bySection;

    public SymbolAnchors(ElfFile elf, FunctionCatalog catalog) => (_elf, _catalog) = (elf, catalog);

    /// <summary>Each section's STT_SECTION symbol, else its first symbol in the table.</summary>
    private int[] BySection()
    {
        var bySection = new int[_elf.Sections.Count];
        Array.Fill(bySection, -1);
        for (int i = 0, count = _elf.Symbols.Count; i < count; i++)
        {
            ref readonly var s = ref _elf.Symbol(i);
            if (!s.IsDefinedInSection) continue;
            if (s.IsSection || bySection[s.SectionIndex] < 0) bySection[s.SectionIndex] = i;
        }
        return bySection;
    }

    public bool TryAnchor(int section, long offset, out int symbol, out long addend)
    {
        var f = _catalog.Find(section, offset);
        if (f is not null)
        {
            (symbol, addend) = (f.Symbol.Index, offset - f.Start);
            return true;
        }
        var bySection = _bySection ??= BySection();
        if ((uint)section < (uint)bySection.Length && bySection[section] >= 0)
        {
            ref readonly var s = ref _elf.Symbol(bySection[section]);
            (symbol, addend) = (s.Index, offset - (long)s.Value);
            return true;
        }
        (symbol, addend) = (0, 0);
        return false;
    }
}
