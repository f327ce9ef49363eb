using System.Text.RegularExpressions;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Core.Tests.Support;
using Xunit.Abstractions;
using static Kedr.Core.Tests.Support.RawElf;

namespace Kedr.Core.Tests.Elf;

/// <summary>
/// Bad input never throws from <see cref="ElfFile.TryRead"/>: it gives a KEDR1xxx diagnostic
/// naming the file and, where there is one, the section and offset.
/// </summary>
public sealed partial class ElfFileMalformedTests(ITestOutputHelper output)
{
    private const string Small = "lib/crc7.ko";
    private const string Medium = "drivers/net/dummy.ko";
    private const string Large = "drivers/net/virtio_net.ko";
    private const string FakePath = "/fake/dir/mod.ko";

    private static RawElf Raw(string module) => new(File.ReadAllBytes(TestEnvironment.Module(module)));

    /// <summary>TryRead must not throw; on failure the diagnostic is well-formed and names the file.</summary>
    private static KedrDiagnostic? Read(byte[] data, string context)
    {
        ElfFile? elf;
        KedrDiagnostic? error;
        try { ElfFile.TryRead(data, FakePath, out elf, out error); }
        catch (Exception e) { throw new Xunit.Sdk.XunitException($"{context}: TryRead threw {e}"); }
        if (error is null)
        {
            Assert.True(elf is not null, $"{context}: neither a file nor an error");
            return null;
        }
        Assert.True(elf is null, $"{context}: both a file and an error");
        Assert.True(Kedr1xxx().IsMatch(error.Code), $"{context}: code {error.Code}");
        Assert.True(error.File == FakePath, $"{context}: diagnostic names {error.File}");
        Assert.False(string.IsNullOrWhiteSpace(error.Message), context);
        Assert.StartsWith(FakePath + ": ", error.ToString());
        Assert.Contains(error.Code + ": ", error.ToString());
        Assert.DoesNotContain('\n', error.ToString());
        return error;
    }

    private static KedrDiagnostic Fails(byte[] data, string context)
    {
        var error = Read(data, context);
        Assert.True(error is not null, $"{context}: read without a diagnostic");
        return error!;
    }

    [GeneratedRegex(@"^KEDR1\d{3}$")] private static partial Regex Kedr1xxx();

    // ---- truncation ----

    /// <summary>
    /// Debian's modules end with the section header table and then the module signature
    /// ("~Module signature appended~"): every prefix that cuts the table fails, longer ones read.
    /// </summary>
    [Fact]
    public void Every_prefix_of_a_small_module_fails_cleanly()
    {
        var r = Raw(Small);
        var bytes = r.Bytes;
        int tableEnd = (int)r.ShOff + r.ShNum * 64;
        Assert.True(tableEnd < bytes.Length && bytes.AsSpan(bytes.Length - 28).StartsWith("~Module signature appended~"u8),
            "expected a signed module with its section header table before the signature");
        Assert.Null(Read(bytes, "whole file"));
        for (int n = 0; n < bytes.Length; n++)
        {
            var e = Read(bytes[..n], $"prefix of {n} bytes");
            if (n >= tableEnd)
            {
                Assert.True(e is null, $"prefix of {n} bytes (only the signature cut): {e}");
                continue;
            }
            Assert.True(e is not null, $"prefix of {n} bytes: read without a diagnostic");
            Assert.Equal(n < 64 ? "KEDR1001" : "KEDR1005", e!.Code);
        }
    }

    [Fact]
    public void First_200_prefixes_of_a_larger_module_fail_cleanly()
    {
        var bytes = File.ReadAllBytes(TestEnvironment.Module(Medium));
        for (int n = 0; n <= 200; n++)
            Assert.Equal(n < 64 ? "KEDR1001" : "KEDR1005", Fails(bytes[..n], $"prefix of {n} bytes").Code);
    }

