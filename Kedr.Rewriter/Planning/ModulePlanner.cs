using Kedr.Core.Diagnostics;
using Kedr.Rewriter.Catalog;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// Stage 2, the plans: decodes every function and decides what its copy holds (<see cref="FunctionPlanner"/>),
/// then which functions are left out and why — noinstr code (<see cref="NoInstrCode"/>), landing pads that
/// cannot be written (<see cref="LandingPadFinder"/>), and whatever is tied to a left-out function
/// (<see cref="LeaveOutTogether"/>). The reasons are collected here, by function id, in that order (a later
/// step may replace an earlier one's reason). Last, the probes asked for (<see cref="ProbePlanner"/>). The
/// plans' drafts stay here: what the stage returns is read-only.
/// </summary>
internal static class ModulePlanner
{
    /// <summary>The plans without probes (which cannot fail).</summary>
    public static ModulePlans Plan(ModuleCatalog module)
    {
        TryPlan(module, [], out var plans, out _);
        return plans!;
    }

    /// <summary>The plans, with a probe at each of <paramref name="probes"/> (<c>FUNCTION+OFFSET</c>); false with an error naming a bad one.</summary>
    public static bool TryPlan(ModuleCatalog module, IReadOnlyList<string> probes, out ModulePlans? result, out KedrDiagnostic? error)
    {
        result = null;
        error = null;
        var functions = module.Functions.All;
        var planner = new FunctionPlanner(module.Elf, module.Functions);
        // About one instruction per 3.2 bytes of code (4.2 on average in the kernel's modules).
        long bytes = 0;
        foreach (var f in functions) bytes += f.Size;
        var arena = PlanArena.Rent((int)Math.Min(bytes * 5 / 16 + 64, int.MaxValue / 2));
        var drafts = new FunctionPlan.Draft[functions.Length];
        var leftOut = new string?[functions.Length];
        foreach (var f in functions)
        {
            drafts[f.Id] = FunctionPlan.Draft.New(f, module.Code(f.Section), arena);
            leftOut[f.Id] = planner.Plan(drafts[f.Id]);
        }
        foreach (var (f, why) in NoInstrCode.Find(module.Elf, module.Functions))
            leftOut[f.Id] = why;
        LandingPadFinder.Find(module.Elf, module.Functions, drafts, leftOut);
        LeaveOutTogether.Apply(drafts, leftOut);
        var requests = probes.Count == 0 ? [] : ProbePlanner.TryApply(module.Functions, drafts, leftOut, probes, out error);
        if (requests is null) return false;
        var plans = new FunctionPlan[drafts.Length];
        for (int i = 0; i < drafts.Length; i++) plans[i] = drafts[i].Plan;
        result = new ModulePlans(module, plans, leftOut, requests);
        return true;
    }
}
