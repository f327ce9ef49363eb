using Iced.Intel;
using Kedr.Core.Blob;
using Kedr.Rewriter.Encoders;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Emission;

/// <summary><see cref="EmitKind.Branch"/>: a relative call, jmp or jcc in its rel32 form, aimed at the target's copy or, through a fixup, the original.</summary>
internal sealed partial class CopyEmitter
{
    /// <summary>Most branches: no event before (entry, exit, probe) and so nothing but the branch itself.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsPlainBranch(in PlannedInstruction p) =>
        p.Kind == EmitKind.Branch && p.Events == EventFlags.None && p.MemForm == MemoryClass.None && !p.Probe;

    /// <summary>What <see cref="EmitInstruction"/> does for an <see cref="IsPlainBranch"/> instruction, without its dispatch.</summary>
    private void EmitPlainBranch(FunctionPlan plan, in PlannedInstruction p)
    {
        int start = _copyOffset + p.OffsetInCopy;
        OrcBase(start, plan.Function.Section.Index, p.Offset);
        int pos = EmitBranch(plan, p, start);
        if (pos != start + p.Size)
            throw SizeMismatch(plan.Function, p, pos - start);
    }

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
