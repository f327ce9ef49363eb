using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Kedr.Benchmarks;

/// <summary>
/// The figures derived from one measured case: work per operation over its mean time, and the
/// megabytes per second over its median time (less moved by a disturbed iteration on a shared machine).
/// </summary>
public sealed record ThroughputFigures(string Method, string Set, int Threads, long Functions, long Bytes,
    double MeanSeconds, double MegabytesPerSecond, double FunctionsPerSecond, double? AllocatedBytesPerFunction,
    double MedianMegabytesPerSecond)
{
    private static readonly Dictionary<(string, int), (long Functions, long Bytes)> Work = [];

    /// <summary>Null when the case has no result (it failed, or was not a throughput benchmark).</summary>
    public static ThroughputFigures? Of(Summary summary, BenchmarkCase benchmarkCase)
    {
        if (benchmarkCase.Descriptor.Type != typeof(RewriterThroughput)) return null;
        var report = summary[benchmarkCase];
        var stats = report?.ResultStatistics;
        if (report is null || stats is null || stats.Mean <= 0) return null;
        var set = (string)benchmarkCase.Parameters[nameof(RewriterThroughput.Set)];
        var threads = (int)benchmarkCase.Parameters[nameof(RewriterThroughput.Threads)];
        (long functions, long bytes) work;
        lock (Work)
        {
            if (!Work.TryGetValue((set, threads), out work))
            {
                var modules = RewriterThroughput.WorkFor(set, threads);
                Work[(set, threads)] = work = (modules.Sum(m => (long)m.Functions.Length), modules.Sum(m => m.FunctionBytes));
            }
        }
        double seconds = stats.Mean / 1e9;
        long? allocated = report.GcStats.GetBytesAllocatedPerOperation(benchmarkCase);
        return new ThroughputFigures(benchmarkCase.Descriptor.WorkloadMethod.Name, set, threads, work.functions, work.bytes,
            seconds, work.bytes / 1e6 / seconds, work.functions / seconds,
            allocated is { } a ? (double)a / work.functions : null, work.bytes / 1e6 / (stats.Median / 1e9));
    }

    /// <summary>The decode-only case with the same set and thread count, measured in the same run.</summary>
    public static ThroughputFigures? Baseline(Summary summary, ThroughputFigures of)
    {
        foreach (var c in summary.BenchmarksCases)
        {
            var f = Of(summary, c);
            if (f is not null && f.Method == nameof(RewriterThroughput.DecodeOnly) && f.Set == of.Set && f.Threads == of.Threads)
                return f;
        }
        return null;
    }

    public static string Format(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>A throughput column of the results table.</summary>
public sealed class ThroughputColumn(string name, string legend, Func<Summary, ThroughputFigures, string> value) : IColumn
{
    public static readonly IColumn[] All =
    [
        new ThroughputColumn("MB/s", "Megabytes (10^6) of function code per second, over the mean", (_, f) => ThroughputFigures.Format(f.MegabytesPerSecond, "F1")),
        new ThroughputColumn("Functions/s", "Functions (>= 5 bytes) per second, over the mean", (_, f) => ThroughputFigures.Format(f.FunctionsPerSecond, "N0")),
        new ThroughputColumn("% of decode", "This case's MB/s as a percentage of DecodeOnly's MB/s, same set and threads, same run",
            (s, f) => ThroughputFigures.Baseline(s, f) is { } b ? ThroughputFigures.Format(100 * f.MegabytesPerSecond / b.MegabytesPerSecond, "F1") + "%" : "?"),
        new ThroughputColumn("Alloc/function", "Bytes allocated per operation divided by the functions in it",
            (_, f) => f.AllocatedBytesPerFunction is { } a ? ThroughputFigures.Format(a, "N0") + " B" : "?"),
    ];

    public string Id => $"{nameof(ThroughputColumn)}.{name}";
    public string ColumnName => name;
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => legend;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        ThroughputFigures.Of(summary, benchmarkCase) is { } f ? value(summary, f) : "-";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
    public override string ToString() => ColumnName;
}
