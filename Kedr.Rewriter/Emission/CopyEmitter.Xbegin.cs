using Kedr.Core.Blob;
using Kedr.Rewriter.Encoders;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Emission;

/// <summary><see cref="EmitKind.Xbegin"/>: <c>xbegin rel32</c> to the abort handler's copy.</summary>
internal sealed partial class CopyEmitter
{
    private int EmitXbegin(FunctionPlan plan, in PlannedInstruction p, int pos)
    {
        X86Encoding.XbeginRel32Prefix.CopyTo(_code.AsSpan(pos));
        pos += X86Encoding.XbeginRel32Prefix.Length;
        return EmitTarget(plan, p, pos, withEntryEvent: false);
    }
}
