using System.Buffers.Binary;
using Kedr.Core.Elf;
using Kedr.Kernel.Modules;

namespace Kedr.Kernel.Tests.Modules;

public sealed class PatchSiteReaderTests
{
    private const int RelaSize = 24;

    /// <summary>The installed cloud kernel's btrfs.ko (it has every kind of table read here).</summary>
    private static string BtrfsPath()
    {
        var dir = Directory.Exists("/lib/modules")
            ? Directory.GetDirectories("/lib/modules", "*-cloud-amd64").Order(StringComparer.Ordinal).LastOrDefault()
            : null;
        var path = dir is null ? "" : Path.Combine(dir, "kernel/fs/btrfs/btrfs.ko");
        Assert.True(File.Exists(path), "the installed cloud kernel's btrfs.ko is missing (scripts/vm/setup.sh installs it)");
        return path;
    }

    /// <summary>Each jump entry's code, target and key fields come from the relocations at exactly those fields.</summary>
    [Fact]
    public void Jump_entries_take_their_fields_from_the_relocations_there()
    {
        var elf = ElfFile.Read(BtrfsPath());
        Assert.True(PatchSiteReader.TryRead(elf, out var sites, out var error), error?.ToString());
        var table = elf.FindSection("__jump_table")!;
        var labels = sites.Where(s => s.Kind == PatchSiteKind.JumpLabel).ToList();
        Assert.Equal((int)(table.Size / 16), labels.Count);
        for (int i = 0; i < labels.Count; i++)
        {
            ulong entry = (ulong)i * 16;
            Assert.True(elf.TryGetRelocationAt(table, entry, out var code));
            Assert.True(elf.TryGetRelocationAt(table, entry + 4, out var target));
            Assert.True(elf.TryGetRelocationAt(table, entry + 8, out var key));
            Assert.Equal((long)elf.Symbol(code.SymbolIndex).Value + code.Addend, labels[i].Offset);
            Assert.Equal((long)elf.Symbol(target.SymbolIndex).Value + target.Addend, labels[i].TargetOffset);
            Assert.Equal((key.SymbolIndex, key.Addend), (labels[i].AuxSymbol, labels[i].AuxAddend));
        }
    }

    /// <summary>A table entry whose first field has no relocation is reported with the table and the entry's offset.</summary>
    [Fact]
    public void An_entry_without_its_relocation_is_reported_at_its_offset()
    {
        var bytes = File.ReadAllBytes(BtrfsPath());
        var elf = ElfFile.Read(BtrfsPath());
        var rela = elf.FindSection(".rela__jump_table")!;
        var table = elf.FindSection("__jump_table")!;
        // The third entry's code relocation moves one byte on (still sorted, still inside the table).
        int third = (int)rela.FileOffset + 6 * RelaSize; // three fields per entry
        Assert.Equal(32UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(third)));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(third), 33);
        Assert.True(ElfFile.TryRead(bytes, "btrfs.ko", out var broken, out var readError), readError?.ToString());

        Assert.False(PatchSiteReader.TryRead(broken!, out _, out var error));
        Assert.Equal("KEDR1020", error!.Code);
        Assert.Equal(table.Name, error.Section);
        Assert.Equal(32, error.Offset);
    }
}
