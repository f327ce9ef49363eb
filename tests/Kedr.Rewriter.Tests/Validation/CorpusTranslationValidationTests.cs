using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Xunit.Abstractions;

namespace Kedr.Rewriter.Tests.Validation;

/// <summary>
/// The acceptance test: every copy of every function of every module of the installed
/// cloud kernel, validated against its original. Not a sample — all of it.
/// </summary>
public sealed class CorpusTranslationValidationTests(ITestOutputHelper output)
{
    private const int Shown = 50;

    [Fact]
    public void EveryCopyOfTheWholeCorpusTranslatesItsOriginal()
    {
        var modules = KernelCorpus.Modules();
        Assert.True(modules.Count >= 1000, $"only {modules.Count} modules in {string.Join(", ", KernelCorpus.Directories)}: the corpus is incomplete");

        var sw = Stopwatch.StartNew();
        var results = new ValidationResult?[modules.Count];
        var failures = new ConcurrentBag<string>();
        Parallel.For(0, modules.Count, i =>
        {
            try
            {
                results[i] = TranslationValidator.RewriteAndValidate(ElfFile.Read(modules[i]));
            }
            catch (KedrException e)
            {
                failures.Add($"{modules[i]}: {e.Diagnostic}");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                failures.Add($"{modules[i]}: {e.GetType().Name}: {e.Message}");
            }
        });
        sw.Stop();

        var total = new ValidationStats();
        var discrepancies = new List<Discrepancy>();
        var perModule = new List<(string Module, int Count)>();
        foreach (var r in results)
        {
            if (r is null) continue;
            total.Add(r.Stats);
            discrepancies.AddRange(r.Discrepancies);
            if (r.Discrepancies.Count > 0) perModule.Add((r.Module, r.Discrepancies.Count));
        }
        output.WriteLine($"validated in {sw.Elapsed.TotalSeconds:F1} s: {total}");

        var report = new StringBuilder();
        if (!failures.IsEmpty)
        {
            report.AppendLine($"{failures.Count} modules could not be rewritten or validated:");
            foreach (var f in failures.Order().Take(Shown)) report.AppendLine("  " + f);
        }
        if (discrepancies.Count > 0)
        {
            report.AppendLine($"{discrepancies.Count} discrepancies in {perModule.Count} modules " +
                $"({string.Join(", ", perModule.OrderByDescending(m => m.Count).Take(20).Select(m => $"{m.Module}: {m.Count}"))}); the first {Math.Min(Shown, discrepancies.Count)}:");
            foreach (var d in discrepancies.Take(Shown)) report.AppendLine(d.ToString());
        }
        if (report.Length > 0) output.WriteLine(report.ToString());
        Assert.True(failures.IsEmpty && discrepancies.Count == 0, report.ToString());
        Assert.Equal(modules.Count, total.Modules);
        Assert.True(total.Functions > 10_000, $"only {total.Functions} functions were copied in the whole corpus");
    }
}
