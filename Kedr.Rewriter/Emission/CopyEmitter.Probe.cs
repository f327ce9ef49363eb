using Kedr.Core.Blob;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Emission;

/// <summary>
/// A probe's call before an instruction: <c>push $site; call KEDR_HELPER_PROBE</c>, where the site is the id of
/// the first probe at this instruction; the stack is as in the original there (nothing of ours is pushed yet).
/// </summary>
internal sealed partial class CopyEmitter
{
    private int EmitProbe(in PlannedInstruction p, int pos)
    {
        var requests = _plans.Probes;
        uint offset = (uint)(p.Offset - _functionStart), copyOffset = (uint)pos;
        int site = -1;
        for (int id = 0; id < requests.Length; id++)
        {
            if (requests[id].Offset != offset || requests[id].Function.Id != _functionId) continue;
            if (site < 0) site = id;
            _probes![id] = new BlobProbe((uint)_blobIndex, offset, copyOffset, (uint)site, p.Length);
        }
        if (site < 0) throw Internal(_plans[_functionId].Function, p, "a probe call with no probe");
        return EmitHelperCall(pos, site, BlobHelper.Probe);
    }
}
