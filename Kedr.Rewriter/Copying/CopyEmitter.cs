using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Iced.Intel;
using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Rewriter.Functions;

namespace Kedr.Rewriter.Copying;

/// <summary>
/// Phase two: writes every planned instruction at its place in the code image and
/// records what only the loader can complete — fixups, event sites, live-patch slots.
/// </summary>
internal sealed class CopyEmitter(FunctionCatalog catalog, SymbolAnchors anchors, FunctionPlan[] plans, KedrBlob blob, OrcStates orc)
{
    /// <summary>
    /// Tests: the code image is filled with this first, so that two fills giving different blobs would
    /// show a byte that emission leaves unwritten (it is otherwise uninitialised memory).
    /// </summary>
    [ThreadStatic] internal static byte? FillForTests;

    private byte[] _code = [];

    /// <summary>Direct calls and tail calls to these kernel functions go to their stubs (blob 1.4).</summary>
    public ImportStubs? Imports { get; init; }
    private ulong _orcBase;
    private readonly bool _hasOrc = orc.HasData;
    /// <summary>The blob leaves a helper call's two ORC entries to the loader (<see cref="BlobHeaderFlags.CallOrc"/>).</summary>
    private readonly bool _loaderAddsCallOrc = (blob.Flags & BlobHeaderFlags.CallOrc) != 0;
    /// <summary>The last entry of <c>blob.Orc</c> (offset -1: none), kept apart from the list for the per-instruction check.</summary>
    private int _lastOrcOffset = -1;
    private ulong _lastOrcEntry;

    /// <summary>From <paramref name="pos"/> on, the stack is as before the original instruction at (section, origin); section -1: no code.</summary>
    private void OrcBase(int pos, int section, long origin)
    {
        if (!_hasOrc) return;
        _orcBase = section < 0 ? OrcStates.Undefined : orc.StateAt(section, origin);
        AddOrc(pos, _orcBase);
    }

    /// <summary>
    /// From <paramref name="pos"/> on, our sequence has <paramref name="depth"/> bytes pushed. Entries
    /// go straight to the blob: a later one at the same offset replaces the earlier, and one equal to
    /// its predecessor is not repeated.
    /// </summary>
    private void OrcDepth(int pos, int depth)
    {
        if (!_hasOrc) return;
        AddOrc(pos, OrcStates.Adjust(_orcBase, depth));
    }

    private void AddOrc(int pos, ulong entry)
    {
        var list = blob.Orc;
        if (_lastOrcOffset == pos)
        {
            list.RemoveAt(list.Count - 1);
            (_lastOrcOffset, _lastOrcEntry) = list.Count > 0 ? ((int)list[^1].CopyOffset, list[^1].Entry) : (-1, 0UL);
        }
        if (_lastOrcOffset >= 0 && _lastOrcEntry == entry) return;
        list.Add(new BlobOrc((uint)pos, entry));
        (_lastOrcOffset, _lastOrcEntry) = (pos, entry);
    }

    /// <summary>
    /// Per function id: where a call to its start lands (its copy's start, the entry event first), times
    /// two, plus one for a part (which has no entry event); -1 if it has no copy. Most branches out of a
    /// function are such calls: answered from here without visiting the target's plan and function.
    /// </summary>
    private int[] _entries = [];

    public void Emit(List<FunctionPlan> copied, int codeSize)
    {
        _entries = new int[plans.Length];
        Array.Fill(_entries, -1);
        foreach (var plan in copied)
            _entries[plan.Function.Id] = plan.CopyOffset * 2 + (plan.Function.IsPart ? 1 : 0);

        // Every byte is written once: by the copies (int3 in the slots the loader fills), or int3 in the
        // gaps between them (so neither zeroing nor an int3 fill of the whole image first).
        _code = GC.AllocateUninitializedArray<byte>(codeSize);
        if (FillForTests is byte fill) _code.AsSpan().Fill(fill);
        int copyEnd = 0; // of the previous copy
        foreach (var plan in copied)
        {
            _code.AsSpan(copyEnd, plan.CopyOffset - copyEnd).Fill(X86Encoding.Int3Opcode);
            copyEnd = plan.CopyOffset + plan.CopySize;
            var instructions = plan.Instructions;
            for (int i = 0; i < instructions.Length;)
            {
                if (!IsPlainCopy(instructions[i]))
                {
                    EmitInstruction(plan, ref instructions[i++]);
                    continue;
                }
                // Most instructions: the same bytes, nothing to record, nothing to fix up. A run of
                // them is one stretch of the original and one of the copy.
                int first = i;
                while (++i < instructions.Length && IsPlainCopy(instructions[i])) { }
                int start = instructions[first].Offset, end = instructions[i - 1].Offset + instructions[i - 1].Length;
                int pos = plan.CopyOffsetOf(instructions[first]);
                plan.Code.Span(start, end - start).CopyTo(_code.AsSpan(pos));
                if (_hasOrc) OrcRun(plan, first, i, pos);
            }
            if (plan.TailJumpOffset >= 0)
                EmitFallThrough(plan);
            OrcBase(plan.CopyOffset + plan.CopySize, -1, 0); // the gap after the copy
        }
        _code.AsSpan(copyEnd).Fill(X86Encoding.Int3Opcode);
        blob.Code = _code;
    }

