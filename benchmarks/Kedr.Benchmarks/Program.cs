using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Kedr.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/Kedr.Benchmarks -- --filter '*'</c>; any
/// BenchmarkDotNet option works (<c>--list flat</c>, <c>--filter '*Rewrite*'</c>, ...).
/// After the run, a throughput table (rewriter vs decode-only, same run) is printed.
/// <c>-- elf-readers [ROUNDS]</c> runs <see cref="ElfReaderComparison"/> instead,
/// <c>-- source-lines KO [ROUNDS]</c> <see cref="SourceLineCost"/>, <c>-- races ...</c> <see cref="RaceDetectorThroughput"/>,
/// <c>-- floor [MODE] [ROUNDS]</c> <see cref="RewriterFloor.Run"/> (one thread, for callgrind).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["elf-readers", ..]) return ElfReaderComparison.Run(args[1..]);
        if (args is ["source-lines", ..]) return SourceLineCost.Run(args[1..]);
        if (args is ["races", ..]) return RaceDetectorThroughput.Run(args[1..]);
        if (args is ["floor", ..]) return RewriterFloor.Run(args[1..]);
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args).ToArray();
        var text = ThroughputReport.Render(summaries);
        if (text.Length > 0) Console.Write(text);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}

/// <summary>
/// Short runs: one launch, one warm-up and five measured iterations of about a quarter second
/// (or one operation where that takes longer), memory diagnoser on. The whole set of 12 cases
/// takes a few minutes.
/// </summary>
public sealed class BenchConfig : ManualConfig
{
    public BenchConfig()
    {
        AddJob(Job.Default
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(10)
            .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(250))
            .WithId("Short"));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(ThroughputColumn.All);
        AddColumn(StatisticColumn.Min);
        WithOption(ConfigOptions.JoinSummary, false);
    }
}

/// <summary>The figures after the run, one line per set and thread count.</summary>
public static class ThroughputReport
{
    public static string Render(IEnumerable<Summary> summaries)
    {
        var rows = new List<(ThroughputFigures Case, ThroughputFigures? Decode)>();
        foreach (var summary in summaries)
            foreach (var c in summary.BenchmarksCases)
                if (ThroughputFigures.Of(summary, c) is { Method: nameof(RewriterThroughput.Rewrite) or nameof(RewriterThroughput.Floor) } f)
                    rows.Add((f, ThroughputFigures.Baseline(summary, f)));
        if (rows.Count == 0) return "";
        var w = new StringWriter();
        w.WriteLine();
        w.WriteLine("Rewriter (and the floor) vs Iced decode-only over the same function bytes (means of this run; the last column from medians):");
        w.WriteLine($"{"case",-7} {"set",-6} {"threads",7} {"functions",10} {"MB",7} | {"MB/s",12} {"functions/s",12} {"B/function",11} | {"decode MB/s",11} | {"case/decode",14} | {"of medians",10}");
        foreach (var (r, d) in rows)
        {
            string ratio = d is null ? "?" : $"{100 * r.MegabytesPerSecond / d.MegabytesPerSecond:F1}%";
            string medianRatio = d is null ? "?" : $"{100 * r.MedianMegabytesPerSecond / d.MedianMegabytesPerSecond:F1}%";
            string alloc = r.AllocatedBytesPerFunction is { } a ? $"{a:N0}" : "?";
            w.WriteLine($"{r.Method,-7} {r.Set,-6} {r.Threads,7} {r.Functions,10:N0} {r.Bytes / 1e6,7:F2} | {r.MegabytesPerSecond,12:F1} {r.FunctionsPerSecond,12:N0} {alloc,11} | {(d is null ? "?" : $"{d.MegabytesPerSecond:F1}"),11} | {ratio,14} | {medianRatio,10}");
        }
        w.WriteLine($"Sets: small = {Corpus.SingleModules[Corpus.Small]}, large = {Corpus.SingleModules[Corpus.Large]}, all = every .ko below {Corpus.ModuleFolder()}.");
        w.WriteLine("Single-module sets with threads > 1 process one copy of the module per thread, at the same time.");
        return w.ToString();
    }
}
