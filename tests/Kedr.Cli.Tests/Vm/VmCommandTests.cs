using System.Text.RegularExpressions;
using Kedr.Cli.Vm;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Vm;

/// <summary>
/// <c>kedr vm</c> as a user runs it (the built kedr as a process): a guest-kernel target whose workload
/// needs other modules of the guest kernel, loaded with plain <c>modprobe</c> from the script.
/// </summary>
public sealed partial class VmCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-vm-command-tests-");

    public void Dispose() => _dir.Delete(true);

    /// <summary>
    /// vfat (which needs fat, the target), the ram disk and the code pages come from the guest kernel's module
    /// tree: nothing but the target is named on the command line. A file written on a fresh FAT file system
    /// must read back after a remount.
    /// </summary>
    private const string FatScript = """
        modprobe vfat
        modprobe brd rd_nr=1 rd_size=4096
        modprobe nls_cp437
        modprobe nls_ascii
        mkdosfs /dev/ram0 > /dev/null
        mkdir -p /mnt/fat
        mount -t vfat /dev/ram0 /mnt/fat
        echo kedr-vm-fat > /mnt/fat/hello.txt
        umount /mnt/fat
        mount -t vfat /dev/ram0 /mnt/fat
        cat /mnt/fat/hello.txt > /out/hello.txt
        umount /mnt/fat
        rmmod vfat
        """;

    [Fact]
    public void Vm_fat_target_with_a_script_that_modprobes_vfat()
    {
        var script = Path.Combine(_dir.FullName, "fat.sh");
        File.WriteAllText(script, FatScript);
        var results = Path.Combine(_dir.FullName, "results");
        var r = KedrProcess.Run(_dir.FullName, TimeSpan.FromMinutes(15),
            "vm", "--target", "fat", "--script", script, "--timeout", "400", "--out", results);
        output.WriteLine(r.Stderr);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("kedr-vm-fat\n", File.ReadAllText(Path.Combine(results, "hello.txt")));
        // vfat_fill_super calls fat's fat_fill_super (fs/fat/namei_vfat.c): mounting runs the target.
        Assert.Contains("entry: addr=", r.Stdout);
        Assert.Contains("(\"fat_fill_super\")", r.Stdout);
    }

    private const int Calls = 20_000, Writes = 4, MemMiB = 512, Cpus = 2;

    /// <summary>
    /// <c>kedr vm</c> runs <c>kedr record</c> in the guest while the script runs, so what it prints has every
    /// event even when the workload makes more than the rings hold: kmod/kedr_rec_target's kedr_rec_work() gives
    /// exactly six events a call (kedr_rec_work.S: entry, 4-byte read and write, 8-byte read and write, exit),
    /// kmod/kedr_rec_probe calls it <see cref="Calls"/> times per write to its ctl, four writes on CPU 0 (taskset);
    /// that is 480,000 events on one CPU, more than its ring holds with the defaults (a 512 MiB guest of 2 vCPUs:
    /// the rings take 1/16 of RAM, 48 bytes a record, 349,525 records per CPU). Every one is printed, none dropped,
    /// and kedr_sample's own count is the printed one. With <c>--no-record</c> (the output stream read after the
    /// script, as <c>kedr vm</c> did before) the same run drops what CPU 0's ring could not keep: by hand, 307,740
    /// printed and 172,264 dropped. (With 4 vCPUs and 240,000 events the recorder, sharing TCG's one host thread
    /// with the workload, did not keep up: 32,900 of 40,000 entries; 2 vCPUs it is.)
    /// </summary>
    [Fact]
    public async Task Vm_output_has_every_event_of_a_workload_larger_than_the_rings()
    {
        var built = await KmodBuilder.BuildAsync(NullLogger.Instance, default);
        var script = Path.Combine(_dir.FullName, "work.sh");
        File.WriteAllText(script, $"""
            insmod /lib/modules/kedr/kedr_rec_target.ko
            insmod /lib/modules/kedr/kedr_rec_probe.ko
            i=0
            while [ $i -lt {Writes} ]; do taskset 1 sh -c 'echo "work {Calls}" > /sys/kernel/debug/kedr_rec_probe/ctl'; i=$((i + 1)); done
            rmmod kedr_rec_probe
            rmmod kedr_rec_target
            """);
        var results = Path.Combine(_dir.FullName, "results");
        var r = KedrProcess.Run(_dir.FullName, TimeSpan.FromMinutes(15), "vm", "--target", "kedr_rec_target", "--script", script,
            "--ko", built["kedr_rec_probe"], "--mem", MemMiB.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--smp", Cpus.ToString(System.Globalization.CultureInfo.InvariantCulture), "--timeout", "400", "--out", results);
        output.WriteLine(r.Stderr);
        Assert.True(r.ExitCode == 0, r.Stderr + Tail(r.Stdout));

        const long events = 6L * Calls * Writes;
        const long cpuRingHolds = ((long)MemMiB << 20) / 16 / 48 / Cpus;
        Assert.True(events > cpuRingHolds);
        var work = r.Stdout.Split('\n').Select(OutputLine.Parse).Where(e => e is not null && (e.Function ?? e.PcFunction) == "kedr_rec_work").ToList();
        // kedr_sample's counts and the recording's last line first: a shortfall below then says whether the
        // events were dropped (counted: the recorder fell behind) or lost.
        var stats = File.ReadAllText(Path.Combine(results, "stats.txt"));
        output.WriteLine(stats);
        output.WriteLine(EventsLine().Match(r.Stdout).Value);
        Assert.Equal(Calls * Writes, work.Count(e => e!.Kind == "entry"));
        Assert.Equal(events, work.Count);
        Assert.DoesNotContain("<...>", r.Stdout);
        var last = EventsLine().Match(r.Stdout);
        Assert.True(last.Success, Tail(r.Stdout));
        Assert.Equal("0", last.Groups[2].Value);
        // kedr_sample's own counts at the end: all it recorded was printed, nothing dropped.
        var all = Regex.Match(stats, @"^all (\d+) (\d+) ", RegexOptions.Multiline);
        Assert.Equal((last.Groups[1].Value, "0"), (all.Groups[1].Value, all.Groups[2].Value));
        Assert.Contains($"=== kedr record: every event ({all.Groups[1].Value} recorded, 0 dropped; /out/kedr.trace) ===", r.Stdout);
        Assert.True(File.Exists(Path.Combine(results, "kedr.trace")));
    }

    [GeneratedRegex(@"^events: (\d+) recorded, (\d+) dropped$", RegexOptions.Multiline)]
    private static partial Regex EventsLine();

    private static string Tail(string s) => s.Length <= 4000 ? s : s[^4000..];

    [Fact]
    public void Vm_help_says_the_guest_has_the_guest_kernels_modules()
    {
        var r = KedrProcess.Run(_dir.FullName, "vm", "--help");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("every module of the guest kernel", r.Stdout);
        Assert.Contains("modprobe", r.Stdout);
    }
}
