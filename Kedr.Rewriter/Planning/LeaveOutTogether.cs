using Kedr.Rewriter.Catalog;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// A function left out keeps its original code, which must never reach an int3:
/// so whatever jumps into the middle of another function (or is jumped into)
/// shares its fate, and a branch into the middle of an instruction leaves its target out.
/// </summary>
internal static class LeaveOutTogether
{
    /// <summary>
    /// Resolves each branch into the middle of another function to its instruction there, and extends
    /// <paramref name="leftOut"/> (per function id) to every function linked to a left-out one.
    /// </summary>
    public static void Apply(FunctionPlan.Draft[] plans, string?[] leftOut)
    {
        var parent = new int[plans.Length];
        for (int i = 0; i < parent.Length; i++) parent[i] = i;
        int Find(int x)
        {
            while (parent[x] != x) x = parent[x] = parent[parent[x]];
            return x;
        }
        var linkedTo = new Dictionary<int, string>();

        foreach (var plan in plans)
        {
            var f = plan.Function;
            var instructions = plan.Instructions;
            foreach (int i in plan.Branches)
            {
                ref var p = ref instructions[i];
                var target = plans[p.TargetFunction]; // found by the planner
                var tf = target.Function;
                int at = target.IndexOf(p.TargetOffset);
                p.TargetIndex = at;
                if (leftOut[tf.Id] is null && (at < 0 || target.Instructions[at].Kind == EmitKind.Absorbed))
                    leftOut[tf.Id] = NotAnInstructionStart(f, p, tf);
                parent[Find(f.Id)] = Find(tf.Id);
                linkedTo.TryAdd(f.Id, tf.Name);
                linkedTo.TryAdd(tf.Id, f.Name);
            }
        }
        var leftOutRoots = new Dictionary<int, string>();
        foreach (var plan in plans)
            if (leftOut[plan.Function.Id] is not null) leftOutRoots.TryAdd(Find(plan.Function.Id), plan.Function.Name);
        foreach (var plan in plans)
        {
            var f = plan.Function;
            if (leftOut[f.Id] is null && leftOutRoots.TryGetValue(Find(f.Id), out var cause))
                leftOut[f.Id] = $"shares code paths with {cause}, which is left out (via {linkedTo[f.Id]})";
        }
    }

    internal static string NotAnInstructionStart(FunctionInfo from, in PlannedInstruction p, FunctionInfo target) =>
        $"{from.Name}+0x{p.Offset - from.Start:x} branches to +0x{p.TargetOffset - target.Start:x}, not an instruction start of the copy";
}
