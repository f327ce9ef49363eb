using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json;
using Kedr.Output;

namespace Kedr.Cli.Tests;

/// <summary>
/// <c>kedr races</c> as a user runs it, on a trace written here record by record (TraceLayout offsets) for a
/// module assembled with <c>cc -c</c>: race_a (0x20 bytes at .text+0) and race_b (0x20 bytes at .text+0x20)
/// write the same 4 bytes from tasks 1 and 2 with nothing between them.
/// </summary>
public sealed class RacesCommandTests : IDisposable
{
    private const ulong Core = 0xffffffffc0300000, Data = 0xffff888000005000;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-races-tests-");

    public void Dispose() => _dir.Delete(true);

    private string Tmp(string name) => Path.Combine(_dir.FullName, name);

    private KedrProcess.Result Kedr(params string[] args) => KedrProcess.Run(_dir.FullName, args);

    private string Ko()
    {
        var src = Tmp("race_mod.s");
        File.WriteAllText(src, ".text\n.globl race_a\n.type race_a,@function\nrace_a:\n.skip 0x20, 0x90\n.size race_a, 0x20\n" +
            ".globl race_b\n.type race_b,@function\nrace_b:\n.skip 0x20, 0x90\n.size race_b, 0x20\n");
        var psi = new ProcessStartInfo("cc", ["-c", "-o", Tmp("race_mod.ko"), src]) { RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "cc -c failed: " + p.StandardError.ReadToEnd());
        return Tmp("race_mod.ko");
    }

