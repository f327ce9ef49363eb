using Kedr.Rewriter.Functions;

namespace Kedr.Rewriter.Copying;

/// <summary>The decoded, classified instructions of one function, and where its copy goes.</summary>
internal sealed class FunctionPlan(FunctionInfo function, SectionCode code, PlanArena arena)
{
    public FunctionInfo Function { get; } = function;
    public SectionCode Code { get; } = code;
    public PlanArena Arena { get; } = arena;
    /// <summary>This function's instructions are [First, First + Count) of the arena.</summary>
    public int First;
    public int Count;
    /// <summary>The first of the section's relocations and patch sites at or after the function's start.</summary>
    public int FirstRelocation;
    public int FirstSite;
    /// <summary>This function's branches into the middle of others: [FirstBranch, FirstBranch + BranchCount) of the arena's list.</summary>
    public int FirstBranch;
    public int BranchCount;
    /// <summary>Its branches to other places of the module than itself (listed or not).</summary>
    public int OutgoingBranches;
    /// <summary>Bytes of the copy's instructions (no tail jump) and relocations in the original.</summary>
    public int BodySize;
    public int RelocationCount;
    /// <summary>Entry and exit events (each a site, a helper call and its fixup).</summary>
    public int EventCount;
    /// <summary>Memory-accessing instructions, instrumented or not; reasons for those that are not.</summary>
    public int MemoryAccesses;
    public int MemoryInstrumented;
    public List<string>? NotInstrumented;
    /// <summary>Offsets (from the function start) that data points to: landing pads.</summary>
    public List<int>? LandingPads;

    /// <summary>Start of the copy in the code image (set by the layout).</summary>
    public int CopyOffset;
    public int CopySize;
    /// <summary>Where the jump to the code after the function goes when its last instruction falls through; -1 if none.</summary>
    public int TailJumpOffset = -1;

    /// <summary>The planned instructions (valid once planning is over: the arena no longer grows).</summary>
    public Span<PlannedInstruction> Instructions => Arena.Instructions.AsSpan(First, Count);

    /// <summary>Index of the instruction that starts at <paramref name="offset"/>, or -1.</summary>
    public int IndexOf(long offset)
    {
        if (offset is < int.MinValue or > int.MaxValue) return -1;
        int i = Arena.Offsets.AsSpan(First, Count).BinarySearch((int)offset);
        return i >= 0 ? i : -1;
    }

    /// <summary>Where a branch to <paramref name="offset"/> lands in the copy, or -1 if nowhere.</summary>
    /// <param name="withEntryEvent">Calls and tail calls enter through the entry event; other jumps skip it.</param>
    public int CopyTargetOf(long offset, bool withEntryEvent) => CopyTargetAt(IndexOf(offset), withEntryEvent);

    /// <summary>Where a branch to instruction <paramref name="index"/> lands in the copy, or -1 if nowhere.</summary>
    public int CopyTargetAt(int index, bool withEntryEvent)
    {
        if (index < 0) return -1;
        // Most calls: the first instruction, at the copy's start and never absorbed, with the entry
        // event unless the function is a part. Answered without reading its (likely uncached) plan.
        if (index == 0) return EntryTarget(CopyOffset, Function.IsPart, withEntryEvent);
        ref var p = ref Arena.Instructions[First + index];
        if (p.Kind == EmitKind.Absorbed) return -1;
        bool skip = !withEntryEvent && (p.Events & EventFlags.Entry) != 0;
        return CopyOffset + p.OffsetInCopy + (skip ? X86Encoding.EventCallSize : 0);
    }

    /// <summary>
    /// Where a branch to the first instruction of a copy at <paramref name="copyOffset"/> lands: the copy's
    /// start (its entry event), or past the entry event for jumps that skip it; a part has no entry event.
    /// </summary>
    public static int EntryTarget(int copyOffset, bool isPart, bool withEntryEvent) =>
        copyOffset + (!withEntryEvent && !isPart ? X86Encoding.EventCallSize : 0);

    /// <summary>Where in the code image instruction <paramref name="p"/>'s emitted bytes (events first) start.</summary>
    public int CopyOffsetOf(in PlannedInstruction p) => CopyOffset + p.OffsetInCopy;

    /// <summary>The indices (in this plan) of the branches into the middle of other functions.</summary>
    public ReadOnlySpan<int> Branches => Arena.Branches.AsSpan(FirstBranch, BranchCount);
}
