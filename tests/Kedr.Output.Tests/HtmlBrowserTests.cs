using System.Globalization;
using System.Text.RegularExpressions;
using Kedr.Output.Tests.Support;
using Xunit.Abstractions;

namespace Kedr.Output.Tests;

/// <summary>
/// The HTML report in a real browser: Debian's chromium, headless (installed with apt-get if missing).
/// The DOM it builds must hold the chart's bars and labels, and its screenshot must show the bars
/// in their colours. The page and screenshot are kept in the test's output folder (html-report/).
/// </summary>
public sealed partial class HtmlBrowserTests(ITestOutputHelper output)
{
    private static readonly Lazy<string> s_chromium = new(FindOrInstallChromium);

    private static string FindOrInstallChromium()
    {
        foreach (var p in new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" })
            if (File.Exists(p)) return p;
        var r = Tools.Run("apt-get", "to install chromium for the HTML report test", ["install", "-y", "chromium"], 900_000);
        if (r.ExitCode != 0 || !File.Exists("/usr/bin/chromium"))
            throw new Xunit.Sdk.XunitException($"chromium is needed to check the HTML report; apt-get install -y chromium failed ({r.ExitCode}): {r.Stderr}");
        return "/usr/bin/chromium";
    }

    private static Tools.Result Chromium(string userDataDir, params string[] args) =>
        Tools.Run(s_chromium.Value, "to render the HTML report",
            ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--hide-scrollbars", $"--user-data-dir={userDataDir}", .. args]);

    /// <summary>The scenario plus a busier workload: more accesses, so the bars differ in length.</summary>
    private static TraceReport BusyReport()
    {
        var b = Scenario.Builder();
        uint seq = 7;
        ulong ts = 100;
        var rng = new Random(7);
        (ulong Pc, int Reads, int Writes, int Locked)[] load =
        [
            (Scenario.Core + 0x10, 140, 60, 12), (Scenario.Core + 0x38, 75, 90, 0), (Scenario.Core + 0x5a, 30, 0, 0),
            (Scenario.Core + 0x6a, 12, 6, 4), (Scenario.Init + 0x08, 20, 44, 0),
        ];
        foreach (var (pc, reads, writes, locked) in load)
            foreach (var (kind, n) in new[] { (Kinds.Read, reads), (Kinds.Write, writes), (Kinds.Locked, locked) })
                for (int i = 0; i < n; i++)
                    b.Add(new Rec(ts++, pc, 0xffff888003a1b000 + (ulong)rng.Next(64) * 8, seq++, 0x70, 8, 0, kind, 1));
        return Scenario.Report(b);
    }

    [Fact]
    public void The_chart_renders_in_chromium_with_every_bar_and_label()
    {
        var report = BusyReport();
        var dir = Path.Combine(AppContext.BaseDirectory, "html-report");
        Directory.CreateDirectory(dir);
        var page = Path.Combine(dir, "report.html");
        File.WriteAllText(page, HtmlRenderer.Render(report));
        var profile = Directory.CreateTempSubdirectory("kedr-chromium-").FullName;
        try
        {
            // The DOM the browser built from the page.
            var dom = Chromium(profile, "--dump-dom", new Uri(page).AbsoluteUri);
            Assert.True(dom.ExitCode == 0, $"chromium --dump-dom exited with {dom.ExitCode}: {dom.Stderr}");
            var bars = Bar().Matches(dom.Stdout).Select(m => (m.Groups["fn"].Value, m.Groups["kind"].Value,
                long.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture))).Order().ToList();
            var expected = report.Functions.SelectMany(f => new[] { (f.Function, "locked", f.Counts.LockedUpdates), (f.Function, "read", f.Counts.Reads),
                (f.Function, "write", f.Counts.Writes) }).Where(x => x.Item3 > 0).Order().ToList();
            Assert.Equal(expected, bars);
            var labels = Label().Matches(dom.Stdout).Select(m => m.Groups[1].Value).ToList();
            Assert.Equal(report.Functions.OrderByDescending(f => f.Counts.MemoryEvents).ThenByDescending(f => f.Counts.Entries)
                .ThenBy(f => f.Function, StringComparer.Ordinal).Select(f => f.Function), labels);
            Assert.Contains("<svg class=\"chart\"", dom.Stdout);

            // What it drew.
            var shot = Path.Combine(dir, "report.png");
            File.Delete(shot);
            var r = Chromium(profile, $"--screenshot={shot}", "--window-size=1200,1400", "--virtual-time-budget=5000", new Uri(page).AbsoluteUri);
            Assert.True(r.ExitCode == 0 && File.Exists(shot), $"chromium --screenshot exited with {r.ExitCode}: {r.Stderr}");
            var png = Png.Decode(File.ReadAllBytes(shot));
            output.WriteLine($"screenshot {shot}: {png.Width}x{png.Height}");
            var counts = new Dictionary<(byte, byte, byte), int>();
            for (int y = 0; y < png.Height; y++)
                for (int x = 0; x < png.Width; x++)
                {
                    var p = png.Pixel(x, y);
                    counts[p] = counts.GetValueOrDefault(p) + 1;
                }
            Assert.True(counts.Count > 50, $"the screenshot has {counts.Count} colours: blank?");
            int total = png.Width * png.Height;
            Assert.True(counts.Max(kv => kv.Value) < total * 0.97, "the screenshot is nearly one colour");
            // Each kind's colour covers at least a bar's worth of pixels (bars are 16 px high).
            foreach (var (name, rgb) in new[] { ("read", (0x4c, 0x78, 0xa8)), ("write", (0xf5, 0x85, 0x18)), ("locked", (0xb0, 0x4a, 0x8c)) })
            {
                int n = counts.Where(kv => Near(kv.Key, rgb)).Sum(kv => kv.Value);
                output.WriteLine($"{name}: {n} px");
                Assert.True(n > 16 * 20, $"{name} bars: only {n} pixels of their colour in the screenshot");
            }
        }
        finally { Directory.Delete(profile, true); }
    }

    private static bool Near((byte R, byte G, byte B) p, (int R, int G, int B) c) =>
        Math.Abs(p.R - c.R) <= 6 && Math.Abs(p.G - c.G) <= 6 && Math.Abs(p.B - c.B) <= 6;

    [GeneratedRegex(@"<rect class=""bar (?<kind>\w+)"" data-function=""(?<fn>[^""]+)"" data-kind=""\k<kind>"" data-count=""(?<n>\d+)""")]
    private static partial Regex Bar();

    [GeneratedRegex(@"<text class=""fn-label""[^>]*>([^<]+)<title>")]
    private static partial Regex Label();
}