    [Fact]
    public void Truncated_in_the_section_header_table_is_KEDR1005()
    {
        var r = Raw(Medium);
        foreach (int entry in new[] { 0, 1, r.ShNum / 2, r.ShNum - 1 })
        {
            int cut = (int)r.ShOff + entry * 64 + 10;
            var e = Fails(r.Bytes[..cut], $"cut at {cut}");
            Assert.Equal("KEDR1005", e.Code);
            Assert.Equal(0x28, e.Offset);
            Assert.Contains("past the end of the file", e.Message);
        }
    }

    /// <summary>
    /// Sections are cut off while the header table stays whole (moved to the new end):
    /// the first section, by index, whose contents now run past the end is named.
    /// </summary>
    [Theory]
    [InlineData(".text", 3)]
    [InlineData(".symtab", 0)]
    [InlineData(".symtab", 100)]
    [InlineData(".strtab", 7)]
    [InlineData(".rela.text", 5 * 24 + 3)]
    public void Truncated_inside_a_section_names_the_first_cut_section(string section, int into)
    {
        var r = Raw(Large);
        int cut = (int)r[section].Offset + into;
        var sht = r.Bytes.AsSpan((int)r.ShOff, r.ShNum * 64);
        var data = new byte[cut + sht.Length];
        r.Bytes.AsSpan(0, cut).CopyTo(data);
        sht.CopyTo(data.AsSpan(cut));
        Put64(data, EShoff, (ulong)cut);
        bool PastEnd(RawElf.Section s) => s.Type is not (0 or 8) && s.Offset + s.Size > (ulong)data.Length;
        Assert.True(PastEnd(r[section]), $"{section} is too short for this test: it must extend past the moved table");
        var firstCut = r.Sections.First(PastEnd);

        var e = Fails(data, $"cut inside {section}");
        Assert.Equal("KEDR1006", e.Code);
        Assert.StartsWith($"section {firstCut.Index} contents", e.Message);
        Assert.Equal(cut + firstCut.Index * 64, e.Offset);
    }

    // ---- corrupted fields ----

    public static TheoryData<string> Corruptions => new(CorruptionCases.Keys);

