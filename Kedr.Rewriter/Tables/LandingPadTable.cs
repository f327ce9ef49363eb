using Kedr.Core.Blob;
using Kedr.Rewriter.Layout;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Tables;

/// <summary>
/// The landing pads the planner found (<see cref="LandingPadFinder"/>): for each, a patch telling the loader
/// to write a jump at that place of the original to the same place of the copy.
/// </summary>
internal static class LandingPadTable
{
    public static void Build(ModuleLayout layout, KedrBlob blob)
    {
        foreach (var plan in layout.Copied)
        {
            if (plan.LandingPads is not { } pads) continue;
            var f = plan.Function;
            foreach (var pad in pads)
            {
                int target = layout.CopyTargetOf(plan, f.Start + pad, withEntryEvent: false);
                blob.Patches.Add(new BlobPatch((uint)target, (uint)layout.BlobIndex(f.Id), (uint)pad, LandingPadFinder.PadSize, 0, BlobPatchKind.Landing, 0));
            }
        }
    }
}
