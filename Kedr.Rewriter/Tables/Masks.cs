using Kedr.Core.Blob;
using Kedr.Kernel.Modules;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Tables;

/// <summary>
/// Masks are the bytes of the original the kernel writes: relocation fields and patch sites (but not
/// exception-table and BUG entries, which point at instructions the kernel leaves alone).
/// </summary>
internal static class Masks
{
    /// <summary>Appends <paramref name="plan"/>'s function's masks (offsets from its start) to <paramref name="masks"/>; returns how many.</summary>
    public static int Add(FunctionPlan plan, List<BlobMask> masks)
    {
        var f = plan.Function;
        var code = plan.Code;
        var relocations = code.Relocations;
        var sites = code.Sites;
        int first = masks.Count;
        // Relocation fields and patch sites, each sorted by start: merged, then joined where they touch.
        int r = plan.FirstRelocation, s = plan.FirstSite;
        long curStart = -1, curEnd = -1;
        while (true)
        {
            while (s < sites.Length && sites[s].Offset < f.End && sites[s].Kind is PatchSiteKind.ExceptionTable or PatchSiteKind.BugTable) s++;
            bool moreRelocations = r < relocations.Length && (long)relocations[r].Offset < f.End;
            bool moreSites = s < sites.Length && sites[s].Offset < f.End;
            if (!moreRelocations && !moreSites) break;
            long start, end;
            if (moreRelocations && (!moreSites || (long)relocations[r].Offset <= sites[s].Offset))
            {
                (start, end) = ((long)relocations[r].Offset, (long)relocations[r].Offset + relocations[r].Width);
                r++;
            }
            else
            {
                ref readonly var site = ref sites[s];
                // A site of length 0 covers the instruction that starts there (none: nothing).
                int len = site.Length != 0 ? site.Length : plan.InstructionLengthAt(site.Offset);
                s++;
                (start, end) = (site.Offset, Math.Min(site.Offset + len, f.End));
            }
            if (start <= curEnd) { curEnd = Math.Max(curEnd, end); continue; }
            if (curEnd > curStart) masks.Add(new BlobMask((uint)(curStart - f.Start), (uint)(curEnd - curStart)));
            (curStart, curEnd) = (start, end);
        }
        if (curEnd > curStart) masks.Add(new BlobMask((uint)(curStart - f.Start), (uint)(curEnd - curStart)));
        return masks.Count - first;
    }
}
