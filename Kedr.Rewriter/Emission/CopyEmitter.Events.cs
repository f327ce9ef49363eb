using Kedr.Core.Blob;
using Kedr.Rewriter.Encoders;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Emission;

/// <summary>
/// The event sequences around an instruction: entry and exit events (<c>push $site; call helper</c>),
/// memory events (<c>push %rax; lea M,%rax; push $site; call helper; pop %rax</c> and its variants).
/// </summary>
internal sealed partial class CopyEmitter
{
    /// <summary>What goes before the instruction proper: the entry event, the memory event (or a string instruction's saved pointers), the exit event.</summary>
    private int EmitEventsBefore(FunctionPlan plan, in PlannedInstruction p, int pos, uint origOffset)
    {
        if ((p.Events & EventFlags.Entry) != 0)
            pos = EmitEvent(pos, 0, BlobEventKind.Entry);
        if (p.Probe)
            pos = EmitProbe(p, pos);
        if (p.MemForm == MemoryClass.String)
        {
            _code[pos++] = X86Encoding.PushRsi;
            OrcDepth(pos, 8);
            _code[pos++] = X86Encoding.PushRdi;
            OrcDepth(pos, 16);
        }
        else if (p.MemKind != 0)
        {
            pos = EmitMemoryEvent(plan, p, pos);
            if (p.MemKind == BlobEventKind.LockedUpdate && !p.LockedDoneAfter)
                pos = EmitMemoryEvent(plan, p, pos, lockedDone: true);
        }
        if ((p.Events & EventFlags.Exit) != 0 && p.Kind != EmitKind.ConditionalTailCall)
            pos = EmitEvent(pos, origOffset, BlobEventKind.Exit);
        return pos;
    }

    /// <summary>
    /// Most memory events: a verbatim instruction with nothing to fix up, and before it only an operand's event
    /// (no entry, exit or probe event, not a locked update, which is reported twice).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsPlainMemoryEvent(in PlannedInstruction p) =>
        p.Kind == EmitKind.Verbatim && p.MemForm == MemoryClass.Operand && p.MemKind != BlobEventKind.LockedUpdate
        && p.Events == EventFlags.None && p.RelocCount == 0 && !p.IpRelative && !p.Probe;

    /// <summary>What <see cref="EmitInstruction"/> does for an <see cref="IsPlainMemoryEvent"/> instruction, without its dispatch.</summary>
    private void EmitPlainMemoryEvent(FunctionPlan plan, in PlannedInstruction p)
    {
        int start = _copyOffset + p.OffsetInCopy;
        OrcBase(start, plan.Function.Section.Index, p.Offset);
        int pos = EmitMemoryEvent(plan, p, start);
        var code = plan.Code;
        CopyShort(code.Bytes, code.BytesOffset + p.Offset, pos, p.Length);
        pos += p.Length;
        if (pos != start + p.Size)
            throw SizeMismatch(plan.Function, p, pos - start);
    }

    /// <summary>After a string instruction: the event with the pointers it started from, which are then dropped.</summary>
    private int EmitStringEventAfter(in PlannedInstruction p, int pos)
    {
        pos = EmitHelperCall(pos, AddMemorySite(p), BlobHelper.StringEvent, depth: 16);
        pos = EmitDropStack(pos, 16);
        OrcDepth(pos, 0);
        return pos;
    }

    /// <summary>
    /// After a locked update: the same sequence again for its <see cref="BlobEventKind.LockedDone"/> site, so
    /// that its record is stamped after the update took effect (docs/races.md).
    /// </summary>
    private int EmitLockedDoneAfter(FunctionPlan plan, in PlannedInstruction p, int pos)
    {
        pos = EmitMemoryEvent(plan, p, pos, lockedDone: true);
        OrcDepth(pos, 0);
        return pos;
    }

    /// <summary>
    /// <c>push %rax; lea M,%rax; push $site; call helper; pop %rax</c>. The LEA's displacement
    /// takes over the original's relocation; a RIP-relative one is re-aimed at the same address.
    /// <paramref name="lockedDone"/>: a locked update's second report (its own site; the helper keeps the flags).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private int EmitMemoryEvent(FunctionPlan plan, in PlannedInstruction p, int pos, bool lockedDone = false)
    {
        bool saveRax = !p.RaxDead;
        if (saveRax)
        {
            _code[pos++] = X86Encoding.PushRax;
            OrcDepthAfter(pos, 8);
        }
        int lea = pos;
        CopyShort(plan.ExtraBytes, p.LeaStart, pos, p.LeaLength);
        bool bitOp = p.MemForm == MemoryClass.BitOp;
        if (bitOp)
            OrcDepth(pos + (_code[pos] == X86Encoding.RexB ? 2 : 1), 16); // after push %reg
        pos += p.LeaLength;
        // Most displacements are plain numbers: only one with a relocation or RIP-relative needs a fixup.
        if (p.LeaDisplacementOffset >= 0 && (p.RelocCount != 0 || p.IpRelative))
            AddLeaFixup(plan, p, lea + p.LeaDisplacementOffset);
        // After the instruction its flags are live: only the flag-keeping helper there.
        bool after = lockedDone && p.LockedDoneAfter;
        var helper = bitOp ? BlobHelper.BitOpEvent : p.FlagsDead && !after ? BlobHelper.MemEventNoFlags : BlobHelper.MemEvent;
        pos = EmitHelperCall(pos, AddMemorySite(p, lockedDone ? BlobEventKind.LockedDone : p.MemKind), helper, depth: bitOp ? 16 : saveRax ? 8 : 0);
        if (bitOp)
        {
            pos = EmitDropStack(pos, 8);
            OrcDepth(pos, 8);
        }
        if (saveRax)
        {
            _code[pos++] = X86Encoding.PopRax;
            OrcDepthAfter(pos, 0);
        }
        return pos;
    }

