using Kedr.Core.Elf;
using Kedr.Kernel.Modules;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Tests.Validation;

namespace Kedr.Rewriter.Tests.Catalog;

/// <summary><see cref="SectionCode.SortSites"/> (packed keys) against the plain compared-key sort.</summary>
public sealed class SectionCodeTests
{
    [Fact]
    public void Ties_keep_table_order_and_unpackable_keys_sort_the_same()
    {
        var sites = new List<PatchSite>
        {
            new(PatchSiteKind.Alternative, 3, 0x40, 5, Data: 1),
            new(PatchSiteKind.ExceptionTable, 3, 0x40, 0),
            new(PatchSiteKind.Alternative, 3, 0x40, 5, Data: 2),   // ties the first: stays after it
            new(PatchSiteKind.Fentry, 2, 0x900, 5),
            new(PatchSiteKind.Alternative, 3, 0x10, 5, Data: 3),
            new(PatchSiteKind.Alternative, 3, 0x40, 5, Data: 0),   // and this one after both
        };
        var sorted = SectionCode.SortSites(sites);
        Assert.Equal(SectionCode.SortSitesByKey(sites), sorted);
        Assert.Equal([1, 2, 0], sorted.Where(s => s.Kind == PatchSiteKind.Alternative && s.Offset == 0x40).Select(s => s.Data));

        // An offset past 40 bits does not pack: the same order all the same.
        sites.Add(new PatchSite(PatchSiteKind.Fentry, 3, 1L << 41, 5));
        Assert.Equal(SectionCode.SortSitesByKey(sites), SectionCode.SortSites(sites));
    }

    [Theory]
    [InlineData("fs/btrfs/btrfs.ko")]
    [InlineData("drivers/net/virtio_net.ko")]
    [InlineData("fs/fat/fat.ko")]
    public void Real_modules_sort_as_by_compared_keys(string module)
    {
        var elf = ElfFile.Read(KernelCorpus.Module(module));
        Assert.True(PatchSiteReader.TryRead(elf, out var sites, out var error), error?.ToString());
        Assert.True(sites.Count > 50, $"{sites.Count} sites");
        Assert.Equal(SectionCode.SortSitesByKey(sites), SectionCode.SortSites(sites));
    }
}
