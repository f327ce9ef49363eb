using Kedr.Core.Blob;
using Kedr.Rewriter.Encoders;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Emission;

/// <summary><see cref="EmitKind.LiveBytesSlot"/>: an alternative, paravirt or thunk site: a slot the loader fills with the live original's bytes.</summary>
internal sealed partial class CopyEmitter
{
    private int EmitLiveBytesSlot(in PlannedInstruction p, int pos, uint origOffset)
    {
        _blob.Patches.Add(new BlobPatch((uint)pos, (uint)_blobIndex, origOffset, (ushort)p.SlotLength,
            (ushort)p.SlotLength, BlobPatchKind.LiveBytes, 0));
        return EmitSlot(pos, p.SlotLength);
    }
}