    /// <summary>
    /// The LEA's displacement at <paramref name="field"/> takes over the original's relocation on it; a RIP-relative
    /// one is re-aimed at the same address.
    /// </summary>
    private void AddLeaFixup(FunctionPlan plan, in PlannedInstruction p, int field)
    {
        int leaTail = p.LeaLength - p.LeaDisplacementOffset;       // field to end of the LEA
        int origTail = p.Length - p.DisplacementOffset;            // field to end of the original
        var relocs = plan.Code.Relocations;
        for (int i = p.RelocFirst; i < p.RelocFirst + p.RelocCount; i++)
        {
            var r = relocs[i];
            if ((long)r.Offset != p.Offset + p.DisplacementOffset) continue;
            // PC32: address = S + A + origTail; the LEA needs S + A' + leaTail.
            long addend = r.IsPcRelative ? r.Addend + origTail - leaTail : r.Addend;
            var type = r.IsPcRelative ? BlobFixupType.Pc32
                : r.Type == Kedr.Core.Elf.RelocationType.Abs64 ? BlobFixupType.Abs64 : BlobFixupType.Abs32S;
            AddFixup(field, type, BlobFixupTarget.Symbol, (uint)r.SymbolIndex, addend);
            return;
        }
        if (p.IpRelative)
            AddFixup(field, BlobFixupType.Pc32, BlobFixupTarget.Symbol, (uint)plan.Function.Symbol.Index,
                p.IpRelativeTarget - plan.Function.Start - leaTail);
    }

    private int AddMemorySite(in PlannedInstruction p) => AddMemorySite(p, p.MemKind);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private int AddMemorySite(in PlannedInstruction p, BlobEventKind kind)
    {
        _blob.Sites.Add(new BlobSite((uint)_blobIndex, (uint)(p.Offset - _functionStart), kind, p.MemFlags, p.MemSize));
        return _blob.Sites.Count - 1;
    }

    /// <summary><c>lea N(%rsp),%rsp</c>: unlike add, it leaves the flags alone.</summary>
    private int EmitDropStack(int pos, byte bytes)
    {
        X86Encoding.LeaRspPrefix.CopyTo(_code.AsSpan(pos));
        pos += X86Encoding.LeaRspPrefix.Length;
        _code[pos++] = bytes;
        return pos;
    }

    /// <summary>An entry or exit event of the function being emitted, at <paramref name="origOffset"/> of the original.</summary>
    private int EmitEvent(int pos, uint origOffset, BlobEventKind kind)
    {
        int site = _blob.Sites.Count;
        _blob.Sites.Add(new BlobSite((uint)_blobIndex, origOffset, kind, BlobSiteFlags.None, 0));
        return EmitHelperCall(pos, site, BlobHelper.FuncEvent);
    }

    /// <summary><c>push $site; call helper</c>; the helper returns with <c>ret $8</c>.</summary>
    /// <param name="depth">Bytes our sequence has already pushed.</param>
    /// <remarks>Inlined: every event writes one, and its ORC entries are usually left to the loader.</remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private int EmitHelperCall(int pos, int site, BlobHelper helper, int depth = 0)
    {
        // push $site; call rel32 (0: the loader's fixup fills it) as two stores, one range check.
        var bytes = _code.AsSpan(pos, X86Encoding.EventCallSize);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes,
            X86Encoding.PushImm32Opcode | (ulong)(uint)site << 8 | (ulong)X86Encoding.CallRel32Opcode << 40);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(bytes[8..], 0);
        pos += 1 + X86Encoding.Rel32Size;
        if (!_loaderAddsCallOrc) OrcDepth(pos, depth + 8);
        pos++;
        _blob.Fixups.Add(new BlobFixup((uint)pos, BlobFixupType.Pc32, BlobFixupTarget.Helper, (uint)helper, -X86Encoding.Rel32Size));
        pos += X86Encoding.Rel32Size;
        if (!_loaderAddsCallOrc) OrcDepth(pos, depth);
        return pos;
    }
}
