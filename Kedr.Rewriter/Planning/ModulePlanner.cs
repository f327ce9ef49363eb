using Kedr.Rewriter.Catalog;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// Stage 2, the plans: decodes every function and decides what its copy holds (<see cref="FunctionPlanner"/>),
/// then which functions are left out and why — noinstr code (<see cref="NoInstrCode"/>), landing pads that
/// cannot be written (<see cref="LandingPadFinder"/>), and whatever is tied to a left-out function
/// (<see cref="LeaveOutTogether"/>). The reasons are collected here, by function id, in that order (a later
/// step may replace an earlier one's reason).
/// </summary>
internal static class ModulePlanner
{
    public static ModulePlans Plan(ModuleCatalog module)
    {
        var functions = module.Functions.All;
        var planner = new FunctionPlanner(module.Elf, module.Functions);
        // About one instruction per 3.2 bytes of code (4.2 on average in the kernel's modules).
        long bytes = 0;
        foreach (var f in functions) bytes += f.Size;
        var arena = PlanArena.Rent((int)Math.Min(bytes * 5 / 16 + 64, int.MaxValue / 2));
        var plans = new FunctionPlan[functions.Length];
        var leftOut = new string?[functions.Length];
        foreach (var f in functions)
        {
            plans[f.Id] = new FunctionPlan(f, module.Code(f.Section), arena);
            leftOut[f.Id] = planner.Plan(plans[f.Id]);
        }
        foreach (var (f, why) in NoInstrCode.Find(module.Elf, module.Functions))
            leftOut[f.Id] = why;
        LandingPadFinder.Find(module.Elf, module.Functions, plans, leftOut);
        LeaveOutTogether.Apply(plans, leftOut);
        return new ModulePlans(module, plans, leftOut);
    }
}
