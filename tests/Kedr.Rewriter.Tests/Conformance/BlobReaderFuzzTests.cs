using System.Diagnostics;
using System.Text.RegularExpressions;
using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;
using Kedr.Tests.Shared;
using Xunit.Abstractions;

namespace Kedr.Rewriter.Tests.Conformance;

/// <summary>
/// Mutation fuzzing of <see cref="BlobReader"/> from real blobs (the rewriter's, of corpus modules; in this
/// project because it needs the rewriter for its seeds): 10^5 mutants in a bounded time, no exception, every
/// rejection a KEDR3xxx diagnostic that names an offset inside the blob.
/// </summary>
public sealed partial class BlobReaderFuzzTests(ITestOutputHelper output)
{
    private const int Inputs = 100_000;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(60);

    [Fact]
    public void BlobReader_survives_100000_mutated_blobs_with_a_diagnostic_for_each_rejection()
    {
        var seeds = BlobConformanceTests.Seeds();
        var mutator = new BlobMutator(13);
        var byCode = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var byKind = new Dictionary<BlobMutator.Kind, (int Inputs, int Accepted)>();
        var problems = new List<string>();
        int accepted = 0, sealedCount = 0;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < Inputs; i++)
        {
            var (_, _, seed) = seeds[i % seeds.Count];
            var (bytes, kind, wasSealed) = mutator.Mutate(seed);
            if (wasSealed) sealedCount++;
            KedrBlob? blob;
            KedrDiagnostic? error;
            try
            {
                BlobReader.TryRead(bytes, "fuzz.kedr", out blob, out error);
            }
            catch (Exception e)
            {
                problems.Add($"#{i} ({kind}): {e.GetType().Name}: {e.Message}");
                continue;
            }
            var k = byKind.GetValueOrDefault(kind);
            byKind[kind] = (k.Inputs + 1, k.Accepted + (error is null ? 1 : 0));
            if (error is null)
            {
                accepted++;
                continue;
            }
            byCode[error.Code] = byCode.GetValueOrDefault(error.Code) + 1;
            if (!Kedr3xxx().IsMatch(error.Code) || error.Offset is not { } off || off < 0 || off > bytes.Length
                || error.ToString().Contains('\n') || blob is not null)
                problems.Add($"#{i} ({kind}): {error}");
        }
        sw.Stop();
        output.WriteLine($"{Inputs} mutants of {seeds.Count} seeds in {sw.Elapsed.TotalSeconds:F1} s " +
            $"({Inputs / sw.Elapsed.TotalSeconds:F0}/s, {sealedCount} with the checksum written again): {accepted} accepted, " +
            $"{Inputs - accepted} rejected: {string.Join(", ", byCode.Select(kv => $"{kv.Key} x{kv.Value}"))}");
        output.WriteLine("by mutation: " + string.Join(", ", byKind.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value.Inputs} ({kv.Value.Accepted} accepted)")));
        foreach (var p in problems.Take(40)) output.WriteLine("  " + p);
        Assert.True(problems.Count == 0, $"{problems.Count} exceptions or diagnostics without a code and an offset; the first: {string.Join("; ", problems.Take(5))}");
        Assert.True(sw.Elapsed < Budget, $"{Inputs} inputs took {sw.Elapsed.TotalSeconds:F1} s, over {Budget.TotalSeconds} s");
        Assert.True(byCode.Count >= 8, $"only {byCode.Count} diagnostics were reached: {string.Join(", ", byCode.Keys)}");
    }

    [GeneratedRegex(@"^KEDR3\d{3}$")] private static partial Regex Kedr3xxx();
}
