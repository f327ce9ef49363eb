using System.Buffers.Binary;
using System.Diagnostics;

namespace Kedr.Cli.Tests;

/// <summary>
/// <c>kedr report</c> as a user runs it: every format to stdout or a file, exit 2 with one
/// <c>kedr: error:</c> line for a file that is not a trace, warnings on stderr.
/// </summary>
public sealed class ReportCommandTests : IDisposable
{
    private const ulong Core = 0xffffffffc0200000;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-report-tests-");

    public void Dispose() => _dir.Delete(true);

    private string Tmp(string name) => Path.Combine(_dir.FullName, name);

    private KedrProcess.Result Kedr(params string[] args) => KedrProcess.Run(_dir.FullName, args);

    /// <summary>A module with rep_open (0x40 bytes) at .text+0, written as assembly.</summary>
    private string Ko()
    {
        var src = Tmp("rep_mod.s");
        File.WriteAllText(src, ".text\n.globl rep_open\n.type rep_open,@function\nrep_open:\n.skip 0x40, 0x90\n.size rep_open, 0x40\n");
        var psi = new ProcessStartInfo("cc", ["-c", "-o", Tmp("rep_mod.ko"), src]) { RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "cc -c failed: " + p.StandardError.ReadToEnd());
        return Tmp("rep_mod.ko");
    }

    /// <summary>kedr_record.h layout: an 80-byte header, 48-byte records.</summary>
    private string Trace(uint secondSeq = 1)
    {
        var b = new byte[80 + 3 * 48];
        "KEDRTRC1"u8.CopyTo(b);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(10), 80);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(12), 48);
        "rep_mod"u8.CopyTo(b.AsSpan(16));
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(72), Core);
        void Rec(int i, ulong ts, ulong pc, ulong addr, uint seq, uint size, byte kind)
        {
            var r = b.AsSpan(80 + i * 48);
            BinaryPrimitives.WriteUInt64LittleEndian(r, ts);
            BinaryPrimitives.WriteUInt64LittleEndian(r[8..], pc);
            BinaryPrimitives.WriteUInt64LittleEndian(r[16..], addr);
            BinaryPrimitives.WriteUInt32LittleEndian(r[24..], seq);
            BinaryPrimitives.WriteUInt32LittleEndian(r[28..], 0x99);
            BinaryPrimitives.WriteUInt32LittleEndian(r[32..], size);
            r[40] = kind;
        }
        Rec(0, 1, Core, 0, 0, 0, 1);
        Rec(1, 2, Core + 0x13, 0xffff888000001000, secondSeq, 8, 4);
        Rec(2, 3, Core, 0, secondSeq + 1, 0, 2);
        File.WriteAllBytes(Tmp("trace.bin"), b);
        return Tmp("trace.bin");
    }

    [Fact]
    public void Text_to_stdout_in_the_output_format()
    {
        var r = Kedr("report", Trace(), "--ko", Ko());
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(
            "TID=0x99 entry: addr=0xffffffffc0200000 (\"rep_open\")\n" +
            "TID=0x99 write at 0xffffffffc0200013 (rep_open+0x13/0x40 [rep_mod]): addr=0xffff888000001000, size=8\n" +
            "TID=0x99 exit: addr=0xffffffffc0200000 (\"rep_open\")\n" +
            "events: 3 recorded, 0 dropped\n", r.Stdout);
        Assert.Contains("KEDR5110", Assert.Single(r.StderrLines)); // the .ko has no DWARF: said once
    }

    [Fact]
    public void Drops_show_in_the_text_and_summary()
    {
        var r = Kedr("report", Trace(secondSeq: 4), "--ko", Ko(), "--summary");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("\n<...>\nTID=0x99 write", r.Stdout);
        Assert.Contains("events: 3 recorded, 3 dropped\n", r.Stdout);
        Assert.Contains("per function (1):", r.Stdout);
    }

    [Theory]
    [InlineData("csv", "index,ts_ns,cpu")]
    [InlineData("json", "{")]
    [InlineData("html", "<!DOCTYPE html>")]
    [InlineData("text", "TID=0x99 entry")]
    public void Every_format_to_a_file(string format, string start)
    {
        var r = Kedr("report", Trace(), "--ko", Ko(), "--format", format, "-o", Tmp("out"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.Stdout);
        Assert.StartsWith(start, File.ReadAllText(Tmp("out")));
        Assert.Contains("rep_open", File.ReadAllText(Tmp("out")));
    }

    [Fact]
    public void Not_a_trace_is_one_error_line_and_exit_2()
    {
        File.WriteAllText(Tmp("junk.bin"), new string('x', 200));
        var r = Kedr("report", Tmp("junk.bin"));
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Equal("", r.Stdout);
        var line = Assert.Single(r.StderrLines);
        Assert.StartsWith("kedr: error: ", line);
        Assert.Contains("junk.bin", line);
        Assert.Contains("KEDR5002", line);
    }

    [Fact]
    public void A_ko_of_another_module_is_a_warning()
    {
        File.Copy(Ko(), Tmp("other.ko"));
        var r = Kedr("report", Trace(), "--ko", Tmp("other.ko"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains(r.StderrLines, l => l.StartsWith("kedr: warning: ") && l.Contains("KEDR5101"));
        Assert.Contains("rep_open", r.Stdout);
    }

    [Fact]
    public void Without_a_ko_the_addresses_are_bare()
    {
        var r = Kedr("report", Trace());
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.StartsWith("TID=0x99 entry: addr=0xffffffffc0200000\n", r.Stdout);
    }
}
