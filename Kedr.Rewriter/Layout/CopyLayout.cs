using Kedr.Rewriter.Encoders;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Layout;

/// <summary>
/// Stage 3, the layout: places the copies. Core functions first, then those of .init sections, so the
/// loader can drop the init copies as one tail once the kernel frees init memory; each copy on a
/// 16-byte boundary, followed by a jump to the code after its function where it falls through.
/// </summary>
internal static class CopyLayout
{
    /// <summary>Each copy starts on a 16-byte boundary, like the compiler's functions.</summary>
    public const int FunctionAlignment = 16;

    public static ModuleLayout Place(ModulePlans plans, ImportStubs imports)
    {
        var all = plans.All;
        int count = 0;
        foreach (var plan in all)
            if (plans.IsCopied(plan.Function.Id)) count++;
        var copied = new FunctionPlan[count];
        int next = 0;
        foreach (var plan in all)
            if (plans.IsCopied(plan.Function.Id) && !plan.Function.Section.IsInit) copied[next++] = plan;
        foreach (var plan in all)
            if (plans.IsCopied(plan.Function.Id) && plan.Function.Section.IsInit) copied[next++] = plan;

        var places = new CopyPlace[all.Length];
        Array.Fill(places, CopyPlace.None);
        int pos = imports.Size; // the import stubs come first
        for (int index = 0; index < copied.Length; index++)
        {
            var plan = copied[index];
            pos = (pos + FunctionAlignment - 1) & -FunctionAlignment;
            int start = pos, tailJump = -1;
            pos += plan.BodySize;
            if (FallThrough.Of(plan))
            {
                tailJump = pos;
                pos += X86Encoding.JmpRel32Size;
            }
            places[plan.Function.Id] = new CopyPlace(index, start, pos - start, tailJump);
        }
        return new ModuleLayout(plans, imports, copied, places, pos);
    }
}
