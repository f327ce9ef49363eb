using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Encoders;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// The decoded, classified instructions of one function. Written by the planning stage only; the later
/// stages read it (where its copy goes is the layout's, <c>ModuleLayout</c>).
/// </summary>
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
    /// <summary>Its branches that may go through an import stub: [FirstImportCandidate, + ImportCandidateCount) of the arena's list.</summary>
    public int FirstImportCandidate;
    public int ImportCandidateCount;
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

    /// <summary>The planned instructions (valid once planning is over: the arena no longer grows).</summary>
    public ReadOnlySpan<PlannedInstruction> Instructions => Arena.Instructions.AsSpan(First, Count);

    /// <summary>Index of the instruction that starts at <paramref name="offset"/>, or -1.</summary>
    public int IndexOf(long offset)
    {
        if (offset is < int.MinValue or > int.MaxValue) return -1;
        int i = Arena.Offsets.AsSpan(First, Count).BinarySearch((int)offset);
        return i >= 0 ? i : -1;
    }

    /// <summary>
    /// Length of the instruction that starts at <paramref name="offset"/>, 0 if none does: a patch site of
    /// length 0 covers that instruction.
    /// </summary>
    public int InstructionLengthAt(long offset)
    {
        int i = IndexOf(offset);
        return i < 0 ? 0 : Arena.Instructions[First + i].Length;
    }

    /// <summary>
    /// Where a branch to instruction <paramref name="index"/> lands in a copy placed at <paramref name="copyOffset"/>,
    /// or -1 if nowhere.
    /// </summary>
    /// <param name="withEntryEvent">Calls and tail calls enter through the entry event; other jumps skip it.</param>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public int CopyTargetAt(int copyOffset, int index, bool withEntryEvent)
    {
        if (index < 0) return -1;
        // Most calls: the first instruction, at the copy's start and never absorbed, with the entry
        // event unless the function is a part. Answered without reading its (likely uncached) plan.
        if (index == 0) return EntryTarget(copyOffset, Function.IsPart, withEntryEvent);
        ref readonly var p = ref Arena.Instructions[First + index];
        if (p.Kind == EmitKind.Absorbed) return -1;
        bool skip = !withEntryEvent && (p.Events & EventFlags.Entry) != 0;
        return copyOffset + p.OffsetInCopy + (skip ? X86Encoding.EventCallSize : 0);
    }

    /// <summary>
    /// Where a branch to the first instruction of a copy at <paramref name="copyOffset"/> lands: the copy's
    /// start (its entry event), or past the entry event for jumps that skip it; a part has no entry event.
    /// </summary>
    public static int EntryTarget(int copyOffset, bool isPart, bool withEntryEvent) =>
        copyOffset + (!withEntryEvent && !isPart ? X86Encoding.EventCallSize : 0);

    /// <summary>The indices (in this plan) of the branches into the middle of other functions.</summary>
    public ReadOnlySpan<int> Branches => Arena.Branches.AsSpan(FirstBranch, BranchCount);

    /// <summary>The indices (in the arena's <see cref="PlanArena.Instructions"/>) of the branches that may go through an import stub.</summary>
    public ReadOnlySpan<int> ImportCandidates => Arena.ImportCandidates.AsSpan(FirstImportCandidate, ImportCandidateCount);
}
