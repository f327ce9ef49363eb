using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Emission;
using Kedr.Rewriter.Layout;
using Kedr.Rewriter.Planning;
using Kedr.Rewriter.Tables;

namespace Kedr.Rewriter;

/// <summary>
/// Builds the blob for one module through the rewriter's stages, each reading the previous one's
/// read-only output: catalog (<see cref="ModuleCatalog"/>) → plans (<see cref="ModulePlanner"/>:
/// decisions and left-out reasons) → layout (<see cref="CopyLayout"/>) → emission
/// (<see cref="CopyEmitter"/>) → tables (<see cref="CopyTables"/>) → the blob and the report.
/// </summary>
public static class ModuleRewriter
{
    public static RewriteResult Rewrite(ElfFile elf) =>
        TryRewrite(elf, out var result, out var error) ? result! : throw new KedrException(error!);

    public static bool TryRewrite(ElfFile elf, out RewriteResult? result, out KedrDiagnostic? error) =>
        TryRewrite(elf, null, out result, out error);

    /// <param name="buffers">
    /// Tables to build the blob in, reused from the previous call with them (whose blob is then retired);
    /// null: new ones.
    /// </param>
    /// <remarks>
    /// Never throws for anything in the module: what the readers reject is their diagnostic, and an exception
    /// from deeper down (a bug of ours, whatever the input) is <see cref="DiagnosticCodes.RewriterInternalError"/>
    /// naming the module, for the one-module command and a batch alike.
    /// </remarks>
    public static bool TryRewrite(ElfFile elf, BlobBuffers? buffers, out RewriteResult? result, out KedrDiagnostic? error) =>
        TryRewrite(elf, buffers, RewriteOptions.Default, out result, out error);

    /// <inheritdoc cref="TryRewrite(ElfFile, BlobBuffers?, out RewriteResult?, out KedrDiagnostic?)"/>
    public static bool TryRewrite(ElfFile elf, BlobBuffers? buffers, RewriteOptions options, out RewriteResult? result, out KedrDiagnostic? error)
    {
        try
        {
            return TryRewriteCore(elf, buffers, options, out result, out error);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            result = null;
            error = InternalError(elf.Path, e);
            return false;
        }
    }

    /// <summary>An exception of ours as a diagnostic: its type, message and the innermost frame of ours.</summary>
    public static KedrDiagnostic InternalError(string path, Exception e)
    {
        // DiagnosticMethodInfo, not StackFrame.GetMethod(): the NativeAOT kedr keeps the names of the methods
        // on a stack trace, not their reflection metadata (GetMethod() gives null there).
        var method = new System.Diagnostics.StackTrace(e, false).GetFrames()
            .Select(System.Diagnostics.DiagnosticMethodInfo.Create)
            .FirstOrDefault(m => m?.DeclaringTypeName.StartsWith("Kedr.", StringComparison.Ordinal) == true);
        var where = method is { } m ? $" in {TypeName(m.DeclaringTypeName)}.{m.Name}" : "";
        return new KedrDiagnostic(DiagnosticCodes.RewriterInternalError, $"internal error{where}: {e.GetType().Name}: {e.Message}", path);
    }

    /// <summary>A type's own name from its full one ("Kedr.Rewriter.Planning.FunctionPlanner", "Kedr.X+Nested"), as <see cref="Type.Name"/> gives it.</summary>
    private static string TypeName(string fullName) => fullName[(fullName.LastIndexOfAny(['.', '+']) + 1)..];

    private static bool TryRewriteCore(ElfFile elf, BlobBuffers? buffers, RewriteOptions options, out RewriteResult? result, out KedrDiagnostic? error)
    {
        result = null;
        if (!ModuleCatalog.TryRead(elf, out var module, out error)) return false;
        if (!ModulePlanner.TryPlan(module!, options.Probes, out var plans, out error)) return false;
        var layout = CopyLayout.Place(plans!, options.Intercept ? ImportStubs.Collect(plans!) : new ImportStubs());

        var target = new BlobTarget(elf.ModuleName, elf.ModInfo("srcversion") ?? "", (uint)elf.Symbols.Count, elf.BuildId);
        var blob = buffers is null ? new KedrBlob { Target = target } : buffers.NewBlob(target);
        CopyEmitter.Emit(layout, blob);
        CopyTables.Build(layout, blob);

        result = new RewriteResult(blob, RewriteReportBuilder.Build(plans!, blob));
        return true;
    }
}
