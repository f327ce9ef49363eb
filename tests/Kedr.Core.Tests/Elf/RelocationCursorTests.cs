using Kedr.Core.Elf;
using Kedr.Core.Tests.Support;

namespace Kedr.Core.Tests.Elf;

/// <summary>The cursor answers as <see cref="ElfFile.TryGetRelocationAt"/> does, whatever order it is asked in.</summary>
public sealed class RelocationCursorTests
{
    private const string Module = "fs/btrfs/btrfs.ko";

    [Theory]
    [InlineData("__jump_table")]
    [InlineData("__bug_table")]
    [InlineData(".text")]
    public void Asked_in_increasing_order_it_finds_what_the_search_finds(string sectionName)
    {
        var elf = ElfFile.Read(TestEnvironment.Module(Module));
        var section = elf.FindSection(sectionName)!;
        Assert.NotEmpty(elf.GetRelocations(section));
        var cursor = new RelocationCursor(elf, section);
        int found = 0;
        for (ulong offset = 0; offset < section.Size; offset++)
        {
            bool expected = elf.TryGetRelocationAt(section, offset, out var want);
            Assert.Equal(expected, cursor.TryAt(offset, out var got));
            Assert.Equal(want, got);
            if (expected) found++;
        }
        Assert.Equal(elf.GetRelocations(section).Select(r => r.Offset).Distinct().Count(), found);
    }

    [Fact]
    public void Asked_in_any_order_it_finds_what_the_search_finds()
    {
        var elf = ElfFile.Read(TestEnvironment.Module(Module));
        var section = elf.FindSection("__jump_table")!;
        var cursor = new RelocationCursor(elf, section);
        var relocs = elf.GetRelocations(section);
        var random = new Random(12345);
        for (int i = 0; i < 20_000; i++)
        {
            // Near relocations half of the time, anywhere otherwise.
            ulong offset = random.Next(2) == 0
                ? relocs[random.Next(relocs.Count)].Offset + (ulong)random.Next(-1, 2)
                : (ulong)random.NextInt64((long)section.Size + 8);
            bool expected = elf.TryGetRelocationAt(section, offset, out var want);
            Assert.Equal(expected, cursor.TryAt(offset, out var got));
            Assert.Equal(want, got);
        }
    }

    /// <summary>Two relocations at one offset (never in a valid file): the later in file order, as the search gives.</summary>
    [Fact]
    public void Of_two_relocations_at_one_offset_it_gives_the_later()
    {
        var raw = new RawElf(File.ReadAllBytes(TestEnvironment.Module(Module)));
        var rela = raw[".rela__jump_table"];
        // Entry 1 moves onto entry 0's offset (the list stays sorted); its own type and addend tell it apart.
        int entry0 = (int)rela.Offset, entry1 = entry0 + 24;
        var bytes = raw.With(s => RawElf.Put64(s, entry1, raw.U64(entry0)));
        Assert.True(ElfFile.TryRead(bytes, "dup.ko", out var elf, out var error), error?.ToString());
        var section = elf!.FindSection("__jump_table")!;
        var relocs = elf.GetRelocations(section);
        Assert.Equal(relocs[0].Offset, relocs[1].Offset);
        Assert.NotEqual(relocs[0], relocs[1]);

        Assert.True(new RelocationCursor(elf, section).TryAt(relocs[0].Offset, out var got));
        Assert.Equal(relocs[1], got);
        Assert.True(elf.TryGetRelocationAt(section, relocs[0].Offset, out var searched));
        Assert.Equal(relocs[1], searched);
    }
}
