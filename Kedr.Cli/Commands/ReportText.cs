using Kedr.Rewriter;

namespace Kedr.Cli.Commands;

internal static class ReportText
{
    public static string Summary(RewriteReport r, TimeSpan elapsed)
    {
        double pct = r.Functions == 0 ? 100 : 100.0 * r.Copied / r.Functions;
        return $"{r.Module}: {r.Copied}/{r.Functions} functions copied ({pct:F2}%), {r.Instructions} instructions, " +
               $"{r.OriginalBytes} -> {r.CodeBytes} bytes, {r.Fixups} fixups, {r.EventSites} event sites, " +
               $"{r.MemoryInstrumented}/{r.MemoryAccesses} memory accesses instrumented, " +
               $"{r.TooSmall} under 5 bytes, {elapsed.TotalMilliseconds:F0} ms";
    }
}
