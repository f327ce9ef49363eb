using System.Buffers.Binary;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Kedr.Core.Blob;
using Kedr.Core.Tests.Support;
using Kedr.Tests.Shared;

namespace Kedr.Core.Tests.Blob;

/// <summary>
/// kmod/kedr_blob.h and the C# side agree. Every struct field and every KEDR_ constant of the header
/// is found by scanning the header, compiled with the host's <c>cc</c> (userspace branch of the header)
/// to get its offset, size and value, and compared with the bytes <see cref="BlobWriter"/> writes and
/// with <see cref="BlobFormat"/> and the enums. A field or constant added on one side only fails.
/// </summary>
public sealed partial class BlobLayoutTests
{
    private static readonly Lazy<CHeaderLayout> s_layout = new(() => CHeaderLayout.Probe(HeaderPath, TestEnvironment.Run));

    private static string HeaderPath => Path.Combine(TestEnvironment.RepoRoot, "kmod", "kedr_blob.h");

    private static (List<(string Struct, List<string> Fields)> Structs, List<string> Constants) ScanHeader()
    {
        var (structs, constants) = CHeaderLayout.Scan(HeaderPath);
        return (structs, constants.Select(c => c.Name).ToList());
    }

    [Fact]
    public void The_header_scan_finds_what_it_should()
    {
        var (structs, constants) = ScanHeader();
        Assert.Subset(structs.Select(s => s.Struct).ToHashSet(),
            new HashSet<string> { "kedr_blob_table", "kedr_blob_header", "kedr_blob_func", "kedr_blob_mask", "kedr_blob_fixup", "kedr_blob_site", "kedr_blob_patch" });
        Assert.Contains("KEDR_EV_READ_WRITE", constants);
        Assert.Contains("KEDR_BLOB_MAGIC", constants);
        Assert.Equal(s_layout.Value.Fields.Count, structs.Sum(s => s.Fields.Count));
    }

    [Fact]
    public void Struct_sizes_match_BlobFormat()
    {
        var expected = new Dictionary<string, int>
        {
            ["kedr_blob_table"] = BlobFormat.TableSize,
            ["kedr_blob_header"] = BlobFormat.HeaderSize,
            ["kedr_blob_func"] = BlobFormat.FunctionSize,
            ["kedr_blob_mask"] = BlobFormat.MaskSize,
            ["kedr_blob_fixup"] = BlobFormat.FixupSize,
            ["kedr_blob_site"] = BlobFormat.SiteSize,
            ["kedr_blob_patch"] = BlobFormat.PatchSize,
            ["kedr_blob_extable"] = BlobFormat.ExTableSize,
            ["kedr_blob_bug"] = BlobFormat.BugSize,
            ["kedr_blob_orc"] = BlobFormat.OrcSize,
            ["kedr_blob_import"] = BlobFormat.ImportSize,
            ["kedr_blob_call"] = BlobFormat.CallSize,
            ["kedr_blob_probe"] = BlobFormat.ProbeSize,
        };
        var c = s_layout.Value.Sizes;
        var missing = c.Keys.Except(expected.Keys).ToList();
        Assert.True(missing.Count == 0, $"kedr_blob.h has struct(s) {string.Join(", ", missing)} that the C# side does not mirror: " +
            "add the sizes to BlobFormat, the reader and writer, and this test's expectations");
        foreach (var (s, size) in expected)
            Assert.True(c[s] == size, $"sizeof(struct {s}) is {c[s]} in C, {size} in BlobFormat");
    }

    /// <summary>No implicit padding, no field the scan missed: the fields tile each struct.</summary>
    [Fact]
    public void Fields_tile_each_struct()
    {
        var layout = s_layout.Value;
        foreach (var g in layout.Fields.GroupBy(f => f.Struct))
        {
            int pos = 0;
            foreach (var f in g.OrderBy(f => f.Offset))
            {
                Assert.True(f.Offset == pos, $"struct {g.Key}: {f.Name} at {f.Offset}, expected {pos} (a hole: padding or an unlisted field)");
                pos += f.Size;
            }
            Assert.True(pos == layout.Sizes[g.Key], $"struct {g.Key}: fields end at {pos}, sizeof is {layout.Sizes[g.Key]}");
        }
    }

    // ---- the bytes BlobWriter writes, read at the C offsets ----

