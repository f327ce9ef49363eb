using Iced.Intel;
using Kedr.Core.Elf;
using Kedr.Kernel.Modules;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Encoders;

namespace Kedr.Rewriter.Planning;

/// <summary>The planner's decisions for an ordinary instruction: copied as it is, a branch re-emitted in rel32 form, a memory event.</summary>
internal sealed partial class FunctionPlanner
{
    private string? PlanInstruction(FunctionInfo f, SectionCode code, ref PlannedInstruction p, in Instruction instr)
    {
        for (int i = p.RelocFirst; i < p.RelocFirst + p.RelocCount; i++)
        {
            var t = code.Relocations[i].Type;
            if (t is not (RelocationType.Pc32 or RelocationType.Plt32 or RelocationType.Abs32S or RelocationType.Abs64))
                return Reason(f, (long)code.Relocations[i].Offset, "relocation type " + t + " at {0} is not supported in code");
            // Symbol 0 is the null symbol: no value the loader could put there (the blob format refuses it).
            if (code.Relocations[i].SymbolIndex == 0)
                return Reason(f, (long)code.Relocations[i].Offset, "relocation at {0} refers to the null symbol");
        }

        var flow = p.Flow;
        bool relative = instr.Op0Kind == OpKind.NearBranch64;
        if (!relative)
        {
            PlanVerbatim(code, ref p, instr);
            return null;
        }

        // Where does the branch go? A relocation on its rel32 names it; otherwise it is in this section.
        if (p.RelocCount > 0)
        {
            var r = code.Relocations[p.RelocFirst];
            if (p.RelocCount > 1 || (long)r.Offset != p.Offset + p.Length - X86Encoding.Rel32Size || !r.IsPcRelative)
                return Reason(f, p.Offset, "relocation on the branch at {0} is not on its rel32");
            ref readonly var sym = ref elf.Symbol(r.SymbolIndex);
            if (sym.IsDefinedInSection && elf.Section(sym.SectionIndex).IsExecutable)
            {
                p.TargetSection = sym.SectionIndex;
                p.TargetOffset = (long)sym.Value + r.Addend + X86Encoding.Rel32Size;
            }
        }
        else
        {
            p.TargetSection = f.Section.Index;
            p.TargetOffset = (long)instr.NearBranch64;
        }

        if (p.ThunkSite && p.Length == X86Encoding.CallRel32Size && code.ByteAt(p.Offset) is X86Encoding.CallRel32Opcode or X86Encoding.JmpRel32Opcode)
        {
            // The kernel chose at boot what runs here (ret, the selected return thunk, call *%reg,
            // lfence; call *%reg, the retpoline thunk): the copy takes the live bytes.
            if (flow == FlowControl.UnconditionalBranch) p.Events |= EventFlags.Exit;
            p.Kind = EmitKind.LiveBytesSlot;
            p.SlotLength = p.Length;
            p.Size = (ushort)(p.EventBytes + p.SlotLength);
            return null;
        }
        switch (flow)
        {
            case FlowControl.Call:
                p.Kind = EmitKind.Branch;
                p.Size = X86Encoding.CallRel32Size;
                break;
            case FlowControl.UnconditionalBranch:
                p.Kind = EmitKind.Branch;
                if (IsTailCall(f, p)) p.Events |= EventFlags.Exit;
                p.Size = X86Encoding.JmpRel32Size;
                break;
            case FlowControl.ConditionalBranch when instr.IsJccShortOrNear:
                bool tail = IsTailCall(f, p);
                p.Kind = tail ? EmitKind.ConditionalTailCall : EmitKind.Branch;
                p.Size = (ushort)(tail ? X86Encoding.ConditionalTailCallSize : X86Encoding.JccRel32Size);
                p.ConditionNibble = (byte)(instr.ConditionCode - 1);
                break;
            case FlowControl.ConditionalBranch:
                if (IsTailCall(f, p))
                    return Reason(f, p.Offset, instr.Mnemonic + " at {0} leaves the function");
                p.Kind = EmitKind.LoopBranch;
                p.Size = (ushort)(p.Length + X86Encoding.LoopDetourSize);
                break;
            case FlowControl.XbeginXabortXend:
                p.Kind = EmitKind.Xbegin;
                p.Size = X86Encoding.XbeginRel32Size;
                break;
            default:
                return Reason(f, p.Offset, "relative " + instr.Mnemonic + " at {0} is not supported");
        }
        p.Size += (ushort)p.EventBytes;
        return null;
    }