    /// <summary>name → (change, code, section named, offset given).</summary>
    private static readonly Dictionary<string, Func<RawElf, (Action<Span<byte>> Change, string Code, string? Section, long? Offset)>> CorruptionCases = new()
    {
        ["magic"] = r => (s => s[1] = (byte)'X', "KEDR1002", null, 0),
        ["class 32-bit"] = r => (s => s[4] = 1, "KEDR1003", null, 4),
        ["big-endian"] = r => (s => s[5] = 2, "KEDR1003", null, 4),
        ["type ET_EXEC"] = r => (s => Put16(s, EType, 2), "KEDR1004", null, 16),
        ["type ET_DYN"] = r => (s => Put16(s, EType, 3), "KEDR1004", null, 16),
        ["machine i386"] = r => (s => Put16(s, EMachine, 3), "KEDR1004", null, 16),
        ["shoff past EOF"] = r => (s => Put64(s, EShoff, (ulong)s.Length - 10), "KEDR1005", null, 0x28),
        ["shoff huge"] = r => (s => Put64(s, EShoff, ulong.MaxValue - 63), "KEDR1005", null, 0x28),
        ["shnum 0"] = r => (s => Put16(s, EShnum, 0), "KEDR1017", null, 0x3c),
        ["shnum too many"] = r => (s => Put16(s, EShnum, 0xfff0), "KEDR1005", null, 0x28),
        ["shentsize 40"] = r => (s => Put16(s, EShentsize, 40), "KEDR1018", null, 0x3a),
        ["shstrndx out of range"] = r => (s => Put16(s, EShstrndx, (ushort)r.ShNum), "KEDR1007", null, 0x3e),
        ["shstrndx SHN_XINDEX"] = r => (s => Put16(s, EShstrndx, 0xffff), "KEDR1007", null, 0x3e),
        ["shstrndx not a string table"] = r => (s => Put16(s, EShstrndx, (ushort)r[".text"].Index), "KEDR1019", null, r[".text"].HeaderOffset + ShType),
        ["sh_offset past EOF"] = r => (s => Put64(s, r[".text"].HeaderOffset + ShOffset, (ulong)s.Length), "KEDR1006", null, r[".text"].HeaderOffset),
        ["sh_size past EOF"] = r => (s => Put64(s, r[".symtab"].HeaderOffset + ShSize, (ulong)s.Length), "KEDR1006", null, r[".symtab"].HeaderOffset),
        ["sh_offset + sh_size overflows"] = r => (s => Put64(s, r[".text"].HeaderOffset + ShOffset, ulong.MaxValue - 8), "KEDR1006", null, r[".text"].HeaderOffset),
        ["section name outside .shstrtab"] = r => (s => Put32(s, r[".text"].HeaderOffset + ShName, (uint)r[".shstrtab"].Size + 5), "KEDR1008", ".shstrtab", (long)r[".shstrtab"].Size + 5),
        ["section name unterminated"] = r => (s =>
        {
            var t = r[".shstrtab"];
            s[(int)(t.Offset + t.Size - 1)] = (byte)'x';
            Put32(s, r[".text"].HeaderOffset + ShName, (uint)t.Size - 1);
        }, "KEDR1008", ".shstrtab", (long)r[".shstrtab"].Size - 1),
        ["symtab entsize 16"] = r => (s => Put64(s, r[".symtab"].HeaderOffset + ShEntsize, 16), "KEDR1009", null, r[".symtab"].HeaderOffset + ShEntsize),
        ["symtab size not a multiple"] = r => (s => Put64(s, r[".symtab"].HeaderOffset + ShSize, r[".symtab"].Size - 1), "KEDR1009", null, r[".symtab"].HeaderOffset + ShSize),
        ["symtab sh_link 0"] = r => (s => Put32(s, r[".symtab"].HeaderOffset + ShLink, 0), "KEDR1021", null, r[".symtab"].HeaderOffset + ShLink),
        ["symtab sh_link out of range"] = r => (s => Put32(s, r[".symtab"].HeaderOffset + ShLink, 999), "KEDR1021", null, r[".symtab"].HeaderOffset + ShLink),
        ["symtab sh_link to .text"] = r => (s => Put32(s, r[".symtab"].HeaderOffset + ShLink, (uint)r[".text"].Index), "KEDR1021", null, r[".symtab"].HeaderOffset + ShLink),
        ["no symtab"] = r => (s => Put32(s, r[".symtab"].HeaderOffset + ShType, 1), "KEDR1025", null, (long)r.ShOff),
        ["two symtabs"] = r => (s => Put32(s, r[".strtab"].HeaderOffset + ShType, 2), "KEDR1014", null, r[".strtab"].HeaderOffset + ShType),
        ["symbol name outside .strtab"] = r => (s => Put32(s, (int)r[".symtab"].Offset + 24, (uint)r[".strtab"].Size + 1), "KEDR1008", ".symtab", 24),
        ["symbol name unterminated"] = r => (s =>
        {
            var t = r[".strtab"];
            s[(int)(t.Offset + t.Size - 1)] = (byte)'x';
            Put32(s, (int)r[".symtab"].Offset + 24, (uint)t.Size - 1);
        }, "KEDR1008", ".symtab", 24),
        ["symbol in a missing section"] = r => (s => Put16(s, (int)r[".symtab"].Offset + 2 * 24 + 6, (ushort)(r.ShNum + 3)), "KEDR1013", ".symtab", 48),
        ["symbol named with a newline, in a missing section"] = r => (s =>
        {
            int sym = (int)r[".symtab"].Offset + 2 * 24;
            s[(int)r[".strtab"].Offset + (int)r.U32(sym) + 2] = (byte)'\n';
            Put16(s, sym + 6, (ushort)(r.ShNum + 3));
        }, "KEDR1013", ".symtab", 48),
        ["symbol with SHN_XINDEX"] = r => (s => Put16(s, (int)r[".symtab"].Offset + 2 * 24 + 6, 0xffff), "KEDR1024", ".symtab", 48),
        ["rela entsize 16"] = r => (s => Put64(s, r[".rela.text"].HeaderOffset + ShEntsize, 16), "KEDR1022", null, r[".rela.text"].HeaderOffset + ShEntsize),
        ["rela size not a multiple"] = r => (s => Put64(s, r[".rela.text"].HeaderOffset + ShSize, r[".rela.text"].Size - 8), "KEDR1022", null, r[".rela.text"].HeaderOffset + ShSize),
        ["rela sh_info 0"] = r => (s => Put32(s, r[".rela.text"].HeaderOffset + ShInfo, 0), "KEDR1023", null, r[".rela.text"].HeaderOffset + ShInfo),
        ["rela sh_info out of range"] = r => (s => Put32(s, r[".rela.text"].HeaderOffset + ShInfo, (uint)r.ShNum), "KEDR1023", null, r[".rela.text"].HeaderOffset + ShInfo),
        ["SHT_REL section"] = r => (s => Put32(s, r[".rela.text"].HeaderOffset + ShType, 9), "KEDR1010", null, r[".rela.text"].HeaderOffset + ShType),
        ["relocation symbol = count"] = r => (s => Put32(s, (int)r[".rela.text"].Offset + 24 + 12, (uint)(r[".symtab"].Size / 24)), "KEDR1011", ".rela.text", 24),
        ["relocation symbol 0xffffffff"] = r => (s => Put32(s, (int)r[".rela.text"].Offset + 12, uint.MaxValue), "KEDR1011", ".rela.text", 0),
        ["relocation field past section end"] = r => (s => Put64(s, (int)r[".rela.text"].Offset + 24, r[".text"].Size - 2), "KEDR1012", ".rela.text", 24),
        ["relocation offset huge"] = r => (s => Put64(s, (int)r[".rela.text"].Offset, ulong.MaxValue - 1), "KEDR1012", ".rela.text", 0),
        [".modinfo name is a path"] = r => (s => "../x"u8.CopyTo(s[(int)NameEntry(r, "crc7")..]), "KEDR1026", ".modinfo", NameEntry(r, "crc7") - (long)r[".modinfo"].Offset - "name=".Length),
        [".modinfo name absolute"] = r => (s => "/tmp"u8.CopyTo(s[(int)NameEntry(r, "crc7")..]), "KEDR1026", ".modinfo", NameEntry(r, "crc7") - (long)r[".modinfo"].Offset - "name=".Length),
        [".modinfo name empty"] = r => (s => s[(int)NameEntry(r, "crc7")] = 0, "KEDR1026", ".modinfo", NameEntry(r, "crc7") - (long)r[".modinfo"].Offset - "name=".Length),
        [".modinfo unterminated"] = r => (s => s[(int)(r[".modinfo"].Offset + r[".modinfo"].Size - 1)] = (byte)'x', "KEDR1015", ".modinfo", LastStringStart(r, ".modinfo")),
        ["note descsz past section"] = r => (s => Put32(s, (int)r[".note.gnu.build-id"].Offset + 4, 0x1000), "KEDR1016", ".note.gnu.build-id", 0),
        ["note namesz huge"] = r => (s => Put32(s, (int)r[".note.gnu.build-id"].Offset, 0xfffffff0), "KEDR1016", ".note.gnu.build-id", 0),
        ["second note runs past .note.Linux"] = r => (s => Put32(s, (int)r[".note.Linux"].Offset + 24 + 4, 0x100), "KEDR1016", ".note.Linux", 24),
    };