    private sealed record Str(string Value);

    private static KedrBlob Probe() => new()
    {
        Target = new BlobTarget("probe_name", "probe_srcversion", 0x0A0B0C0D, Enumerable.Range(0xc0, 20).Select(i => (byte)i).ToArray()),
        CodeAlign = 64,
        VersionMinor = 0x0203,
        Flags = (BlobHeaderFlags)0x1F1E1D1C,
        Code = new byte[64],
        Functions = [.. Enumerable.Range(0, 2).Select(k => new BlobFunction($"probe_fn{k}", 0x51000001u + (uint)k * 16, 0x52000002u + (uint)k * 16,
            0x53000003u + (uint)k * 16, 0x54000004u + (uint)k * 16, 0x55000005u + (uint)k * 16, 0x56000006u + (uint)k * 16,
            (BlobFunctionFlags)(0x57000007u + (uint)k * 16), 0x5908070605040302UL + (ulong)k * 16, 0x5A00000Au + (uint)k * 16))],
        Masks = [.. Enumerable.Range(0, 2).Select(k => new BlobMask(0x61000001u + (uint)k * 16, 0x62000002u + (uint)k * 16))],
        Fixups = [.. Enumerable.Range(0, 2).Select(k => new BlobFixup(0x71000001u + (uint)k * 16, (BlobFixupType)(0x72 + k), (BlobFixupTarget)(0x73 + k),
            0x74000004u + (uint)k * 16, -0x123456789L - k))],
        Sites = [.. Enumerable.Range(0, 2).Select(k => new BlobSite(0x81000001u + (uint)k * 16, 0x82000002u + (uint)k * 16, (BlobEventKind)(0x83 + k),
            (BlobSiteFlags)(0x84 + k), (ushort)(0x8586 + k)))],
        Patches = [.. Enumerable.Range(0, 2).Select(k => new BlobPatch(0x91000001u + (uint)k * 16, 0x92000002u + (uint)k * 16, 0x93000003u + (uint)k * 16,
            (ushort)(0x9494 + k), (ushort)(0x9595 + k), (BlobPatchKind)(0x96 + k), 0x97000007u + (uint)k * 16))],
        ExTable = [.. Enumerable.Range(0, 2).Select(k => new BlobExTableEntry(0xA1000001u + (uint)k * 16, 0xA2000002u + (uint)k * 16,
            0xA3000003u + (uint)k * 16, -0x2233445566L - k, 0xA4000004u + (uint)k * 16))],
        Bugs = [.. Enumerable.Range(0, 2).Select(k => new BlobBug(0xB1000001u + (uint)k * 16, 0xB2000002u + (uint)k * 16,
            unchecked((long)0xB3B4B5B6B7B8B9BAUL) + k, (ushort)(0xBBBB + k), (ushort)(0xBCBC + k)))],
        Orc = [.. Enumerable.Range(0, 2).Select(k => new BlobOrc(0xC1000001u + (uint)k * 16, 0xC7C6C5C4C3C2UL + (ulong)k))],
        Imports = [.. Enumerable.Range(0, 2).Select(k => new BlobImport($"probe_import{k}", 0xD1000001u + (uint)k * 16, 0xD2000002u + (uint)k * 16, (BlobImportFlags)(0xD3000003u + (uint)k * 16)))],
        Calls = [.. Enumerable.Range(0, 2).Select(k => new BlobImportCall(0xE1000001u + (uint)k * 16, 0xE2000002u + (uint)k * 16,
            0xE3000003u + (uint)k * 16, 0xE4000004u + (uint)k * 16))],
        Probes = [.. Enumerable.Range(0, 2).Select(k => new BlobProbe(0xF1000001u + (uint)k * 16, 0xF2000002u + (uint)k * 16,
            0xF3000003u + (uint)k * 16, 0xF4000004u + (uint)k * 16, (ushort)(0xF5F5 + k)))],
    };

