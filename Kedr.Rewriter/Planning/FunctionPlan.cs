using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Encoders;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// The decoded, classified instructions of one function: stage 2's result for it, read-only. Only the
/// planning stage writes it, through the <see cref="Draft"/> made with it, which never leaves that stage
/// (<see cref="ModulePlanner"/>): a plan handed to layout, emission or the tables has no way back to it.
/// Where its copy goes is the layout's, <c>ModuleLayout</c>.
/// </summary>
internal sealed class FunctionPlan
{
    private readonly PlanArena _arena;
    private int _first, _count, _firstRelocation, _firstSite, _firstBranch, _branchCount;
    private int _firstImportCandidate, _importCandidateCount, _outgoingBranches, _bodySize;
    private int _relocationCount, _eventCount, _memoryAccesses, _memoryInstrumented;
    private List<string>? _notInstrumented;
    private List<int>? _landingPads;

    private FunctionPlan(FunctionInfo function, SectionCode code, PlanArena arena)
    {
        Function = function;
        Code = code;
        _arena = arena;
    }

    public FunctionInfo Function { get; }
    public SectionCode Code { get; }
    /// <summary>This function's instructions are [First, First + Count) of the arena.</summary>
    public int First => _first;
    public int Count => _count;
    /// <summary>The first of the section's relocations and patch sites at or after the function's start.</summary>
    public int FirstRelocation => _firstRelocation;
    public int FirstSite => _firstSite;
    /// <summary>Its branches to other places of the module than itself (listed or not).</summary>
    public int OutgoingBranches => _outgoingBranches;
    /// <summary>Bytes of the copy's instructions (no tail jump) and relocations in the original.</summary>
    public int BodySize => _bodySize;
    public int RelocationCount => _relocationCount;
    /// <summary>Entry and exit events (each a site, a helper call and its fixup).</summary>
    public int EventCount => _eventCount;
    /// <summary>Memory-accessing instructions, instrumented or not; reasons for those that are not.</summary>
    public int MemoryAccesses => _memoryAccesses;
    public int MemoryInstrumented => _memoryInstrumented;
    public IReadOnlyList<string>? NotInstrumented => _notInstrumented;
    /// <summary>Offsets (from the function start) that data points to, sorted, each once: landing pads.</summary>
    public IReadOnlyList<int>? LandingPads => _landingPads;

    /// <summary>Each instruction's offset in the section, in order (the arena's, for this function).</summary>
    public ReadOnlySpan<int> Offsets => _arena.Offsets.AsSpan(_first, _count);

    /// <summary>The bytes the memory events' address computations were encoded into (<see cref="PlannedInstruction.LeaStart"/>).</summary>
    public ReadOnlySpan<byte> ExtraBytes => _arena.Extra.Bytes;

    /// <summary>The planned instructions (valid once planning is over: the arena no longer grows).</summary>
    public ReadOnlySpan<PlannedInstruction> Instructions => _arena.Instructions.AsSpan(_first, _count);

    /// <summary>Index of the instruction that starts at <paramref name="offset"/>, or -1.</summary>
    public int IndexOf(long offset)
    {
        if (offset is < int.MinValue or > int.MaxValue) return -1;
        int i = Offsets.BinarySearch((int)offset);
        return i >= 0 ? i : -1;
    }

    /// <summary>
    /// Length of the instruction that starts at <paramref name="offset"/>, 0 if none does: a patch site of
    /// length 0 covers that instruction.
    /// </summary>
    public int InstructionLengthAt(long offset)
    {
        int i = IndexOf(offset);
        return i < 0 ? 0 : _arena.Instructions[_first + i].Length;
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
        ref readonly var p = ref _arena.Instructions[_first + index];
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
    public ReadOnlySpan<int> Branches => _arena.Branches.AsSpan(_firstBranch, _branchCount);

    /// <summary>The indices (in the arena's <see cref="PlanArena.Instructions"/>) of the branches that may go through an import stub.</summary>
    public ReadOnlySpan<int> ImportCandidates => _arena.ImportCandidates.AsSpan(_firstImportCandidate, _importCandidateCount);

    /// <summary>The arena's instruction at <paramref name="slot"/> (an index from <see cref="ImportCandidates"/>).</summary>
    public ref readonly PlannedInstruction InArena(int slot) => ref _arena.Instructions[slot];

    /// <summary>
    /// The planning stage's write access to one plan. Made only together with its plan (<see cref="New"/>),
    /// so nothing that is handed a plan can write it.
    /// </summary>
    internal sealed class Draft
    {
        private readonly FunctionPlan _plan;

        private Draft(FunctionPlan plan) => _plan = plan;

        /// <summary>A new, empty plan of <paramref name="function"/> into <paramref name="arena"/>, and its draft.</summary>
        public static Draft New(FunctionInfo function, SectionCode code, PlanArena arena) =>
            new(new FunctionPlan(function, code, arena));

        /// <summary>The plan this draft writes (what the stage hands on).</summary>
        public FunctionPlan Plan => _plan;
        public FunctionInfo Function => _plan.Function;
        public SectionCode Code => _plan.Code;
        public PlanArena Arena => _plan._arena;

        public int First { get => _plan._first; set => _plan._first = value; }
        public int Count { get => _plan._count; set => _plan._count = value; }
        public int FirstRelocation { get => _plan._firstRelocation; set => _plan._firstRelocation = value; }
        public int FirstSite { get => _plan._firstSite; set => _plan._firstSite = value; }
        /// <summary>This function's branches into the middle of others: [FirstBranch, FirstBranch + BranchCount) of the arena's list.</summary>
        public int FirstBranch { get => _plan._firstBranch; set => _plan._firstBranch = value; }
        public int BranchCount { get => _plan._branchCount; set => _plan._branchCount = value; }
        /// <summary>Its branches that may go through an import stub: [FirstImportCandidate, + ImportCandidateCount) of the arena's list.</summary>
        public int FirstImportCandidate { get => _plan._firstImportCandidate; set => _plan._firstImportCandidate = value; }
        public int ImportCandidateCount { get => _plan._importCandidateCount; set => _plan._importCandidateCount = value; }
        public int OutgoingBranches { get => _plan._outgoingBranches; set => _plan._outgoingBranches = value; }
        public int BodySize { get => _plan._bodySize; set => _plan._bodySize = value; }
        public int RelocationCount { get => _plan._relocationCount; set => _plan._relocationCount = value; }
        public int EventCount { get => _plan._eventCount; set => _plan._eventCount = value; }
        public int MemoryAccesses { get => _plan._memoryAccesses; set => _plan._memoryAccesses = value; }
        public int MemoryInstrumented { get => _plan._memoryInstrumented; set => _plan._memoryInstrumented = value; }
        public List<string> NotInstrumented => _plan._notInstrumented ??= [];
        /// <summary>The landing pads found so far (unsorted until <see cref="LandingPadFinder"/> checks them), or null.</summary>
        public List<int>? LandingPads => _plan._landingPads;
        public void AddLandingPad(int offset) => (_plan._landingPads ??= []).Add(offset);

        /// <summary>The planned instructions, writable.</summary>
        public Span<PlannedInstruction> Instructions => _plan._arena.Instructions.AsSpan(_plan._first, _plan._count);
        public ReadOnlySpan<int> Branches => _plan.Branches;
        public int IndexOf(long offset) => _plan.IndexOf(offset);
    }
}
