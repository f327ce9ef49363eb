using Iced.Intel;

namespace Kedr.Rewriter.Planning;

/// <summary>Where the status flags are dead, so that a memory event may call a helper that does not restore them.</summary>
internal static class FlagLiveness
{
    /// <summary>
    /// The status flags are dead before an instruction that reads none of them and either sets
    /// them all or is followed by code where they are dead. After a call or a return they are dead
    /// by the C ABI; after any other branch, assumed live. Only the memory events that call a helper
    /// with a flags-free variant ask: each walks forward along straight-line code to the instruction
    /// that decides, and a later event on the same stretch reuses the answer.
    /// </summary>
    /// <param name="instructions">The function's planned instructions.</param>
    /// <param name="decoded">The function's decoded instructions, in plan order.</param>
    /// <param name="events">The instructions whose memory event may use a flags-free helper, in order.</param>
    public static void MarkDeadFlags(Span<PlannedInstruction> instructions, Instruction[] decoded, ReadOnlySpan<int> events)
    {
        int decidedAt = -1;
        bool dead = false;
        foreach (int i in events)
        {
            if (i > decidedAt) (decidedAt, dead) = DecideFlags(instructions, decoded, i);
            instructions[i].FlagsDead = dead;
        }
    }

    /// <summary>From instruction <paramref name="i"/> on: where the flags' fate is decided, and whether they are dead.</summary>
    private static (int At, bool Dead) DecideFlags(Span<PlannedInstruction> instructions, Instruction[] decoded, int i)
    {
        for (; ; i++)
        {
            ref readonly var p = ref instructions[i];
            var (reads, writesAll) = StatusFlags.Of(decoded[i]);
            if (reads) return (i, false);
            if (writesAll) return (i, true);
            if (p.Kind is EmitKind.LiveBytesSlot or EmitKind.Absorbed or EmitKind.JumpLabelSlot or EmitKind.JumpLabelTest)
                return (i, false); // what runs there is decided later
            switch (p.Flow)
            {
                case FlowControl.Next:
                    if (i + 1 == instructions.Length) return (i, false);
                    break;
                case FlowControl.Call or FlowControl.IndirectCall or FlowControl.Return:
                    return (i, true);
                default:
                    return (i, false);
            }
        }
    }
}