    /// <summary>What each field holds in the probe blob, entry <c>k</c>: a number, bytes, or a string of the string table.</summary>
    private static Dictionary<string, Func<int, object>> Expectations(CHeaderLayout c, int blobLength) => new()
    {
        ["kedr_blob_header.magic"] = _ => "KEDRBLOB"u8.ToArray(),
        ["kedr_blob_header.version_major"] = _ => 1UL,
        ["kedr_blob_header.version_minor"] = _ => 0x0203UL,
        ["kedr_blob_header.header_size"] = _ => (ulong)c.Sizes["kedr_blob_header"],
        ["kedr_blob_header.blob_size"] = _ => (ulong)blobLength,
        ["kedr_blob_header.flags"] = _ => 0x1F1E1D1CUL,
        ["kedr_blob_header.target_name"] = _ => new Str("probe_name"),
        ["kedr_blob_header.target_srcversion"] = _ => new Str("probe_srcversion"),
        ["kedr_blob_header.target_num_symtab"] = _ => 0x0A0B0C0DUL,
        ["kedr_blob_header.target_build_id_len"] = _ => 20UL,
        ["kedr_blob_header.target_build_id"] = _ => Enumerable.Range(0xc0, 20).Select(i => (byte)i).ToArray(),
        ["kedr_blob_header.code_align"] = _ => 64UL,
        // The header ends with the table array: num_tables is its length in the current version.
        ["kedr_blob_header.num_tables"] = _ => (ulong)(c.Fields.Single(f => f.Struct == "kedr_blob_header" && f.Name == "tables").Size / c.Sizes["kedr_blob_table"]),
        ["kedr_blob_header.tables"] = _ => TablesChecked,
        // Table descriptors: entry k is table k.
        ["kedr_blob_table.offset"] = _ => TablesChecked,
        ["kedr_blob_table.count"] = k => (ulong)TableCount(c, k),
        ["kedr_blob_table.entsize"] = k => (ulong)TableEntsize(c, k),
        ["kedr_blob_table.reserved"] = _ => 0UL,
        ["kedr_blob_func.name"] = k => new Str($"probe_fn{k}"),
        ["kedr_blob_func.symidx"] = k => 0x51000001UL + (ulong)k * 16,
        ["kedr_blob_func.size"] = k => 0x52000002UL + (ulong)k * 16,
        ["kedr_blob_func.copy_offset"] = k => 0x53000003UL + (ulong)k * 16,
        ["kedr_blob_func.copy_size"] = k => 0x54000004UL + (ulong)k * 16,
        ["kedr_blob_func.mask_first"] = k => 0x55000005UL + (ulong)k * 16,
        ["kedr_blob_func.mask_count"] = k => 0x56000006UL + (ulong)k * 16,
        ["kedr_blob_func.flags"] = k => 0x57000007UL + (ulong)k * 16,
        ["kedr_blob_func.digest"] = k => 0x5908070605040302UL + (ulong)k * 16,
        ["kedr_blob_func.owner"] = k => 0x5A00000AUL + (ulong)k * 16,
        ["kedr_blob_func.reserved"] = _ => 0UL,
        ["kedr_blob_mask.offset"] = k => 0x61000001UL + (ulong)k * 16,
        ["kedr_blob_mask.length"] = k => 0x62000002UL + (ulong)k * 16,
        ["kedr_blob_fixup.offset"] = k => 0x71000001UL + (ulong)k * 16,
        ["kedr_blob_fixup.type"] = k => 0x72UL + (ulong)k,
        ["kedr_blob_fixup.target"] = k => 0x73UL + (ulong)k,
        ["kedr_blob_fixup.reserved"] = _ => 0UL,
        ["kedr_blob_fixup.index"] = k => 0x74000004UL + (ulong)k * 16,
        ["kedr_blob_fixup.reserved2"] = _ => 0UL,
        ["kedr_blob_fixup.addend"] = k => (ulong)(-0x123456789L - k),
        ["kedr_blob_site.func"] = k => 0x81000001UL + (ulong)k * 16,
        ["kedr_blob_site.offset"] = k => 0x82000002UL + (ulong)k * 16,
        ["kedr_blob_site.kind"] = k => 0x83UL + (ulong)k,
        ["kedr_blob_site.flags"] = k => 0x84UL + (ulong)k,
        ["kedr_blob_site.size"] = k => 0x8586UL + (ulong)k,
        ["kedr_blob_patch.copy_offset"] = k => 0x91000001UL + (ulong)k * 16,
        ["kedr_blob_patch.func"] = k => 0x92000002UL + (ulong)k * 16,
        ["kedr_blob_patch.orig_offset"] = k => 0x93000003UL + (ulong)k * 16,
        ["kedr_blob_patch.length"] = k => 0x9494UL + (ulong)k,
        ["kedr_blob_patch.slot_length"] = k => 0x9595UL + (ulong)k,
        ["kedr_blob_patch.kind"] = k => 0x96UL + (ulong)k,
        ["kedr_blob_patch.reserved"] = _ => new byte[3],
        ["kedr_blob_patch.target_copy_offset"] = k => 0x97000007UL + (ulong)k * 16,
        ["kedr_blob_extable.insn_copy"] = k => 0xA1000001UL + (ulong)k * 16,
        ["kedr_blob_extable.fixup_copy"] = k => 0xA2000002UL + (ulong)k * 16,
        ["kedr_blob_extable.fixup_symidx"] = k => 0xA3000003UL + (ulong)k * 16,
        ["kedr_blob_extable.data"] = k => 0xA4000004UL + (ulong)k * 16,
        ["kedr_blob_extable.fixup_addend"] = k => (ulong)(-0x2233445566L - k),
        ["kedr_blob_bug.copy_offset"] = k => 0xB1000001UL + (ulong)k * 16,
        ["kedr_blob_bug.file_symidx"] = k => 0xB2000002UL + (ulong)k * 16,
        ["kedr_blob_bug.file_addend"] = k => 0xB3B4B5B6B7B8B9BAUL + (ulong)k,
        ["kedr_blob_bug.line"] = k => 0xBBBBUL + (ulong)k,
        ["kedr_blob_bug.flags"] = k => 0xBCBCUL + (ulong)k,
        ["kedr_blob_bug.reserved"] = _ => 0UL,
        ["kedr_blob_orc.copy_offset"] = k => 0xC1000001UL + (ulong)k * 16,
        ["kedr_blob_orc.entry"] = k => new byte[] { (byte)(0xC2 + k), 0xC3, 0xC4, 0xC5, 0xC6, 0xC7 },
        ["kedr_blob_orc.reserved"] = _ => 0UL,
        ["kedr_blob_import.name"] = k => new Str($"probe_import{k}"),
        ["kedr_blob_import.symidx"] = k => 0xD1000001UL + (ulong)k * 16,
        ["kedr_blob_import.stub_offset"] = k => 0xD2000002UL + (ulong)k * 16,
        ["kedr_blob_import.flags"] = k => 0xD3000003UL + (ulong)k * 16,
        ["kedr_blob_call.ret_offset"] = k => 0xE1000001UL + (ulong)k * 16,
        ["kedr_blob_call.func"] = k => 0xE2000002UL + (ulong)k * 16,
        ["kedr_blob_call.orig_offset"] = k => 0xE3000003UL + (ulong)k * 16,
        ["kedr_blob_call.import"] = k => 0xE4000004UL + (ulong)k * 16,
        ["kedr_blob_probe.func"] = k => 0xF1000001UL + (ulong)k * 16,
        ["kedr_blob_probe.offset"] = k => 0xF2000002UL + (ulong)k * 16,
        ["kedr_blob_probe.copy_offset"] = k => 0xF3000003UL + (ulong)k * 16,
        ["kedr_blob_probe.site"] = k => 0xF4000004UL + (ulong)k * 16,
        ["kedr_blob_probe.length"] = k => 0xF5F5UL + (ulong)k,
        ["kedr_blob_probe.reserved"] = _ => 0UL,
    };

