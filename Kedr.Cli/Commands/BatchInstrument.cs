using System.Diagnostics;
using System.Text.Json;
using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;
using Kedr.Kernel.Modules;
using Kedr.Rewriter;
using Microsoft.Extensions.Logging;

namespace Kedr.Cli.Commands;

/// <summary><c>kedr instrument --all</c>: every module below a folder, with progress and a summary.</summary>
internal static class BatchInstrument
{
    /// <param name="dir">An existing folder; <paramref name="outDir"/> created if missing (both checked by the caller).</param>
    public static int Run(string dir, string? outDir, string? json, int jobs, ILogger log)
    {
        var sw = Stopwatch.StartNew();
        List<string> paths;
        try { paths = BatchRewriter.FindModules(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Program.Error(new KedrDiagnostic(DiagnosticCodes.CliCannotList, $"--all '{dir}': cannot list it: {e.Message}", dir));
        }
        if (paths.Count == 0)
            return Program.Error(new KedrDiagnostic(DiagnosticCodes.CliNoModules, $"--all '{dir}': no .ko files below it", dir));
        if (outDir is not null)
        {
            try { Directory.CreateDirectory(outDir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Program.Error(new KedrDiagnostic(DiagnosticCodes.CliCannotWrite, $"--out: cannot create the folder: {e.Message}", outDir));
            }
        }
        var progress = new Progress(paths.Count, Console.IsErrorRedirected);
        var writeErrors = new System.Collections.Concurrent.ConcurrentBag<KedrDiagnostic>();
        // Each blob is written as soon as it is made, so memory stays bounded by the modules in flight.
        var items = BatchRewriter.Run(paths, jobs, keepBlobs: outDir is not null, item =>
        {
            if (item.Blob is not null && !InstrumentCommand.TryWrite(Path.Combine(outDir!, item.Report!.Module + ".kedr"),
                    f => BlobWriter.Write(item.Blob, f), out var error))
                writeErrors.Add(error!);
            progress.Step();
        });
        progress.Done();
        sw.Stop();

        var summary = BatchSummary.From(items, sw.Elapsed);
        foreach (var item in items)
            if (item.Error is not null) Console.WriteLine($"failed: {item.Error}");
        foreach (var item in items)
            foreach (var lo in item.Report?.LeftOut ?? [])
                Console.WriteLine($"left out: {item.Report!.Module}: {lo.Name} ({lo.Section}+0x{lo.Offset:x}): {lo.Reason}");
        Console.Write(summary.ToTable());
        if (json is not null && !InstrumentCommand.TryWrite(json, f => JsonSerializer.Serialize(f,
                new BatchJsonReport(summary, items.Select(i => i.Report as object ?? new BatchJsonFailure(i.Path, i.Error?.ToString())).ToList()),
                CliJsonContext.Default.BatchJsonReport),
                out var jsonError))
            return Program.Error(jsonError!);
        if (!writeErrors.IsEmpty) return Program.Error(writeErrors.OrderBy(e => e.File, StringComparer.Ordinal).First());
        if (summary.Failed > 0)
            return Program.Error(new KedrDiagnostic(DiagnosticCodes.CliBatchFailed, $"{summary.Failed} of {summary.Modules} modules failed (listed above)", dir));
        return 0;
    }

    /// <summary>A one-line bar on a terminal; every 10% as plain lines otherwise.</summary>
    private sealed class Progress(int total, bool plain)
    {
        private int _done;
        private int _lastShown = -1;
        private readonly object _lock = new();

        public void Step()
        {
            int done = Interlocked.Increment(ref _done);
            lock (_lock)
            {
                int pct = done * 100 / total;
                if (plain)
                {
                    if (pct / 10 == _lastShown / 10 && done != total) return;
                    _lastShown = pct;
                    Console.Error.WriteLine($"kedr: {done}/{total} modules");
                }
                else if (pct != _lastShown || done == total)
                {
                    _lastShown = pct;
                    int filled = pct * 30 / 100;
                    Console.Error.Write($"\r[{new string('#', filled)}{new string('.', 30 - filled)}] {done}/{total} modules");
                }
            }
        }

        public void Done()
        {
            if (!plain) Console.Error.WriteLine();
        }
    }
}

/// <summary>Totals over a batch, as a table and as JSON.</summary>
internal sealed record BatchSummary(int Modules, int Failed, long Functions, long Copied, long LeftOut, long TooSmall, long StaticCallTrampolines,
    long Instructions, long OriginalBytes, long CodeBytes, Dictionary<string, int> PatchSitesHandled,
    Dictionary<string, int> PatchSitesInLeftOut, Dictionary<string, int> LeftOutReasons,
    long MemoryAccesses, long MemoryInstrumented, Dictionary<string, int> NotInstrumentedReasons, double WallSeconds,
    double InputMegabytesPerSecond, long PeakWorkingSetMegabytes)
{
    public static BatchSummary From(BatchItem[] items, TimeSpan wall)
    {
        var ok = items.Where(i => i.Report is not null).Select(i => i.Report!).ToList();
        var handled = new Dictionary<string, int>();
        var inLeftOut = new Dictionary<string, int>();
        foreach (var r in ok)
        {
            foreach (var (k, v) in r.PatchSitesHandled) handled[k.ToString()] = handled.GetValueOrDefault(k.ToString()) + v;
            foreach (var (k, v) in r.PatchSitesInLeftOut) inLeftOut[k.ToString()] = inLeftOut.GetValueOrDefault(k.ToString()) + v;
        }
        var reasons = ok.SelectMany(r => r.LeftOut).GroupBy(l => ReasonClass(l.Reason))
            .OrderByDescending(g => g.Count()).ToDictionary(g => g.Key, g => g.Count());
        long orig = ok.Sum(r => r.OriginalBytes);
        Process.GetCurrentProcess().Refresh();
        return new BatchSummary(items.Length, items.Length - ok.Count, ok.Sum(r => r.Functions), ok.Sum(r => r.Copied),
            ok.Sum(r => r.LeftOut.Count), ok.Sum(r => r.TooSmall), ok.Sum(r => r.StaticCallTrampolines), ok.Sum(r => r.Instructions), orig, ok.Sum(r => r.CodeBytes),
            handled, inLeftOut, reasons, ok.Sum(r => r.MemoryAccesses), ok.Sum(r => r.MemoryInstrumented),
            ok.SelectMany(r => r.NotInstrumented).GroupBy(s => s[..s.IndexOf(':')]).OrderByDescending(g => g.Count())
                .ToDictionary(g => g.Key, g => g.Count()),
            wall.TotalSeconds, orig / 1e6 / Math.Max(wall.TotalSeconds, 1e-9),
            Process.GetCurrentProcess().PeakWorkingSet64 >> 20);
    }

    /// <summary>A reason without its offsets and names, for counting.</summary>
    private static string ReasonClass(string reason) =>
        System.Text.RegularExpressions.Regex.Replace(reason, @"(\+0x[0-9a-f]+|\b\w+\.\w[\w.]*\b|with \S+|via \S+\)|\S+\+0x)", "…");

    public string ToTable()
    {
        var w = new StringWriter();
        double pct = Functions == 0 ? 100 : 100.0 * Copied / Functions;
        w.WriteLine($"modules                 {Modules,12} ({Failed} failed)");
        w.WriteLine($"functions (>= 5 bytes)  {Functions,12}");
        w.WriteLine($"copies made             {Copied,12} ({pct:F3}%)");
        w.WriteLine($"left out                {LeftOut,12}");
        w.WriteLine($"under 5 bytes           {TooSmall,12}");
        w.WriteLine($"static-call trampolines {StaticCallTrampolines,12} (the kernel's, never copied)");
        w.WriteLine($"instructions            {Instructions,12}");
        w.WriteLine($"original code bytes     {OriginalBytes,12}");
        w.WriteLine($"copy code bytes         {CodeBytes,12}");
        foreach (var (k, v) in PatchSitesHandled.OrderBy(p => p.Key))
            w.WriteLine($"patch sites {k,-12} {v,12} handled, {PatchSitesInLeftOut.GetValueOrDefault(k)} in left-out functions");
        foreach (var (k, v) in LeftOutReasons)
            w.WriteLine($"left out: {v,6} x {k}");
        double mpct = MemoryAccesses == 0 ? 100 : 100.0 * MemoryInstrumented / MemoryAccesses;
        w.WriteLine($"memory accesses         {MemoryAccesses,12}");
        w.WriteLine($"  instrumented          {MemoryInstrumented,12} ({mpct:F3}%)");
        foreach (var (k, v) in NotInstrumentedReasons)
            w.WriteLine($"  not instrumented: {v,6} x {k}");
        w.WriteLine($"wall time               {WallSeconds,12:F3} s");
        w.WriteLine($"input code              {InputMegabytesPerSecond,12:F1} MB/s");
        w.WriteLine($"peak memory             {PeakWorkingSetMegabytes,12} MB");
        return w.ToString();
    }
}
