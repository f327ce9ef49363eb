using System.Text.Json.Nodes;

namespace Kedr.Cli.Tests.Batch;

/// <summary>
/// <c>kedr instrument --all</c> gives the same result however many modules it works on at once:
/// every blob byte for byte, and the JSON report except the figures that measure the run itself.
/// Runs the whole installed module tree twice (-j 1, -j 2), in process.
/// </summary>
public sealed class DeterminismTests : IDisposable
{
    private const string Release = "6.1.0-56-cloud-amd64";

    /// <summary>Summary fields that describe the run (time, speed, memory), not its output.</summary>
    private static readonly string[] RunFigures = ["WallSeconds", "InputMegabytesPerSecond", "PeakWorkingSetMegabytes"];

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-determinism-");

    public void Dispose() => _dir.Delete(true);

    private static string ModuleTree()
    {
        var dirs = Directory.Exists("/lib/modules") ? Directory.GetDirectories("/lib/modules", "*-cloud-amd64").Order(StringComparer.Ordinal).ToList() : [];
        var kernel = dirs.FirstOrDefault(d => d.EndsWith(Release, StringComparison.Ordinal)) ?? dirs.LastOrDefault();
        var tree = kernel is null ? null : Path.Combine(kernel, "kernel");
        Assert.True(tree is not null && Directory.Exists(tree),
            $"no /lib/modules/*-cloud-amd64/kernel: this test uses Debian's {Release} modules; " +
            "install them with scripts/vm/setup.sh (apt-get install linux-image-cloud-amd64)");
        return tree!;
    }

    private (DirectoryInfo Blobs, JsonObject Report) Instrument(string tree, int jobs)
    {
        var outDir = Path.Combine(_dir.FullName, $"j{jobs}");
        var json = Path.Combine(_dir.FullName, $"j{jobs}.json");
        int status = Program.Main(["instrument", "--all", tree, "--out", outDir, "--json", json, "-j", jobs.ToString()]);
        Assert.True(status == 0, $"kedr instrument --all -j {jobs} exited with {status}");
        var report = JsonNode.Parse(File.ReadAllText(json))!.AsObject();
        return (new DirectoryInfo(outDir), report);
    }

    [Fact]
    public void Parallel_and_single_threaded_runs_give_identical_blobs_and_reports()
    {
        var tree = ModuleTree();
        int modules = Directory.EnumerateFiles(tree, "*.ko", SearchOption.AllDirectories).Count();
        var single = Instrument(tree, 1);
        var parallel = Instrument(tree, 2);

        // Blobs: same names, same bytes; one per module that did not fail (so none overwrote another).
        var singleBlobs = single.Blobs.GetFiles("*.kedr").Select(f => f.Name).Order(StringComparer.Ordinal).ToList();
        var parallelBlobs = parallel.Blobs.GetFiles("*.kedr").Select(f => f.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(singleBlobs, parallelBlobs);
        int failed = (int)single.Report["summary"]!["Failed"]!;
        Assert.Equal(modules, (int)single.Report["summary"]!["Modules"]!);
        Assert.Equal(modules - failed, singleBlobs.Count);
        Assert.True(singleBlobs.Count > modules / 2, $"only {singleBlobs.Count} of {modules} modules gave a blob");
        var differing = singleBlobs
            .Where(name => !File.ReadAllBytes(Path.Combine(single.Blobs.FullName, name))
                .AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(parallel.Blobs.FullName, name))))
            .ToList();
        Assert.True(differing.Count == 0, $"{differing.Count} blobs differ between -j 1 and -j 2: {string.Join(", ", differing.Take(10))}");

        // Reports: identical once the run's own figures are taken out (they must be there to be taken out).
        var singleText = WithoutRunFigures(single.Report);
        var parallelText = WithoutRunFigures(parallel.Report);
        Assert.True(singleText == parallelText, $"JSON reports differ between -j 1 and -j 2 at: {FirstDifference(singleText, parallelText)}");
    }

    private static string WithoutRunFigures(JsonObject report)
    {
        var summary = report["summary"]!.AsObject();
        foreach (var key in RunFigures)
            Assert.True(summary.Remove(key), $"summary has no {key}: update {nameof(RunFigures)} to the fields that measure the run");
        return report.ToJsonString();
    }

    private static string FirstDifference(string a, string b)
    {
        int i = 0;
        while (i < a.Length && i < b.Length && a[i] == b[i]) i++;
        int from = Math.Max(0, i - 120);
        return $"offset {i}\n-j 1: …{a[from..Math.Min(a.Length, i + 120)]}\n-j 2: …{b[from..Math.Min(b.Length, i + 120)]}";
    }
}