    /// <summary>Checked through the entries found at that offset.</summary>
    private static readonly object TablesChecked = new();

    private static readonly Dictionary<string, string> TableStructs = new()
    {
        ["KEDR_TABLE_FUNCTIONS"] = "kedr_blob_func",
        ["KEDR_TABLE_MASKS"] = "kedr_blob_mask",
        ["KEDR_TABLE_FIXUPS"] = "kedr_blob_fixup",
        ["KEDR_TABLE_SITES"] = "kedr_blob_site",
        ["KEDR_TABLE_PATCHES"] = "kedr_blob_patch",
        ["KEDR_TABLE_EXTABLE"] = "kedr_blob_extable",
        ["KEDR_TABLE_BUGS"] = "kedr_blob_bug",
        ["KEDR_TABLE_ORC"] = "kedr_blob_orc",
        ["KEDR_TABLE_IMPORTS"] = "kedr_blob_import",
        ["KEDR_TABLE_CALLS"] = "kedr_blob_call",
        ["KEDR_TABLE_PROBES"] = "kedr_blob_probe",
    };

    private static int TableIndex(CHeaderLayout c, string name) => (int)c.Constants[name];

    private static int TableCount(CHeaderLayout c, int t) =>
        t == TableIndex(c, "KEDR_TABLE_CODE") ? 64 : t == TableIndex(c, "KEDR_TABLE_STRINGS") ? -1
        : t == TableIndex(c, "KEDR_TABLE_CHECKSUM") ? 1 : 2;

