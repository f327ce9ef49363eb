using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Layout;

/// <summary>Where one function's copy goes in the code image.</summary>
/// <param name="BlobIndex">Index in the blob's function table; -1: left out (no copy).</param>
/// <param name="TailJumpOffset">Where the jump to the code after the function goes when its last instruction falls through; -1 if none.</param>
internal readonly record struct CopyPlace(int BlobIndex, int CopyOffset, int CopySize, int TailJumpOffset)
{
    public static readonly CopyPlace None = new(-1, 0, 0, -1);
    public bool IsCopied => BlobIndex >= 0;
}

/// <summary>
/// Stage 3's output: the copies in blob order and each one's place in the code image. Read-only.
/// </summary>
internal sealed class ModuleLayout(ModulePlans plans, ImportStubs imports, FunctionPlan[] copied, CopyPlace[] places, int codeSize)
{
    public ModulePlans Plans { get; } = plans;
    /// <summary>The import stubs, at the start of the code image (<see cref="ImportStubs.Size"/> bytes).</summary>
    public ImportStubs Imports { get; } = imports;
    /// <summary>The copied functions' plans, in blob order (core functions, then init).</summary>
    public ReadOnlySpan<FunctionPlan> Copied => copied;
    public int CopiedCount => copied.Length;
    /// <summary>Bytes of the code image.</summary>
    public int CodeSize { get; } = codeSize;

    /// <summary>Per function id.</summary>
    public ref readonly CopyPlace this[int functionId] => ref places[functionId];

    /// <summary>Index of function <paramref name="functionId"/> in the blob's function table, -1 if left out.</summary>
    public int BlobIndex(int functionId) => places[functionId].BlobIndex;

    /// <summary>Where in the code image instruction <paramref name="p"/> of <paramref name="plan"/> (events first) starts.</summary>
    public int CopyOffsetOf(FunctionPlan plan, in PlannedInstruction p) => places[plan.Function.Id].CopyOffset + p.OffsetInCopy;

    /// <summary>Where a branch to instruction <paramref name="index"/> of <paramref name="plan"/> lands in its copy, or -1 if nowhere.</summary>
    public int CopyTargetAt(FunctionPlan plan, int index, bool withEntryEvent) =>
        plan.CopyTargetAt(places[plan.Function.Id].CopyOffset, index, withEntryEvent);

    /// <summary>Where a branch to <paramref name="offset"/> (in <paramref name="plan"/>'s section) lands in its copy, or -1 if nowhere.</summary>
    public int CopyTargetOf(FunctionPlan plan, long offset, bool withEntryEvent) =>
        CopyTargetAt(plan, plan.IndexOf(offset), withEntryEvent);
}