    /// <summary>
    /// ORC for plain instructions [<paramref name="first"/>, <paramref name="end"/>) copied as one stretch
    /// from <paramref name="pos"/>: what <see cref="OrcBase"/> at each would give, visiting only the
    /// instructions where the original's state changes.
    /// </summary>
    private void OrcRun(FunctionPlan plan, int first, int end, int pos)
    {
        int section = plan.Function.Section.Index;
        var offsets = plan.Arena.Offsets.AsSpan(plan.First, plan.Count);
        int origin = offsets[first];
        OrcBase(pos, section, origin);
        int k = first;
        for (long change = orc.NextChange(); ;)
        {
            while (k < end && offsets[k] < change) k++;
            if (k == end) return;
            OrcBase(pos + offsets[k] - origin, section, offsets[k]);
            change = orc.NextChange();
        }
    }

    private static bool IsPlainCopy(in PlannedInstruction p) =>
        p.Kind == EmitKind.Verbatim && p.Events == EventFlags.None && p.MemForm == MemoryClass.None
        && p.RelocCount == 0 && !p.IpRelative;

    private void EmitInstruction(FunctionPlan plan, ref PlannedInstruction p)
    {
        var f = plan.Function;
        int start = plan.CopyOffsetOf(p), pos = start;
        uint origOffset = (uint)(p.Offset - f.Start);
        OrcBase(pos, f.Section.Index, p.Offset);
        if ((p.Events & EventFlags.Entry) != 0)
            pos = EmitEvent(pos, f, 0, BlobEventKind.Entry);
        var code = plan.Code;
        if (p.MemForm == MemoryClass.String)
        {
            _code[pos++] = X86Encoding.PushRsi;
            OrcDepth(pos, 8);
            _code[pos++] = X86Encoding.PushRdi;
            OrcDepth(pos, 16);
        }
        else if (p.MemKind != 0)
            pos = EmitMemoryEvent(plan, p, pos);
        if ((p.Events & EventFlags.Exit) != 0 && p.Kind != EmitKind.ConditionalTailCall)
            pos = EmitEvent(pos, f, origOffset, BlobEventKind.Exit);

        switch (p.Kind)
        {
            case EmitKind.Verbatim:
                CopyShort(code.Bytes, code.BytesOffset + p.Offset, pos, p.Length);
                EmitRelocations(plan, p, pos);
                pos += p.Length;
                if (p.MemForm == MemoryClass.String)
                {
                    pos = EmitHelperCall(pos, AddMemorySite(f, p), BlobHelper.StringEvent, depth: 16);
                    pos = EmitDropStack(pos, 16);
                    OrcDepth(pos, 0);
                }
                break;
            case EmitKind.Branch:
                pos = EmitBranch(plan, p, pos);
                break;
            case EmitKind.LoopBranch:
                // loop 1f; jmp 2f; 1: jmp target; 2:
                code.Span(p.Offset, p.Length).CopyTo(_code.AsSpan(pos));
                pos += p.Length;
                _code[pos - 1] = X86Encoding.JccRel8Size;
                _code[pos++] = X86Encoding.JmpRel8Opcode;
                _code[pos++] = X86Encoding.JmpRel32Size;
                pos = EmitRel32Jump(plan, p, pos, X86Encoding.JmpRel32Opcode, withEntryEvent: false);
                break;
            case EmitKind.ConditionalTailCall:
                // j!cc 1f; <exit event>; jmp target; 1:
                _code[pos++] = (byte)(X86Encoding.JccRel8Base | (p.ConditionNibble ^ 1));
                _code[pos++] = X86Encoding.EventCallSize + X86Encoding.JmpRel32Size;
                pos = EmitEvent(pos, f, origOffset, BlobEventKind.Exit);
                pos = EmitRel32Jump(plan, p, pos, X86Encoding.JmpRel32Opcode, withEntryEvent: true);
                break;
            case EmitKind.Xbegin:
                _code[pos++] = 0xc7;
                _code[pos++] = 0xf8;
                pos = EmitTarget(plan, p, pos, withEntryEvent: false);
                break;
            case EmitKind.LiveBytesSlot:
                blob.Patches.Add(new BlobPatch((uint)pos, (uint)f.BlobIndex, origOffset, (ushort)p.SlotLength,
                    (ushort)p.SlotLength, BlobPatchKind.LiveBytes, 0));
                pos = EmitSlot(pos, p.SlotLength);
                break;
            case EmitKind.JumpLabelSlot:
                int target = ResolveInModule(plan, p, withEntryEvent: false);
                if (target < 0)
                    throw Internal(f, p, "jump label target has no copy");
                blob.Patches.Add(new BlobPatch((uint)pos, (uint)f.BlobIndex, origOffset, (ushort)p.Length,
                    (ushort)p.SlotLength, BlobPatchKind.JumpLabel, (uint)target));
                pos = EmitSlot(pos, p.SlotLength);
                break;
            case EmitKind.JumpLabelTest:
                pos = EmitJumpLabelTest(plan, p, pos);
                break;
            case EmitKind.Drop or EmitKind.Absorbed:
                break;
        }
        if (pos != start + p.Size)
            throw SizeMismatch(f, p, pos - start);
    }

