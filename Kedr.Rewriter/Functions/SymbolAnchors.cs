using Kedr.Core.Elf;

namespace Kedr.Rewriter.Functions;

/// <summary>
/// Names a place in the module as "symbol + addend", which is what fixups can express:
/// the function containing it, else the section's STT_SECTION symbol, else any symbol of that section.
/// </summary>
public sealed class SymbolAnchors
{
    private readonly FunctionCatalog _catalog;
    private readonly Dictionary<int, ElfSymbol> _bySection = [];

    public SymbolAnchors(ElfFile elf, FunctionCatalog catalog)
    {
        _catalog = catalog;
        foreach (var s in elf.Symbols)
        {
            if (!s.IsDefinedInSection) continue;
            if (s.IsSection || !_bySection.ContainsKey(s.SectionIndex)) _bySection[s.SectionIndex] = s;
        }
    }

    public bool TryAnchor(int section, long offset, out int symbol, out long addend)
    {
        var f = _catalog.Find(section, offset);
        if (f is not null)
        {
            (symbol, addend) = (f.Symbol.Index, offset - f.Start);
            return true;
        }
        if (_bySection.TryGetValue(section, out var s))
        {
            (symbol, addend) = (s.Index, offset - (long)s.Value);
            return true;
        }
        (symbol, addend) = (0, 0);
        return false;
    }
}
