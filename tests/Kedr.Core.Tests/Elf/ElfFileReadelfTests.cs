using Kedr.Core.Elf;
using Kedr.Core.Tests.Support;

namespace Kedr.Core.Tests.Elf;

/// <summary>
/// The ELF reader on real modules of the installed Debian kernel, compared field by field
/// with GNU readelf (binutils), which must be installed.
/// </summary>
public sealed class ElfFileReadelfTests
{
    /// <summary>From 6 KB to 4 MB: one function, a few, many sections, many relocations.</summary>
    public static TheoryData<string> Modules => new()
    {
        "lib/crc7.ko",
        "net/sched/em_u32.ko",
        "drivers/net/dummy.ko",
        "drivers/net/virtio_net.ko",
        "fs/xfs/xfs.ko",
    };

    private static (string Path, ElfFile Elf) Load(string module)
    {
        var path = TestEnvironment.Module(module);
        return (path, ElfFile.Read(path));
    }

    [Theory, MemberData(nameof(Modules))]
    public void Sections_match_readelf(string module)
    {
        var (path, elf) = Load(module);
        var expected = Readelf.Sections(path);
        Assert.True(expected.Count > 10, $"readelf listed only {expected.Count} sections");
        Assert.Equal(expected.Count, elf.Sections.Count);
        foreach (var e in expected)
        {
            var s = elf.Sections[e.Index];
            var what = $"{module} section [{e.Index}] {e.Name}";
            Assert.True(e.Index == s.Index, what);
            Assert.True(e.Name == s.Name, $"{what}: name '{s.Name}'");
            Assert.True(e.Type == s.Type, $"{what}: type {s.Type}, readelf {e.Type}");
            Assert.True(e.Flags == s.Flags, $"{what}: flags 0x{s.Flags:x}, readelf 0x{e.Flags:x}");
            Assert.True(e.Offset == s.FileOffset, $"{what}: offset 0x{s.FileOffset:x}, readelf 0x{e.Offset:x}");
            Assert.True(e.Size == s.Size, $"{what}: size 0x{s.Size:x}, readelf 0x{e.Size:x}");
            Assert.True(e.EntrySize == s.EntrySize, $"{what}: entsize {s.EntrySize}, readelf {e.EntrySize}");
            Assert.True(e.Link == s.Link && e.Info == s.Info, $"{what}: link/info {s.Link}/{s.Info}, readelf {e.Link}/{e.Info}");
            Assert.True(e.Alignment == s.Alignment, $"{what}: alignment {s.Alignment}, readelf {e.Alignment}");
            // Contents: the file's bytes at the header's offset, none for NOBITS.
            int expectedLength = e.Type is 0 or 8 ? 0 : (int)e.Size;
            Assert.True(expectedLength == s.Data.Length, $"{what}: {s.Data.Length} bytes of contents");
            if (expectedLength > 0)
                Assert.True(elf.Data.Span.Slice((int)e.Offset, expectedLength).SequenceEqual(s.Data.Span), $"{what}: contents differ");
        }
        Assert.Equal(expected.Single(x => x.Name == ".symtab").Index, elf.SymtabIndex);
    }

    [Theory, MemberData(nameof(Modules))]
    public void Symbols_match_readelf(string module)
    {
        var (path, elf) = Load(module);
        var (declared, expected) = Readelf.Symbols(path);
        Assert.Equal(declared, expected.Count);
        Assert.Equal(declared, elf.Symbols.Count);
        int functions = 0;
        foreach (var e in expected)
        {
            var s = elf.Symbols[e.Index];
            var what = $"{module} symbol {e.Index} '{e.Name}'";
            Assert.True(e.Index == s.Index, what);
            // readelf shows a section symbol (st_name 0) under its section's name.
            var name = s.IsSection && s.Name.Length == 0 ? elf.Sections[s.SectionIndex].Name : s.Name;
            Assert.True(e.Name == name, $"{what}: name '{s.Name}'");
            Assert.True(e.Value == s.Value, $"{what}: value 0x{s.Value:x}, readelf 0x{e.Value:x}");
            Assert.True(e.Size == s.Size, $"{what}: size {s.Size}, readelf {e.Size}");
            Assert.True(e.Type == s.Type, $"{what}: type {s.Type}, readelf {e.Type}");
            Assert.True(e.Bind == s.Bind, $"{what}: bind {s.Bind}, readelf {e.Bind}");
            Assert.True(e.SectionIndex == s.SectionIndex, $"{what}: section {s.SectionIndex}, readelf {e.SectionIndex}");
            Assert.Equal(e.Type == 2, s.IsFunction);
            Assert.Equal(e.SectionIndex == 0, s.IsUndefined);
            if (s.IsFunction) functions++;
        }
        Assert.True(functions > 0, $"{module}: no STT_FUNC symbols");
    }

