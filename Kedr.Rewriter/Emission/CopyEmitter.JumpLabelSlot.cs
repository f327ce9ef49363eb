using Kedr.Core.Blob;
using Kedr.Rewriter.Encoders;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Emission;

/// <summary><see cref="EmitKind.JumpLabelSlot"/>: a static_cpu_has() alternative: a slot the loader fills with a jmp to the target's copy or NOPs, as the live site is.</summary>
internal sealed partial class CopyEmitter
{
    private int EmitJumpLabelSlot(FunctionPlan plan, in PlannedInstruction p, int pos, uint origOffset)
    {
        int target = ResolveInModule(plan, p, withEntryEvent: false);
        if (target < 0)
            throw Internal(plan.Function, p, "jump label target has no copy");
        _blob.Patches.Add(new BlobPatch((uint)pos, (uint)_blobIndex, origOffset, (ushort)p.Length,
            (ushort)p.SlotLength, BlobPatchKind.JumpLabel, (uint)target));
        return EmitSlot(pos, p.SlotLength);
    }
}
