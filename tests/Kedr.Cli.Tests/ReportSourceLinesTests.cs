using System.Buffers.Binary;
using System.Text;
using Kedr.Tests.Shared;

namespace Kedr.Cli.Tests;

/// <summary>
/// <c>kedr report</c> with source lines: a module with DWARF, a stripped one whose debug file is found by
/// build-id under <c>--debug-dir</c>, and modules with no debug file anywhere (the test object, a distro
/// module from /lib/modules) for which one warning line says so.
/// </summary>
public sealed class ReportSourceLinesTests : IDisposable
{
    private const ulong Core = 0xffffffffc0600000;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-report-src-");

    public void Dispose() => _dir.Delete(true);

    private string Tmp(params string[] parts) => Path.Combine([_dir.FullName, .. parts]);

    /// <summary>kedr_record.h's layout: an 80-byte header, 48-byte records; one write at <paramref name="pc"/>.</summary>
    private string Trace(string target, ulong pc)
    {
        var b = new byte[80 + 48];
        "KEDRTRC1"u8.CopyTo(b);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(10), 80);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(12), 48);
        Encoding.ASCII.GetBytes(target).CopyTo(b.AsSpan(16));
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(72), Core);
        var r = b.AsSpan(80);
        BinaryPrimitives.WriteUInt64LittleEndian(r, 1);
        BinaryPrimitives.WriteUInt64LittleEndian(r[8..], pc);
        BinaryPrimitives.WriteUInt64LittleEndian(r[16..], 0xffff888000002000);
        BinaryPrimitives.WriteUInt32LittleEndian(r[28..], 0x42);
        BinaryPrimitives.WriteUInt32LittleEndian(r[32..], 4);
        r[40] = 4; // write
        var path = Tmp(target + ".bin");
        File.WriteAllBytes(path, b);
        return path;
    }

    /// <summary>The offset in .text of the store to <c>counter</c> (the first relocation against it, as readelf lists them).</summary>
    private static ulong StoreOffset(string ko)
    {
        var rela = DebugModule.Run(".", "readelf", "-r", "-W", ko);
        bool inText = false;
        foreach (var line in rela.Split('\n'))
        {
            if (line.StartsWith("Relocation section", StringComparison.Ordinal)) inText = line.Contains("'.rela.text'");
            else if (inText && line.Contains(" counter", StringComparison.Ordinal))
                return Convert.ToUInt64(line.Trim().Split(' ')[0], 16);
        }
        throw new InvalidOperationException("no relocation against counter in .text");
    }

    [Fact]
    public void A_stripped_module_gets_its_lines_from_the_debug_file_under_debug_dir_and_says_once_when_there_is_none()
    {
        var ko = DebugModule.Build(_dir.FullName);
        var (stripped, debugFile) = DebugModule.Split(ko);
        var trace = Trace("src_mod", Core + StoreOffset(ko));
        var id = DebugModule.BuildId(stripped);
        string expected = $"    at src_mod.c:{DebugModule.Line("open_store")}";

        var none = KedrProcess.Run(_dir.FullName, "report", trace, "--ko", stripped, "--debug-dir", Tmp("empty"));
        Assert.True(none.ExitCode == 0, none.ToString());
        var line = Assert.Single(none.StderrLines);
        Assert.StartsWith("kedr: warning: ", line);
        Assert.Contains("KEDR5110", line);
        Assert.Contains(Tmp("empty", ".build-id", id[..2], id[2..] + ".debug"), line);
        Assert.Contains($"/usr/lib/debug/.build-id/{id[..2]}/{id[2..]}.debug", line);
        Assert.DoesNotContain("    at ", none.Stdout);
        Assert.Contains("(src_open+", none.Stdout);

        var where = Tmp("dbg", ".build-id", id[..2], id[2..] + ".debug");
        Directory.CreateDirectory(Path.GetDirectoryName(where)!);
        File.Copy(debugFile, where);
        var found = KedrProcess.Run(_dir.FullName, "report", trace, "--ko", stripped, "--debug-dir", Tmp("dbg"));
        Assert.True(found.ExitCode == 0, found.ToString());
        Assert.Equal("", found.Stderr);
        var lines = found.Stdout.Split('\n');
        Assert.Equal(expected, lines[Array.FindIndex(lines, l => l.Contains(" write at ")) + 1]);

        var json = KedrProcess.Run(_dir.FullName, "report", trace, "--ko", ko, "--format", "json");
        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.Contains($"\"source\": \"src_mod.c:{DebugModule.Line("open_store")}\"", json.Stdout);
        var csv = KedrProcess.Run(_dir.FullName, "report", trace, "--ko", ko, "--format", "csv");
        Assert.EndsWith($",src_mod.c:{DebugModule.Line("open_store")}", csv.Stdout.Split("\r\n", StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    /// <summary>A module of the installed distro kernel: stripped, and no debug package installed (if one is, its lines must show).</summary>
    [Fact]
    public void A_distro_module_without_a_debug_file_says_so_in_one_line()
    {
        var vfat = Directory.Exists("/lib/modules")
            ? Directory.GetDirectories("/lib/modules").Order(StringComparer.Ordinal)
                .Select(d => Path.Combine(d, "kernel", "fs", "fat", "vfat.ko")).LastOrDefault(File.Exists)
            : null;
        Assert.True(vfat is not null, "no /lib/modules/*/kernel/fs/fat/vfat.ko: install the guest kernel (scripts/vm/setup.sh)");
        var id = DebugModule.BuildId(vfat);
        var r = KedrProcess.Run(_dir.FullName, "report", Trace("vfat", Core + 0x10), "--ko", vfat);
        Assert.True(r.ExitCode == 0, r.ToString());
        bool installed = File.Exists($"/usr/lib/debug/.build-id/{id[..2]}/{id[2..]}.debug");
        var about = r.StderrLines.Where(l => l.Contains("KEDR5110")).ToList();
        if (installed)
        {
            Assert.Empty(about);
            Assert.Contains("    at ", r.Stdout);
            return;
        }
        var line = Assert.Single(about);
        Assert.StartsWith("kedr: warning: ", line);
        Assert.Contains("'vfat'", line);
        Assert.Contains($"/usr/lib/debug/.build-id/{id[..2]}/{id[2..]}.debug", line);
        Assert.DoesNotContain("    at ", r.Stdout);
        Assert.Contains(" write at ", r.Stdout);
    }
}
