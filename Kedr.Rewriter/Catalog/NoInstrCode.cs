using Kedr.Core.Elf;

namespace Kedr.Rewriter.Catalog;

/// <summary>
/// Code the kernel forbids instrumenting: a module's <c>.noinstr.text</c> (<c>noinstr</c>: entry and
/// exit paths that run where RCU is not watching or per-CPU state is not set up, e.g. kvm_amd's
/// <c>__svm_vcpu_run</c>), <c>.entry.text</c>, <c>.kprobes.text</c> (<c>__kprobes</c>) and the functions
/// <c>_kprobe_blacklist</c> names (<c>NOKPROBE_SYMBOL</c>). The kernel keeps kprobes off all of them
/// (kernel/kprobes.c: add_module_kprobe_blacklist); the copies' event helpers use <c>%gs</c> per-CPU
/// data and RCU, so they are never redirected either: they are left out with the reason.
/// </summary>
internal static class NoInstrCode
{
    /// <summary>Sections whose every function is off limits.</summary>
    public static readonly string[] Sections = [".noinstr.text", ".entry.text", ".kprobes.text"];

    /// <summary>The section of <c>NOKPROBE_SYMBOL</c>'s addresses (one <c>unsigned long</c> each).</summary>
    public const string BlacklistSection = "_kprobe_blacklist";

    /// <summary>Why each off-limits function of <paramref name="catalog"/> must stay as it is.</summary>
    public static Dictionary<FunctionInfo, string> Find(ElfFile elf, FunctionCatalog catalog)
    {
        var found = new Dictionary<FunctionInfo, string>();
        // Per section index: 0 not asked yet, 1 off limits, 2 not (a section's name compared once, not per function).
        var offLimits = new byte[elf.Sections.Count];
        foreach (var f in catalog.All)
            if (IsOffLimits(f.Section))
                found.TryAdd(f, $"in {f.Section.Name}: the kernel forbids instrumenting it (noinstr; the event helpers use per-CPU data and RCU)");
        if (elf.FindSection(BlacklistSection) is { } list)
            foreach (var r in elf.GetRelocations(list))
            {
                ref readonly var sym = ref elf.Symbol(r.SymbolIndex);
                if (!sym.IsDefinedInSection) continue;
                // The kernel blacklists the symbol holding the address (kallsyms_lookup_size_offset).
                if (catalog.Find(sym.SectionIndex, (long)sym.Value + r.Addend) is { } f)
                    found.TryAdd(f, $"in {BlacklistSection} (NOKPROBE_SYMBOL): the kernel forbids instrumenting it (the event helpers use per-CPU data and RCU)");
            }
        return found;

        bool IsOffLimits(ElfSection section)
        {
            ref byte known = ref offLimits[section.Index];
            if (known == 0) known = (byte)(Array.IndexOf(Sections, section.Name) >= 0 ? 1 : 2);
            return known == 1;
        }
    }
}
