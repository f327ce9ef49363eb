using System.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Core.Tests.Support;
using Xunit.Abstractions;

namespace Kedr.Core.Tests.Elf;

public sealed class ElfFileCorpusTests(ITestOutputHelper output)
{
    /// <summary>Every module of the installed kernel reads without a diagnostic, in a few seconds.</summary>
    [Fact]
    public void Every_module_of_the_installed_kernel_reads()
    {
        var dir = TestEnvironment.ModulesDir;
        var paths = Directory.EnumerateFiles(dir, "*.ko", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Assert.True(paths.Count > 500, $"only {paths.Count} modules below {dir}: is the kernel fully installed?");

        var failures = new List<string>();
        long bytes = 0, sections = 0, symbols = 0, relocations = 0;
        var sw = Stopwatch.StartNew();
        foreach (var path in paths)
        {
            var data = File.ReadAllBytes(path);
            bytes += data.Length;
            if (!ElfFile.TryRead(data, path, out var elf, out var error))
            {
                failures.Add(error!.ToString());
                continue;
            }
            sections += elf!.Sections.Count;
            symbols += elf.Symbols.Count;
            foreach (var s in elf.Sections)
                if (s.Type == ElfConstants.ShtRela) relocations += elf.GetRelocations(elf.Sections[(int)s.Info]).Count;
            if (elf.ModInfo("name") is null) failures.Add($"{path}: no .modinfo name");
        }
        sw.Stop();
        output.WriteLine($"{paths.Count} modules, {bytes / 1e6:F1} MB, {sections} sections, {symbols} symbols, " +
                         $"{relocations} relocations (counted per rela section) read in {sw.Elapsed.TotalSeconds:F2} s " +
                         $"({bytes / 1e6 / sw.Elapsed.TotalSeconds:F0} MB/s)");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }
}