    /// <summary>The file offset of the value of .modinfo's "name=<paramref name="name"/>" entry.</summary>
    private static long NameEntry(RawElf r, string name)
    {
        var mi = r[".modinfo"];
        var entry = System.Text.Encoding.ASCII.GetBytes($"name={name}\0");
        int at = r.Bytes.AsSpan((int)mi.Offset, (int)mi.Size).IndexOf(entry);
        Assert.True(at >= 0, $".modinfo has no name={name} entry");
        return (long)mi.Offset + at + "name=".Length;
    }

    private static long LastStringStart(RawElf r, string section)
    {
        var d = r.Bytes.AsSpan((int)r[section].Offset, (int)r[section].Size);
        return d[..^1].LastIndexOf((byte)0) + 1;
    }

    [Theory, MemberData(nameof(Corruptions))]
    public void Corrupted_field_gives_its_diagnostic(string name)
    {
        var r = Raw(Small);
        var (change, code, section, offset) = CorruptionCases[name](r);
        var e = Fails(r.With(change), name);
        Assert.True(code == e.Code, $"{name}: expected {code}, got {e}");
        Assert.True(section == e.Section, $"{name}: expected section {section ?? "(none)"}, got {e}");
        if (offset is not null) Assert.True(offset == e.Offset, $"{name}: expected offset 0x{offset:x}, got {e}");
        if (section is not null) Assert.Contains($": {section}", e.ToString());
    }