    private static int TableEntsize(CHeaderLayout c, int t) => t == TableIndex(c, "KEDR_TABLE_CHECKSUM") ? 4 :
        TableStructs.Where(kv => TableIndex(c, kv.Key) == t).Select(kv => c.Sizes[kv.Value]).DefaultIfEmpty(1).First();

    [Fact]
    public void BlobWriter_puts_every_field_at_its_C_offset()
    {
        var c = s_layout.Value;
        var bytes = BlobWriter.WriteUnverified(Probe());
        var expect = Expectations(c, bytes.Length);
        var cFields = c.Fields.Select(f => $"{f.Struct}.{f.Name}").ToHashSet();
        Assert.True(cFields.SetEquals(expect.Keys),
            "every field of kedr_blob.h needs a value BlobWriter writes for it in Expectations(): " +
            $"fields in kedr_blob.h only: {string.Join(", ", cFields.Except(expect.Keys))}; in the test only: {string.Join(", ", expect.Keys.Except(cFields))}");

        CField Field(string s, string f) => c.Fields.Single(x => x.Struct == s && x.Name == f);
        var tablesAt = Field("kedr_blob_header", "tables").Offset;
        int tableSize = c.Sizes["kedr_blob_table"];
        int Descriptor(string table, string field) =>
            (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(tablesAt + TableIndex(c, table) * tableSize + Field("kedr_blob_table", field).Offset));
        int stringsAt = Descriptor("KEDR_TABLE_STRINGS", "offset"), stringsLen = Descriptor("KEDR_TABLE_STRINGS", "count");

        void Check(string s, int k, int entryBase)
        {
            foreach (var f in c.Fields.Where(f => f.Struct == s))
            {
                var what = $"struct {s} [{k}] .{f.Name} (C offset {f.Offset}, {f.Size} bytes)";
                var actual = bytes.AsSpan(entryBase + f.Offset, f.Size);
                switch (expect[$"{s}.{f.Name}"](k))
                {
                    case ulong v:
                        Assert.True(f.Size is 1 or 2 or 4 or 8, $"{what}: unexpected width");
                        ulong got = 0;
                        for (int i = f.Size - 1; i >= 0; i--) got = got << 8 | actual[i];
                        ulong want = f.Size == 8 ? v : v & ((1UL << (8 * f.Size)) - 1);
                        Assert.True(want == v, $"{what}: the expected value 0x{v:x} does not fit the C field");
                        Assert.True(got == want, $"{what}: BlobWriter wrote 0x{got:x}, expected 0x{want:x}");
                        break;
                    case byte[] v:
                        Assert.True(actual.SequenceEqual(v), $"{what}: BlobWriter wrote {Convert.ToHexString(actual)}, expected {Convert.ToHexString(v)}");
                        break;
                    case Str v:
                        Assert.Equal(4, f.Size);
                        uint off = BinaryPrimitives.ReadUInt32LittleEndian(actual);
                        Assert.True(off < stringsLen, $"{what}: string offset {off} outside the strings table");
                        var str = bytes.AsSpan(stringsAt + (int)off, stringsLen - (int)off);
                        Assert.Equal(v.Value, Encoding.UTF8.GetString(str[..str.IndexOf((byte)0)]));
                        break;
                    default:
                        Assert.Same(TablesChecked, expect[$"{s}.{f.Name}"](k));
                        break;
                }
            }
        }

        Check("kedr_blob_header", 0, 0);
        int numTables = Field("kedr_blob_header", "tables").Size / tableSize;
        Assert.Equal(c.Sizes["kedr_blob_header"], Field("kedr_blob_header", "tables").Offset + numTables * tableSize);
        for (int t = 0; t < numTables; t++)
        {
            if (t == TableIndex(c, "KEDR_TABLE_STRINGS"))
            {
                // Its count is whatever the strings need; the names checked above were found in it.
                Assert.Equal(1, Descriptor("KEDR_TABLE_STRINGS", "entsize"));
                continue;
            }
            Check("kedr_blob_table", t, tablesAt + t * tableSize);
        }
        foreach (var (table, s) in TableStructs)
            for (int k = 0; k < 2; k++)
                Check(s, k, Descriptor(table, "offset") + k * Descriptor(table, "entsize"));
        int codeAt = Descriptor("KEDR_TABLE_CODE", "offset");
        Assert.True(codeAt + 64 <= bytes.Length);
    }

