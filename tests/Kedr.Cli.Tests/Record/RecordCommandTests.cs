using System.Buffers.Binary;
using Kedr.Output;

namespace Kedr.Cli.Tests.Record;

/// <summary>
/// <c>kedr record</c> against a stand-in for kedr_sample's debugfs folder (regular files: a stream that has
/// ended): every CPU's records end up in the file, its header carries the target, the base and kedr_sample's
/// counts, and <c>kedr report</c> on it prints what it prints for the merged trace stream of the same records.
/// Offsets are kmod/kedr_record.h's, written out here by hand.
/// </summary>
public sealed class RecordCommandTests : IDisposable
{
    private const ulong Core = 0xffffffffc0200000;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-record-tests-");

    public void Dispose() => _dir.Delete(true);

    private string Tmp(string name) => Path.Combine(_dir.FullName, name);

    private KedrProcess.Result Kedr(params string[] args) => KedrProcess.Run(_dir.FullName, args);

    /// <summary>struct kedr_trace_header: 80 bytes, record_size 48.</summary>
    internal static byte[] Header()
    {
        var b = new byte[80];
        "KEDRTRC1"u8.CopyTo(b);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(10), 80);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(12), 48);
        "rec_mod"u8.CopyTo(b.AsSpan(16));
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(72), Core);
        return b;
    }

    /// <summary>struct kedr_record: 48 bytes.</summary>
    internal static byte[] Rec(ulong ts, uint seq, byte cpu, byte kind, ulong addr = 0, uint size = 0)
    {
        var r = new byte[48];
        BinaryPrimitives.WriteUInt64LittleEndian(r, ts);
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(8), Core + (kind > 2 ? 0x10u : 0));
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(16), addr);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(24), seq);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(28), 100u + cpu);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(32), size);
        r[40] = kind;
        r[41] = cpu;
        return r;
    }

    /// <summary>
    /// Two CPUs whose events interleave in time; CPU 0 dropped 1 event and CPU 1 2 after their last records, in
    /// rec_open (symidx 7) 1 and rec_write (symidx 9) 2.
    /// </summary>
    private (byte[][] Cpu0, byte[][] Cpu1) Fake()
    {
        byte[][] cpu0 = [Rec(10, 0, 0, 1), Rec(30, 1, 0, 3, 0xffff888000001000, 4), Rec(50, 2, 0, 2)];
        byte[][] cpu1 = [Rec(20, 0, 1, 1), Rec(40, 1, 1, 4, 0xffff888000002000, 8)];
        var d = Directory.CreateDirectory(Tmp("debugfs")).FullName;
        File.WriteAllBytes(Path.Combine(d, "header"), Header());
        File.WriteAllText(Path.Combine(d, "dropped_functions"), "1 7 rec_open\n2 9 rec_write\n");
        File.WriteAllText(Path.Combine(d, "stats"),
            "# streams: target gone, ending when read\n# cpu recorded dropped size\n0 3 1 4096\n1 2 2 4096\nall 5 3 8192\n");
        for (int cpu = 0; cpu < 2; cpu++)
        {
            var c = Directory.CreateDirectory(Path.Combine(d, "per_cpu", $"cpu{cpu}")).FullName;
            File.WriteAllBytes(Path.Combine(c, "raw"), (cpu == 0 ? cpu0 : cpu1).SelectMany(r => r).ToArray());
        }
        return (cpu0, cpu1);
    }

    [Fact]
    public void Every_CPUs_records_land_in_the_file_with_the_header_and_the_counts()
    {
        Fake();
        var r = Kedr("record", "--debugfs", Tmp("debugfs"), "-o", Tmp("rec.trace"), "--progress-ms", "10");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("rec.trace: 5 events recorded, 3 dropped (target rec_mod)", r.Stderr);
        // Regular files have no ring to map: read(2).
        Assert.Contains("kedr record: 0 of 2 CPU streams read through the mapping of their rings, the others with read(2)\n", r.Stderr);
        // Per CPU and per function, most first.
        Assert.Contains("kedr record: cpu 0: 1 dropped\nkedr record: cpu 1: 2 dropped\nkedr record: rec_write: 2 dropped\nkedr record: rec_open: 1 dropped\n", r.Stderr);

        var t = TraceReader.Read(Tmp("rec.trace"));
        Assert.Equal("rec_mod", t.Target);
        Assert.Equal(Core, t.TargetCoreBase);
        Assert.Equal(80 + 48 + 2 * 24, t.HeaderSize);
        Assert.Equal([10ul, 20, 30, 40, 50], t.Events.Select(e => e.Timestamp));
        Assert.Equal([0, 1, 0, 1, 0], t.Events.Select(e => (int)e.Cpu));
        var rec = t.Recording!;
        Assert.True(rec.Ended);
        Assert.False(rec.Interrupted);
        Assert.Equal((5ul, 5ul, 3ul), (rec.Written, rec.Recorded, rec.Dropped));
        Assert.Equal([(3ul, 3ul, 1ul), (2ul, 2ul, 2ul)], rec.Cpus.Select(c => (c.Written, c.Recorded, c.Dropped)));
        // kedr_sample's dropped_functions, stored after the records (funcs_offset), most first.
        Assert.Equal([("rec_write", 9u, 2ul), ("rec_open", 7u, 1ul)], rec.Functions.Select(f => (f.Name, f.SymbolIndex, f.Dropped)));
        Assert.Equal(0ul, rec.DroppedWithoutFunction);
        // The file: the header, 5 records, the table (16 bytes, 16 per function, "rec_write\0rec_open\0").
        Assert.Equal(80 + 48 + 2 * 24 + 5 * 48 + 16 + 2 * 16 + 19, new FileInfo(Tmp("rec.trace")).Length);
    }

    /// <summary>
    /// The time the recorded code waited is the stats' "all" figure, not the sum of the CPUs' lines: each CPU's
    /// rounds its own nanoseconds down to milliseconds (here 749.6 ms on each CPU: 749 + 749, but 1499 in all).
    /// </summary>
    [Fact]
    public void The_time_waited_is_the_total_that_stats_gives()
    {
        Fake();
        File.WriteAllText(Path.Combine(Tmp("debugfs"), "stats"), "# streams: target gone, ending when read\n" +
            "# cpu recorded dropped size filtered waited_ms\n0 3 1 4096 0 749\n1 2 2 4096 0 749\nall 5 3 8192 0 1499\n");
        var r = Kedr("record", "--debugfs", Tmp("debugfs"), "-o", Tmp("rec.trace"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("kedr record: the recorded code waited 1499 ms in all", r.Stderr);
    }

    /// <summary>
    /// kedr_locks' VFS probes' misses while the recorded target was loaded (debugfs kedr_locks/vfs, beside
    /// kedr_sample's folder): a lost ACQUIRE or RELEASE makes a false race, so kedr record says so. Another
    /// target's figures, or none missed, say nothing.
    /// </summary>
    [Fact]
    public void The_VFS_probes_misses_while_the_target_was_loaded_are_shown()
    {
        Fake();
        var locks = Directory.CreateDirectory(Path.Combine(_dir.FullName, "kedr_locks")).FullName;
        File.WriteAllText(Path.Combine(locks, "vfs"), "target rec_mod gone\ninodes 0\nnot_kept 2\nmissed 37\n");
        var r = Kedr("record", "--debugfs", Tmp("debugfs"), "-o", Tmp("rec.trace"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("kedr record: warning: kedr_locks' VFS probes missed 37 probe hits and did not keep 2 inodes while rec_mod was loaded", r.Stderr);

        File.WriteAllText(Path.Combine(locks, "vfs"), "target other gone\ninodes 0\nnot_kept 0\nmissed 5\n");
        r = Kedr("record", "--debugfs", Tmp("debugfs"), "-o", Tmp("rec.trace"));
        Assert.DoesNotContain("kedr_locks", r.Stderr);
        File.WriteAllText(Path.Combine(locks, "vfs"), "target rec_mod gone\ninodes 0\nnot_kept 0\nmissed 0\n");
        r = Kedr("record", "--debugfs", Tmp("debugfs"), "-o", Tmp("rec.trace"));
        Assert.DoesNotContain("kedr_locks", r.Stderr);
    }

    /// <summary><c>kedr report</c> on a recording with drops says where kedr_sample counted them: per CPU, per function.</summary>
    [Fact]
    public void Report_of_a_recording_prints_the_drops_per_CPU_and_per_function()
    {
        Fake();
        Assert.Equal(0, Kedr("record", "--debugfs", Tmp("debugfs"), "-o", Tmp("rec.trace")).ExitCode);
        var r = Kedr("report", Tmp("rec.trace"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.EndsWith("events: 5 recorded, 3 dropped\ndropped on cpu 0: 1\ndropped on cpu 1: 2\n" +
            "dropped in rec_write: 2\ndropped in rec_open: 1\n", r.Stdout.ReplaceLineEndings("\n"));
    }

    /// <summary>Drops kedr_sample put on no function (nested, indirect-branch, payload events) are the rest.</summary>
    [Fact]
    public void Report_counts_the_drops_without_a_function()
    {
        Fake();
        File.WriteAllText(Path.Combine(Tmp("debugfs"), "dropped_functions"), "1 9 rec_write\n");
        Assert.Equal(0, Kedr("record", "--debugfs", Tmp("debugfs"), "-o", Tmp("rec.trace")).ExitCode);
        var r = Kedr("report", Tmp("rec.trace"));
        Assert.Contains("dropped in rec_write: 1\ndropped without a function (nested, indirect-branch or payload events): 2\n",
            r.Stdout.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Report_of_a_recording_is_the_report_of_the_merged_stream()
    {
        var (cpu0, cpu1) = Fake();
        Assert.Equal(0, Kedr("record", "--debugfs", Tmp("debugfs"), "-o", Tmp("rec.trace")).ExitCode);
        // What the kernel's merged trace stream gives for these records: the header, then by timestamp.
        File.WriteAllBytes(Tmp("merged.bin"), Header().Concat(new[] { cpu0[0], cpu1[0], cpu0[1], cpu1[1], cpu0[2] }.SelectMany(x => x)).ToArray());
        var fromRecording = Kedr("report", Tmp("rec.trace"));
        var fromStream = Kedr("report", Tmp("merged.bin"));
        Assert.Equal(0, fromRecording.ExitCode);
        Assert.Equal(0, fromStream.ExitCode);
        var lines = fromRecording.Stdout.Split('\n');
        var streamLines = fromStream.Stdout.Split('\n');
        // Event for event; the last line counts kedr_sample's drops, which only the recording knows.
        Assert.Equal(streamLines.Where(l => l.StartsWith("TID=", StringComparison.Ordinal)),
            lines.Where(l => l.StartsWith("TID=", StringComparison.Ordinal)));
        Assert.Equal(5, lines.Count(l => l.StartsWith("TID=", StringComparison.Ordinal)));
        Assert.Contains("events: 5 recorded, 3 dropped", fromRecording.Stdout);
        Assert.Contains("events: 5 recorded, 0 dropped", fromStream.Stdout);
    }

    [Fact]
    public void Without_kedr_sample_it_says_so()
    {
        var r = Kedr("record", "--debugfs", Tmp("nothing"), "-o", Tmp("rec.trace"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("KEDR4920", r.Stderr);
    }
}
