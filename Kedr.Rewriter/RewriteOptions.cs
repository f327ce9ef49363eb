namespace Kedr.Rewriter;

/// <summary>How <see cref="ModuleRewriter"/> builds a blob.</summary>
public sealed record RewriteOptions
{
    public static RewriteOptions Default { get; } = new();

    /// <summary>
    /// Route the copies' direct calls and tail calls to kernel functions through import stubs (blob 1.4), so
    /// that payloads can claim them (default). False: they stay direct calls, the blob has no imports and no
    /// calls, and no payload sees them: only to measure what the stubs cost (benchmarks/vm/intercept-cost.sh).
    /// </summary>
    public bool Intercept { get; init; } = true;

    /// <summary>Probes to put in the copies, each <c>FUNCTION+OFFSET</c> (<c>kedr instrument --probe</c>); a probe's id is its index.</summary>
    public IReadOnlyList<string> Probes { get; init; } = [];
}