    // ---- constants ----

    private static readonly (string Prefix, Type Enum)[] EnumPrefixes =
    [
        ("KEDR_TABLE_", typeof(BlobTableId)),
        ("KEDR_FUNC_", typeof(BlobFunctionFlags)),
        ("KEDR_FIXUP_", typeof(BlobFixupType)),
        ("KEDR_TARGET_", typeof(BlobFixupTarget)),
        ("KEDR_HELPER_", typeof(BlobHelper)),
        ("KEDR_EV_", typeof(BlobEventKind)),
        ("KEDR_SITE_", typeof(BlobSiteFlags)),
        ("KEDR_PATCH_", typeof(BlobPatchKind)),
        ("KEDR_IMPORT_", typeof(BlobImportFlags)),
    ];

    /// <summary>C names whose C# member is not simply the PascalCase of the rest.</summary>
    private static readonly Dictionary<string, string> MemberAliases = new()
    {
        ["KEDR_SITE_SP"] = nameof(BlobSiteFlags.StackPointer),
        ["KEDR_SITE_STR_SRC_READ"] = nameof(BlobSiteFlags.StringSourceRead),
        ["KEDR_SITE_STR_DST_READ"] = nameof(BlobSiteFlags.StringDestinationRead),
        ["KEDR_SITE_STR_DST_WRITE"] = nameof(BlobSiteFlags.StringDestinationWrite),
    };

