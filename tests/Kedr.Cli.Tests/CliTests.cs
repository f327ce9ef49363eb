using System.Buffers.Binary;
using Kedr.Core.Blob;
using Kedr.Core.Elf;

namespace Kedr.Cli.Tests;

/// <summary>
/// <c>kedr instrument</c> and <c>kedr inspect</c> end to end, as a user runs them: exit status 0 on
/// success, 2 with one <c>kedr: error: ...</c> line on stderr for bad input.
/// </summary>
public sealed class CliTests : IDisposable
{
    private const string Release = "6.1.0-56-cloud-amd64";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-cli-tests-");

    public void Dispose() => _dir.Delete(true);

    private string Tmp(string name) => Path.Combine(_dir.FullName, name);

    private static string Module(string relative)
    {
        var dirs = Directory.Exists("/lib/modules") ? Directory.GetDirectories("/lib/modules", "*-cloud-amd64").Order().ToList() : [];
        var kernel = dirs.FirstOrDefault(d => d.EndsWith(Release, StringComparison.Ordinal)) ?? dirs.LastOrDefault();
        var path = kernel is null ? null : Path.Combine(kernel, "kernel", relative);
        Assert.True(path is not null && File.Exists(path),
            $"no {relative} under /lib/modules/*-cloud-amd64/kernel: these tests use Debian's {Release} modules; " +
            "install them with scripts/vm/setup.sh (apt-get install linux-image-cloud-amd64)");
        return path!;
    }

    private KedrProcess.Result Kedr(params string[] args) => KedrProcess.Run(_dir.FullName, args);

    /// <summary>Exit 2, nothing on stdout, exactly one line on stderr naming the file and the code.</summary>
    private static void AssertOneLineError(KedrProcess.Result r, string file, string code, string? alsoContains = null)
    {
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.True(r.Stdout.Length == 0, r.ToString());
        var lines = r.StderrLines;
        Assert.True(lines.Length == 1, $"expected one line on stderr\n{r}");
        Assert.StartsWith("kedr: error: ", lines[0]);
        Assert.Contains(file, lines[0]);
        Assert.Contains($"{code}: ", lines[0]);
        if (alsoContains is not null) Assert.Contains(alsoContains, lines[0]);
    }

    private string Damaged(string module, string name, Action<byte[], ElfFile> change)
    {
        var path = Module(module);
        var bytes = File.ReadAllBytes(path);
        change(bytes, ElfFile.Read(path));
        var target = Tmp(name);
        File.WriteAllBytes(target, bytes);
        return target;
    }

    [Fact]
    public void Instrument_a_truncated_module_fails_with_one_line()
    {
        var ko = Damaged("lib/crc7.ko", "trunc.ko", (_, _) => { });
        File.WriteAllBytes(ko, File.ReadAllBytes(ko)[..3000]);
        var r = Kedr("instrument", ko, "-o", Tmp("out.kedr"));
        AssertOneLineError(r, ko, "KEDR1005", "past the end of the file");
        Assert.False(File.Exists(Tmp("out.kedr")));
    }

    [Fact]
    public void Instrument_a_module_cut_inside_its_header_fails_with_one_line()
    {
        var ko = Tmp("tiny.ko");
        File.WriteAllBytes(ko, File.ReadAllBytes(Module("lib/crc7.ko"))[..40]);
        AssertOneLineError(Kedr("instrument", ko), ko, "KEDR1001");
    }

