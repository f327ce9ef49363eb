using Kedr.Core.Dwarf;
using Kedr.Core.Elf;
using Kedr.Tests.Shared;

namespace Kedr.Core.Tests.Dwarf;

/// <summary>Finding a stripped module's separate debug file by build-id, as gdb and perf do.</summary>
public sealed class DebugFileLocatorTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-debugfile-tests-");

    public void Dispose() => _dir.Delete(true);

    private string Tmp(params string[] parts) => Path.Combine([_dir.FullName, .. parts]);

    [Fact]
    public void A_module_with_DWARF_is_its_own_debug_file()
    {
        var elf = ElfFile.Read(DebugModule.Build(_dir.FullName));
        var found = DebugFileLocator.Find(elf, [Tmp("none")], out var debug);
        Assert.Same(elf, debug);
        Assert.Equal(elf.Path, found.Path);
    }

    [Fact]
    public void A_stripped_module_finds_its_debug_file_under_build_id_and_its_lines_read()
    {
        var (stripped, debugFile) = DebugModule.Split(DebugModule.Build(_dir.FullName));
        var id = DebugModule.BuildId(stripped); // readelf's view of the note, not the reader's
        var expected = Tmp("dbg", ".build-id", id[..2], id[2..] + ".debug");
        Directory.CreateDirectory(Path.GetDirectoryName(expected)!);
        File.Copy(debugFile, expected);
        var elf = ElfFile.Read(stripped);
        Assert.Null(elf.FindSection(".debug_line"));

        var found = DebugFileLocator.Find(elf, [Tmp("empty"), Tmp("dbg")], out var debug);
        Assert.Equal(expected, found.Path);
        Assert.NotNull(debug);
        var map = SourceMap.Build(DwarfSections.Load(debug)!);
        var store = elf.GetRelocations(elf.FindSection(".init.text")!).Single(r => elf.Symbols[r.SymbolIndex].Name == "counter");
        Assert.Equal(DebugModule.Line("init_store"), map.Find(".init.text", store.Offset)!.Position.Line);
    }

    [Fact]
    public void The_debug_file_is_also_found_under_the_modules_own_path()
    {
        var (stripped, debugFile) = DebugModule.Split(DebugModule.Build(_dir.FullName));
        var mirrored = Tmp("dbg") + Path.GetFullPath(stripped);
        Directory.CreateDirectory(Path.GetDirectoryName(mirrored)!);
        File.Copy(debugFile, mirrored);
        Assert.Equal(mirrored, DebugFileLocator.Find(ElfFile.Read(stripped), [Tmp("dbg")], out _).Path);
    }

    [Fact]
    public void A_debug_file_of_another_build_is_not_taken_and_none_found_lists_where_it_looked()
    {
        var (stripped, _) = DebugModule.Split(DebugModule.Build(_dir.FullName));
        var id = DebugModule.BuildId(stripped);
        var other = Directory.CreateDirectory(Tmp("other")).FullName;
        File.WriteAllText(Path.Combine(other, DebugModule.FileName), DebugModule.Source.Replace("counter = 7;", "counter = 8;"));
        DebugModule.Run(other, "cc", "-g", "-O2", "-c", "-o", "o.o", DebugModule.FileName);
        DebugModule.Run(other, "ld", "-r", "--build-id=sha1", "-o", "other.ko", "o.o");
        var wrong = Tmp("dbg", ".build-id", id[..2], id[2..] + ".debug");
        Directory.CreateDirectory(Path.GetDirectoryName(wrong)!);
        File.Copy(Path.Combine(other, "other.ko"), wrong);

        var found = DebugFileLocator.Find(ElfFile.Read(stripped), [Tmp("dbg")], out var debug);
        Assert.Null(found.Path);
        Assert.Null(debug);
        Assert.Contains(wrong, found.Tried);
    }
}
