using Iced.Intel;
using Kedr.Core.Blob;
using Kedr.Rewriter.Encoders;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Emission;

/// <summary><see cref="EmitKind.Branch"/>: a relative call, jmp or jcc in its rel32 form, aimed at the target's copy or, through a fixup, the original.</summary>
internal sealed partial class CopyEmitter
{
    private int EmitBranch(FunctionPlan plan, in PlannedInstruction p, int pos)
    {
        switch (p.Flow)
        {
            case FlowControl.Call:
                return EmitRel32Jump(plan, p, pos, X86Encoding.CallRel32Opcode, withEntryEvent: true);
            case FlowControl.UnconditionalBranch:
                return EmitRel32Jump(plan, p, pos, X86Encoding.JmpRel32Opcode, withEntryEvent: (p.Events & EventFlags.Exit) != 0);
            default:
                _code[pos++] = X86Encoding.JccRel32Escape;
                _code[pos++] = (byte)(X86Encoding.JccRel32Base | p.ConditionNibble);
                return EmitTarget(plan, p, pos, withEntryEvent: false);
        }
    }
}
