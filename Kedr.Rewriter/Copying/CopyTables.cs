using Kedr.Core.Blob;
using Kedr.Kernel.Modules;
using Kedr.Rewriter.Functions;

namespace Kedr.Rewriter.Copying;

/// <summary>
/// Moves the original's per-instruction tables to the copies: exception-table entries
/// (faults fixed up), BUG/WARN entries (ud2 reported), and the landing pads the loader
/// writes into the original.
/// </summary>
internal static class CopyTables
{
    public static void Build(IEnumerable<FunctionPlan> copied, FunctionCatalog catalog, SymbolAnchors anchors, FunctionPlan[] plans, KedrBlob blob)
    {
        foreach (var plan in copied)
        {
            var f = plan.Function;
            var code = plan.Code;
            for (int s = plan.FirstSite; s < code.Sites.Length && code.Sites[s].Offset < f.End; s++)
            {
                var site = code.Sites[s];
                if (site.Kind is not (PatchSiteKind.ExceptionTable or PatchSiteKind.BugTable)) continue;
                int at = plan.IndexOf(site.Offset);
                if (at < 0) continue; // the planner left such a function out
                ref var p = ref plan.Instructions[at];
                uint insn = (uint)(plan.CopyOffsetOf(p) + p.PreBytes);
                if (site.Kind == PatchSiteKind.BugTable)
                {
                    blob.Bugs.Add(new BlobBug(insn, (uint)site.AuxSymbol, site.AuxAddend, (ushort)site.Data, (ushort)(site.Data >> 16)));
                    continue;
                }
                uint fixupCopy = BlobFormat.NoCopy;
                int fixupSymbol = 0;
                long fixupAddend = 0;
                var tf = catalog.Find(site.TargetSection, site.TargetOffset);
                if (tf is { IsCopied: true })
                {
                    int c = plans[tf.Id].CopyTargetOf(site.TargetOffset, withEntryEvent: false);
                    if (c >= 0) fixupCopy = (uint)c;
                }
                if (fixupCopy == BlobFormat.NoCopy && !anchors.TryAnchor(site.TargetSection, site.TargetOffset, out fixupSymbol, out fixupAddend))
                    throw new InvalidOperationException($"KEDR2902: {f.Name}: no symbol for the exception fixup at section {site.TargetSection}+0x{site.TargetOffset:x}");
                blob.ExTable.Add(new BlobExTableEntry(insn, fixupCopy, (uint)fixupSymbol, fixupAddend, site.Data));
            }
            foreach (var pad in plan.LandingPads ?? [])
            {
                int target = plan.CopyTargetOf(f.Start + pad, withEntryEvent: false);
                blob.Patches.Add(new BlobPatch((uint)target, (uint)f.BlobIndex, (uint)pad, LandingPadFinder.PadSize, 0, BlobPatchKind.Landing, 0));
            }
        }
        blob.ExTable.Sort((a, b) => a.InsnCopy.CompareTo(b.InsnCopy));
        blob.Bugs.Sort((a, b) => a.CopyOffset.CompareTo(b.CopyOffset));
    }
}
