using Kedr.Core.Blob;
using Kedr.Rewriter.Encoders;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Emission;

/// <summary>Branch targets (a copy in this module, or the original through a fixup) and the fixups themselves.</summary>
internal sealed partial class CopyEmitter
{
    private int EmitRel32Jump(FunctionPlan plan, in PlannedInstruction p, int pos, byte opcode, bool withEntryEvent)
    {
        _code[pos++] = opcode;
        return EmitTarget(plan, p, pos, withEntryEvent);
    }

    /// <summary>Writes the rel32 at <paramref name="pos"/>: to the target's copy, or a fixup to the original.</summary>
    private int EmitTarget(FunctionPlan plan, in PlannedInstruction p, int pos, bool withEntryEvent)
    {
        int next = pos + X86Encoding.Rel32Size;
        int target = ResolveInModule(plan, p, withEntryEvent);
        if (target >= 0)
            X86Encoding.WriteRel32(_code.AsSpan(pos), target - next);
        else if (_layout.Imports.StubFor(plan, p) is >= 0 and var stub)
        {
            // A kernel function a payload may claim: through its stub (blob 1.4).
            X86Encoding.WriteRel32(_code.AsSpan(pos), stub - next);
            if (ImportStubs.IsListedCall(p))
                _blob.Calls.Add(new BlobImportCall((uint)next, (uint)_blobIndex, (uint)(p.Offset - _functionStart), ImportStubs.ImportIndex(stub)));
        }
        else if (p.RelocCount > 0 && p.Kind is EmitKind.Branch or EmitKind.ConditionalTailCall or EmitKind.LoopBranch or EmitKind.Xbegin)
        {
            // The branch's own relocation (on its rel32) names the target.
            ref readonly var r = ref plan.Code.Relocations[p.RelocFirst];
            AddFixup(pos, BlobFixupType.Pc32, BlobFixupTarget.Symbol, (uint)r.SymbolIndex, r.Addend);
        }
        else if (_anchors.TryAnchor(p.TargetSection, p.TargetOffset, out int symbol, out long delta))
            AddFixup(pos, BlobFixupType.Pc32, BlobFixupTarget.Symbol, (uint)symbol, delta - X86Encoding.Rel32Size);
        else
            throw NoSymbol(plan.Function, p);
        return next;
    }

    /// <summary>The copy of a branch target in this module, or -1 where the original must be used.</summary>
    /// <remarks>The target's function and index were resolved once, by the planning stage.</remarks>
    private int ResolveInModule(FunctionPlan plan, in PlannedInstruction p, bool withEntryEvent)
    {
        if (p.TargetFunction < 0) return -1;
        if (p.TargetIndex == 0 && p.TargetFunction != plan.Function.Id)
        {
            int entry = _entries[p.TargetFunction];
            return entry < 0 ? -1 : FunctionPlan.EntryTarget(entry >> 1, (entry & 1) != 0, withEntryEvent);
        }
        int target;
        FunctionPlan targetPlan;
        if (p.TargetFunction == plan.Function.Id)
        {
            // Most jumps stay in the function being emitted: its plan and place are at hand.
            targetPlan = plan;
            target = plan.CopyTargetAt(_copyOffset, p.TargetIndex, withEntryEvent);
        }
        else
        {
            targetPlan = _plans[p.TargetFunction];
            if (!_layout[p.TargetFunction].IsCopied) return -1;
            target = _layout.CopyTargetAt(targetPlan, p.TargetIndex, withEntryEvent);
        }
        if (target < 0)
            throw NotAnInstruction(plan.Function, p, targetPlan.Function);
        return target;
    }

    private void AddFixup(int pos, BlobFixupType type, BlobFixupTarget target, uint index, long addend)
    {
        _blob.Fixups.Add(new BlobFixup((uint)pos, type, target, index, addend));
        // The loader writes the field; it starts as zeroes.
        if (type == BlobFixupType.Abs64) System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(_code.AsSpan(pos, 8), 0);
        else System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(_code.AsSpan(pos, 4), 0);
    }
}
