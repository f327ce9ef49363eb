using System.Runtime.CompilerServices;
using Kedr.Core.Diagnostics;

namespace Kedr.Rewriter.Tests;

/// <summary>
/// <see cref="ModuleRewriter.InternalError"/>: an exception of ours as KEDR2900, naming the innermost method of a
/// Kedr type on its stack (not the runtime's method that threw), by its type's own name as C# spells it.
/// </summary>
public sealed class ModuleRewriterInternalErrorTests
{
    private static class Thrower
    {
        // The list's indexer throws: the innermost frame is the runtime's, the one named is this.
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int Throw() => new List<int>()[1];
    }

    [Fact]
    public void Names_the_innermost_method_of_ours_and_the_exception()
    {
        Exception? caught = null;
        try { Thrower.Throw(); }
        catch (Exception e) { caught = e; }

        var d = ModuleRewriter.InternalError("m.ko", caught!);

        Assert.Equal(DiagnosticCodes.RewriterInternalError.Code, d.Code);
        Assert.Equal("m.ko", d.File);
        Assert.StartsWith($"internal error in Thrower.Throw: ArgumentOutOfRangeException: ", d.Message);
    }
}
