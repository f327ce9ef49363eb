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
        var room = arena.BeginFunction(size);
        for (int i = 0; i < offsets.Length; i++)
        {
            room.Offsets[i] = offsets[i];
            room.MarkStart(offsets[i] - offsets[0], i);
        }
        arena.EndFunction(offsets.Length);
        var draft = FunctionPlan.Draft.New(null!, null!, arena);
        draft.First = first;
        draft.Count = offsets.Length;
        return draft.Plan;
    }

    private static int[] RandomOffsets(Random random, int start)
    {
        var offsets = new int[random.Next(1, 60)];
        for (int i = 0, at = start; i < offsets.Length; i++, at += random.Next(1, 16)) offsets[i] = at;
        return offsets;
    }

    /// <summary>
    /// What the planning stage hands on is read-only: no field or property of a plan, or of the stage's
    /// result, can be written from outside it (the planners write through <see cref="FunctionPlan.Draft"/>).
    /// </summary>
    [Theory]
    [InlineData(typeof(FunctionPlan))]
    [InlineData(typeof(ModulePlans))]
    public void The_planning_stage_result_has_nothing_writable(Type type)
    {
        const System.Reflection.BindingFlags visible = System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static |
            System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.DeclaredOnly;
        var writable = type.GetFields(visible).Where(f => !f.IsPrivate && !f.IsInitOnly && !f.IsLiteral).Select(f => f.Name)
            .Concat(type.GetProperties(visible).Where(p => p.SetMethod is { IsPrivate: false }).Select(p => p.Name))
            .ToList();
        Assert.Empty(writable);
    }

    [Fact]
    public void The_offset_map_finds_what_the_plain_search_finds_and_nothing_of_the_function_before()
    {
        var random = new Random(7);
        var arena = PlanArena.Rent();
        var before = arena.BeginFunction(3);
        for (int i = 0; i < 3; i++) before.Offsets[i] = i;
        arena.EndFunction(3);
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
