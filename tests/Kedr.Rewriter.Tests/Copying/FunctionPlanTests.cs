using Kedr.Rewriter.Copying;

namespace Kedr.Rewriter.Tests.Copying;

public sealed class FunctionPlanTests
{
    /// <summary>A plan over <paramref name="offsets"/> (sorted), placed after a few instructions of another function.</summary>
    private static FunctionPlan PlanOver(int[] offsets)
    {
        var arena = PlanArena.Rent();
        for (int i = 0; i < 3 + offsets.Length; i++)
            arena.Append(i < 3 ? i : offsets[i - 3]);
        return new FunctionPlan(null!, null!, arena) { First = 3, Count = offsets.Length };
    }

    [Fact]
    public void Search_from_a_branch_finds_what_the_plain_search_finds()
    {
        var random = new Random(7);
        for (int round = 0; round < 200; round++)
        {
            int n = random.Next(1, 60);
            var offsets = new int[n];
            for (int i = 0, at = 100; i < n; i++) offsets[i] = at += random.Next(1, 16);
            var plan = PlanOver(offsets);
            for (int from = 0; from < n; from++)
                for (long target = 90; target <= offsets[^1] + 20; target++)
                    Assert.True(plan.IndexOf(target) == plan.IndexOfNear(target, from),
                        $"offsets [{string.Join(",", offsets)}], from {from}, target {target}: {plan.IndexOf(target)} vs {plan.IndexOfNear(target, from)}");
        }
    }
}
