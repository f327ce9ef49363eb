using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Kedr.Core.Blob;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Encoders;
using Kedr.Rewriter.Layout;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Emission;

/// <summary>
/// Stage 4, emission: writes every planned instruction at its place in the code image and records what
/// only the loader can complete — fixups, event sites, live-patch slots — and the ORC entries of the
/// copies, into the blob's lists. This file walks the copies and dispatches on <see cref="EmitKind"/>;
/// each kind is emitted in its own file (<c>CopyEmitter.&lt;Kind&gt;.cs</c>), branch targets and fixups in
/// <c>CopyEmitter.Targets.cs</c>, the event sequences in <c>CopyEmitter.Events.cs</c>, ORC in
/// <c>CopyEmitter.Orc.cs</c>; the bytes themselves are named in <see cref="X86Encoding"/>.
/// </summary>
internal sealed partial class CopyEmitter
{
    /// <summary>
    /// Tests: the code image is filled with this first, so that two fills giving different blobs would
    /// show a byte that emission leaves unwritten (it is otherwise uninitialised memory).
    /// </summary>
    [ThreadStatic] internal static byte? FillForTests;

    private readonly ModuleLayout _layout;
    private readonly ModulePlans _plans;
    private readonly FunctionCatalog _catalog;
    private readonly SymbolAnchors _anchors;
    private readonly KedrBlob _blob;
    private byte[] _code = [];

    /// <summary>Of the function being emitted: where its copy starts, its index in the blob's function table, its start in its section.</summary>
    private int _copyOffset, _blobIndex, _functionId;
    /// <summary>The blob's probe entries by id, filled as their calls are emitted (null without probes).</summary>
    private BlobProbe[]? _probes;
    private long _functionStart;

    private CopyEmitter(ModuleLayout layout, KedrBlob blob, OrcStates orc)
    {
        _layout = layout;
        _plans = layout.Plans;
        _catalog = _plans.Module.Functions;
        _anchors = _plans.Module.Anchors;
        _blob = blob;
        _orc = orc;
        _hasOrc = orc.HasData;
        _loaderAddsCallOrc = (blob.Flags & BlobHeaderFlags.CallOrc) != 0;
    }

    /// <summary>Emits the copies of <paramref name="layout"/> into <paramref name="blob"/>: its code image, fixups, sites, patches and ORC.</summary>
    public static void Emit(ModuleLayout layout, KedrBlob blob)
    {
        var orc = new OrcStates(layout.Plans.Module.Elf);
        BlobCapacity.Reserve(layout, blob, orc);
        // The stubs' ORC entry (offset 0) comes before every copy's in the sorted table.
        layout.Imports.AddTo(blob, orc.HasData);
        new CopyEmitter(layout, blob, orc).Emit();
    }

    /// <summary>
    /// Per function id: where a call to its start lands (its copy's start, the entry event first), times
    /// two, plus one for a part (which has no entry event); -1 if it has no copy. Most branches out of a
    /// function are such calls: answered from here without visiting the target's plan and function.
    /// </summary>
    private int[] _entries = [];

