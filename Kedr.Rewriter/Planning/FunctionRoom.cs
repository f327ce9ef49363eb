using Iced.Intel;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// The arena's slots for the function being planned (<see cref="PlanArena.BeginFunction"/>): one per byte of
/// it, the most instructions it can have. The planner writes instruction <c>n</c>'s plan, offset and decoded
/// form at index <c>n</c>, and marks where it starts, with no bookkeeping in the arena per instruction.
/// </summary>
internal readonly ref struct FunctionRoom(Span<PlannedInstruction> planned, Span<int> offsets, Span<Instruction> decoded, Span<long> marks, int stamp)
{
    public readonly Span<PlannedInstruction> Planned = planned;
    /// <summary>Each instruction's section offset (<see cref="PlanArena.Offsets"/>).</summary>
    public readonly Span<int> Offsets = offsets;
    public readonly Span<Instruction> Decoded = decoded;
    private readonly Span<long> _marks = marks;
    private readonly long _stamp = (long)stamp << 32;

    /// <summary>The function's <paramref name="index"/>th instruction starts <paramref name="offset"/> bytes into it (for <see cref="PlanArena.IndexAt"/>).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void MarkStart(int offset, int index) => _marks[offset] = _stamp | (uint)index;
}
