using System.Text.RegularExpressions;
using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;
using Xunit.Abstractions;
using static Kedr.Core.Tests.Blob.SampleBlob;

namespace Kedr.Core.Tests.Blob;

/// <summary>Every check of <see cref="BlobReader"/>, each broken on its own in an otherwise valid blob.</summary>
public sealed partial class BlobReaderValidationTests(ITestOutputHelper output)
{
    private const string Path = "/some/where/sample.kedr";

    private delegate byte[] Corrupt(byte[] b);

    private static byte[] Set32(byte[] b, int at, uint v) { Put32(b, at, v); return b; }
    private static byte[] Set16(byte[] b, int at, ushort v) { Put16(b, at, v); return b; }
    private static byte[] Set8(byte[] b, int at, byte v) { b[at] = v; return b; }

    /// <summary>One past the last helper and event kind the C# side knows (the layout test ties them to kedr_blob.h).</summary>
    private static readonly uint HelperCount = (uint)Enum.GetValues<BlobHelper>().Length;
    private static readonly byte KindAfterLast = (byte)(Enum.GetValues<BlobEventKind>().Max() + 1);

    private static int F(byte[] b, int i) => Entry(b, BlobTableId.Functions, i);
    private static int M(byte[] b, int i) => Entry(b, BlobTableId.Masks, i);
    private static int X(byte[] b, int i) => Entry(b, BlobTableId.Fixups, i);
    private static int S(byte[] b, int i) => Entry(b, BlobTableId.Sites, i);
    private static int P(byte[] b, int i) => Entry(b, BlobTableId.Patches, i);
    private static int E(byte[] b, int i) => Entry(b, BlobTableId.ExTable, i);
    private static int B(byte[] b, int i) => Entry(b, BlobTableId.Bugs, i);
    private static int O(byte[] b, int i) => Entry(b, BlobTableId.Orc, i);

