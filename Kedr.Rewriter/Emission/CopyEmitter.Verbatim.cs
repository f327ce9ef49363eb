using Kedr.Core.Blob;
using Kedr.Rewriter.Encoders;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Emission;

/// <summary><see cref="EmitKind.Verbatim"/>: the original bytes; relocations and a RIP-relative displacement become fixups.</summary>
internal sealed partial class CopyEmitter
{
    private int EmitVerbatim(FunctionPlan plan, in PlannedInstruction p, int pos)
    {
        var code = plan.Code;
        CopyShort(code.Bytes, code.BytesOffset + p.Offset, pos, p.Length);
        EmitRelocations(plan, p, pos);
        pos += p.Length;
        if (p.MemForm == MemoryClass.String)
            pos = EmitStringEventAfter(p, pos);
        else if (p.LockedDoneAfter)
            pos = EmitLockedDoneAfter(plan, p, pos);
        return pos;
    }

    /// <summary>The original's relocations move with the bytes; a same-section RIP-relative operand gets one.</summary>
    private void EmitRelocations(FunctionPlan plan, in PlannedInstruction p, int pos)
    {
        var relocs = plan.Code.Relocations;
        bool dispCovered = false;
        int dispOffset = p.IpRelative ? p.DisplacementOffset : -1;
        for (int i = p.RelocFirst; i < p.RelocFirst + p.RelocCount; i++)
        {
            var r = relocs[i];
            int at = (int)((long)r.Offset - p.Offset);
            dispCovered |= at == dispOffset;
            var type = r.Type switch
            {
                Kedr.Core.Elf.RelocationType.Abs64 => BlobFixupType.Abs64,
                Kedr.Core.Elf.RelocationType.Abs32S => BlobFixupType.Abs32S,
                _ => BlobFixupType.Pc32,
            };
            AddFixup(pos + at, type, BlobFixupTarget.Symbol, (uint)r.SymbolIndex, r.Addend);
        }
        if (dispOffset >= 0 && !dispCovered)
        {
            // disp' = T - next'; PC32 writes S + A - P with S = the function's live address.
            long target = p.IpRelativeTarget;
            var f = plan.Function;
            AddFixup(pos + dispOffset, BlobFixupType.Pc32, BlobFixupTarget.Symbol, (uint)f.Symbol.Index,
                target - f.Start - (p.Length - dispOffset));
        }
    }
}
