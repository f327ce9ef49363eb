using Kedr.Core.Blob;
using Kedr.Rewriter.Encoders;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Emission;

/// <summary><see cref="EmitKind.LoopBranch"/>: loop/jrcxz, which only have rel8, take a short detour: <c>loop 1f; jmp 2f; 1: jmp target; 2:</c>.</summary>
internal sealed partial class CopyEmitter
{
    private int EmitLoopBranch(FunctionPlan plan, in PlannedInstruction p, int pos)
    {
        plan.Code.Span(p.Offset, p.Length).CopyTo(_code.AsSpan(pos));
        pos += p.Length;
        _code[pos - 1] = X86Encoding.JccRel8Size;
        _code[pos++] = X86Encoding.JmpRel8Opcode;
        _code[pos++] = X86Encoding.JmpRel32Size;
        return EmitRel32Jump(plan, p, pos, X86Encoding.JmpRel32Opcode, withEntryEvent: false);
    }
}
