using Kedr.Core.Blob;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Layout;

namespace Kedr.Rewriter.Emission;

/// <summary>Room in the blob's lists for what emission adds, from the plans' counts, so the big lists never regrow.</summary>
internal static class BlobCapacity
{
    public static void Reserve(ModuleLayout layout, KedrBlob blob, OrcStates orc)
    {
        int memory = 0, events = 0, relocations = 0, branches = 0;
        foreach (var plan in layout.Copied)
        {
            memory += plan.MemoryInstrumented;
            events += plan.EventCount;
            relocations += plan.RelocationCount;
            branches += plan.OutgoingBranches;
        }
        blob.Functions.EnsureCapacity(layout.CopiedCount);
        blob.Sites.EnsureCapacity(memory + events);
        // Each event calls a helper; a branch out of its function may need its target's symbol.
        blob.Fixups.EnsureCapacity(relocations + memory + events + branches);
        // Up to four entries per memory event (pushes, call, pop), two per entry or exit event, one
        // where the original's state changes and one after each copy: an estimate, not a bound.
        if (orc.HasData) blob.Orc.EnsureCapacity(orc.Count + 4 * memory + 2 * events + layout.CopiedCount);
    }
}
