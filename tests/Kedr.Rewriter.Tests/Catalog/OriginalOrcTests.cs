using System.Buffers.Binary;
using Kedr.Core.Elf;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Tests.Validation;

namespace Kedr.Rewriter.Tests.Catalog;

/// <summary>
/// <see cref="OriginalOrc"/> reads the original's ORC table in one pass; these compare its rows with
/// the reader it replaced (<see cref="Reference"/>: per section, gathered in file order, sorted when not
/// ascending, weak terminators first), on every module of the corpus and on tables whose rows are
/// out of order, interleaved across sections, at equal addresses, or not PC-relative.
/// </summary>
public sealed class OriginalOrcTests
{
    [Fact]
    public void Every_module_of_the_corpus_gives_the_rows_of_the_two_pass_reader()
    {
        int withTable = 0;
        foreach (var path in KernelCorpus.Modules())
        {
            var elf = ElfFile.Read(path);
            AssertSameRows(elf);
            if (new OriginalOrc(elf).HasData) withTable++;
        }
        Assert.True(withTable > 1000, $"only {withTable} modules with an ORC table");
    }

    /// <summary>The ips' targets shuffled among the entries: each section's rows out of order and the sections interleaved.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Rows_out_of_order_and_sections_interleaved_are_sorted_and_grouped(int seed)
    {
        var elf = DamagedIps("fs/xfs/xfs.ko", (records, _) =>
        {
            var random = new Random(seed);
            Span<byte> t = stackalloc byte[16];
            for (int i = records.Length / 24 - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                // r_info and r_addend (bytes 8..23) of records i and j swapped; r_offset stays.
                var a = records.AsSpan(i * 24 + 8, 16);
                var b = records.AsSpan(j * 24 + 8, 16);
                a.CopyTo(t); b.CopyTo(a); t.CopyTo(b);
            }
        });
        var orc = new OriginalOrc(elf);
        Assert.True(SectionsOfRows(elf).Count > 2, "the module has rows in fewer than three sections");
        AssertSameRows(elf);
        AssertSortedPerSection(elf, orc);
    }

    /// <summary>Some ips doubled (two entries at one address, a weak one among them where there is one), some made absolute (not ips).</summary>
    [Theory]
    [InlineData("fs/btrfs/btrfs.ko")]
    [InlineData("drivers/net/dummy.ko")]
    public void Rows_at_equal_addresses_and_relocations_that_are_not_ips(string module)
    {
        var elf = DamagedIps(module, (records, _) =>
        {
            int n = records.Length / 24;
            for (int i = 1; i < n; i += 5)
                records.AsSpan((i - 1) * 24 + 8, 16).CopyTo(records.AsSpan(i * 24 + 8, 16));
            for (int i = 3; i < n; i += 11)
                BinaryPrimitives.WriteUInt32LittleEndian(records.AsSpan(i * 24 + 8), (uint)RelocationType.Abs32);
        });
        AssertSameRows(elf);
        AssertSortedPerSection(elf, new OriginalOrc(elf));
    }

    private static HashSet<int> SectionsOfRows(ElfFile elf) => Reference(elf).Keys.ToHashSet();

    private static void AssertSortedPerSection(ElfFile elf, OriginalOrc orc)
    {
        foreach (var s in SectionsOfRows(elf))
        {
            var (start, end) = orc.RowsOf(s);
            for (int i = start + 1; i < end; i++) Assert.True(orc.Offsets[i - 1] <= orc.Offsets[i]);
        }
    }

    private static void AssertSameRows(ElfFile elf)
    {
        var orc = new OriginalOrc(elf);
        var expected = Reference(elf);
        Assert.Equal(expected.Values.Sum(v => v.Offsets.Length), orc.Count);
        for (int s = 0; s < elf.Sections.Count; s++)
        {
            var (start, end) = orc.RowsOf(s);
            var (offsets, entries) = expected.TryGetValue(s, out var rows) ? rows : ([], []);
            Assert.True(offsets.AsSpan().SequenceEqual(orc.Offsets.AsSpan(start, end - start)), $"{elf.Path}: offsets of section {s}");
            Assert.True(entries.AsSpan().SequenceEqual(orc.Entries.AsSpan(start, end - start)), $"{elf.Path}: entries of section {s}");
        }
    }

    /// <summary>A real module with the records of <c>.rela.orc_unwind_ip</c> changed.</summary>
    private static ElfFile DamagedIps(string module, Action<byte[], ElfFile> change)
    {
        var path = KernelCorpus.Module(module);
        var bytes = File.ReadAllBytes(path);
        var elf = ElfFile.Read(path);
        var ips = elf.FindSection(".orc_unwind_ip")!;
        var rela = elf.Sections.Single(s => s.Type == ElfConstants.ShtRela && s.Info == ips.Index);
        var records = bytes.AsSpan((int)rela.FileOffset, (int)rela.Size).ToArray();
        change(records, elf);
        records.CopyTo(bytes.AsSpan((int)rela.FileOffset));
        Assert.True(ElfFile.TryRead(bytes, path, out var damaged, out var error), $"the ELF reader refuses the damaged module: {error}");
        return damaged!;
    }

    /// <summary>The reader <see cref="OriginalOrc"/> replaced (two passes, per-section arrays), as it was.</summary>
    private static Dictionary<int, (long[] Offsets, ulong[] Entries)> Reference(ElfFile elf)
    {
        var bySection = new Dictionary<int, (long[] Offsets, ulong[] Entries)>();
        var ips = elf.FindSection(".orc_unwind_ip");
        var orcs = elf.FindSection(".orc_unwind");
        if (ips is null || orcs is null || ips.Size / 4 != orcs.Size / 6 || !orcs.IsInFile) return bySection;
        var data = orcs.Data.Span;
        var lists = new Dictionary<int, (List<long> Offsets, List<ulong> Entries)>();
        foreach (var r in elf.GetRelocations(ips))
        {
            ref readonly var sym = ref elf.Symbol(r.SymbolIndex);
            if (!r.IsPcRelative || r.Offset % 4 != 0 || !sym.IsDefinedInSection) continue;
            if (!lists.TryGetValue(sym.SectionIndex, out var list)) lists[sym.SectionIndex] = list = ([], []);
            int i = (int)(r.Offset / 4);
            list.Offsets.Add((long)sym.Value + r.Addend);
            list.Entries.Add(BinaryPrimitives.ReadUInt32LittleEndian(data[(i * 6)..]) | (ulong)BinaryPrimitives.ReadUInt16LittleEndian(data[(i * 6 + 4)..]) << 32);
        }
        static bool Weak(ulong e) => ((e >> 32) & 0xf) == 0 && ((e >> 42) & 1) == 0;
        foreach (var (section, list) in lists)
        {
            long[] o = [.. list.Offsets];
            ulong[] e = [.. list.Entries];
            bool ascending = true;
            for (int i = 1; i < o.Length; i++) ascending &= o[i] >= o[i - 1];
            if (!ascending) Array.Sort(o, e);
            for (int i = 1; i < o.Length; i++)
                for (int k = i; k > 0 && o[k - 1] == o[k] && Weak(e[k]) && !Weak(e[k - 1]); k--)
                    (e[k], e[k - 1]) = (e[k - 1], e[k]);
            bySection[section] = (o, e);
        }
        return bySection;
    }
}
