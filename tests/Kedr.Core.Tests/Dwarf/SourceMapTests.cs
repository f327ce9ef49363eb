using System.Globalization;
using System.Text.RegularExpressions;
using Kedr.Core.Dwarf;
using Kedr.Core.Elf;
using Kedr.Core.Tests.Support;
using Kedr.Tests.Shared;

namespace Kedr.Core.Tests.Dwarf;

/// <summary>
/// The source map of a relocatable object with DWARF 5 (what gcc 12 emits for the 6.1 kernel's modules):
/// lines checked against the markers in the C source and, for every instruction, against binutils'
/// <c>addr2line -j SECTION [-f -i]</c>, which reads the same object independently.
/// </summary>
public sealed partial class SourceMapTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-dwarf-tests-");

    public void Dispose() => _dir.Delete(true);

    private static SourceMap Map(ElfFile elf) => SourceMap.Build(DwarfSections.Load(elf) ?? throw new Xunit.Sdk.XunitException("no .debug_line"));

    /// <summary>The offsets in <paramref name="section"/> of the relocations against symbol <paramref name="symbol"/>:
    /// places inside the instructions that access it, found from the ELF alone.</summary>
    private static List<ulong> Accesses(ElfFile elf, string section, string symbol) =>
        elf.GetRelocations(elf.FindSection(section)!).Where(r => elf.Symbols[r.SymbolIndex].Name == symbol).Select(r => r.Offset).ToList();

    [Theory]
    [InlineData(5)]
    [InlineData(4)]
    public void Accesses_are_on_the_lines_the_source_marks(int dwarfVersion)
    {
        var elf = ElfFile.Read(DebugModule.Build(_dir.FullName, dwarfVersion));
        var map = Map(elf);
        uint LineAt(string section, ulong offset) =>
            (map.Find(section, offset) ?? throw new Xunit.Sdk.XunitException($"no line for {section}+0x{offset:x}")).Position.Line;

        var counter = Accesses(elf, ".text", "counter");
        Assert.Equal(2, counter.Count); // the store, then the load
        Assert.Equal(DebugModule.Line("open_store"), LineAt(".text", counter[0]));
        Assert.Equal(DebugModule.Line("open_load"), LineAt(".text", counter[1]));
        Assert.Equal(DebugModule.Line("cold_store"), LineAt(".text.unlikely", Assert.Single(Accesses(elf, ".text.unlikely", "counter"))));
        Assert.Equal(DebugModule.Line("init_store"), LineAt(".init.text", Assert.Single(Accesses(elf, ".init.text", "counter"))));

        var bump = map.Find(".text", Assert.Single(Accesses(elf, ".text", "table")))!;
        Assert.Equal(new SourcePosition(DebugModule.FileName, DebugModule.Line("bump")), bump.Position with { Column = 0, File = Path.GetFileName(bump.Position.File) });
        Assert.Equal(["bump", "src_open"], bump.Frames.Select(f => f.Function));
        Assert.Equal(DebugModule.Line("bump"), bump.Frames[0].Position.Line);
        Assert.Equal(DebugModule.Line("open_call_bump"), bump.Frames[1].Position.Line);
        Assert.False(map.Find(".text", counter[0])!.IsInlined);
        Assert.Null(map.Find(".text", 0x10000));
        Assert.Null(map.Find(".data", 0));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(4)]
    public void Every_instruction_of_the_test_object_has_addr2lines_line_and_inline_chain(int dwarfVersion) =>
        AgreesWithAddr2line(DebugModule.Build(_dir.FullName, dwarfVersion), expectInlined: true);

    /// <summary>The repository's sample target, built against the installed headers (built here if it is not).</summary>
    [Fact]
    public void Every_instruction_of_the_sample_target_has_addr2lines_line_and_inline_chain()
    {
        var ko = Path.Combine(TestEnvironment.RepoRoot, "kmod", "kedr_sample_target", "kedr_sample_target.ko");
        if (!File.Exists(ko)) TestEnvironment.Run("make", "to build the sample target", "-C", Path.Combine(TestEnvironment.RepoRoot, "kmod"), "kedr_sample_target");
        AgreesWithAddr2line(ko, expectInlined: true);
    }

    [GeneratedRegex(@"^\s+([0-9a-f]+):\t", RegexOptions.Multiline)]
    private static partial Regex InstructionLine();

    private static void AgreesWithAddr2line(string path, bool expectInlined)
    {
        var elf = ElfFile.Read(path);
        var map = Map(elf);
        int checkedCount = 0, inlined = 0;
        foreach (var sec in elf.Sections.Where(s => s.IsExecutable && s.Size > 0))
        {
            var offsets = InstructionLine().Matches(TestEnvironment.Run("objdump", "to list the instructions", "-d", "-j", sec.Name, path))
                .Select(m => m.Groups[1].Value).ToList();
            var a2l = TestEnvironment.Run("addr2line", "as the reference reader of DWARF", ["-e", path, "-j", sec.Name, "-f", "-i", "-a", .. offsets])
                .Split('\n', StringSplitOptions.RemoveEmptyEntries);
            // -a: each address is "0x..." then function/file:line pairs, innermost first.
            for (int i = 0; i < a2l.Length;)
            {
                ulong offset = ulong.Parse(a2l[i++].AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var frames = new List<(string Function, string Position)>();
                for (; i < a2l.Length && !a2l[i].StartsWith("0x", StringComparison.Ordinal); i += 2)
                    frames.Add((a2l[i], Regex.Replace(a2l[i + 1], @" \(discriminator \d+\)$", "")));
                var found = map.Find(sec.Name, offset);
                string where = $"{path} {sec.Name}+0x{offset:x}";
                if (frames[0].Position.StartsWith("??:", StringComparison.Ordinal)) { Assert.Null(found); continue; }
                Assert.True(found is not null, $"{where}: addr2line says {frames[0].Position}, the map has nothing");
                Assert.True(frames[0].Position.EndsWith("/" + found.Position.ToString(), StringComparison.Ordinal) || frames[0].Position == found.Position.ToString(),
                    $"{where}: addr2line {frames[0].Position}, map {found.Position}");
                if (frames.Count > 1)
                {
                    inlined++;
                    Assert.True(frames.Select(f => f.Function).SequenceEqual(found.Frames.Select(f => f.Function)),
                        $"{where}: addr2line chain {string.Join(" < ", frames.Select(f => f.Function))}, map {string.Join(" < ", found.Frames.Select(f => f.Function))}");
                    for (int k = 1; k < frames.Count; k++)
                        Assert.EndsWith(":" + found.Frames[k].Position.Line.ToString(CultureInfo.InvariantCulture), frames[k].Position);
                }
                else if (found.Frames.Count > 0)
                    Assert.Equal(frames[0].Function, found.Frames[0].Function);
                checkedCount++;
            }
        }
        Assert.True(checkedCount > 10, $"only {checkedCount} instructions had a line");
        if (expectInlined) Assert.True(inlined > 0, "no instruction of inlined code: the test does not cover inline chains");
    }
}
