using Kedr.Core.Elf;
using Kedr.Kernel.Modules;
using Kedr.Rewriter.Catalog;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// Finds where the module's data points into the middle of a function (asm jump tables,
/// computed gotos). An indirect branch through such a pointer reaches the int3-filled
/// original, so the loader writes a jump to the copy there: a landing pad.
/// </summary>
internal static class LandingPadFinder
{
    /// <summary>Tables whose pointers into code are not branch targets (the kernel's own patch and unwind data).</summary>
    private static readonly HashSet<string> MetadataSections = new(StringComparer.Ordinal)
    {
        "__mcount_loc", ".return_sites", ".retpoline_sites", ".smp_locks", ".static_call_sites", "__bug_table",
        "__jump_table", "__ex_table", ".altinstructions", ".parainstructions", ".orc_unwind_ip", ".orc_unwind",
        "__patchable_function_entries", ".ibt_endbr_seal",
    };

    /// <summary>The size of the jump the loader writes.</summary>
    public const int PadSize = 5;

    /// <param name="leftOut">Per function id, why it is left out so far; a function whose pads cannot be written gets its reason.</param>
    public static void Find(ElfFile elf, FunctionCatalog catalog, FunctionPlan.Draft[] plans, string?[] leftOut)
    {
        foreach (var sec in elf.Sections)
        {
            // Only what is loaded can be branched through: not .debug_*, not the ORC tables.
            if (sec.Type != ElfConstants.ShtProgbits || !sec.IsAlloc || sec.IsExecutable || MetadataSections.Contains(sec.Name)) continue;
            foreach (ref readonly var r in elf.RelocationSpan(sec))
            {
                if (r.Type is not (RelocationType.Abs64 or RelocationType.Abs32S or RelocationType.Pc32 or RelocationType.Plt32)) continue;
                ref readonly var sym = ref elf.Symbol(r.SymbolIndex);
                if (!sym.IsDefinedInSection || !elf.Section(sym.SectionIndex).IsExecutable) continue;
                long target = (long)sym.Value + r.Addend; // S + A (a PC32 data pointer is self-relative to the same place)
                var f = catalog.Find(sym.SectionIndex, target);
                if (f is null || target == f.Start) continue;
                plans[f.Id].AddLandingPad((int)(target - f.Start));
            }
        }
        foreach (var plan in plans)
            if (plan.LandingPads is { } pads) Check(plan.Plan, pads, leftOut);
    }

    /// <summary>A pad needs 5 bytes of its own: clear of the entry jump, other pads and sites patched later.</summary>
    private static void Check(FunctionPlan plan, List<int> pads, string?[] leftOut)
    {
        var f = plan.Function;
        pads.Sort();
        int w = 0;
        for (int i = 0; i < pads.Count; i++)
            if (w == 0 || pads[w - 1] != pads[i]) pads[w++] = pads[i];
        pads.RemoveRange(w, pads.Count - w);
        if (leftOut[f.Id] is not null) return;
        for (int i = 0; i < pads.Count; i++)
        {
            int pad = pads[i];
            int at = plan.IndexOf(f.Start + pad);
            string? why =
                at < 0 || plan.Instructions[at].Kind == EmitKind.Absorbed ? "is not an instruction start" :
                pad < PadSize ? "overlaps the entry jump" :
                pad + PadSize > f.Size ? "runs past the function" :
                i + 1 < pads.Count && pads[i + 1] < pad + PadSize ? $"is closer than {PadSize} bytes to the next one" :
                LaterPatched(plan, pad) is { } kind ? $"overlaps a {kind} site" : null;
            if (why is not null)
            {
                leftOut[f.Id] = $"data points into it at +0x{pad:x}, which {why}";
                return;
            }
        }
    }

    private static PatchSiteKind? LaterPatched(FunctionPlan plan, int pad)
    {
        var code = plan.Code;
        long start = plan.Function.Start + pad, end = start + PadSize;
        for (int s = code.FirstSiteAtOrAfter(start - 16); s < code.Sites.Length && code.Sites[s].Offset < end; s++)
        {
            var site = code.Sites[s];
            if (site.Kind is not (PatchSiteKind.JumpLabel or PatchSiteKind.StaticCall)) continue;
            int at = plan.IndexOf(site.Offset);
            long siteEnd = site.Offset + (at >= 0 ? plan.Instructions[at].Length : 5);
            if (siteEnd > start && site.Offset < end) return site.Kind;
        }
        return null;
    }
}
