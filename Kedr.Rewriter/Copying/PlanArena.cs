namespace Kedr.Rewriter.Copying;

/// <summary>
/// The planned instructions of every function of one module, back to back in one array
/// (with their offsets apart, and the extra bytes of their event sequences), reused from
/// module to module on the same thread: planning allocates nothing per function or per
/// instruction, and memory stays bounded by the largest module.
/// </summary>
internal sealed class PlanArena
{
    private const int InitialCapacity = 4096;

    [ThreadStatic] private static PlanArena? t_current;

    public PlannedInstruction[] Instructions = new PlannedInstruction[InitialCapacity];
    /// <summary>Each instruction's section offset, kept apart from the big structs so binary searches stay in cache.</summary>
    public int[] Offsets = new int[InitialCapacity];
    public int Count;
    /// <summary>Bytes the copies need besides the originals': the LEAs of memory events.</summary>
    public readonly List<byte> Extra = new(InitialCapacity);

    /// <summary>This thread's arena, emptied.</summary>
    public static PlanArena Rent()
    {
        var arena = t_current ??= new PlanArena();
        arena.Count = 0;
        arena.Extra.Clear();
        return arena;
    }

    /// <summary>Room for one more instruction; returns its index (not yet counted).</summary>
    public int Reserve()
    {
        if (Count == Instructions.Length)
        {
            Array.Resize(ref Instructions, Count * 2);
            Array.Resize(ref Offsets, Count * 2);
        }
        return Count;
    }
}
