using System.Buffers.Binary;
using Kedr.Core.Elf;
using Kedr.Core.Tests.Support;

namespace Kedr.Core.Tests.Elf;

/// <summary>
/// Relocations are read where they lie in the file when they can be, and copied when not
/// (a table out of order, two tables for one section): either way the same entries come out.
/// </summary>
public sealed class RelocationTableTests
{
    private const string Module = "fs/btrfs/btrfs.ko";
    private const int RelaSize = 24;

    /// <summary>The entries of a RELA section decoded field by field from the bytes, independently of the reader.</summary>
    private static List<ElfRelocation> Decode(RawElf raw, string relaSection)
    {
        var sec = raw[relaSection];
        var list = new List<ElfRelocation>();
        for (int at = (int)sec.Offset; at < (int)(sec.Offset + sec.Size); at += RelaSize)
        {
            ulong info = raw.U64(at + 8);
            list.Add(new ElfRelocation(raw.U64(at), (RelocationType)(uint)info, (int)(info >> 32), (long)raw.U64(at + 16)));
        }
        return list;
    }

    [Fact]
    public void Relocations_read_in_place_are_the_entries_of_the_file()
    {
        var raw = new RawElf(File.ReadAllBytes(TestEnvironment.Module(Module)));
        var elf = ElfFile.Read(TestEnvironment.Module(Module));
        var expected = Decode(raw, ".rela.text");
        Assert.True(expected.Count > 10_000);
        Assert.Equal(expected, elf.GetRelocations(elf.FindSection(".text")!));
        Assert.Equal(expected, elf.RelocationSpan(elf.FindSection(".text")!).ToArray());
        // Several types, symbols and negative addends among them, so each field is read from its place.
        Assert.True(expected.Select(r => r.Type).Distinct().Count() >= 3);
        Assert.Contains(expected, r => r.Addend < 0);
    }

    [Fact]
    public void A_table_out_of_order_is_read_sorted_by_offset()
    {
        var raw = new RawElf(File.ReadAllBytes(TestEnvironment.Module(Module)));
        var original = Decode(raw, ".rela.text");
        int first = (int)raw[".rela.text"].Offset;
        // The first two entries change places in the file.
        var bytes = raw.With(s =>
        {
            var a = s.Slice(first, RelaSize).ToArray();
            s.Slice(first + RelaSize, RelaSize).CopyTo(s.Slice(first, RelaSize));
            a.CopyTo(s.Slice(first + RelaSize, RelaSize));
        });
        Assert.True(ElfFile.TryRead(bytes, "swapped.ko", out var elf, out var error), error?.ToString());
        Assert.NotEqual(original[0].Offset, original[1].Offset);
        Assert.Equal(original, elf!.GetRelocations(elf.FindSection(".text")!));
    }

    [Fact]
    public void A_second_table_for_a_section_is_merged_with_the_first_in_offset_order()
    {
        var raw = new RawElf(File.ReadAllBytes(TestEnvironment.Module(Module)));
        // .rela.smp_locks now applies to .text as well (its offsets are small, so inside .text).
        var locks = raw[".rela.smp_locks"];
        var bytes = raw.With(s => RawElf.Put32(s, locks.HeaderOffset + RawElf.ShInfo, (uint)raw[".text"].Index));
        Assert.True(ElfFile.TryRead(bytes, "merged.ko", out var elf, out var error), error?.ToString());

        var text = Decode(raw, ".rela.text");
        var second = Decode(raw, ".rela.smp_locks");
        // Which table comes first in the file decides the file order that ties keep.
        var inFileOrder = locks.Index < raw[".rela.text"].Index ? second.Concat(text) : text.Concat(second);
        var expected = inFileOrder.OrderBy(r => r.Offset).ToList();
        Assert.Equal(expected, elf!.GetRelocations(elf.FindSection(".text")!));
        Assert.Empty(elf.GetRelocations(elf.FindSection(".smp_locks")!));
    }
}
