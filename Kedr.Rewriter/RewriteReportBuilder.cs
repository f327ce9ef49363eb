using Kedr.Core.Blob;
using Kedr.Kernel.Modules;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter;

/// <summary>The report of one module's rewrite, from the plans (decisions, counts) and the blob built.</summary>
internal static class RewriteReportBuilder
{
    /// <summary>PatchSiteKind's values are 0 to this - 1.</summary>
    private static readonly int SiteKinds = Enum.GetValues<PatchSiteKind>().Length;

    /// <summary>Whether <paramref name="f"/> ends at or before (section, offset), in the catalog's order.</summary>
    private static bool IsBefore(FunctionInfo f, int section, long offset) =>
        f.Section.Index < section || f.Section.Index == section && f.End <= offset;

    public static RewriteReport Build(ModulePlans plans, KedrBlob blob)
    {
        var module = plans.Module;
        var elf = module.Elf;
        var catalog = module.Functions;
        // Sites in table order order the kinds in the report; sorted by section and offset, as the
        // catalog's functions are, they are walked beside the functions.
        var sortedSites = module.SortedSites;
        // Counted per kind in arrays, walking the sites and the functions side by side.
        var handledCounts = new int[SiteKinds];
        var inLeftOutCounts = new int[SiteKinds];
        var functions = catalog.All;
        int next = 0;
        foreach (ref readonly var s in sortedSites.AsSpan())
        {
            while (next < functions.Length && IsBefore(functions[next], s.SectionIndex, s.Offset)) next++;
            if (next == functions.Length) break;
            var holder = functions[next];
            if (!holder.Contains(s.SectionIndex, s.Offset)) continue;
            (plans.IsCopied(holder.Id) ? handledCounts : inLeftOutCounts)[(int)s.Kind]++;
        }
        // The kinds in the order their tables come in the file.
        var tableOrder = new List<PatchSiteKind>();
        foreach (ref readonly var s in module.SitesInTableOrder)
            if (tableOrder.Count == 0 || tableOrder[^1] != s.Kind && !tableOrder.Contains(s.Kind)) tableOrder.Add(s.Kind);
        var handled = tableOrder.Where(k => handledCounts[(int)k] > 0).ToDictionary(k => k, k => handledCounts[(int)k]);
        var inLeftOut = tableOrder.Where(k => inLeftOutCounts[(int)k] > 0).ToDictionary(k => k, k => inLeftOutCounts[(int)k]);
        long instructions = 0, original = 0, memory = 0, instrumented = 0;
        var leftOut = new List<LeftOutFunction>();
        var notInstrumented = new List<string>();
        foreach (var plan in plans.All)
        {
            var f = plan.Function;
            if (plans.IsCopied(f.Id))
            {
                instructions += plan.Count;
                original += f.Size;
                memory += plan.MemoryAccesses;
                instrumented += plan.MemoryInstrumented;
                foreach (var s in plan.NotInstrumented ?? []) notInstrumented.Add($"{s} in {f.Name}");
            }
            else leftOut.Add(new LeftOutFunction(f.Name, f.Section.Name, f.Start, f.Size, plans.LeftOutReason(f.Id)!));
        }
        return new RewriteReport
        {
            Module = elf.ModuleName,
            Path = elf.Path,
            Functions = catalog.Functions.Count,
            Copied = blob.Functions.Count,
            TooSmall = catalog.TooSmallCount,
            Aliases = catalog.Skipped.Count,
            StaticCallTrampolines = catalog.StaticCallTrampolines.Count,
            Instructions = instructions,
            OriginalBytes = original,
            CodeBytes = blob.Code.Length,
            Fixups = blob.Fixups.Count,
            EventSites = blob.Sites.Count,
            LandingPads = blob.Patches.Count(x => x.Kind == BlobPatchKind.Landing),
            ExceptionEntries = blob.ExTable.Count,
            BugEntries = blob.Bugs.Count,
            OrcEntries = blob.Orc.Count,
            LeftOut = leftOut,
            MemoryAccesses = memory,
            MemoryInstrumented = instrumented,
            NotInstrumented = notInstrumented,
            PatchSitesHandled = handled,
            PatchSitesInLeftOut = inLeftOut,
        };
    }
}
