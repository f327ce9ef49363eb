using Kedr.Core.Blob;
using Kedr.Kernel.Modules;
using Kedr.Rewriter.Layout;

namespace Kedr.Rewriter.Tables;

/// <summary>
/// The original's exception-table entries moved to the copies: a fault at the copy of an instruction
/// continues at the copy of its fixup (or, where the fixup has no copy, at the original's, through a symbol).
/// Sorted by the copy's instruction, as the kernel searches them.
/// </summary>
internal static class ExceptionTable
{
    public static void Build(ModuleLayout layout, KedrBlob blob)
    {
        var plans = layout.Plans;
        var catalog = plans.Module.Functions;
        var anchors = plans.Module.Anchors;
        foreach (var plan in layout.Copied)
        {
            var f = plan.Function;
            var sites = plan.Code.Sites;
            for (int s = plan.FirstSite; s < sites.Length && sites[s].Offset < f.End; s++)
            {
                var site = sites[s];
                if (site.Kind != PatchSiteKind.ExceptionTable) continue;
                int at = plan.IndexOf(site.Offset);
                if (at < 0) continue; // the planner left such a function out
                ref readonly var p = ref plan.Instructions[at];
                uint insn = (uint)(layout.CopyOffsetOf(plan, p) + p.PreBytes);
                uint fixupCopy = BlobFormat.NoCopy;
                int fixupSymbol = 0;
                long fixupAddend = 0;
                var tf = catalog.Find(site.TargetSection, site.TargetOffset);
                if (tf is not null && plans.IsCopied(tf.Id))
                {
                    int c = layout.CopyTargetOf(plans[tf.Id], site.TargetOffset, withEntryEvent: false);
                    if (c >= 0) fixupCopy = (uint)c;
                }
                if (fixupCopy == BlobFormat.NoCopy && !anchors.TryAnchor(site.TargetSection, site.TargetOffset, out fixupSymbol, out fixupAddend))
                    throw new InvalidOperationException($"KEDR2902: {f.Name}: no symbol for the exception fixup at section {site.TargetSection}+0x{site.TargetOffset:x}");
                blob.ExTable.Add(new BlobExTableEntry(insn, fixupCopy, (uint)fixupSymbol, fixupAddend, site.Data));
            }
        }
        blob.ExTable.Sort((a, b) => a.InsnCopy.CompareTo(b.InsnCopy));
    }
}
