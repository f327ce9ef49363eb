using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Rewriter.Tests.Validation;
using Kedr.Tests.Shared;
using Xunit.Abstractions;

namespace Kedr.Rewriter.Tests.Conformance;

/// <summary>
/// The loader's own parser (kedr_blob.c, built for user space) against what the rewriter writes and against
/// <see cref="BlobReader"/>: every blob of every module of the corpus is accepted by it, and on mutated blobs
/// both readers accept and refuse the same ones, for the same part of the blob.
/// </summary>
public sealed partial class BlobConformanceTests(ITestOutputHelper output, BlobConformanceTests.Parser fixture)
    : IClassFixture<BlobConformanceTests.Parser>
{
    public sealed class Parser : IDisposable
    {
        public UserspaceBlobParser Value { get; } = new();
        public void Dispose() => Value.Dispose();
    }

    private const int Shown = 40;

    [Fact]
    public void The_loader_accepts_every_blob_the_rewriter_writes_for_the_corpus()
    {
        var parser = fixture.Value;
        var modules = KernelCorpus.Modules();
        Assert.True(modules.Count >= 1000, $"only {modules.Count} modules in the corpus");
        var dir = Directory.CreateTempSubdirectory("kedr-conformance-").FullName;
        try
        {
            var sw = Stopwatch.StartNew();
            var written = new ConcurrentBag<(string Module, string Target, string Blob, bool HasLandingPads, int[] Landing)>();
            var notRewritten = new ConcurrentBag<string>();
            var csharpRefused = new ConcurrentBag<string>();
            Parallel.For(0, modules.Count, i =>
            {
                if (!ModuleRewriter.TryRewrite(ElfFile.Read(modules[i]), out var result, out var error))
                {
                    notRewritten.Add($"{modules[i]}: {error}");
                    return;
                }
                var blob = result!.Blob;
                var path = Path.Combine(dir, $"{i}.kedr");
                var bytes = BlobWriter.Write(blob);
                File.WriteAllBytes(path, bytes);
                if (!BlobReader.TryRead(bytes, path, out _, out var readError)) csharpRefused.Add($"{modules[i]}: {readError}");
                var landing = blob.Patches.Select((p, k) => (p, k)).Where(x => x.p.Kind == BlobPatchKind.Landing).Select(x => x.k).ToArray();
                written.Add((modules[i], blob.Target.Name, path, landing.Length > 0, landing));
            });
            var rewriteTime = sw.Elapsed;
            sw.Restart();
            var refused = new List<(string Module, string Line, bool LandingOnly)>();
            foreach (var w in written.OrderBy(w => w.Module, StringComparer.Ordinal))
            {
                var line = parser.Parse(w.Target, w.Blob);
                if (line is null) continue;
                var m = PatchIndex().Match(line);
                refused.Add((w.Module, line, m.Success && w.Landing.Contains(int.Parse(m.Groups[1].Value))));
            }
            output.WriteLine($"{written.Count} blobs written in {rewriteTime.TotalSeconds:F1} s ({notRewritten.Count} modules not rewritten), " +
                $"parsed by kedr_blob.c in {sw.Elapsed.TotalSeconds:F1} s: {written.Count - refused.Count} accepted, {refused.Count} refused " +
                $"({refused.Count(r => r.LandingOnly)} at a landing pad: KEDR_PATCH_LANDING, slot length 0), " +
                $"{written.Count(w => w.HasLandingPads)} blobs with landing pads");
            var report = new StringBuilder();
            foreach (var r in refused.Take(Shown))
                report.AppendLine($"  {(r.LandingOnly ? "[landing pad] " : "")}{r.Module}: {r.Line}");
            foreach (var r in csharpRefused.Order().Take(Shown)) report.AppendLine($"  BlobReader refused {r}");
            output.WriteLine(report.ToString());
            Assert.True(refused.Count == 0 && csharpRefused.IsEmpty,
                $"{refused.Count} blobs refused by the loader's parser ({refused.Count(r => r.LandingOnly)} at a landing pad), " +
                $"{csharpRefused.Count} by BlobReader:\n{report}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Real blobs to mutate: small ones that between them have every table and every kind of patch.</summary>
    internal static List<(string Module, string Target, byte[] Blob)> Seeds()
    {
        var picked = new Dictionary<string, (string, string, byte[])>();
        foreach (var path in KernelCorpus.Modules())
        {
            if (new FileInfo(path).Length > 200_000) continue;
            if (!ModuleRewriter.TryRewrite(ElfFile.Read(path), out var r, out _)) continue;
            var b = r!.Blob;
            var bytes = BlobWriter.Write(b);
            void Take(string why, bool has)
            {
                if (has && !picked.ContainsKey(why)) picked[why] = (path, b.Target.Name, bytes);
            }
            Take("extable", b.ExTable.Count > 0);
            Take("bugs", b.Bugs.Count > 0);
            Take("jump label", b.Patches.Any(p => p.Kind == BlobPatchKind.JumpLabel));
            Take("cold part", b.Functions.Any(f => (f.Flags & BlobFunctionFlags.Part) != 0));
            Take("init", b.Functions.Any(f => (f.Flags & BlobFunctionFlags.Init) != 0));
            Take("string site", b.Sites.Any(s => s.Kind == BlobEventKind.String));
            Take("landing pad", b.Patches.Any(p => p.Kind == BlobPatchKind.Landing));
            Take("import call", b.Calls.Count > 0);
            if (picked.Count == 8) break;
        }
        Assert.True(picked.Count == 8, $"only {picked.Count} kinds of seed found in the corpus: {string.Join(", ", picked.Keys)}");
        return picked.Values.DistinctBy(p => p.Item1).ToList();
    }

    [Fact]
    public void BlobReader_and_the_loader_agree_on_mutated_blobs()
    {
        const int PerSeed = 4000;
        var parser = fixture.Value;
        var seeds = Seeds();
        var dir = Directory.CreateTempSubdirectory("kedr-conformance-").FullName;
        try
        {
            var path = Path.Combine(dir, "mutant.kedr");
            var sw = Stopwatch.StartNew();
            int total = 0, accepted = 0;
            var disagreements = new List<string>();
            var areas = new SortedDictionary<string, int>(StringComparer.Ordinal);
            int seedBase = int.TryParse(Environment.GetEnvironmentVariable("KEDR_FUZZ_SEED"), out var s) ? s : 1300;
            foreach (var (module, target, blob) in seeds)
            {
                Assert.Null(parser.Parse(target, Write(path, blob)));
                var mutator = new BlobMutator(seedBase++);
                for (int i = 0; i < PerSeed; i++, total++)
                {
                    var (bytes, kind, _) = mutator.Mutate(blob);
                    BlobReader.TryRead(bytes, path, out var read, out var error);
                    string csharp = error is not null ? Area(error) : read!.Target.Name != target ? "name" : "ok";
                    var line = parser.Parse(target, Write(path, bytes));
                    string c = line is null ? "ok" : Area(line);
                    if (c == "ok") accepted++;
                    areas[c] = areas.GetValueOrDefault(c) + 1;
                    // The loader compares target_name before the entries, BlobReader never: with the name
                    // and an entry both damaged, each names the one it saw first.
                    if (csharp != c && !(c == "name" && csharp is not ("ok" or "header" or "checksum" or "table descriptor" or "strings" or "code")))
                        disagreements.Add($"{Path.GetFileName(module)} #{i} ({kind}): BlobReader {csharp} ({error}), kedr_blob.c {c} ({line})");
                }
            }
            output.WriteLine($"{total} mutants of {seeds.Count} seeds ({string.Join(", ", seeds.Select(s => Path.GetFileName(s.Module)))}) " +
                $"in {sw.Elapsed.TotalSeconds:F1} s: {accepted} accepted by both readers; verdicts by part: " +
                string.Join(", ", areas.Select(kv => $"{kv.Key} {kv.Value}")) + "; " +
                $"{disagreements.Count} disagreements");
            foreach (var d in disagreements.Take(Shown)) output.WriteLine("  " + d);
            Assert.True(disagreements.Count == 0, $"{disagreements.Count} disagreements:\n{string.Join("\n", disagreements.Take(Shown))}");
            Assert.True(accepted > 0 && accepted < total, $"{accepted} of {total} accepted: the mutants do not exercise both sides");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public static TheoryData<string> LandingPadCases => new(LandingPadBlobs.Cases.Keys);

    /// <summary>
    /// Each landing-pad rule broken on its own (<see cref="LandingPadBlobs"/>, which BlobReaderLandingPadTests reads
    /// with BlobReader): the loader's parser refuses it too, naming the same patch entry, and takes the valid blob.
    /// </summary>
    [Theory, MemberData(nameof(LandingPadCases))]
    public void The_loader_refuses_each_broken_landing_pad_rule_as_BlobReader_does(string name)
    {
        var dir = Directory.CreateTempSubdirectory("kedr-conformance-").FullName;
        try
        {
            Assert.Null(fixture.Value.Parse("pads_mod", Write(Path.Combine(dir, "valid.kedr"), BlobWriter.Write(LandingPadBlobs.Create()))));
            var bytes = BlobWriter.WriteUnverified(LandingPadBlobs.Broken(name));
            var line = fixture.Value.Parse("pads_mod", Write(Path.Combine(dir, "broken.kedr"), bytes));
            output.WriteLine(line ?? "(accepted)");
            Assert.NotNull(line);
            Assert.False(BlobReader.TryRead(bytes, "broken.kedr", out _, out var error));
            Assert.Equal(Area(error!), Area(line!));
            Assert.Matches($@"^-22 blob .* is malformed: (patches\[\d+\] and )?patches\[{LandingPadBlobs.Cases[name].Patch}\]", line);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    public static TheoryData<string> ProbeCallCases => new(ProbeCallBlobs.Cases.Keys);

    /// <summary>
    /// Each way a probe helper call can be no probe's (<see cref="ProbeCallBlobs"/>, which BlobReaderProbeCallTests
    /// reads with BlobReader): the loader's parser refuses it too, naming the same fixup, and takes the valid blob.
    /// </summary>
    [Theory, MemberData(nameof(ProbeCallCases))]
    public void The_loader_refuses_each_probe_call_that_is_no_probe_s_as_BlobReader_does(string name)
    {
        var dir = Directory.CreateTempSubdirectory("kedr-conformance-").FullName;
        try
        {
            Assert.Null(fixture.Value.Parse("probe_mod", Write(Path.Combine(dir, "valid.kedr"), BlobWriter.Write(ProbeCallBlobs.Create()))));
            var bytes = BlobWriter.WriteUnverified(ProbeCallBlobs.Broken(name));
            var line = fixture.Value.Parse("probe_mod", Write(Path.Combine(dir, "broken.kedr"), bytes));
            output.WriteLine(line ?? "(accepted)");
            Assert.NotNull(line);
            Assert.False(BlobReader.TryRead(bytes, "broken.kedr", out _, out var error));
            Assert.Equal(Area(error!), Area(line!));
            Assert.Matches($@"^-22 blob .* is malformed: fixups\[{ProbeCallBlobs.Cases[name].Fixup}\]: probe helper call ", line);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Item 7: 20,000 functions that each claim all 200,000 masks were 4·10^9 steps of the loader's masks
    /// check (functions × masks); now no mask may belong to two functions, and the walk stops at once.
    /// </summary>
    [Fact]
    public void The_masks_check_is_linear_in_the_masks_table()
    {
        const int Functions = 20_000, Masks = 200_000;
        var blob = new KedrBlob
        {
            Target = new BlobTarget("many_masks", "", Functions + 1, []),
            Code = new byte[16],
            Masks = [.. Enumerable.Range(0, Masks).Select(i => new BlobMask((uint)i, 1))],
            Functions = [.. Enumerable.Range(0, Functions).Select(i =>
                new BlobFunction($"f{i}", (uint)i + 1, Masks + 8, 0, 16, 0, Masks, BlobFunctionFlags.None, 0, (uint)i))],
        };
        var dir = Directory.CreateTempSubdirectory("kedr-conformance-").FullName;
        try
        {
            var bytes = BlobWriter.WriteUnverified(blob);
            var sw = Stopwatch.StartNew();
            var line = fixture.Value.Parse("many_masks", Write(Path.Combine(dir, "masks.kedr"), bytes));
            var elapsed = sw.Elapsed;
            output.WriteLine($"{bytes.Length} bytes, kedr_blob.c in {elapsed.TotalMilliseconds:F0} ms: {line}");
            Assert.NotNull(line);
            Assert.Contains("masks[0] (of functions[1]): belongs to another function too", line, StringComparison.Ordinal);
            Assert.True(elapsed < TimeSpan.FromSeconds(1), $"{elapsed.TotalSeconds:F1} s");
            Assert.False(BlobReader.TryRead(bytes, "masks.kedr", out _, out var error));
            Assert.Equal(("KEDR3007", "Masks"), (error!.Code, error.Section));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Write(string path, byte[] bytes)
    {
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>The part of the blob a BlobReader diagnostic is about.</summary>
    public static TheoryData<string> UncalledProbeCases => new(ProbeCallBlobs.UncalledCases.Keys);

    /// <summary>
    /// Each way a probe's call can be no probe helper call (<see cref="ProbeCallBlobs.UncalledCases"/>, which
    /// BlobReaderProbeCallTests reads with BlobReader): the loader's parser refuses it too, naming the same probe.
    /// </summary>
    [Theory, MemberData(nameof(UncalledProbeCases))]
    public void The_loader_refuses_each_probe_whose_call_is_not_the_probe_helper_s_as_BlobReader_does(string name)
    {
        var dir = Directory.CreateTempSubdirectory("kedr-conformance-").FullName;
        try
        {
            var bytes = BlobWriter.WriteUnverified(ProbeCallBlobs.Uncalled(name));
            var line = fixture.Value.Parse("probe_mod", Write(Path.Combine(dir, "broken.kedr"), bytes));
            output.WriteLine(line ?? "(accepted)");
            Assert.NotNull(line);
            Assert.False(BlobReader.TryRead(bytes, "broken.kedr", out _, out var error));
            Assert.Equal(Area(error!), Area(line!));
            Assert.Matches($@"^-22 blob .* is malformed: probes\[{ProbeCallBlobs.UncalledCases[name].Probe}\]: the call at 0x[0-9a-f]+ is not fixed up to the probe helper", line);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Area(KedrDiagnostic d) => (d.Code, d.Section) switch
    {
        ("KEDR3009", _) => "checksum",
        ("KEDR3005", _) => "table descriptor",
        (_, null) => "header",
        (_, "ExTable") => "extable",
        (_, { } s) => s.ToLowerInvariant(),
    };

    /// <summary>The part of the blob a line of kedr_blob.c is about.</summary>
    private static string Area(string line)
    {
        var m = CLine().Match(line);
        Assert.True(m.Success, $"unexpected line from kedr_blob.c: {line}");
        var what = m.Groups[1].Value;
        return what switch
        {
            _ when what.StartsWith("checksum", StringComparison.Ordinal) || what.Contains("without a checksum table")
                || what.StartsWith("table checksum: count=", StringComparison.Ordinal) => "checksum",
            _ when what.StartsWith("table strings: last byte", StringComparison.Ordinal) => "strings",
            _ when what.StartsWith("table code: ", StringComparison.Ordinal) && what.Contains("code area") => "code",
            _ when what.StartsWith("table ", StringComparison.Ordinal) => "table descriptor",
            _ when what.StartsWith("header.", StringComparison.Ordinal) || what.StartsWith("bad magic", StringComparison.Ordinal)
                || what.StartsWith("truncated", StringComparison.Ordinal) || what.StartsWith("version", StringComparison.Ordinal) => "header",
            _ when what.StartsWith("it was built for module", StringComparison.Ordinal) => "name",
            _ => EntryTable().Match(what) is { Success: true } e ? e.Groups[1].Value : "unknown: " + what,
        };
    }

    [GeneratedRegex(@"patches\[(\d+)\]")] private static partial Regex PatchIndex();
    [GeneratedRegex(@"^-\d+ blob .* is malformed: (.*)$")] private static partial Regex CLine();
    [GeneratedRegex(@"^(functions|masks|fixups|sites|patches|extable|bugs|orc|imports|calls|probes)\[")] private static partial Regex EntryTable();
}