    [Fact]
    public void Every_constant_matches_the_CSharp_side()
    {
        var c = s_layout.Value;
        Assert.Equal(Encoding.ASCII.GetString(BlobFormat.Magic), c.Strings["KEDR_BLOB_MAGIC"]);
        var scalars = new Dictionary<string, ulong>
        {
            ["KEDR_BLOB_MAGIC_LEN"] = (ulong)BlobFormat.Magic.Length,
            ["KEDR_BLOB_VERSION_MAJOR"] = BlobFormat.VersionMajor,
            ["KEDR_BLOB_VERSION_MINOR"] = BlobFormat.VersionMinor,
            ["KEDR_BLOB_WORD_DIGEST"] = (ulong)BlobHeaderFlags.WordDigest,
            ["KEDR_BLOB_CALL_ORC"] = (ulong)BlobHeaderFlags.CallOrc,
            ["KEDR_BLOB_KNOWN_FLAGS"] = (ulong)BlobFormat.KnownHeaderFlags,
            ["KEDR_BUILD_ID_MAX"] = BlobFormat.BuildIdMax,
            ["KEDR_DIGEST_SEED"] = BlobFormat.DigestSeed,
            ["KEDR_DIGEST_PRIME"] = BlobFormat.DigestPrime,
            ["KEDR_TABLE_COUNT_V1"] = BlobFormat.TableCountV1,
            ["KEDR_TABLE_COUNT_V1_1"] = BlobFormat.TableCountV1_1,
            ["KEDR_TABLE_COUNT_V1_3"] = BlobFormat.TableCountV1_3,
            ["KEDR_TABLE_COUNT_V1_4"] = BlobFormat.TableCountV1_4,
            ["KEDR_TABLE_COUNT_V1_5"] = BlobFormat.TableCount,
            ["KEDR_PROBE_CALL_SIZE"] = BlobFormat.ProbeCallSize,
            ["KEDR_STUB_SIZE"] = BlobFormat.StubSize,
            ["KEDR_BLOB_CHECKSUM_MINOR"] = BlobFormat.ChecksumMinor,
            ["KEDR_EX_TYPE_MASK"] = BlobFormat.ExTypeMask,
            ["KEDR_EX_TYPE_MIN"] = BlobFormat.ExTypeMin,
            ["KEDR_EX_TYPE_MAX"] = BlobFormat.ExTypeMax,
            ["KEDR_EX_TYPE_BPF"] = BlobFormat.ExTypeBpf,
            ["KEDR_EX_FLAG_MASK"] = BlobFormat.ExFlagMask,
            ["KEDR_EX_FLAG_SHIFT"] = BlobFormat.ExFlagShift,
            ["KEDR_EX_FLAG_MAX"] = BlobFormat.ExFlagMax,
            ["KEDR_BUG_KNOWN_FLAGS"] = BlobFormat.BugKnownFlags,
            ["KEDR_BUG_TAINT_SHIFT"] = BlobFormat.BugTaintShift,
            ["KEDR_BUG_TAINT_COUNT"] = BlobFormat.BugTaintCount,
            ["KEDR_NO_COPY"] = BlobFormat.NoCopy,
            ["KEDR_HELPER_COUNT_V1"] = BlobFormat.HelperCountV1,
            ["KEDR_HELPER_COUNT_V1_5"] = BlobFormat.HelperCount,
            ["KEDR_IMPORT_KNOWN_FLAGS"] = (ulong)BlobFormat.KnownImportFlags,
        };
        // The rules bound helper indices by HelperCount: the enum has exactly those values.
        Assert.Equal(Enumerable.Range(0, (int)BlobFormat.HelperCount).Select(i => (BlobHelper)i), Enum.GetValues<BlobHelper>());
        var unmatched = new List<string>();
        var seen = new HashSet<(Type, string)>();
        foreach (var (name, value) in c.Constants)
        {
            if (scalars.TryGetValue(name, out var want))
            {
                Assert.True(want == value, $"{name} is {value} in kedr_blob.h, {want} in C#");
                continue;
            }
            var (prefix, type) = EnumPrefixes.FirstOrDefault(p => name.StartsWith(p.Prefix, StringComparison.Ordinal));
            var member = type is null ? null : Enum.GetNames(type).FirstOrDefault(n => MemberAliases.TryGetValue(name, out var alias)
                ? n == alias : string.Equals(n, name[prefix.Length..].Replace("_", ""), StringComparison.OrdinalIgnoreCase));
            if (member is null) { unmatched.Add(name); continue; }
            var csValue = Convert.ToUInt64(Enum.Parse(type!, member), CultureInfo.InvariantCulture);
            Assert.True(csValue == value, $"{name} is {value} in kedr_blob.h, {type!.Name}.{member} is {csValue}");
            seen.Add((type!, member));
        }
        Assert.True(unmatched.Count == 0, $"kedr_blob.h constants with no C# counterpart: {string.Join(", ", unmatched)}");
        foreach (var (_, type) in EnumPrefixes)
            foreach (var member in Enum.GetNames(type).Where(n => n != "None"))
                Assert.True(seen.Contains((type, member)), $"{type.Name}.{member} has no constant in kedr_blob.h");
    }

    // ---- the layout description (BlobLayout), field by field ----

    private static (List<DescribedField> Fields, Dictionary<string, int> Sizes) Description() => CLayoutDescription.Read(typeof(BlobLayout));

    private static List<string> Mismatches(CHeaderLayout c, List<DescribedField> fields, Dictionary<string, int> sizes) =>
        CLayoutDescription.Mismatches(c, fields, sizes, "BlobLayout", "kedr_blob.h");

