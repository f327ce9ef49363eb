using Kedr.Core.Blob;
using Kedr.Rewriter.Layout;

namespace Kedr.Rewriter.Tables;

/// <summary>
/// Stage 5, the tables: what the blob says about the copies besides their code — each function's record
/// with its masks and digest, the exception-table and BUG entries moved to the copies, the landing pads
/// the loader writes into the original. (The copies' ORC entries are written by emission, which knows
/// what each byte pushes.) Each table is built by one class from the layout; a new table is a new class
/// with a <c>Build(ModuleLayout, KedrBlob)</c> method, listed here.
/// </summary>
internal static class CopyTables
{
    /// <summary>
    /// In the order they are built. Each fills its own lists of the blob but one: <see cref="LandingPadTable"/>
    /// appends to the patches, after the slots emission put there, so the patch table is the slots (copy
    /// order) and then the landing pads, and these run after <see cref="Emission.CopyEmitter.Emit"/>.
    /// </summary>
    private static readonly Action<ModuleLayout, KedrBlob>[] Builders =
    [
        FunctionTable.Build,
        ExceptionTable.Build,
        BugTable.Build,
        LandingPadTable.Build,
    ];

    public static void Build(ModuleLayout layout, KedrBlob blob)
    {
        foreach (var build in Builders) build(layout, blob);
    }
}
