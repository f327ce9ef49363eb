using Kedr.Rewriter.Catalog;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// Stage 2's output: every function's plan and the decision for it — copied, or left out with the
/// reason. Read-only: the later stages read the plans and ask here what was decided; nothing of it is
/// written into the catalog's <see cref="FunctionInfo"/>s. Valid until the next <see cref="ModulePlanner.Plan"/>
/// on the same thread: the plans' instructions live in that thread's <see cref="PlanArena"/>, which the next
/// module's plans reuse.
/// </summary>
internal sealed class ModulePlans(ModuleCatalog module, FunctionPlan[] plans, string?[] leftOut, ProbeRequest[] probes)
{
    public ModuleCatalog Module { get; } = module;

    /// <summary>Per function id (catalog order).</summary>
    public ReadOnlySpan<FunctionPlan> All => plans;
    public FunctionPlan this[int functionId] => plans[functionId];
    public int Count => plans.Length;

    public bool IsCopied(int functionId) => leftOut[functionId] is null;

    /// <summary>The probes asked for (<see cref="ProbePlanner"/>), by id; empty without <c>--probe</c>.</summary>
    public ReadOnlySpan<ProbeRequest> Probes => probes;

    /// <summary>Why function <paramref name="functionId"/> gets no copy; null if it gets one.</summary>
    public string? LeftOutReason(int functionId) => leftOut[functionId];
}