    private void Emit()
    {
        var copied = _layout.Copied;
        _entries = new int[_plans.Count];
        Array.Fill(_entries, -1);
        foreach (var plan in copied)
            _entries[plan.Function.Id] = _layout[plan.Function.Id].CopyOffset * 2 + (plan.Function.IsPart ? 1 : 0);

        // Every byte is written once: by the copies (int3 in the slots the loader fills), or int3 in the
        // gaps between them (so neither zeroing nor an int3 fill of the whole image first).
        if (_plans.Probes.Length > 0) _probes = new BlobProbe[_plans.Probes.Length];
        _code = GC.AllocateUninitializedArray<byte>(_layout.CodeSize);
        if (FillForTests is byte fill) _code.AsSpan().Fill(fill);
        int copyEnd = 0; // of the previous copy
        foreach (var plan in copied)
        {
            var place = _layout[plan.Function.Id];
            (_copyOffset, _blobIndex, _functionStart, _functionId) = (place.CopyOffset, place.BlobIndex, plan.Function.Start, plan.Function.Id);
            _code.AsSpan(copyEnd, place.CopyOffset - copyEnd).Fill(X86Encoding.Int3Opcode);
            copyEnd = place.CopyOffset + place.CopySize;
            var instructions = plan.Instructions;
            for (int i = 0; i < instructions.Length;)
            {
                if (!IsPlainCopy(instructions[i]))
                {
                    if (IsPlainMemoryEvent(instructions[i])) EmitPlainMemoryEvent(plan, instructions[i++]);
                    else if (IsPlainBranch(instructions[i])) EmitPlainBranch(plan, instructions[i++]);
                    else EmitInstruction(plan, instructions[i++]);
                    continue;
                }
                // Most instructions: the same bytes, nothing to record, nothing to fix up. A run of
                // them is one stretch of the original and one of the copy.
                int first = i;
                while (++i < instructions.Length && IsPlainCopy(instructions[i])) { }
                int start = instructions[first].Offset, end = instructions[i - 1].Offset + instructions[i - 1].Length;
                int pos = _copyOffset + instructions[first].OffsetInCopy;
                plan.Code.Span(start, end - start).CopyTo(_code.AsSpan(pos));
                if (_hasOrc) OrcRun(plan, first, i, pos);
            }
            if (place.TailJumpOffset >= 0)
                EmitFallThrough(plan, place.TailJumpOffset);
            OrcBase(place.CopyOffset + place.CopySize, -1, 0); // the gap after the copy
        }
        _code.AsSpan(copyEnd).Fill(X86Encoding.Int3Opcode);
        _blob.Code = _code;
        if (_probes is not null) _blob.Probes.AddRange(_probes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsPlainCopy(in PlannedInstruction p) =>
        p.Kind == EmitKind.Verbatim && p.Events == EventFlags.None && p.MemForm == MemoryClass.None
        && p.RelocCount == 0 && !p.IpRelative && !p.Probe;

    /// <summary>One instruction: its events before, the instruction as its kind says, its events after.</summary>
    private void EmitInstruction(FunctionPlan plan, in PlannedInstruction p)
    {
        var f = plan.Function;
        int start = _copyOffset + p.OffsetInCopy, pos = start;
        uint origOffset = (uint)(p.Offset - f.Start);
        OrcBase(pos, f.Section.Index, p.Offset);
        pos = EmitEventsBefore(plan, p, pos, origOffset);
        pos = p.Kind switch
        {
            EmitKind.Verbatim => EmitVerbatim(plan, p, pos),
            EmitKind.Branch => EmitBranch(plan, p, pos),
            EmitKind.LoopBranch => EmitLoopBranch(plan, p, pos),
            EmitKind.ConditionalTailCall => EmitConditionalTailCall(plan, p, pos, origOffset),
            EmitKind.Xbegin => EmitXbegin(plan, p, pos),
            EmitKind.LiveBytesSlot => EmitLiveBytesSlot(p, pos, origOffset),
            EmitKind.JumpLabelSlot => EmitJumpLabelSlot(plan, p, pos, origOffset),
            EmitKind.JumpLabelTest => EmitJumpLabelTest(plan, p, pos),
            // Drop: the fentry call, which the entry event replaces; Absorbed: emitted by its slot.
            _ => pos,
        };
        if (pos != start + p.Size)
            throw SizeMismatch(f, p, pos - start);
    }

    /// <summary>
    /// An instruction's bytes (at most 15) into the image at <paramref name="pos"/>, as one 16-byte move where
    /// both arrays have room: the bytes moved past its end are written again later, as emission goes forward
    /// through the image and writes every byte of it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CopyShort(ReadOnlySpan<byte> source, int at, int pos, int length)
    {
        if (length <= Vector128<byte>.Count && at + Vector128<byte>.Count <= source.Length && pos + Vector128<byte>.Count <= _code.Length)
            Unsafe.WriteUnaligned(ref _code[pos], Unsafe.ReadUnaligned<Vector128<byte>>(in source[at]));
        else
            source.Slice(at, length).CopyTo(_code.AsSpan(pos));
    }

    /// <summary>A slot the loader fills (live bytes, or the jump label's jmp or NOPs): int3 until then.</summary>
    private int EmitSlot(int pos, int length)
    {
        _code.AsSpan(pos, length).Fill(X86Encoding.Int3Opcode);
        return pos + length;
    }

    /// <summary>The jump after a copy whose last instruction falls through, to the code after the original function.</summary>
    private void EmitFallThrough(FunctionPlan plan, int tailJumpOffset)
    {
        var f = plan.Function;
        if (plan.Count > 0) OrcBase(tailJumpOffset, f.Section.Index, plan.Instructions[plan.Count - 1].Offset);
        var next = _catalog.Find(f.Section.Index, f.End);
        var p = new PlannedInstruction
        {
            TargetSection = f.Section.Index,
            TargetOffset = f.End,
            TargetFunction = next?.Id ?? -1,
            TargetIndex = next is null ? -1 : _plans[next.Id].IndexOf(f.End),
        };
        EmitRel32Jump(plan, p, tailJumpOffset, X86Encoding.JmpRel32Opcode, withEntryEvent: false);
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
