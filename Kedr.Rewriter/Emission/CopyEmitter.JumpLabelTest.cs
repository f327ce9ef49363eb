using Kedr.Core.Blob;
using Kedr.Rewriter.Encoders;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Emission;

/// <summary><see cref="EmitKind.JumpLabelTest"/>: a jump label that reads its static key each time, so key flips need no patching of the copy.</summary>
internal sealed partial class CopyEmitter
{
    /// <summary>JUMP_TYPE_TRUE | JUMP_TYPE_LINKED: the low bits of a jump entry's key address.</summary>
    private const long JumpTypeBits = 3;

    /// <summary>
    /// The jump is taken when (key enabled) != (entry's branch flag), as jump_label_type() decides:
    /// <c>pushf; cmpl $0,key(%rip); jg/jle 1f; popf; jmp 2f; 1: popf; jmp target; 2:</c>.
    /// </summary>
    private int EmitJumpLabelTest(FunctionPlan plan, in PlannedInstruction p, int pos)
    {
        var key = plan.Code.Sites[p.SiteIndex];
        bool branch = (key.AuxAddend & 1) != 0;
        _code[pos++] = X86Encoding.Pushf;
        OrcDepth(pos, 8);
        X86Encoding.CmplImm8RipPrefix.CopyTo(_code.AsSpan(pos));
        pos += X86Encoding.CmplImm8RipPrefix.Length;
        // disp32 is relative to the end of the instruction, past the imm8 that follows it.
        AddFixup(pos, BlobFixupType.Pc32, BlobFixupTarget.Symbol, (uint)key.AuxSymbol, (key.AuxAddend & ~JumpTypeBits) - (X86Encoding.Rel32Size + 1));
        pos += X86Encoding.Rel32Size;
        _code[pos++] = 0;                        // imm8
        _code[pos++] = (byte)(X86Encoding.JccRel8Base | (branch ? X86Encoding.ConditionLe : X86Encoding.ConditionG));
        _code[pos++] = 1 + X86Encoding.JmpRel8Size; // over popf; jmp 2f
        _code[pos++] = X86Encoding.Popf;
        OrcDepth(pos, 0);
        _code[pos++] = X86Encoding.JmpRel8Opcode;
        _code[pos++] = 1 + X86Encoding.JmpRel32Size;
        OrcDepth(pos, 8);                        // the taken path still has the flags pushed
        _code[pos++] = X86Encoding.Popf;
        OrcDepth(pos, 0);
        return EmitRel32Jump(plan, p, pos, X86Encoding.JmpRel32Opcode, withEntryEvent: false);
    }
}