    /// <summary>
    /// An instruction that is not a relative branch: copied as it is, with its memory event if it has one, and
    /// the exit event before a return. Most instructions; <see cref="Plan"/> asks it directly for those with no
    /// relocation and no patch site.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void PlanVerbatim(SectionCode code, ref PlannedInstruction p, in Instruction instr)
    {
        if (MemoryAccessClassifier.HasMemoryOperand(instr)) PlanMemoryEvent(code, ref p, instr);
        p.Kind = EmitKind.Verbatim;
        if (p.Flow == FlowControl.Return) p.Events |= EventFlags.Exit;
        p.Size = (ushort)(p.EventBytes + p.Length);
    }

    private void PlanMemoryEvent(SectionCode code, ref PlannedInstruction p, in Instruction instr)
    {
        var access = _memory.Classify(instr);
        var cls = access.Class;
        if (cls == MemoryClass.None) return;
        var plan = _plan; // fields read once: the calls below could change them as far as the compiler knows
        plan.MemoryAccesses++;
        if (cls == MemoryClass.String && p.HasFixup)
        {
            // A fault would continue at the fixup with the saved pointers still pushed.
            cls = MemoryClass.NotInstrumented;
            access = MemoryAccess.Refused(NotInstrumentedReason.StringWithFixup);
        }
        if (cls == MemoryClass.NotInstrumented)
        {
            LeaveUninstrumented(plan, p.Offset, access.Reason, instr);
            return;
        }
        var extra = plan.Arena.Extra;
        int leaStart = p.LeaStart = extra.Count;
        switch (cls)
        {
            case MemoryClass.Operand:
                p.RaxDead = access.OverwritesRax;
                p.LeaDisplacementOffset = (sbyte)AddressEncoder.EncodeLea(instr, p.RelocCount != 0 && RelocatedDisplacement(code, p), p.RaxDead ? 0 : 8, extra);
                break;
            case MemoryClass.BitOp:
                AddressEncoder.EncodePush(instr.Op1Register, extra);
                int push = extra.Count - leaStart;
                int lea = AddressEncoder.EncodeLea(instr, RelocatedDisplacement(code, p), 16, extra);
                p.LeaDisplacementOffset = (sbyte)(lea < 0 ? -1 : push + lea);
                break;
            case MemoryClass.Xlat:
                extra.Append(X86Encoding.XlatAddress);
                break;
            case MemoryClass.Moffs:
                AddressEncoder.EncodeMovabsRax(instr.MemoryDisplacement64, extra);
                p.LeaDisplacementOffset = 2;
                break;
        }
        p.LeaLength = (byte)(extra.Count - leaStart);
        p.MemForm = cls;
        var kind = p.MemKind = access.Kind;
        p.MemSize = access.Size;
        p.MemFlags = access.Flags;
        // A locked update is reported again after it ran (its acquire side, docs/races.md), from the
        // same address computation: where the instruction overwrites a register of it, right after
        // the first report instead (the address is gone afterwards).
        if (kind == Kedr.Core.Blob.BlobEventKind.LockedUpdate)
            p.LockedDoneAfter = !_memory.WritesAddressRegister(instr);
        plan.MemoryInstrumented++;
    }

    /// <summary>An access that gets no event: said in the report, with the instruction.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void LeaveUninstrumented(FunctionPlan.Draft plan, int offset, NotInstrumentedReason reason, in Instruction instr) =>
        plan.NotInstrumented.Add(Reason(plan.Function, offset, MemoryAccessClassifier.Describe(reason, instr) + ": " + instr + " at {0}"));

    private static bool RelocatedDisplacement(SectionCode code, in PlannedInstruction p)
    {
        for (int i = p.RelocFirst; i < p.RelocFirst + p.RelocCount; i++)
            if ((long)code.Relocations[i].Offset == p.Offset + p.DisplacementOffset) return true;
        return false;
    }

    /// <summary>A jump leaves the function when it goes outside its family, or back to its own entry.</summary>
    private bool IsTailCall(FunctionInfo f, in PlannedInstruction p)
    {
        if (p.TargetSection < 0) return true;
        if (f.Contains(p.TargetSection, p.TargetOffset)) return p.TargetOffset == f.Start && !f.IsPart; // most jumps
        var target = catalog.Find(p.TargetSection, p.TargetOffset);
        if (target is null || !target.SameFamily(f)) return true;
        return ReferenceEquals(target, f) && p.TargetOffset == f.Start && !f.IsPart;
    }

    /// <summary>
    /// <paramref name="format"/> with {0} as the place, <c>+0x</c> and the offset in the function. Messages are
    /// made here, out of line, so the per-instruction methods carry no string-building state.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static string Reason(FunctionInfo f, long offset, string format) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, format, $"+0x{offset - f.Start:x}");
}