    [Fact]
    public void Instrument_a_module_with_a_bad_section_name_table_index_fails_with_one_line()
    {
        var ko = Damaged("lib/crc7.ko", "shstrndx.ko", (b, _) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x3e), 0x7777));
        AssertOneLineError(Kedr("instrument", ko), ko, "KEDR1007", "section name table index");
    }

    [Fact]
    public void Instrument_a_module_with_a_bad_relocation_names_section_and_offset()
    {
        var ko = Damaged("drivers/net/dummy.ko", "reloc.ko", (b, elf) =>
        {
            var rela = elf.Sections.First(s => s.Name == ".rela.text");
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan((int)rela.FileOffset + 2 * 24 + 12), 0x00ffffff);
        });
        AssertOneLineError(Kedr("instrument", ko), ko, "KEDR1011", ".rela.text+0x30");
    }

    [Fact]
    public void Instrument_something_that_is_not_ELF_fails_with_one_line()
    {
        var ko = Tmp("text.ko");
        File.WriteAllText(ko, new string('x', 500));
        AssertOneLineError(Kedr("instrument", ko), ko, "KEDR1002", "bad magic");
    }

    [Fact]
    public void Instrument_a_missing_file_fails_with_one_line()
    {
        var ko = Tmp("absent.ko");
        AssertOneLineError(Kedr("instrument", ko), ko, "KEDR1000");
    }

    /// <summary>
    /// One bad module gives the same diagnostic alone and in a batch: the single command's stderr line is
    /// "kedr: error: D" and the batch lists it as "failed: D" (and ends with one KEDR6009 line).
    /// </summary>
    [Fact]
    public void One_module_and_a_batch_report_the_same_diagnostic_for_the_same_bad_module()
    {
        var batch = Directory.CreateDirectory(Tmp("batch"));
        var bad = new List<string>
        {
            Damaged("lib/crc7.ko", "batch/magic.ko", (b, _) => b[1] = (byte)'X'),
            Damaged("drivers/net/dummy.ko", "batch/reloc.ko", (b, elf) =>
            {
                var rela = elf.Sections.First(s => s.Name == ".rela.text");
                BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan((int)rela.FileOffset + 2 * 24 + 12), 0x00ffffff);
            }),
            Damaged("lib/crc7.ko", "batch/shentsize.ko", (b, _) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x3a), 40)),
        };
        var all = Kedr("instrument", "--all", batch.FullName);
        Assert.True(all.ExitCode == 2, all.ToString());
        foreach (var ko in bad)
        {
            var one = Kedr("instrument", ko, "-o", Tmp("one.kedr"));
            Assert.True(one.ExitCode == 2 && one.StderrLines.Length == 1, one.ToString());
            Assert.StartsWith("kedr: error: ", one.StderrLines[0]);
            var diagnostic = one.StderrLines[0]["kedr: error: ".Length..];
            Assert.Contains(ko, diagnostic);
            Assert.Contains($"failed: {diagnostic}\n", all.Stdout);
        }
        Assert.Contains($"KEDR6009: {bad.Count} of {bad.Count} modules failed", all.Stderr);
    }

    /// <summary>
    /// The module name makes the blob's file name (NAME.kedr under --out, FIRMWARE_DIR/kedr/NAME.kedr): a
    /// damaged .modinfo "name=../x" or "name=/an/absolute/path" must not write outside the folder given (before,
    /// OUT/../x.kedr and FIRMWARE_DIR/x.kedr, or the absolute path itself). The module is refused (KEDR1026)
    /// and nothing is written.
    /// </summary>
    [Theory]
    [InlineData("../x")]
    [InlineData("{dir}/abs")]
    public void A_module_named_like_a_path_writes_nothing_outside_the_folders_given(string name)
    {
        name = name.Replace("{dir}", _dir.FullName, StringComparison.Ordinal);
        var input = Directory.CreateDirectory(Tmp("in"));
        var ko = Damaged("lib/crc7.ko", "in/crc7.ko", (b, elf) =>
        {
            // crc7.ko's .modinfo ends "name=crc7\0vermagic=...\0": a longer name runs into vermagic, still NUL-terminated.
            var mi = elf.Sections.First(s => s.Name == ".modinfo");
            int at = b.AsSpan().IndexOf("name=crc7\0"u8) + "name=".Length;
            Assert.True(at > "name=".Length && at + name.Length + 1 < (int)(mi.FileOffset + mi.Size), "crc7.ko's name=crc7 entry, with room after it");
            System.Text.Encoding.ASCII.GetBytes(name + "\0").CopyTo(b, at);
        });
        var blobs = Directory.CreateDirectory(Tmp("deep/out"));
        var all = Kedr("instrument", "--all", input.FullName, "--out", blobs.FullName);
        Assert.True(all.ExitCode == 2, all.ToString());
        Assert.Contains("KEDR1026", all.Stdout);

        var fw = Directory.CreateDirectory(Tmp("deep/fw"));
        var one = Kedr("instrument", ko, "-o", Tmp("deep/out/one.kedr"), "--install", "--firmware-dir", fw.FullName);
        AssertOneLineError(one, ko, "KEDR1026");

        var written = Directory.GetFiles(_dir.FullName, "*.kedr", SearchOption.AllDirectories);
        Assert.True(written.Length == 0, "written: " + string.Join(", ", written));
    }

    /// <summary>
    /// A folder below --all whose path is longer than the system takes (PATH_MAX): listing fails. That is
    /// its own condition (KEDR6012), not the "no such folder" of KEDR6005 it was reported as.
    /// </summary>
    [Fact]
    public void A_folder_that_cannot_be_listed_is_its_own_diagnostic()
    {
        var top = Directory.CreateTempSubdirectory("kedr-cli-deep-").FullName;
        try
        {
            // 25 levels of 200-byte names (5,000 bytes) created one level at a time, as a relative path each.
            var name = new string('d', 200);
            var psi = new System.Diagnostics.ProcessStartInfo("sh", ["-c", $"for i in $(seq 25); do mkdir {name} && cd -P {name} || exit 1; done; : > x.ko"])
            {
                WorkingDirectory = top,
            };
            using (var p = System.Diagnostics.Process.Start(psi)!)
            {
                p.WaitForExit();
                Assert.Equal(0, p.ExitCode);
            }
            AssertOneLineError(Kedr("instrument", "--all", top), top, "KEDR6012", "cannot list it");
        }
        finally
        {
            using var rm = System.Diagnostics.Process.Start("rm", ["-rf", top]);
            rm.WaitForExit();
        }
    }

    [Fact]
    public void Instrument_then_inspect_a_real_module()
    {
        var ko = Module("lib/crc7.ko");
        var blobPath = Tmp("crc7.kedr");
        var r = Kedr("instrument", ko, "-o", blobPath);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"wrote {blobPath}", r.Stdout);
        Assert.True(r.Stderr.Length == 0, r.ToString());

        // The blob describes the module: checked against the ELF file and FNV-1a over its bytes' 8-byte
        // little-endian words (then the tail bytes), as the 1.2 header flag says.
        var blob = BlobReader.Read(blobPath);
        var elf = ElfFile.Read(ko);
        Assert.Equal("crc7", blob.Target.Name);
        Assert.Equal((uint)elf.Symbols.Count, blob.Target.SymbolCount);
        Assert.Equal(elf.BuildId, blob.Target.BuildId);
        Assert.NotEmpty(blob.Functions);
        var bytes = File.ReadAllBytes(ko);
        foreach (var f in blob.Functions)
        {
            var sym = elf.Symbols[(int)f.SymbolIndex];
            Assert.Equal(sym.Name, f.Name);
            Assert.Equal(sym.Size, (ulong)f.Size);
            var code = bytes.AsSpan((int)(elf.Sections[sym.SectionIndex].FileOffset + sym.Value), (int)f.Size).ToArray();
            foreach (var m in blob.MasksOf(f)) code.AsSpan((int)m.Offset, (int)m.Length).Clear();
            Assert.True(blob.Flags.HasFlag(BlobHeaderFlags.WordDigest), blob.Flags.ToString());
            ulong h = 0xcbf29ce484222325;
            int k = 0;
            for (; k + 8 <= code.Length; k += 8) h = (h ^ BinaryPrimitives.ReadUInt64LittleEndian(code.AsSpan(k))) * 0x100000001b3;
            for (; k < code.Length; k++) h = (h ^ code[k]) * 0x100000001b3;
            Assert.Equal(h, f.Digest);
        }

        var i = Kedr("inspect", blobPath, "--fixups", "--sites");
        Assert.True(i.ExitCode == 0, i.ToString());
        Assert.Contains("target      crc7", i.Stdout);
        Assert.Contains($"build-id    {Convert.ToHexStringLower(elf.BuildId)}", i.Stdout);
        Assert.Contains($"functions   {blob.Functions.Count}", i.Stdout);
        Assert.Contains($"fixups      {blob.Fixups.Count}", i.Stdout);
        Assert.Contains($"imports     {blob.Imports.Count} kernel functions, {blob.Calls.Count} calls through their stubs", i.Stdout);
        Assert.Contains("crc7_be", i.Stdout);
        Assert.Contains("fixups:", i.Stdout);
        Assert.Contains("Entry        crc7_be+0x0", i.Stdout);
    }

    [Fact]
    public void Instrument_install_writes_the_firmware_path()
    {
        var fw = Tmp("firmware");
        var r = Kedr("instrument", Module("net/sched/em_u32.ko"), "--install", "--firmware-dir", fw);
        Assert.True(r.ExitCode == 0, r.ToString());
        var installed = Path.Combine(fw, "kedr", "em_u32.kedr");
        Assert.True(File.Exists(installed), r.ToString());
        Assert.Equal(File.ReadAllBytes(Tmp("em_u32.kedr")), File.ReadAllBytes(installed));
        Assert.Equal("em_u32", BlobReader.Read(installed).Target.Name);
    }

    private string GoodBlob()
    {
        var blob = Tmp("good.kedr");
        var r = Kedr("instrument", Module("lib/crc7.ko"), "-o", blob);
        Assert.True(r.ExitCode == 0, r.ToString());
        return blob;
    }

    [Fact]
    public void Inspect_corrupted_blobs_fails_with_one_KEDR3xxx_line()
    {
        var good = File.ReadAllBytes(GoodBlob());
        var cases = new (string Name, Func<byte[], byte[]> Change, string Code)[]
        {
            ("magic", b => { b[0] = (byte)'X'; return b; }, "KEDR3002"),
            ("truncated", b => b[..(b.Length - 9)], "KEDR3001"),
            ("header only", b => b[..100], "KEDR3001"),
            ("version", b => { b[8] = 9; return b; }, "KEDR3003"),
            ("fixup type", b =>
            {
                int fixups = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(68 + 3 * 16));
                b[fixups + 4] = 0x55;
                return Seal(b);
            }, "KEDR3008"),
            ("fixup type, checksum not updated", b =>
            {
                int fixups = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(68 + 3 * 16));
                b[fixups + 4] = 0x55;
                return b;
            }, "KEDR3009"),
        };
        foreach (var (name, change, code) in cases)
        {
            var path = Tmp($"bad-{name.Replace(' ', '-')}.kedr");
            File.WriteAllBytes(path, change((byte[])good.Clone()));
            AssertOneLineError(Kedr("inspect", path), path, code);
        }
    }

    /// <summary>A changed blob with its checksum (kedr_blob.h, table 10) written again, so that the other checks see it.</summary>
    private static byte[] Seal(byte[] b)
    {
        int at = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(68 + (int)global::Kedr.Core.Blob.BlobTableId.Checksum * 16));
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), global::Kedr.Core.Blob.BlobFormat.Checksum(b, at));
        return b;
    }

    /// <summary>A damaged name quoted in the error must not split the line (it holds a newline here).</summary>
    [Fact]
    public void Inspect_quotes_a_damaged_name_on_one_line()
    {
        var b = File.ReadAllBytes(GoodBlob());
        int strings = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(68));
        int functions = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(68 + 16));
        int name = b.AsSpan(strings).IndexOf("crc7_be"u8) + strings;
        b[name + 4] = (byte)'\n';
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(functions + 8), 3); // size below 5: the error names the function
        var path = Tmp("newline.kedr");
        File.WriteAllBytes(path, Seal(b));
        AssertOneLineError(Kedr("inspect", path), path, "KEDR3007", @"'crc7\x0abe'");
    }

    [Fact]
    public void Inspect_a_missing_blob_fails_with_one_line()
    {
        var path = Tmp("absent.kedr");
        AssertOneLineError(Kedr("inspect", path), path, "KEDR3000");
    }
}