    private string Trace()
    {
        var recs = new (ulong Pc, ulong Addr, uint Tid, uint Size, TraceEventKind Kind, byte Cpu)[]
        {
            (Core, 0, 1, 0, TraceEventKind.Entry, 0),
            (Core + 0x4, Data, 1, 4, TraceEventKind.Write, 0),
            (Core, 0, 1, 0, TraceEventKind.Exit, 0),
            (Core + 0x20, 0, 2, 0, TraceEventKind.Entry, 1),
            (Core + 0x2a, Data, 2, 4, TraceEventKind.Write, 1),
            (Core + 0x20, 0, 2, 0, TraceEventKind.Exit, 1),
        };
        var b = new byte[TraceLayout.Header.Size + recs.Length * TraceLayout.Record.Size];
        TraceFormat.Magic.CopyTo(b);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(TraceLayout.Header.Version), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(TraceLayout.Header.HeaderSize), TraceLayout.Header.Size);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(TraceLayout.Header.RecordSize), TraceLayout.Record.Size);
        "race_mod"u8.CopyTo(b.AsSpan(TraceLayout.Header.Target));
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(TraceLayout.Header.TargetCoreBase), Core);
        var seq = new uint[2];
        for (int i = 0; i < recs.Length; i++)
        {
            var r = b.AsSpan(TraceLayout.Header.Size + i * TraceLayout.Record.Size);
            BinaryPrimitives.WriteUInt64LittleEndian(r[TraceLayout.Record.Timestamp..], 100 + (ulong)i);
            BinaryPrimitives.WriteUInt64LittleEndian(r[TraceLayout.Record.Pc..], recs[i].Pc);
            BinaryPrimitives.WriteUInt64LittleEndian(r[TraceLayout.Record.Address..], recs[i].Addr);
            BinaryPrimitives.WriteUInt32LittleEndian(r[TraceLayout.Record.Seq..], seq[recs[i].Cpu]++);
            BinaryPrimitives.WriteUInt32LittleEndian(r[TraceLayout.Record.Tid..], recs[i].Tid);
            BinaryPrimitives.WriteUInt32LittleEndian(r[TraceLayout.Record.AccessSize..], recs[i].Size);
            r[TraceLayout.Record.Kind] = (byte)recs[i].Kind;
            r[TraceLayout.Record.CpuLow] = recs[i].Cpu;
        }
        File.WriteAllBytes(Tmp("trace.bin"), b);
        return Tmp("trace.bin");
    }

    [Fact]
    public void Text_names_both_functions_accesses_and_threads_in_kcsan_style()
    {
        var r = Kedr("races", Trace(), "--ko", Ko());
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Split('\n');
        Assert.Contains("BUG: KEDR: data-race in race_a / race_b", lines);
        Assert.Contains($"write to 0x{Data:x} of 4 bytes by task 1 on cpu 0:", lines);
        Assert.Contains(" race_a+0x4/0x20 [race_mod]", lines);
        Assert.Contains($"write to 0x{Data:x} of 4 bytes by task 2 on cpu 1:", lines);
        Assert.Contains(" race_b+0xa/0x20 [race_mod]", lines);
        Assert.Contains("seen 1 time", lines);
        Assert.Contains(lines, l => l.StartsWith("1 racy pair(s) in 6 events", StringComparison.Ordinal));
    }

    [Fact]
    public void Json_and_html()
    {
        var trace = Trace();
        var ko = Ko();
        var j = Kedr("races", trace, "--ko", ko, "--format", "json");
        Assert.True(j.ExitCode == 0, j.ToString());
        var race = Assert.Single(JsonDocument.Parse(j.Stdout).RootElement.GetProperty("races").EnumerateArray());
        Assert.Equal("race_a", race.GetProperty("first").GetProperty("function").GetString());
        Assert.Equal(4ul, race.GetProperty("first").GetProperty("offset").GetUInt64());
        Assert.Equal("race_b", race.GetProperty("second").GetProperty("function").GetString());
        Assert.Equal($"0x{Data:x}", race.GetProperty("second").GetProperty("addr").GetString());
        Assert.Equal("task", race.GetProperty("second").GetProperty("context").GetString());
        var h = Kedr("races", trace, "--ko", ko, "--format", "html", "-o", Tmp("races.html"));
        Assert.True(h.ExitCode == 0, h.ToString());
        var html = File.ReadAllText(Tmp("races.html"));
        Assert.Contains("<section id=\"races\">", html);
        Assert.Contains("data-race in race_a / race_b", html);
    }

    [Fact]
    public void Kedr_report_html_gets_a_races_section_with_races()
    {
        var r = Kedr("report", Trace(), "--ko", Ko(), "--format", "html", "--races", "-o", Tmp("report.html"));
        Assert.True(r.ExitCode == 0, r.ToString());
        var html = File.ReadAllText(Tmp("report.html"));
        Assert.Contains("<section id=\"races\">", html);
        Assert.Contains("data-race in race_a / race_b", html);
        var plain = Kedr("report", Trace(), "--format", "text", "--races");
        Assert.Equal(2, plain.ExitCode);
    }

    /// <summary>race_a returns before task 2 first shows: with --after race_a the pair is ordered.</summary>
    [Fact]
    public void After_a_setup_function_orders_later_threads_and_needs_the_ko()
    {
        var r = Kedr("races", Trace(), "--ko", Ko(), "--after", "race_a");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("0 racy pair(s) in 6 events", r.Stdout);
        var bad = Kedr("races", Trace(), "--after", "race_a");
        Assert.Equal(2, bad.ExitCode);
        Assert.StartsWith("kedr: error: KEDR6008", Assert.Single(bad.StderrLines));
    }

    [Fact]
    public void A_bad_trace_or_ko_is_one_error_line()
    {
        File.WriteAllBytes(Tmp("junk.bin"), new byte[200]);
        File.WriteAllText(Tmp("short.bin"), "KEDRTRC1");
        foreach (var args in new[]
        {
            new[] { "races", Tmp("missing.bin") },
            ["races", Tmp("junk.bin")],
            ["races", Tmp("short.bin")],
            ["races", _dir.FullName],
            ["races", Trace(), "--ko", Tmp("junk.bin")],
            ["races", Trace(), "--ko", Tmp("missing.ko")],
        })
        {
            var r = Kedr(args);
            Assert.True(r.ExitCode == 2, string.Join(' ', args) + ": " + r);
            Assert.StartsWith("kedr: error: ", Assert.Single(r.StderrLines));
            Assert.Empty(r.Stdout);
        }
    }

    [Fact]
    public void A_bad_cap_is_one_error_line()
    {
        var r = Kedr("races", Trace(), "--shadow-cells", "1");
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.StderrLines);
        Assert.StartsWith("kedr: error: KEDR6007", line);
    }
}
