using Kedr.Rewriter.Functions;

namespace Kedr.Rewriter.Copying;

/// <summary>The decoded, classified instructions of one function, and where its copy goes.</summary>
internal sealed class FunctionPlan(FunctionInfo function, SectionCode code)
{
    public FunctionInfo Function { get; } = function;
    public SectionCode Code { get; } = code;
    /// <summary>Pooled: only the first <see cref="Count"/> entries are this function's.</summary>
    public PlannedInstruction[] Instructions = [];
    public int Count;
    /// <summary>The instructions' section offsets, apart from the big structs so lookups stay in cache (pooled).</summary>
    public int[] Offsets = [];
    /// <summary>Bytes the copy needs besides the original's: the LEAs of memory events.</summary>
    public readonly List<byte> Extra = [];
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

    /// <summary>Gives the pooled instruction array back once the module is done.</summary>
    public void ReturnInstructions()
    {
        if (Instructions.Length > 0) System.Buffers.ArrayPool<PlannedInstruction>.Shared.Return(Instructions);
        if (Offsets.Length > 0) System.Buffers.ArrayPool<int>.Shared.Return(Offsets);
        Instructions = [];
        Offsets = [];
        Count = 0;
    }

    /// <summary>Index of the instruction that starts at <paramref name="offset"/>, or -1.</summary>
    public int IndexOf(long offset)
    {
        if (offset is < int.MinValue or > int.MaxValue) return -1;
        int i = Array.BinarySearch(Offsets, 0, Count, (int)offset);
        return i >= 0 ? i : -1;
    }

    /// <summary>Where a branch to <paramref name="offset"/> lands in the copy, or -1 if nowhere.</summary>
    /// <param name="withEntryEvent">Calls and tail calls enter through the entry event; other jumps skip it.</param>
    public int CopyTargetOf(long offset, bool withEntryEvent)
    {
        int i = IndexOf(offset);
        if (i < 0 || Instructions[i].Kind == EmitKind.Absorbed) return -1;
        ref var p = ref Instructions[i];
        bool skip = !withEntryEvent && (p.Events & EventFlags.Entry) != 0;
        return p.CopyOffset + (skip ? X86Encoding.EventCallSize : 0);
    }
}