    /// <summary>
    /// An instruction's bytes (at most 15) into the image at <paramref name="pos"/>, as one 16-byte move where
    /// both arrays have room: the bytes moved past its end are written again later, as emission goes forward
    /// through the image and writes every byte of it.
    /// </summary>
    private void CopyShort(byte[] source, int at, int pos, int length)
    {
        if (length <= Vector128<byte>.Count && at + Vector128<byte>.Count <= source.Length && pos + Vector128<byte>.Count <= _code.Length)
            Unsafe.WriteUnaligned(ref _code[pos], Unsafe.ReadUnaligned<Vector128<byte>>(ref source[at]));
        else
            source.AsSpan(at, length).CopyTo(_code.AsSpan(pos));
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
        else if (Imports?.StubFor(plan, p) is >= 0 and var stub)
        {
            X86Encoding.WriteRel32(_code.AsSpan(pos), stub - next);
            Imports.AddCall(blob, plan, p, stub, next);
        }
        else if (p.RelocCount > 0 && p.Kind is EmitKind.Branch or EmitKind.ConditionalTailCall or EmitKind.LoopBranch or EmitKind.Xbegin)
        {
            // The branch's own relocation (on its rel32) names the target.
            ref readonly var r = ref plan.Code.Relocations[p.RelocFirst];
            AddFixup(pos, BlobFixupType.Pc32, BlobFixupTarget.Symbol, (uint)r.SymbolIndex, r.Addend);
        }
        else if (anchors.TryAnchor(p.TargetSection, p.TargetOffset, out int symbol, out long delta))
            AddFixup(pos, BlobFixupType.Pc32, BlobFixupTarget.Symbol, (uint)symbol, delta - X86Encoding.Rel32Size);
        else
            throw NoSymbol(plan.Function, p);
        return next;
    }

