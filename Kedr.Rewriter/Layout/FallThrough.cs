using Iced.Intel;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Layout;

/// <summary>Whether a copy needs a jump after its last instruction to the code that follows the original.</summary>
internal static class FallThrough
{
    /// <summary>Whether execution can run off the end of the function's last instruction.</summary>
    public static bool Of(FunctionPlan plan)
    {
        for (int i = plan.Count - 1; i >= 0; i--)
        {
            ref readonly var p = ref plan.Instructions[i];
            if (p.Kind == EmitKind.Absorbed) continue;
            if (p.Kind == EmitKind.LiveBytesSlot && p.ThunkSite)
                return p.Flow != FlowControl.UnconditionalBranch; // a return or a tail call
            if (p.Kind is EmitKind.LiveBytesSlot or EmitKind.JumpLabelSlot or EmitKind.JumpLabelTest or EmitKind.Drop) return true;
            return p.Flow switch
            {
                FlowControl.Return or FlowControl.UnconditionalBranch or FlowControl.IndirectBranch => false,
                FlowControl.Interrupt => !p.IsInt3,
                FlowControl.Exception => false, // ud2
                _ => true,
            };
        }
        return true;
    }
}
