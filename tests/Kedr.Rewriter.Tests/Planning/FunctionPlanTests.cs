using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Tests.Planning;

public sealed class FunctionPlanTests
{
    /// <summary>
    /// A plan over <paramref name="offsets"/> (sorted, the first the function's start), placed after a few
    /// instructions of another function, with the arena's offset map filled as the planner fills it.
    /// </summary>
    private static FunctionPlan PlanOver(PlanArena arena, int[] offsets, int size)
    {
        int first = arena.Count;
        arena.BeginFunction(size);
        for (int i = 0; i < offsets.Length; i++)
        {
            arena.Append(offsets[i]);
            arena.MarkStart(offsets[i] - offsets[0], i);
        }
        return new FunctionPlan(null!, null!, arena) { First = first, Count = offsets.Length };
    }

    private static int[] RandomOffsets(Random random, int start)
    {
        var offsets = new int[random.Next(1, 60)];
        for (int i = 0, at = start; i < offsets.Length; i++, at += random.Next(1, 16)) offsets[i] = at;
        return offsets;
    }

    [Fact]
    public void The_offset_map_finds_what_the_plain_search_finds_and_nothing_of_the_function_before()
    {
        var random = new Random(7);
        var arena = PlanArena.Rent();
        for (int i = 0; i < 3; i++) arena.Append(i);
        for (int round = 0; round < 200; round++)
        {
            // Same start each round: the previous function's starts lie where this one's may not.
            var offsets = RandomOffsets(random, 100);
            int size = offsets[^1] - offsets[0] + random.Next(1, 16);
            var plan = PlanOver(arena, offsets, size);
            for (long target = 80; target <= offsets[0] + size + 20; target++)
            {
                int expected = plan.IndexOf(target), got = arena.IndexAt(target - offsets[0]);
                Assert.True(expected == got, $"round {round}, offsets [{string.Join(",", offsets)}], target {target}: {expected} vs {got}");
            }
        }
    }
}
