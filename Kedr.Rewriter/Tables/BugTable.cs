using Kedr.Core.Blob;
using Kedr.Kernel.Modules;
using Kedr.Rewriter.Layout;

namespace Kedr.Rewriter.Tables;

/// <summary>The original's BUG/WARN entries moved to the copies' ud2s (file, line, flags kept), sorted by the copy's offset.</summary>
internal static class BugTable
{
    public static void Build(ModuleLayout layout, KedrBlob blob)
    {
        foreach (var plan in layout.Copied)
        {
            var f = plan.Function;
            var sites = plan.Code.Sites;
            for (int s = plan.FirstSite; s < sites.Length && sites[s].Offset < f.End; s++)
            {
                var site = sites[s];
                if (site.Kind != PatchSiteKind.BugTable) continue;
                int at = plan.IndexOf(site.Offset);
                if (at < 0) continue; // the planner left such a function out
                ref readonly var p = ref plan.Instructions[at];
                uint insn = (uint)(layout.CopyOffsetOf(plan, p) + p.PreBytes);
                blob.Bugs.Add(new BlobBug(insn, (uint)site.AuxSymbol, site.AuxAddend, (ushort)site.Data, (ushort)(site.Data >> 16)));
            }
        }
        blob.Bugs.Sort((a, b) => a.CopyOffset.CompareTo(b.CopyOffset));
    }
}
