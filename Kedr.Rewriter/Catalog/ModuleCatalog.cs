using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Kernel.Modules;

namespace Kedr.Rewriter.Catalog;

/// <summary>
/// Stage 1, the catalog: a read-only view of one module — its functions, its executable sections with
/// their relocations, and its run-time patch sites — which every later stage reads and none changes.
/// </summary>
internal sealed class ModuleCatalog
{
    private readonly SectionCode?[] _sections;

    private ModuleCatalog(ElfFile elf, List<PatchSite> sites)
    {
        Elf = elf;
        _sites = sites;
        Functions = new FunctionCatalog(elf);
        SortedSites = SectionCode.SortSites(sites);
        _sections = new SectionCode?[elf.Sections.Count];
        foreach (var sec in elf.Sections)
            if (sec.IsExecutable && sec.IsInFile)
                _sections[sec.Index] = new SectionCode(elf, sec, SectionCode.SitesOf(SortedSites, sec.Index));
        Anchors = new SymbolAnchors(elf, Functions);
    }

    public ElfFile Elf { get; }
    public FunctionCatalog Functions { get; }
    /// <summary>The patch sites in table order (which orders the kinds in the report).</summary>
    public IReadOnlyList<PatchSite> Sites => _sites;
    /// <summary><see cref="Sites"/> as a span: walked without an interface call or a copy per site.</summary>
    public ReadOnlySpan<PatchSite> SitesInTableOrder => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_sites);
    private readonly List<PatchSite> _sites;
    /// <summary>The same, by section, offset and kind, as the catalog's functions are.</summary>
    public PatchSite[] SortedSites { get; }
    /// <summary>Places of the module as "symbol + addend", for fixups.</summary>
    public SymbolAnchors Anchors { get; }

    /// <summary>The code of executable section <paramref name="section"/> (one the file holds).</summary>
    public SectionCode Code(ElfSection section) =>
        _sections[section.Index] ?? throw new InvalidOperationException($"section {section.Name} is not code in the file");

    /// <summary>Reads the patch-site tables (whose damage is the one thing here that can refuse a module) and builds the view.</summary>
    public static bool TryRead(ElfFile elf, out ModuleCatalog? catalog, out KedrDiagnostic? error)
    {
        catalog = null;
        if (!PatchSiteReader.TryRead(elf, out var sites, out error)) return false;
        catalog = new ModuleCatalog(elf, sites);
        return true;
    }
}