    /// <summary>The copy of a branch target in this module, or -1 where the original must be used.</summary>
    /// <remarks>The target's function and index were resolved once, before anything was left out.</remarks>
    private int ResolveInModule(FunctionPlan plan, in PlannedInstruction p, bool withEntryEvent)
    {
        if (p.TargetFunction < 0) return -1;
        if (p.TargetIndex == 0 && p.TargetFunction != plan.Function.Id)
        {
            int entry = _entries[p.TargetFunction];
            return entry < 0 ? -1 : FunctionPlan.EntryTarget(entry >> 1, (entry & 1) != 0, withEntryEvent);
        }
        // Most jumps stay in the function being emitted: its plan is at hand.
        var targetPlan = p.TargetFunction == plan.Function.Id ? plan : plans[p.TargetFunction];
        if (!targetPlan.Function.IsCopied) return -1;
        int target = targetPlan.CopyTargetAt(p.TargetIndex, withEntryEvent);
        if (target < 0)
            throw NotAnInstruction(plan.Function, p, targetPlan.Function);
        return target;
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
                RelocationType.Abs64 => BlobFixupType.Abs64,
                RelocationType.Abs32S => BlobFixupType.Abs32S,
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

    /// <summary>
    /// <c>push %rax; lea M,%rax; push $site; call helper; pop %rax</c>. The LEA's displacement
    /// takes over the original's relocation; a RIP-relative one is re-aimed at the same address.
    /// </summary>
    private int EmitMemoryEvent(FunctionPlan plan, in PlannedInstruction p, int pos)
    {
        var f = plan.Function;
        bool saveRax = !p.RaxDead;
        if (saveRax)
        {
            _code[pos++] = X86Encoding.PushRax;
            OrcDepth(pos, 8);
        }
        int lea = pos;
        plan.Arena.Extra.AsSpan(p.LeaStart, p.LeaLength).CopyTo(_code.AsSpan(pos));
        bool bitOp = p.MemForm == MemoryClass.BitOp;
        if (bitOp)
            OrcDepth(pos + (_code[pos] == 0x41 ? 2 : 1), 16); // after push %reg
        pos += p.LeaLength;
        if (p.LeaDisplacementOffset >= 0)
        {
            int field = lea + p.LeaDisplacementOffset;
            int leaTail = p.LeaLength - p.LeaDisplacementOffset;       // field to end of the LEA
            int origTail = p.Length - p.DisplacementOffset;            // field to end of the original
            var relocs = plan.Code.Relocations;
            bool done = false;
            for (int i = p.RelocFirst; i < p.RelocFirst + p.RelocCount && !done; i++)
            {
                var r = relocs[i];
                if ((long)r.Offset != p.Offset + p.DisplacementOffset) continue;
                // PC32: address = S + A + origTail; the LEA needs S + A' + leaTail.
                long addend = r.IsPcRelative ? r.Addend + origTail - leaTail : r.Addend;
                var type = r.IsPcRelative ? BlobFixupType.Pc32
                    : r.Type == Kedr.Core.Elf.RelocationType.Abs64 ? BlobFixupType.Abs64 : BlobFixupType.Abs32S;
                AddFixup(field, type, BlobFixupTarget.Symbol, (uint)r.SymbolIndex, addend);
                done = true;
            }
            if (!done && p.IpRelative)
                AddFixup(field, BlobFixupType.Pc32, BlobFixupTarget.Symbol, (uint)f.Symbol.Index,
                    p.IpRelativeTarget - f.Start - leaTail);
        }
        var helper = bitOp ? BlobHelper.BitOpEvent : p.FlagsDead ? BlobHelper.MemEventNoFlags : BlobHelper.MemEvent;
        pos = EmitHelperCall(pos, AddMemorySite(f, p), helper, depth: bitOp ? 16 : saveRax ? 8 : 0);
        if (bitOp)
        {
            pos = EmitDropStack(pos, 8);
            OrcDepth(pos, 8);
        }
        if (saveRax)
        {
            _code[pos++] = X86Encoding.PopRax;
            OrcDepth(pos, 0);
        }
        return pos;
    }

    private int AddMemorySite(FunctionInfo f, in PlannedInstruction p)
    {
        blob.Sites.Add(new BlobSite((uint)f.BlobIndex, (uint)(p.Offset - f.Start), p.MemKind, p.MemFlags, p.MemSize));
        return blob.Sites.Count - 1;
    }

    /// <summary>
    /// The jump is taken when (key enabled) != (entry's branch flag), as jump_label_type() decides:
    /// <c>pushf; cmpl $0,key(%rip); jg/jle 1f; popf; jmp 2f; 1: popf; jmp target; 2:</c>.
    /// </summary>
    private int EmitJumpLabelTest(FunctionPlan plan, in PlannedInstruction p, int pos)
    {
        const long flagBits = 3; // JUMP_TYPE_TRUE | JUMP_TYPE_LINKED
        var key = plan.Code.Sites[p.SiteIndex];
        bool branch = (key.AuxAddend & 1) != 0;
        _code[pos++] = X86Encoding.Pushf;
        OrcDepth(pos, 8);
        _code[pos++] = 0x83;                     // cmpl $imm8, disp32(%rip)
        _code[pos++] = 0x3d;
        AddFixup(pos, BlobFixupType.Pc32, BlobFixupTarget.Symbol, (uint)key.AuxSymbol, (key.AuxAddend & ~flagBits) - 5);
        pos += X86Encoding.Rel32Size;
        _code[pos++] = 0;
        _code[pos++] = (byte)(X86Encoding.JccRel8Base | (branch ? 0xe : 0xf)); // jle : jg
        _code[pos++] = 3;
        _code[pos++] = X86Encoding.Popf;
        OrcDepth(pos, 0);
        _code[pos++] = X86Encoding.JmpRel8Opcode;
        _code[pos++] = 1 + X86Encoding.JmpRel32Size;
        OrcDepth(pos, 8);                        // the taken path still has the flags pushed
        _code[pos++] = X86Encoding.Popf;
        OrcDepth(pos, 0);
        return EmitRel32Jump(plan, p, pos, X86Encoding.JmpRel32Opcode, withEntryEvent: false);
    }

    /// <summary>A slot the loader fills (live bytes, or the jump label's jmp or NOPs): int3 until then.</summary>
    private int EmitSlot(int pos, int length)
    {
        _code.AsSpan(pos, length).Fill(X86Encoding.Int3Opcode);
        return pos + length;
    }

    /// <summary><c>lea N(%rsp),%rsp</c>: unlike add, it leaves the flags alone.</summary>
    private int EmitDropStack(int pos, byte bytes)
    {
        X86Encoding.LeaRspPrefix.CopyTo(_code.AsSpan(pos));
        pos += X86Encoding.LeaRspPrefix.Length;
        _code[pos++] = bytes;
        return pos;
    }

    private void EmitFallThrough(FunctionPlan plan)
    {
        var f = plan.Function;
        if (plan.Count > 0) OrcBase(plan.TailJumpOffset, f.Section.Index, plan.Instructions[plan.Count - 1].Offset);
        var next = catalog.Find(f.Section.Index, f.End);
        var p = new PlannedInstruction
        {
            TargetSection = f.Section.Index,
            TargetOffset = f.End,
            TargetFunction = next?.Id ?? -1,
            TargetIndex = next is null ? -1 : plans[next.Id].IndexOf(f.End),
        };
        EmitRel32Jump(plan, p, plan.TailJumpOffset, X86Encoding.JmpRel32Opcode, withEntryEvent: false);
    }

    private int EmitEvent(int pos, FunctionInfo f, uint origOffset, BlobEventKind kind)
    {
        int site = blob.Sites.Count;
        blob.Sites.Add(new BlobSite((uint)f.BlobIndex, origOffset, kind, BlobSiteFlags.None, 0));
        return EmitHelperCall(pos, site, BlobHelper.FuncEvent);
    }

    /// <summary><c>push $site; call helper</c>; the helper returns with <c>ret $8</c>.</summary>
    /// <param name="depth">Bytes our sequence has already pushed.</param>
    private int EmitHelperCall(int pos, int site, BlobHelper helper, int depth = 0)
    {
        _code[pos++] = X86Encoding.PushImm32Opcode;
        X86Encoding.WriteRel32(_code.AsSpan(pos), site);
        pos += X86Encoding.Rel32Size;
        if (!_loaderAddsCallOrc) OrcDepth(pos, depth + 8);
        _code[pos++] = X86Encoding.CallRel32Opcode;
        AddFixup(pos, BlobFixupType.Pc32, BlobFixupTarget.Helper, (uint)helper, -X86Encoding.Rel32Size);
        pos += X86Encoding.Rel32Size;
        if (!_loaderAddsCallOrc) OrcDepth(pos, depth);
        return pos;
    }

    private void AddFixup(int pos, BlobFixupType type, BlobFixupTarget target, uint index, long addend)
    {
        blob.Fixups.Add(new BlobFixup((uint)pos, type, target, index, addend));
        // The loader writes the field; it starts as zeroes.
        if (type == BlobFixupType.Abs64) System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(_code.AsSpan(pos, 8), 0);
        else System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(_code.AsSpan(pos, 4), 0);
    }


    // Out of line, so the per-instruction methods carry no string-building state.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException SizeMismatch(FunctionInfo f, in PlannedInstruction p, int emitted) =>
        Internal(f, p, $"emitted {emitted} bytes, planned {p.Size} ({p.Kind})");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException NoSymbol(FunctionInfo f, in PlannedInstruction p) =>
        Internal(f, p, $"no symbol to reach section {p.TargetSection}+0x{p.TargetOffset:x}");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException NotAnInstruction(FunctionInfo f, in PlannedInstruction p, FunctionInfo target) =>
        Internal(f, p, $"target {target.Name}+0x{p.TargetOffset - target.Start:x} is not an instruction of its copy");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static InvalidOperationException Internal(FunctionInfo f, in PlannedInstruction p, string what) =>
        new($"KEDR2900: internal error in {f.Name}+0x{p.Offset - f.Start:x}: {what}");
}
