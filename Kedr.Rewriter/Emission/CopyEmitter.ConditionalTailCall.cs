using Kedr.Core.Blob;
using Kedr.Rewriter.Encoders;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Emission;

/// <summary><see cref="EmitKind.ConditionalTailCall"/>: a jcc leaving the function, its exit event on the taken path only: <c>j!cc 1f; &lt;exit event&gt;; jmp target; 1:</c>.</summary>
internal sealed partial class CopyEmitter
{
    private int EmitConditionalTailCall(FunctionPlan plan, in PlannedInstruction p, int pos, uint origOffset)
    {
        _code[pos++] = (byte)(X86Encoding.JccRel8Base | (p.ConditionNibble ^ 1));
        _code[pos++] = X86Encoding.EventCallSize + X86Encoding.JmpRel32Size;
        pos = EmitEvent(pos, origOffset, BlobEventKind.Exit);
        return EmitRel32Jump(plan, p, pos, X86Encoding.JmpRel32Opcode, withEntryEvent: true);
    }
}