    [Fact]
    public void The_corruption_cases_match_the_module_layout_they_assume()
    {
        // The cases above rely on crc7.ko's layout: these facts are what they assume.
        var r = Raw(Small);
        Assert.Equal(2u, r[".symtab"].Type);
        Assert.True(r[".symtab"].Index < r[".strtab"].Index, "the two-symtabs case expects .symtab first");
        Assert.True(r[".rela.text"].Size >= 48, "two relocations in .rela.text");
        Assert.Equal((uint)r[".text"].Index, r[".rela.text"].Info);
        Assert.True(r[".note.Linux"].Size > 24 + 12, "two notes in .note.Linux");
        Assert.True(r[".strtab"].Size > 1 && r[".shstrtab"].Size > 1);
        Assert.Null(Read(r.Bytes, "pristine"));
    }

    [Fact]
    public void Modinfo_with_invalid_utf8_still_reads()
    {
        var r = Raw(Small);
        var mi = r[".modinfo"];
        var data = r.With(s => s[(int)mi.Offset + "license=".Length] = 0xff);
        var error = Read(data, "0xff in .modinfo");
        Assert.Null(error);
        ElfFile.TryRead(data, FakePath, out var elf, out _);
        Assert.Contains("\uFFFD", elf!.ModInfo("license") ?? "");
    }

    // ---- random damage ----

    /// <summary>Seeded random byte changes: anywhere, then concentrated on the headers and tables that steer parsing.</summary>
    [Theory]
    [InlineData(Medium, 1, 1500)]
    [InlineData(Small, 2, 1500)]
    public void Random_byte_flips_never_throw(string module, int seed, int iterations)
    {
        var r = Raw(module);
        var rng = new Random(seed);
        var regions = new List<(int Start, int Length)>
        {
            (0, r.Bytes.Length),
            (0, 64),
            ((int)r.ShOff, r.ShNum * 64),
            ((int)r[".symtab"].Offset, (int)r[".symtab"].Size),
            ((int)r[".rela.text"].Offset, (int)r[".rela.text"].Size),
            ((int)r[".modinfo"].Offset, (int)r[".modinfo"].Size),
            ((int)r[".note.gnu.build-id"].Offset, (int)r[".note.gnu.build-id"].Size),
        };
        var codes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int ok = 0;
        var data = new byte[r.Bytes.Length];
        for (int i = 0; i < iterations; i++)
        {
            r.Bytes.CopyTo(data, 0);
            var (start, length) = regions[i % regions.Count];
            int flips = rng.Next(1, 5);
            var changes = new List<string>();
            for (int k = 0; k < flips; k++)
            {
                int at = start + rng.Next(length);
                byte v = rng.Next(3) == 0 ? (byte)(data[at] ^ (1 << rng.Next(8))) : (byte)rng.Next(256);
                changes.Add($"[0x{at:x}]=0x{v:x2}");
                data[at] = v;
            }
            var e = Read(data, $"{module} seed {seed} iteration {i}: {string.Join(' ', changes)}");
            if (e is null) ok++;
            else codes[e.Code] = codes.GetValueOrDefault(e.Code) + 1;
        }
        output.WriteLine($"{module}: {iterations} damaged copies, {ok} still read, rejected: " +
                         string.Join(", ", codes.Select(kv => $"{kv.Key} x{kv.Value}")));
        Assert.True(codes.Count >= 5, "the damage should have hit several kinds of checks");
    }
}