    [Theory, MemberData(nameof(Modules))]
    public void Relocations_match_readelf(string module)
    {
        var (path, elf) = Load(module);
        var expected = Readelf.Relocations(path);
        var relaSections = elf.Sections.Where(s => s.Type == ElfConstants.ShtRela).ToList();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), relaSections.Select(s => s.Name).Order(StringComparer.Ordinal));

        foreach (var group in relaSections.GroupBy(s => (int)s.Info))
        {
            var target = elf.Sections[group.Key];
            var listed = new List<Readelf.Relocation>();
            foreach (var rela in group)
            {
                var (declared, entries) = expected[rela.Name];
                Assert.True(declared == entries.Count, $"{module} {rela.Name}: readelf says {declared}, lists {entries.Count}");
                Assert.True((ulong)declared == rela.Size / 24, $"{module} {rela.Name}: {rela.Size / 24} entries, readelf {declared}");
                listed.AddRange(entries);
            }
            var ours = elf.GetRelocations(target);
            Assert.True(listed.Count == ours.Count, $"{module} {target.Name}: {ours.Count} relocations, readelf {listed.Count}");
            for (int i = 1; i < ours.Count; i++)
                Assert.True(ours[i - 1].Offset <= ours[i].Offset, $"{module} {target.Name}: relocations not sorted at {i}");
            var a = listed.Select(r => (r.Offset, (uint)r.Info, (int)(r.Info >> 32), r.Addend)).Order().ToList();
            var b = ours.Select(r => (r.Offset, (uint)r.Type, r.SymbolIndex, r.Addend)).Order().ToList();
            for (int i = 0; i < a.Count; i++)
                Assert.True(a[i] == b[i], $"{module} {target.Name}: relocation {i}: ours {b[i]}, readelf {a[i]}");
        }
    }

    [Theory, MemberData(nameof(Modules))]
    public void Relocation_lookup_by_offset_finds_every_readelf_entry_and_nothing_between(string module)
    {
        var (path, elf) = Load(module);
        foreach (var (name, (_, entries)) in Readelf.Relocations(path))
        {
            var target = elf.Sections[(int)elf.Sections.Single(s => s.Name == name).Info];
            var offsets = entries.Select(e => e.Offset).ToHashSet();
            foreach (var e in entries)
            {
                Assert.True(elf.TryGetRelocationAt(target, e.Offset, out var r), $"{module} {target.Name}+0x{e.Offset:x}: not found");
                Assert.Equal(((uint)e.Info, (int)(e.Info >> 32), e.Addend), ((uint)r.Type, r.SymbolIndex, r.Addend));
                // Relocations are at least 4 bytes apart: the bytes after one start none.
                for (ulong d = 1; d < 4; d++)
                    if (!offsets.Contains(e.Offset + d))
                        Assert.False(elf.TryGetRelocationAt(target, e.Offset + d, out _), $"{module} {target.Name}+0x{e.Offset + d:x}: found");
            }
        }
    }

    [Theory, MemberData(nameof(Modules))]
    public void ModInfo_and_build_id_match_readelf(string module)
    {
        var (path, elf) = Load(module);
        var strings = Readelf.ModInfo(path);
        Assert.NotEmpty(strings);
        var expected = strings.Select(x => x.Split('=', 2)).GroupBy(kv => kv[0])
            .ToDictionary(g => g.Key, g => g.Select(kv => kv.Length > 1 ? kv[1] : "").ToList());
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), elf.ModInfoEntries.Keys.Order(StringComparer.Ordinal));
        foreach (var (k, v) in expected)
            Assert.Equal(v, elf.ModInfoEntries[k]);

        // Independent facts: the kernel's name for foo-bar.ko is foo_bar; vermagic starts with the release.
        var fileName = Path.GetFileNameWithoutExtension(path).Replace('-', '_');
        Assert.Equal(fileName, elf.ModInfo("name"));
        Assert.Equal(fileName, elf.ModuleName);
        Assert.StartsWith(TestEnvironment.KernelRelease + " SMP ", elf.ModInfo("vermagic"));

        var buildId = Readelf.BuildId(path);
        Assert.NotNull(buildId);
        Assert.Equal(40, buildId.Length);
        Assert.Equal(buildId, Convert.ToHexStringLower(elf.BuildId));
    }

    [Fact]
    public void Read_of_a_missing_file_is_KEDR1000_naming_it()
    {
        var path = Path.Combine(Path.GetTempPath(), $"kedr-no-such-{Guid.NewGuid():N}.ko");
        var e = Assert.Throws<Kedr.Core.Diagnostics.KedrException>(() => ElfFile.Read(path));
        Assert.Equal("KEDR1000", e.Diagnostic.Code);
        Assert.Equal(path, e.Diagnostic.File);
    }
}
