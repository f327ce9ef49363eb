using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using Kedr.Cli.Tests.Vm;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Recorder;

/// <summary>
/// kedr_sample's recorder in the guest (one run, <see cref="RecorderRun"/>): readers that start before
/// the target, signals, forced unload, a stalled stream, the read mutex, EFLAGS.AC in the handlers,
/// nested events, the rings' memory and the raw files' mapping. Expected events come from kedr_rec_work.S's instructions
/// (INCL m32: a 4-byte read and write; MOVSQ: an 8-byte read of [%rsi] and write of [%rdi]; REP
/// MOVSB with %rcx = 0: nothing) and the addresses from the guest's kallsyms.
/// </summary>
public sealed partial class RecorderVmTests(RecorderRun run, ITestOutputHelper output) : IClassFixture<RecorderRun>
{
    private const int EventsPerWork = 6;

    private string File(string name) => run.Result.File(name);

    private void AssertFile(string name, string expected, string what) =>
        Assert.True(File(name) == expected + "\n", $"{what}: /out/{name} is '{File(name).Trim()}', expected '{expected}'\n{run.Result.Describe()}");

    [Fact]
    public void Guest_run_is_healthy()
    {
        output.WriteLine(run.Result.Describe());
        Assert.True(run.Result.Vm.Succeeded, run.Result.Describe());
        PatchSites.PatchSiteRun.AssertAttached(run.Result, RecorderRun.Target);
    }

    /// <summary>`cat output &` before the target loads waits for it, follows it, ends after it is gone.</summary>
    [Fact]
    public void A_reader_started_before_the_target_waits_for_it_and_gets_every_event()
    {
        AssertFile("early-waiting.txt", "running", "the reader ended before the target loaded");
        AssertFile("early-stats.txt", "# streams: waiting for the target", "stats before the target");
        AssertFile("nb-before-end.txt", "EAGAIN", "an O_NONBLOCK read before the target");
        Assert.Equal("", File("nb-before.txt"));
        AssertFile("early-attached.txt", "running", "the reader ended while the target was attached");
        AssertFile("early-ended.txt", "exited", "the reader did not end after the target went away");

        var syms = Kallsyms(File("kallsyms.txt"));
        ulong var = syms["kedr_rec_var"], src = syms["kedr_rec_src"], dst = syms["kedr_rec_dst"];
        var text = File("early.txt");
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var events = lines.Select(OutputLine.Parse).Where(e => e is not null).Select(e => e!)
            .Where(e => e.Function == "kedr_rec_work" || e.PcFunction == "kedr_rec_work").ToList();
        var expected = new List<string>();
        for (int i = 0; i < 10; i++)
            expected.AddRange(["entry", $"read 0x{var:x} 4", $"write 0x{var:x} 4", $"read 0x{src:x} 8", $"write 0x{dst:x} 8", "exit"]);
        var actual = events.Select(e => e.Kind is "entry" or "exit" ? e.Kind : $"{e.Kind} 0x{e.Addr:x} {e.Size}").ToList();
        Assert.True(expected.SequenceEqual(actual), $"events of kedr_rec_work:\nexpected\n  {string.Join("\n  ", expected)}\nrecorded\n  {string.Join("\n  ", actual)}");
        Assert.Matches(@"^events: \d+ recorded, 0 dropped$", lines.LastOrDefault() ?? "");
    }

    [Fact]
    public void A_blocked_reader_ends_on_a_signal()
    {
        AssertFile("signal-waiting.txt", "running", "the reader did not wait while the target was attached");
        AssertFile("signal-ended.txt", "exited", "the reader did not end on SIGTERM");
    }

    /// <summary>kedr_read_mutex (the cursors' lock) is not held by a reader inside _copy_to_user().</summary>
    [Fact]
    public void The_read_mutex_is_not_held_across_copy_to_user()
    {
        var r = Counters(File("mutex.txt"));
        Assert.True(r.GetValueOrDefault("copies") > 0, $"the probe saw no _copy_to_user() of the reader: {File("mutex.txt")}\n{run.Result.Describe()}");
        Assert.True(File("head.txt").StartsWith("TID=", StringComparison.Ordinal), "head read no events: " + File("head.txt"));
        Assert.Equal(0, r["copies_locked"]);
    }