    [Fact]
    public void The_layout_description_matches_the_C_header_field_by_field()
    {
        var c = s_layout.Value;
        var (fields, sizes) = Description();
        Assert.True(fields.Count >= c.Fields.Count, $"BlobLayout describes {fields.Count} fields, kedr_blob.h has {c.Fields.Count}");
        var problems = Mismatches(c, fields, sizes);
        Assert.True(problems.Count == 0, "BlobLayout and kmod/kedr_blob.h disagree:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void The_layout_description_derived_values_match_the_C_header()
    {
        var c = s_layout.Value;
        CField Field(string s, string f) => c.Fields.Single(x => x.Struct == s && x.Name == f);
        int tablesAt = Field("kedr_blob_header", "tables").Offset, tableSize = c.Sizes["kedr_blob_table"];
        Assert.Equal(BlobLayout.Header.Size, c.Sizes["kedr_blob_header"]);
        Assert.Equal(BlobLayout.Header.SizeV1, tablesAt + (int)c.Constants["KEDR_TABLE_COUNT_V1"] * tableSize);
        for (int t = 0; t < (int)c.Constants["KEDR_TABLE_COUNT_V1_5"]; t++)
            Assert.Equal(tablesAt + t * tableSize, BlobLayout.Header.TableAt(t));
        // Entry sizes by table id: each table's struct (enum kedr_blob_table_id's comments), one __le32 for the
        // checksum, exactly 1 for the tables of bytes.
        var entry = BlobLayout.EntrySizes;
        Assert.Equal((int)c.Constants["KEDR_TABLE_COUNT_V1_5"], entry.Length);
        foreach (var (table, st) in TableStructs)
            Assert.True(entry[TableIndex(c, table)] == c.Sizes[st], $"EntrySizes[{table}] is {entry[TableIndex(c, table)]}, sizeof(struct {st}) {c.Sizes[st]}");
        Assert.Equal(sizeof(uint), entry[TableIndex(c, "KEDR_TABLE_CHECKSUM")]);
        foreach (var bytes in new[] { "KEDR_TABLE_STRINGS", "KEDR_TABLE_CODE" })
        {
            Assert.Equal(1, entry[TableIndex(c, bytes)]);
            Assert.True(BlobLayout.IsByteTable(TableIndex(c, bytes)), bytes);
        }
        Assert.Equal(2, Enumerable.Range(0, entry.Length).Count(BlobLayout.IsByteTable));
        // BlobWriter stores the ORC entry with one 8-byte store: it must end at the struct's end.
        var orcEntry = Field("kedr_blob_orc", "entry");
        Assert.Equal(BlobLayout.Orc.EntryLength, orcEntry.Size);
        Assert.Equal(c.Sizes["kedr_blob_orc"], orcEntry.Offset + sizeof(ulong));
    }

    /// <summary>A field moved, resized, dropped or added, or a struct resized, on the C# side is caught, naming it.</summary>
    [Fact]
    public void A_field_moved_on_the_CSharp_side_fails_the_comparison()
    {
        var c = s_layout.Value;
        var (fields, sizes) = Description();
        CLayoutDescription.AssertEveryCSharpSideChangeIsCaught(fields, sizes, (f, s) => Mismatches(c, f, s), "BlobLayout");
    }

    /// <summary>Two same-width fields swapped in a copy of the header are caught at both.</summary>
    [Theory]
    [InlineData("kedr_blob_func", "symidx", "size")]
    [InlineData("kedr_blob_header", "blob_size", "flags")]
    [InlineData("kedr_blob_patch", "length", "slot_length")]
    [InlineData("kedr_blob_mask", "offset", "length")]
    public void A_field_moved_on_the_C_side_fails_the_comparison(string st, string a, string b)
    {
        var dir = Directory.CreateTempSubdirectory("kedr-layout-moved-");
        try
        {
            foreach (var h in new[] { "kedr_blob.h", "kedr_types.h" })
                File.Copy(Path.Combine(TestEnvironment.RepoRoot, "kmod", h), Path.Combine(dir.FullName, h));
            var path = Path.Combine(dir.FullName, "kedr_blob.h");
            var text = File.ReadAllText(path);
            int start = text.IndexOf($"struct {st} {{", StringComparison.Ordinal), end = text.IndexOf("};", start, StringComparison.Ordinal);
            var lines = text[start..end].Split('\n');
            int la = Array.FindIndex(lines, l => Regex.IsMatch(l, $@"\b{a}\s*;")), lb = Array.FindIndex(lines, l => Regex.IsMatch(l, $@"\b{b}\s*;"));
            Assert.True(la > 0 && lb > 0, $"{a} and {b} not found in struct {st}");
            (lines[la], lines[lb]) = (lines[lb], lines[la]);
            File.WriteAllText(path, text[..start] + string.Join('\n', lines) + text[end..]);

            var moved = CHeaderLayout.Probe(path, TestEnvironment.Run);
            var (fields, sizes) = Description();
            var problems = Mismatches(moved, fields, sizes);
            Assert.Contains(problems, p => p.StartsWith($"{st}.{a}:", StringComparison.Ordinal));
            Assert.Contains(problems, p => p.StartsWith($"{st}.{b}:", StringComparison.Ordinal));
            Assert.Equal(2, problems.Count);
        }
        finally { dir.Delete(true); }
    }
}