    /// <summary>name → (corruption, code, table named, offset: a function of the pristine blob, or null if none given).</summary>
    private static readonly Dictionary<string, (Corrupt Change, string Code, string? Table, Func<byte[], long>? Offset)> Cases = new()
    {
        // header
        ["empty"] = (b => [], "KEDR3002", null, _ => 0),
        ["shorter than a 1.0 header"] = (b => b[..(HTables + 7 * 16 - 1)], "KEDR3001", null, null),
        ["shorter than the header"] = (b => b[..(BlobFormat.HeaderSize - 1)], "KEDR3001", null, null),
        ["bad magic"] = (b => Set8(b, 7, (byte)'b'), "KEDR3002", null, _ => 0),
        ["major version 2"] = (b => Set16(b, HVersionMajor, 2), "KEDR3003", null, _ => 8),
        ["major version 0"] = (b => Set16(b, HVersionMajor, 0), "KEDR3003", null, _ => 8),
        ["header_size below a 1.0 header"] = (b => Set32(b, HHeaderSize, HTables + 7 * 16 - 1), "KEDR3001", null, _ => 12),
        ["header_size too small for num_tables"] = (b => Set32(b, HHeaderSize, (uint)BlobFormat.HeaderSize - 1), "KEDR3001", null, _ => 64),
        ["header_size beyond the blob"] = (b => Set32(b, HHeaderSize, (uint)b.Length + 1), "KEDR3001", null, _ => 12),
        ["blob_size larger than the file"] = (b => Set32(b, HBlobSize, (uint)b.Length + 1), "KEDR3001", null, _ => 16),
        ["file cut by one byte"] = (b => b[..^1], "KEDR3001", null, _ => 16),
        ["flags"] = (b => Set32(b, HFlags, 4), "KEDR3004", null, _ => 20),
        ["num_tables 6"] = (b => Set32(b, HNumTables, 6), "KEDR3001", null, _ => 64),
        ["num_tables 0"] = (b => Set32(b, HNumTables, 0), "KEDR3001", null, _ => 64),
        ["num_tables one more than the header holds"] = (b => Set32(b, HNumTables, (uint)BlobFormat.TableCount + 1), "KEDR3001", null, _ => 64),
        ["num_tables huge"] = (b => Set32(b, HNumTables, uint.MaxValue), "KEDR3001", null, _ => 64),
        // table descriptors
        ["strings entsize 2"] = (b => Set32(b, TableDescriptor(BlobTableId.Strings) + 8, 2), "KEDR3005", "Strings", null),
        ["code entsize 0"] = (b => Set32(b, TableDescriptor(BlobTableId.Code) + 8, 0), "KEDR3005", "Code", null),
        ["functions entsize 47"] = (b => Set32(b, TableDescriptor(BlobTableId.Functions) + 8, 47), "KEDR3005", "Functions", null),
        ["masks entsize 7"] = (b => Set32(b, TableDescriptor(BlobTableId.Masks) + 8, 7), "KEDR3005", "Masks", null),
        ["fixups entsize 23"] = (b => Set32(b, TableDescriptor(BlobTableId.Fixups) + 8, 23), "KEDR3005", "Fixups", null),
        ["sites entsize 11"] = (b => Set32(b, TableDescriptor(BlobTableId.Sites) + 8, 11), "KEDR3005", "Sites", null),
        ["patches entsize 23"] = (b => Set32(b, TableDescriptor(BlobTableId.Patches) + 8, 23), "KEDR3005", "Patches", null),
        ["extable entsize 23"] = (b => Set32(b, TableDescriptor(BlobTableId.ExTable) + 8, 23), "KEDR3005", "ExTable", null),
        ["bugs entsize 23"] = (b => Set32(b, TableDescriptor(BlobTableId.Bugs) + 8, 23), "KEDR3005", "Bugs", null),
        ["orc entsize 11"] = (b => Set32(b, TableDescriptor(BlobTableId.Orc) + 8, 11), "KEDR3005", "Orc", null),
        ["orc runs past the end"] = (b => Set32(b, TableDescriptor(BlobTableId.Orc) + 4, 0x10000), "KEDR3005", "Orc", null),
        ["functions run past the end"] = (b => Set32(b, TableDescriptor(BlobTableId.Functions) + 4, 100), "KEDR3005", "Functions", null),
        ["code starts past the end"] = (b => Set32(b, TableDescriptor(BlobTableId.Code), (uint)b.Length - 10), "KEDR3005", "Code", null),
        ["masks inside the header"] = (b => Set32(b, TableDescriptor(BlobTableId.Masks), 100), "KEDR3005", "Masks", null),
        ["fixups count * entsize overflows 32 bits"] = (b => Set32(b, TableDescriptor(BlobTableId.Fixups) + 4, 0x0AAAAAAB), "KEDR3005", "Fixups", null),
        ["sites offset 0xffffffff"] = (b => Set32(b, TableDescriptor(BlobTableId.Sites), uint.MaxValue), "KEDR3005", "Sites", null),
        // strings and scalar header fields
        ["target_name beyond strings"] = (b => Set32(b, HTargetName, (uint)TableCount(b, BlobTableId.Strings)), "KEDR3006", null, _ => 24),
        ["target_srcversion beyond strings"] = (b => Set32(b, HSrcVersion, 100000), "KEDR3006", null, _ => 28),
        ["last string unterminated"] = (b => Set8(b, TableOffset(b, BlobTableId.Strings) + TableCount(b, BlobTableId.Strings) - 1, (byte)'x'), "KEDR3006", "Strings", b => TableOffset(b, BlobTableId.Strings) + TableCount(b, BlobTableId.Strings) - 1),
        ["function name beyond strings"] = (b => Set32(b, F(b, 1), 5000), "KEDR3006", "Functions", b => F(b, 1)),
        ["build-id length 21"] = (b => Set32(b, HBuildIdLen, 21), "KEDR3006", null, _ => 36),
        ["code_align 0"] = (b => Set32(b, HCodeAlign, 0), "KEDR3006", null, _ => 60),
        ["code_align 24"] = (b => Set32(b, HCodeAlign, 24), "KEDR3006", null, _ => 60),
        ["code_align 8192"] = (b => Set32(b, HCodeAlign, 8192), "KEDR3006", null, _ => 60),
        // functions
        ["function copy past the code"] = (b => Set32(b, F(b, 2) + 16, CodeLength - 128 + 1), "KEDR3007", "Functions", b => F(b, 2) + 12),
        ["function copy offset 0xffffffff"] = (b => Set32(b, F(b, 0) + 12, uint.MaxValue), "KEDR3007", "Functions", b => F(b, 0) + 12),
        ["function masks past the table"] = (b => Set32(b, F(b, 1) + 24, 2), "KEDR3007", "Functions", b => F(b, 1) + 20),
        ["function mask_first 0xffffffff"] = (b => Set32(b, F(b, 0) + 20, uint.MaxValue), "KEDR3007", "Functions", b => F(b, 0) + 20),
        ["function owner out of range"] = (b => Set32(b, F(b, 1) + 40, 3), "KEDR3007", "Functions", b => F(b, 1) + 40),
        ["function size 4"] = (b => Set32(b, F(b, 2) + 8, 4), "KEDR3007", "Functions", b => F(b, 2) + 8),
        ["function symidx 0"] = (b => Set32(b, F(b, 0) + 4, 0), "KEDR3007", "Functions", b => F(b, 0) + 4),
        ["function symidx = num_symtab"] = (b => Set32(b, F(b, 0) + 4, SymbolCount), "KEDR3007", "Functions", b => F(b, 0) + 4),
        ["function flags 0x4"] = (b => Set32(b, F(b, 0) + 28, 4), "KEDR3008", "Functions", b => F(b, 0) + 28),
        // masks
        ["masks unsorted"] = (b => Set32(Set32(b, M(b, 0), 10), M(b, 1), 1), "KEDR3007", "Masks", null),
        ["masks overlapping"] = (b => Set32(b, M(b, 1), 3), "KEDR3007", "Masks", null),
        ["mask past the function end"] = (b => Set32(b, M(b, 2), 12), "KEDR3007", "Masks", null),
        ["mask length 0xffffffff"] = (b => Set32(b, M(b, 0) + 4, uint.MaxValue), "KEDR3007", "Masks", null),
        // fixups
        ["fixup type 0"] = (b => Set8(b, X(b, 0) + 4, 0), "KEDR3008", "Fixups", b => X(b, 0) + 4),
        ["fixup type 4"] = (b => Set8(b, X(b, 2) + 4, 4), "KEDR3008", "Fixups", b => X(b, 2) + 4),
        ["fixup PC32 field past the code"] = (b => Set32(b, X(b, 0), CodeLength - 3), "KEDR3007", "Fixups", b => X(b, 0)),
        ["fixup ABS64 field past the code"] = (b => Set32(b, X(b, 1), CodeLength - 7), "KEDR3007", "Fixups", b => X(b, 1)),
        ["fixup offset 0xffffffff"] = (b => Set32(b, X(b, 3), uint.MaxValue), "KEDR3007", "Fixups", b => X(b, 3)),
        ["fixup symbol 0"] = (b => Set32(b, X(b, 0) + 8, 0), "KEDR3008", "Fixups", b => X(b, 0) + 5),
        ["fixup symbol = num_symtab"] = (b => Set32(b, X(b, 1) + 8, SymbolCount), "KEDR3008", "Fixups", b => X(b, 1) + 5),
        ["fixup helper past the last"] = (b => Set32(b, X(b, 2) + 8, HelperCount), "KEDR3008", "Fixups", b => X(b, 2) + 5),
        ["fixup target 0"] = (b => Set8(b, X(b, 0) + 5, 0), "KEDR3008", "Fixups", b => X(b, 0) + 5),
        ["fixup target 3"] = (b => Set8(b, X(b, 3) + 5, 3), "KEDR3008", "Fixups", b => X(b, 3) + 5),
        // sites
        ["site function out of range"] = (b => Set32(b, S(b, 1), 3), "KEDR3007", "Sites", b => S(b, 1)),
        ["site offset = function size"] = (b => Set32(b, S(b, 2) + 4, 16), "KEDR3007", "Sites", b => S(b, 2)),
        ["site kind 0"] = (b => Set8(b, S(b, 0) + 8, 0), "KEDR3008", "Sites", b => S(b, 0) + 8),
        ["site kind past the last"] = (b => Set8(b, S(b, 5) + 8, KindAfterLast), "KEDR3008", "Sites", b => S(b, 5) + 8),
        ["site kind 0xff"] = (b => Set8(b, S(b, 5) + 8, 0xff), "KEDR3008", "Sites", b => S(b, 5) + 8),
        // patches
        ["patch kind 0"] = (b => Set8(b, P(b, 0) + 16, 0), "KEDR3008", "Patches", b => P(b, 0) + 16),
        ["patch kind 4"] = (b => Set8(b, P(b, 1) + 16, 4), "KEDR3008", "Patches", b => P(b, 1) + 16), // 3 is a landing pad since 1.1
        ["patch function out of range"] = (b => Set32(b, P(b, 0) + 4, 3), "KEDR3007", "Patches", b => P(b, 0) + 4),
        ["patch site past the function end"] = (b => Set32(b, P(b, 0) + 8, 60), "KEDR3007", "Patches", b => P(b, 0) + 4),
        ["patch slot shorter than the site"] = (b => Set16(b, P(b, 0) + 14, 4), "KEDR3007", "Patches", b => P(b, 0)),
        ["patch slot past the code"] = (b => Set32(b, P(b, 0), CodeLength - 5), "KEDR3007", "Patches", b => P(b, 0)),
        ["jump label slot of 4 bytes"] = (b => Set16(b, P(b, 1) + 14, 4), "KEDR3007", "Patches", b => P(b, 1)),
        ["jump label target past the code"] = (b => Set32(b, P(b, 1) + 20, CodeLength), "KEDR3007", "Patches", b => P(b, 1)),
        // exception table, bug table, ORC (1.1)
        ["extable instruction past the code"] = (b => Set32(b, E(b, 0), CodeLength), "KEDR3007", "ExTable", b => E(b, 0)),
        ["extable fixup past the code"] = (b => Set32(b, E(b, 0) + 4, CodeLength), "KEDR3007", "ExTable", b => E(b, 0)),
        ["extable no copy and symbol 0"] = (b => Set32(b, E(b, 1) + 8, 0), "KEDR3007", "ExTable", b => E(b, 1)),
        ["extable no copy and symbol = num_symtab"] = (b => Set32(b, E(b, 1) + 8, SymbolCount), "KEDR3007", "ExTable", b => E(b, 1)),
        ["bug ud2 past the code"] = (b => Set32(b, B(b, 0), CodeLength - 1), "KEDR3007", "Bugs", b => B(b, 0)),
        ["bug file symbol = num_symtab"] = (b => Set32(b, B(b, 0) + 4, SymbolCount), "KEDR3007", "Bugs", b => B(b, 0)),
        ["orc unsorted"] = (b => Set32(b, O(b, 2), 15), "KEDR3007", "Orc", b => O(b, 2)),
        ["orc past the code"] = (b => Set32(b, O(b, 2), CodeLength + 1), "KEDR3007", "Orc", b => O(b, 2)),
        // 1.3: what the loader checks too (kmod/kedr_sample/kedr_blob.c), to agree with it on every blob
        ["target_num_symtab 0"] = (b => Set32(b, HNumSymtab, 0), "KEDR3006", null, _ => 32),
        ["function copy of 0 bytes"] = (b => Set32(b, F(b, 0) + 16, 0), "KEDR3007", "Functions", b => F(b, 0) + 12),
        ["function not a part owned by another"] = (b => Set32(b, F(b, 2) + 40, 0), "KEDR3007", "Functions", b => F(b, 2) + 40),
        ["part owning itself"] = (b => Set32(b, F(b, 1) + 40, 1), "KEDR3007", "Functions", b => F(b, 1) + 40),
        ["part owned by a part"] = (b => Set32(Set32(b, F(b, 0) + 28, 2), F(b, 0) + 40, 1), "KEDR3007", "Functions", b => F(b, 0) + 40),
        ["mask of 0 bytes"] = (b => Set32(b, M(b, 2) + 4, 0), "KEDR3007", "Masks", b => M(b, 2)),
        ["mask shared by two functions"] = (b => Set32(Set32(b, F(b, 2) + 20, 2), F(b, 2) + 24, 1), "KEDR3007", "Masks", b => M(b, 2)),
        ["helper fixup not at a call"] = (b => Set8(b, TableOffset(b, BlobTableId.Code) + 40 - 6, 0x90), "KEDR3007", "Fixups", b => X(b, 2)),
        ["function event with flags"] = (b => Set8(b, S(b, 0) + 9, 1), "KEDR3008", "Sites", b => S(b, 0) + 8),
        ["function event with a size"] = (b => Set16(b, S(b, 5) + 10, 1), "KEDR3008", "Sites", b => S(b, 5) + 8),
        ["memory event with a string flag"] = (b => Set8(b, S(b, 1) + 9, 4), "KEDR3008", "Sites", b => S(b, 1) + 8),
        ["patch site of 0 bytes"] = (b => Set16(b, P(b, 0) + 12, 0), "KEDR3007", "Patches", b => P(b, 0) + 4),
        ["jump label of 3 bytes"] = (b => Set16(b, P(b, 1) + 12, 3), "KEDR3007", "Patches", b => P(b, 1)),
        ["bug file symbol 0"] = (b => Set32(b, B(b, 0) + 4, 0), "KEDR3007", "Bugs", b => B(b, 0)),
        // what the kernel's tables accept (x86 fixup_exception(), report_bug())
        ["extable type 0 (EX_TYPE_NONE)"] = (b => Set8(b, E(b, 0) + 12, 0), "KEDR3008", "ExTable", b => E(b, 0) + 12),
        ["extable type 7 (EX_TYPE_BPF)"] = (b => Set8(b, E(b, 0) + 12, 7), "KEDR3008", "ExTable", b => E(b, 0) + 12),
        ["extable type 21 (past EX_TYPE_ZEROPAD)"] = (b => Set8(b, E(b, 1) + 12, 21), "KEDR3008", "ExTable", b => E(b, 1) + 12),
        ["extable flag 4"] = (b => Set8(b, E(b, 1) + 13, 0x40), "KEDR3008", "ExTable", b => E(b, 1) + 12),
        ["bug flag 0x10"] = (b => Set16(b, B(b, 0) + 18, 0x0911), "KEDR3008", "Bugs", b => B(b, 0) + 18),
        ["bug taint 19 (TAINT_FLAGS_COUNT)"] = (b => Set16(b, B(b, 0) + 18, 0x1301), "KEDR3008", "Bugs", b => B(b, 0) + 18),
        // the checksum (1.3): these are not sealed again
        ["checksum: a code byte flipped"] = (b => Set8(b, TableOffset(b, BlobTableId.Code) + 3, (byte)~b[TableOffset(b, BlobTableId.Code) + 3]), "KEDR3009", "Checksum", b => TableOffset(b, BlobTableId.Checksum)),
        ["checksum: an extable type changed"] = (b => Set8(b, E(b, 0) + 12, 3), "KEDR3009", "Checksum", b => TableOffset(b, BlobTableId.Checksum)),
        ["checksum: a bug flag changed"] = (b => Set16(b, B(b, 0) + 18, 0x0903), "KEDR3009", "Checksum", b => TableOffset(b, BlobTableId.Checksum)),
        ["checksum: the checksum flipped"] = (b => Set8(b, TableOffset(b, BlobTableId.Checksum), (byte)~b[TableOffset(b, BlobTableId.Checksum)]), "KEDR3009", "Checksum", b => TableOffset(b, BlobTableId.Checksum)),
        ["checksum: the minor version lowered"] = (b => Set16(b, HVersionMinor, 2), "KEDR3009", "Checksum", b => TableOffset(b, BlobTableId.Checksum)),
        ["checksum: count 0"] = (b => Set32(b, TableDescriptor(BlobTableId.Checksum) + 4, 0), "KEDR3009", "Checksum", b => TableDescriptor(BlobTableId.Checksum) + 4),
        ["checksum: a 1.3 blob without one"] = (b => Set32(Set32(b, HNumTables, 10), HHeaderSize, 68 + 160), "KEDR3009", null, _ => 64),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [GeneratedRegex(@"^KEDR3\d{3}$")] private static partial Regex Kedr3xxx();

    private static KedrDiagnostic? TryRead(byte[] bytes, string context)
    {
        KedrBlob? blob;
        KedrDiagnostic? error;
        try { BlobReader.TryRead(bytes, Path, out blob, out error); }
        catch (Exception e) { throw new Xunit.Sdk.XunitException($"{context}: TryRead threw {e}"); }
        Assert.True((blob is null) != (error is null), $"{context}: exactly one of blob and error expected");
        if (error is not null)
        {
            Assert.Matches(Kedr3xxx(), error.Code);
            Assert.Equal(Path, error.File);
            Assert.StartsWith(Path + ": ", error.ToString());
            Assert.DoesNotContain('\n', error.ToString());
        }
        return error;
    }

    [Fact]
    public void The_sample_is_valid() => Assert.Null(TryRead(Bytes(), "pristine"));

    [Theory, MemberData(nameof(CaseNames))]
    public void Each_check_reports_its_code(string name)
    {
        var (change, code, table, offset) = Cases[name];
        var pristine = Bytes();
        var changed = change((byte[])pristine.Clone());
        if (!name.StartsWith("checksum:", StringComparison.Ordinal)) changed = Seal(changed);
        var e = TryRead(changed, name);
        Assert.True(e is not null, $"{name}: accepted");
        Assert.True(code == e!.Code, $"{name}: expected {code}, got {e}");
        Assert.True(table == e.Section, $"{name}: expected table {table ?? "(none)"}, got {e}");
        if (offset is not null) Assert.True(offset(pristine) == e.Offset, $"{name}: expected offset 0x{offset(pristine):x}, got {e}");
    }

    [Fact]
    public void Random_damage_never_throws()
    {
        var pristine = Bytes();
        var rng = new Random(3);
        var codes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int accepted = 0;
        for (int i = 0; i < 20000; i++)
        {
            var b = (byte[])pristine.Clone();
            // Half the time in the header and tables, where the checks are.
            int limit = i % 2 == 0 ? TableOffset(pristine, BlobTableId.Code) : b.Length;
            int n = 1 + rng.Next(3);
            for (int k = 0; k < n; k++) b[rng.Next(limit)] = (byte)rng.Next(256);
            if (i % 7 == 0) b = b[..rng.Next(b.Length)];
            if (i % 4 != 0) b = Seal(b); // else the checksum refuses nearly all
            var e = TryRead(b, $"seed 3 iteration {i}");
            if (e is null) accepted++;
            else codes[e.Code] = codes.GetValueOrDefault(e.Code) + 1;
        }
        output.WriteLine($"20000 damaged blobs: {accepted} accepted; " + string.Join(", ", codes.Select(kv => $"{kv.Key} x{kv.Value}")));
        Assert.Equal(9, codes.Count);
    }

    [Fact]
    public void Read_of_a_missing_file_is_KEDR3000()
    {
        var e = Assert.Throws<KedrException>(() => BlobReader.Read("/nonexistent/kedr/x.kedr"));
        Assert.Equal("KEDR3000", e.Diagnostic.Code);
        Assert.Equal("/nonexistent/kedr/x.kedr", e.Diagnostic.File);
    }
}
