using Kedr.Core.Elf;
using Kedr.Core.Tests.Support;

namespace Kedr.Core.Tests.Elf;

/// <summary>
/// <c>ElfFile.Read(path, ref buffer)</c>, the batch's read into one reused buffer, against
/// <c>ElfFile.Read(path)</c> (checked against readelf in <see cref="ElfFileReadelfTests"/>): a small
/// module read after a large one into the same buffer must not see the large one's bytes.
/// </summary>
public sealed class ElfFileBufferedReadTests
{
    [Fact]
    public void A_small_module_after_a_large_one_reads_as_on_its_own_and_reuses_the_buffer()
    {
        byte[]? buffer = null;
        var large = ElfFile.Read(TestEnvironment.Module("fs/xfs/xfs.ko"), ref buffer);
        Assert.NotNull(buffer);
        var first = buffer;
        Assert.True(large.Sections.Count > 10);

        var path = TestEnvironment.Module("lib/crc7.ko");
        var small = ElfFile.Read(path, ref buffer);
        Assert.Same(first, buffer);
        Assert.True(buffer!.Length > new FileInfo(path).Length);
        AssertSame(ElfFile.Read(path), small);
    }

    [Fact]
    public void A_missing_file_is_KEDR1000_naming_it()
    {
        var path = Path.Combine(Path.GetTempPath(), $"kedr-no-such-{Guid.NewGuid():N}.ko");
        byte[]? buffer = null;
        var e = Assert.Throws<Kedr.Core.Diagnostics.KedrException>(() => ElfFile.Read(path, ref buffer));
        Assert.Equal("KEDR1000", e.Diagnostic.Code);
        Assert.Equal(path, e.Diagnostic.File);
    }

    private static void AssertSame(ElfFile expected, ElfFile actual)
    {
        Assert.Equal(expected.ModuleName, actual.ModuleName);
        Assert.Equal(expected.BuildId, actual.BuildId);
        Assert.Equal(expected.Sections.Count, actual.Sections.Count);
        for (int i = 0; i < expected.Sections.Count; i++)
        {
            var (e, a) = (expected.Sections[i], actual.Sections[i]);
            Assert.Equal(e.Name, a.Name);
            Assert.Equal(e.Size, a.Size);
            Assert.True(e.Data.Span.SequenceEqual(a.Data.Span), $"section {e.Name}: bytes differ");
            Assert.Equal(expected.GetRelocations(e).Count, actual.GetRelocations(a).Count);
        }
        Assert.Equal(expected.Symbols.Count, actual.Symbols.Count);
        for (int i = 0; i < expected.Symbols.Count; i++)
            Assert.Equal((expected.Symbols[i].Name, expected.Symbols[i].Value), (actual.Symbols[i].Name, actual.Symbols[i].Value));
    }
}