    /// <summary>A user access inside user_access_begin() (STAC): its handler runs with EFLAGS.AC clear.</summary>
    [Fact]
    public void Handlers_run_with_AC_clear_inside_user_access_regions()
    {
        var r = Counters(File("ac.txt"));
        Assert.True(r.GetValueOrDefault("handlers") > 0, $"the probe saw no handler call: {File("ac.txt")}\n{run.Result.Describe()}");
        Assert.True(r["handlers_ac"] == 0, $"{r["handlers_ac"]} of {r["handlers"]} handler calls had EFLAGS.AC set");
    }

    /// <summary>
    /// "nest 7": the first event of one kedr_rec_work() call that goes through kedr_record_irqs_off() (its MOVSQ)
    /// runs 7 more calls from inside the handler. The outer call's 6 events are recorded, the 7 nested calls' 42
    /// dropped: a read-write counts two, a string instruction one per operand it touched, a zero-count one none.
    /// </summary>
    [Fact]
    public void Nested_events_are_dropped_and_each_is_counted()
    {
        Assert.Contains("nested 7", File("nest-probe.txt"));
        AssertFile("nest.txt", $"{EventsPerWork} {7 * EventsPerWork}", "recorded and dropped by the nest (stats deltas)");
    }

    /// <summary>
    /// output opened and never read (stalled: no read for more than 2 s) while trace is read, 256 records
    /// a CPU, 2,400 events: nobody drops; trace gets every record; output, read at last, says how many it
    /// lost, and read + lost = recorded.
    /// </summary>
    [Fact]
    public void A_stalled_stream_does_not_make_the_others_drop_and_is_told_what_it_lost()
    {
        AssertFile("stalled-trace-ended.txt", "exited", "the trace reader did not end after the target went away");
        var all = File("stalled-stats.txt").Split('\n').Single(l => l.StartsWith("all ", StringComparison.Ordinal)).Split(' ');
        long recorded = long.Parse(all[1], CultureInfo.InvariantCulture), dropped = long.Parse(all[2], CultureInfo.InvariantCulture);
        Assert.True(dropped == 0, $"{dropped} events dropped with one stream stalled:\n{File("stalled-stats.txt")}");
        Assert.True(recorded >= 20 * 20 * EventsPerWork, $"only {recorded} recorded");

        var trace = run.Result.Vm.Files["stalled-trace.bin"];
        int headerSize = BinaryPrimitives.ReadUInt16LittleEndian(trace.AsSpan(10)), recordSize = BinaryPrimitives.ReadUInt16LittleEndian(trace.AsSpan(12));
        Assert.Equal(0, (trace.Length - headerSize) % recordSize);
        Assert.Equal(recorded, (trace.Length - headerSize) / recordSize);

        var lines = File("stalled-output.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        long events = lines.Count(l => l.StartsWith("TID=", StringComparison.Ordinal));
        long lostLines = lines.Select(l => LostLine().Match(l)).Where(m => m.Success).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        var last = Summary().Match(lines.LastOrDefault() ?? "");
        Assert.True(last.Success, "bad last line: " + lines.LastOrDefault());
        long lost = long.Parse(last.Groups[3].Value, CultureInfo.InvariantCulture);
        Assert.Equal(recorded, long.Parse(last.Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.True(lost > 0, "the stalled stream lost nothing?");
        Assert.Equal(lost, lostLines);
        Assert.Equal(recorded, events + lost);
    }

    [Fact]
    public void Forced_unload_with_a_blocked_reader_does_not_hang()
    {
        AssertFile("force-waiting.txt", "running", "the reader did not wait for a target");
        AssertFile("force-returned.txt", "returned", "rmmod -f hung");
        AssertFile("force-status.txt", "0", "rmmod -f failed");
        AssertFile("force-reader-ended.txt", "exited", "the reader did not end");
        AssertFile("force-files-gone.txt", "gone", "debugfs files left behind");
    }

    /// <summary>nr_records=2^24 (1.5 GiB of rings for 2 CPUs in a 512 MiB guest): -ENOMEM, one line, no OOM killer.</summary>
    [Fact]
    public void Rings_larger_than_memory_allows_are_refused_with_a_line()
    {
        AssertFile("huge.txt", "refused", "insmod with nr_records=16777216");
        Assert.Contains("Cannot allocate memory", File("huge-insmod.txt"));
        Assert.Contains("more than a quarter of RAM", File("huge-dmesg.txt"));
        Assert.DoesNotContain("Out of memory", run.Result.Vm.Dmesg);
        Assert.DoesNotContain("invoked oom-killer", run.Result.Vm.Dmesg);
        Assert.DoesNotContain("vmalloc error", run.Result.Vm.Dmesg);
    }

    /// <summary>
    /// The ring file's mapping (per_cpu/cpu0/ring, kmod/kedr_raw.h), by rawmap (Resources/rawmap.c) with 64-record
    /// rings and wait_ms=0: the geometry; mmap refuses a writable (EACCES from an O_RDONLY fd), private, larger,
    /// offset or executable mapping (EPERM for the last) and mprotect a writable or executable one; unknown ioctls are ENOTTY, bad arguments EFAULT
    /// or EINVAL (a read() of raw into NULL too, with records there; a read() of ring, which has none), a PUT of another position, of more than the ring's end
    /// or of more than the last GET granted (one record of those there) EINVAL; a PUT whose answer cannot be written
    /// is EFAULT and has not moved the cursor. Given 60 records, the reader stalls past the stall limit while 600 more wrap the ring: the PUT of its
    /// late copy says torn (the cursor stays), the next GET gives the oldest intact records, whose sequence numbers
    /// are their positions (nothing dropped on CPU 0), and reading on to the end gives every later record once, in
    /// order: it ends at the CPU's recorded count.
    /// </summary>
    [Fact]
    public void A_mapped_reader_overtaken_while_copying_is_told_and_reads_on_from_the_oldest_intact_record()
    {
        output.WriteLine(File("rawmap-torn.txt"));
        AssertFile("rawmap-torn-ended.txt", "exited", "rawmap did not end with the stream");
        var lines = File("rawmap-torn.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).ToDictionary(w => w[0], w => w[1..]);
        Assert.Equal(["48", "64", "4096"], lines["info"]);
        foreach (var (step, errno) in new[]
        {
            ("mmap-writable", 22), ("mmap-private", 22), ("mmap-larger", 22), ("mmap-offset", 22), ("mprotect-write", 13),
            ("mmap-write-rdonly", 13), ("mmap-exec", 1), ("mprotect-exec", 13),
            ("unknown-ioctl", 25), ("get-null", 14), ("get-flags", 22), ("read-ring", 22), ("read-null", 14), ("put-pos", 22), ("put-count", 22),
            ("put-grant", 22), ("put-efault", 14),
        })
            Assert.True(lines.TryGetValue(step, out var w) && w.SequenceEqual(["errno", errno.ToString(CultureInfo.InvariantCulture)]),
                $"{step}: expected errno {errno}\n{File("rawmap-torn.txt")}");
        Assert.True(lines.TryGetValue("put-efault-moved", out var moved) && moved.SequenceEqual(["0"]),
            $"a PUT that answered EFAULT moved the cursor\n{File("rawmap-torn.txt")}");
        var cpu0 = File("rawmap-cpu0.txt").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(ulong.Parse).ToArray();
        Assert.True(cpu0.Length == 2 && cpu0[1] == 0, "CPU 0 dropped: " + File("rawmap-cpu0.txt"));
        ulong recorded = cpu0[0];
        Assert.True(recorded >= 660, $"CPU 0 recorded {recorded}, the two works make 660");

        var get1 = lines["get1"].Select(ulong.Parse).ToArray();
        // The records there: the target's init's and some or all of the work's 60, within the 64-record ring.
        Assert.True(get1[2] > 0 && get1[2] <= 64, "get1: " + string.Join(' ', get1));
        Assert.Equal(["1"], lines["put1"]);
        // The oldest record still intact: past what was overwritten, the ring's last 64 at the time (the 660 events
        // of the two works, and the target's init, were written by then; its exit may come after), up to the ring's end.
        var get2 = lines["get2"].Select(ulong.Parse).ToArray();
        Assert.True(get2[0] > get1[0] + get1[2] && get2[0] + 64 >= 660 && get2[0] + 64 <= recorded, "get2: " + string.Join(' ', get2));
        Assert.Equal(get2[0] % 64, get2[1]);
        Assert.Equal(64 - get2[1], get2[2]);
        Assert.Equal(["0", "-1"], lines["put2"]);
        // drained, the position reached, torn copies, gaps in position or sequence.
        Assert.Equal([(recorded - get2[0] - get2[2]).ToString(CultureInfo.InvariantCulture), recorded.ToString(CultureInfo.InvariantCulture), "0", "0"],
            lines["end"]);
    }

    /// <summary>per_cpu/cpuN/raw is read(2) only, as before the mapping: no ioctl (ENOTTY), so lockdown lets it open.</summary>
    [Fact]
    public void The_raw_file_has_no_ioctls()
    {
        AssertFile("rawmap-raw.txt", "info errno 25", "KEDR_RAW_IOC_INFO on per_cpu/cpu0/raw");
    }

    /// <summary>
    /// Under lockdown (integrity) debugfs refuses to open a file with mmap or ioctls: per_cpu/cpuN/ring is EPERM,
    /// and kedr record reads every CPU's raw file with read(2) instead, getting every event recorded (the 60 of
    /// "work 10" on CPU 0 among them, kept since no stream had been opened).
    /// </summary>
    [Fact]
    public void Under_lockdown_kedr_record_reads_the_raw_files_with_read()
    {
        output.WriteLine(File("locked-record.txt"));
        Assert.Contains("[integrity]", File("lockdown.txt"));
        Assert.Contains("Operation not permitted", File("lockdown-ring.txt"));
        AssertFile("locked-record-ended.txt", "exited", "kedr record did not end with the target");
        var stats = File("locked-stats.txt").Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(ulong.Parse).ToArray();
        Assert.True(stats.Length == 2 && stats[0] >= 60 && stats[1] == 0, "stats: " + File("locked-stats.txt"));
        Assert.Contains("kedr record: 0 of 2 CPU streams read through the mapping of their rings, the others with read(2)\n",
            File("locked-record.txt"));
        Assert.Contains($": {stats[0]} events recorded, 0 dropped (target {RecorderRun.Target})", File("locked-record.txt"));
    }

    /// <summary>
    /// rmmod -f while a reader has the ring mapped: its GET ends (count 0), it closes the file, and kedr_sample waits
    /// for the mapping to go (the mapping holds the file), then unloads; the pages stay readable until then.
    /// </summary>
    [Fact]
    public void Forced_unload_waits_for_a_mapping_of_the_ring()
    {
        output.WriteLine(File("rawmap-hold.txt"));
        Assert.Equal("info 48 " , File("rawmap-hold.txt")[..8]);
        Assert.Contains("hold-get 0 0\n", File("rawmap-hold.txt"));
        AssertFile("hold-rmmod-waiting.txt", "running", "rmmod -f did not wait for the mapping");
        AssertFile("hold-rmmod-returned.txt", "returned", "rmmod -f hung");
        AssertFile("hold-status.txt", "0", "rmmod -f failed");
        AssertFile("rawmap-hold-ended.txt", "exited", "rawmap did not end");
        Assert.Contains("hold-read 0\nunmapped\n", File("rawmap-hold.txt"));
    }

    [GeneratedRegex(@"^lost: (\d+) events \(overwritten before this stream read them\)$")]
    private static partial Regex LostLine();

    [GeneratedRegex(@"^events: (\d+) recorded, (\d+) dropped, (\d+) lost by this stream$")]
    private static partial Regex Summary();

    private static Dictionary<string, long> Counters(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' '))
            .ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture));

    private static Dictionary<string, ulong> Kallsyms(string text)
    {
        var d = new Dictionary<string, ulong>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (p.Length >= 3) d[p[2]] = ulong.Parse(p[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
        return d;
    }
}
