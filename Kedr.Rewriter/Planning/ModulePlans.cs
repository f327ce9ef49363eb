using Kedr.Rewriter.Catalog;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// Stage 2's output: every function's plan and the decision for it — copied, or left out with the
/// reason. Read-only: the later stages read the plans and ask here what was decided; nothing of it is
/// written into the catalog's <see cref="FunctionInfo"/>s.
/// </summary>
internal sealed class ModulePlans(ModuleCatalog module, FunctionPlan[] plans, string?[] leftOut, PlanArena arena)
{
    public ModuleCatalog Module { get; } = module;

    /// <summary>Per function id (catalog order).</summary>
    public ReadOnlySpan<FunctionPlan> All => plans;
    public FunctionPlan this[int functionId] => plans[functionId];
    public int Count => plans.Length;

    /// <summary>Per-thread working memory the plans live in (reused by the next module on this thread).</summary>
    public PlanArena Arena { get; } = arena;

    public bool IsCopied(int functionId) => leftOut[functionId] is null;

    /// <summary>Why function <paramref name="functionId"/> gets no copy; null if it gets one.</summary>
    public string? LeftOutReason(int functionId) => leftOut[functionId];
}
