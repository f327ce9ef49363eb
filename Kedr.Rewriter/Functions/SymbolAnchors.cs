using Kedr.Core.Elf;

namespace Kedr.Rewriter.Functions;

/// <summary>
/// Names a place in the module as "symbol + addend", which is what fixups can express:
/// the function containing it, else the section's STT_SECTION symbol, else any symbol of that section.
/// </summary>
public sealed class SymbolAnchors
{
    private readonly ElfFile _elf;
    private readonly FunctionCatalog _catalog;
    /// <summary>Per section, the symbol to name its places by; made when first needed (most places are in functions).</summary>
    private Dictionary<int, ElfSymbol>? _bySection;

    public SymbolAnchors(ElfFile elf, FunctionCatalog catalog) => (_elf, _catalog) = (elf, catalog);

    private Dictionary<int, ElfSymbol> BySection()
    {
        var bySection = new Dictionary<int, ElfSymbol>();
        foreach (var s in _elf.Symbols)
        {
            if (!s.IsDefinedInSection) continue;
            if (s.IsSection || !bySection.ContainsKey(s.SectionIndex)) bySection[s.SectionIndex] = s;
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
        if ((_bySection ??= BySection()).TryGetValue(section, out var s))
        {
            (symbol, addend) = (s.Index, offset - (long)s.Value);
            return true;
        }
        (symbol, addend) = (0, 0);
        return false;
    }
}
