using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Output.Source;
using Kedr.Tests.Shared;

namespace Kedr.Output.Tests.Source;

/// <summary>Debug information that does not read is one KEDR5111 warning, never an exception or a hang.</summary>
public sealed class ModuleSourcesTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-module-sources-");

    public void Dispose() => _dir.Delete(true);

    [Fact]
    public async Task Corrupted_debug_sections_give_a_map_or_one_warning()
    {
        var ko = DebugModule.Build(_dir.FullName);
        var original = File.ReadAllBytes(ko);
        var elf = ElfFile.Read(ko);
        var targets = elf.Sections.Where(s => s.Name is ".debug_line" or ".debug_info" or ".debug_abbrev" or ".debug_rnglists" or ".debug_line_str")
            .Select(s => (Start: (int)s.FileOffset, Size: (int)s.Size)).ToArray();
        Assert.Equal(5, targets.Length);
        var rng = new Random(18);
        int maps = 0, warned = 0;
        for (int round = 0; round < 300; round++)
        {
            var bytes = (byte[])original.Clone();
            var (start, size) = targets[rng.Next(targets.Length)];
            for (int k = 0, n = rng.Next(1, 8); k < n; k++)
                bytes[start + rng.Next(size)] = (byte)rng.Next(256);
            Assert.True(ElfFile.TryRead(bytes, $"fuzz{round}.ko", out var bad, out var error), error?.ToString());
            var warnings = new List<KedrDiagnostic>();
            var task = Task.Run(() =>
            {
                var map = ModuleSources.Load(bad!, [], warnings, out _);
                if (map is null) return false;
                foreach (var s in bad!.Sections.Where(s => s.IsExecutable))
                    for (ulong o = 0; o < s.Size; o++) map.Find(s.Name, o);
                return true;
            });
            bool gotMap = await task.WaitAsync(TimeSpan.FromSeconds(20)); // TimeoutException: a hang
            if (gotMap) { maps++; Assert.Empty(warnings); }
            else { warned++; Assert.Equal("KEDR5111", Assert.Single(warnings).Code); }
        }
        Assert.True(warned > 0 && maps > 0, $"{maps} maps, {warned} warnings: the corruption should produce both");
    }
}
