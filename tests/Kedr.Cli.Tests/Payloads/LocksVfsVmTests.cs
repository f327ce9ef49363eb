using System.Globalization;
using Kedr.Cli.Tests.PatchSites;
using Kedr.Cli.Vm;
using Kedr.Cli.Tests.Record;
using Kedr.Core.Elf;
using Kedr.Kernel.Vm;
using Kedr.Output;
using Kedr.Output.Races;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Payloads;

/// <summary>
/// kedr_locks' VFS probes (kmod/payloads/kedr_locks/kedr_locks_vfs.c; docs/races.md, "The VFS around the
/// callbacks") on fat, 4 vCPUs, one boot: three shells append to one file of a vfat mount (noatime: no atime
/// update, whose race between readers is real) while each makes, fills and removes a folder of the root and
/// looks up names in the root that do not exist. The VFS holds the file's i_rwsem around
/// <c>file_update_time()</c> → <c>fat_update_time</c> → <c>fat_truncate_time</c> (mtime, ctime), and the root's
/// around <c>fat_remove_entries</c> (rmdir, exclusive) and <c>fat_search_long</c> (lookup, shared): no call of
/// fat shows either. <c>kedr races</c> over the recording without the records of the VFS probes (told apart by
/// their pc: the address of a probed kernel function, read from the guest's /proc/kallsyms) reports such
/// pairs; over the whole recording it reports none of them, and nothing that was not reported without. (A run:
/// 21 pairs without, among them the eviction pairs `rm` makes; with, 1: fat_free_clusters / fat_clusters_flush,
/// `sbi->free_clusters` under two different locks, a true race that stays.) The same boot then loads kedr_locks
/// with vfs_maxactive=1 and fat twice, to check the probes' misses are counted and shown per target, and prints how
/// long rmmod kedr_locks took.
/// Run alone: <c>dotnet test tests/Kedr.Cli.Tests -c Release --filter "FullyQualifiedName~LocksVfsVm"</c>.
/// </summary>
public sealed class LocksVfsVmTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-locks-vfs-");

    public void Dispose() => _dir.Delete(true);

    private static readonly string[] FatModules = ["brd", "vfat", "nls_ascii", "nls_cp437", "nls_utf8"];

    /// <summary>The kernel functions kedr_locks_vfs.c probes (the pc of every record it makes).</summary>
    private static readonly string[] Probed =
    [
        "inode_init_always", "__destroy_inode", "up_write", "up_read", "downgrade_write", "iput", "dput", "do_dentry_open",
        "down_write", "down_write_killable", "down_write_trylock", "down_read", "down_read_killable",
        "down_read_interruptible", "down_read_trylock", "__writeback_single_inode", "inode_wait_for_writeback",
    ];

    /// <summary>
    /// What eviction runs in rm's task (fat_evict_inode, the truncation it makes), ordered after a reader's uses by
    /// the reader's dput() only. Not fat_free_clusters: its pair with fat_clusters_flush (two locks) is a true race.
    /// </summary>
    private static readonly string[] Eviction = ["fat_evict_inode", "fat_truncate_blocks", "fat_free"];

    /// <summary>The pairs the VFS's i_rwsem orders in this workload (by function, either order).</summary>
    private static readonly (string, string)[] OrderedByIRwsem =
    [
        ("fat_truncate_time", "fat_truncate_time"),
        ("fat_remove_entries", "fat_search_long"),
    ];

    [Fact]
    public async Task The_VFS_i_rwsem_around_fat_callbacks_orders_what_it_protects()
    {
        var work = Path.Combine(_dir.FullName, "payloads");
        var locks = await PayloadBuild.BuildAsync(PayloadBuild.BuiltIn("kedr_locks"), work, output);
        var alloc = await PayloadBuild.BuildAsync(PayloadBuild.BuiltIn("kedr_alloc"), work, output);
        var pattern = string.Join('|', Probed);
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("fat", GuestKedr.Setup + $$"""
            K=/lib/modules/kedr
            grep -E ' [tT] ({{pattern}})$' /proc/kallsyms > /out/probed.txt
            insmod $K/kedr_locks.ko
            insmod $K/kedr_alloc.ko
            kedr record -o /tmp/rec.trace 2> /out/record.txt &
            rec=$!
            modprobe brd rd_nr=1 rd_size=8192
            modprobe vfat
            mkdosfs /dev/ram0 > /dev/null
            mkdir -p /mnt/t
            mount -t vfat -o noatime /dev/ram0 /mnt/t
            work() {
                mkdir /mnt/t/d$1
                i=0
                while [ $i -lt 12 ]; do
                    echo "$1 $i" >> /mnt/t/shared
                    echo "$1 $i" > /mnt/t/d$1/f$i
                    [ -e /mnt/t/none-$1-$i ] || true
                    i=$((i + 1))
                done
                rm -r /mnt/t/d$1
                i=0
                while [ $i -lt 6 ]; do
                    [ -e /mnt/t/gone-$1-$i ] || true
                    i=$((i + 1))
                done
            }
            pids=
            for s in 1 2 3; do work $s & pids="$pids $!"; done
            wait $pids
            wc -l < /mnt/t/shared > /out/lines.txt
            # A file read by one task from the disk (its pages dropped), then removed by another: the reader's
            # reference goes with its dentry (fput, dput), the eviction comes in rm's unlink.
            # Three such files: the scenario needs the reader to map blocks (fat_bmap), i.e. pages not in the cache.
            for f in 1 2 3; do
                i=0
                while [ $i -lt 40 ]; do echo "line $i of a file to read" >> /mnt/t/read-me-$f; i=$((i + 1)); done
            done
            sync
            echo 1 > /proc/sys/vm/drop_caches
            for f in 1 2 3; do
                (cat /mnt/t/read-me-$f > /dev/null) &
                wait $!
                (rm /mnt/t/read-me-$f) &
                wait $!
            done
            umount /mnt/t
            rmmod vfat
            rmmod fat
            wait $rec
            rmmod kedr_alloc
            t0=$(cut -d' ' -f1 /proc/uptime)
            rmmod kedr_locks
            t1=$(cut -d' ' -f1 /proc/uptime)
            echo "$t0 $t1" > /out/unload.txt
            cp /tmp/rec.trace /out/rec.trace
            # The probes' misses, per target. vfs_maxactive=1: one kretprobe instance for each return-probed
            # function, which a call holds until it returns. While dd's write of 16 MiB holds a file's i_rwsem,
            # the second appender waiting in down_write() finds none: a miss (rounds until one is counted, at most
            # 10). fat comes twice: with that workload, then with none (the count starts again: 0, or the few the
            # kernel's own rwsems made).
            insmod $K/kedr_locks.ko vfs_maxactive=1
            modprobe fat
            append() { while [ ! -e /tmp/done ]; do echo x >> /tmp/big; done; }
            r=0
            until [ $r -ge 10 ] || ! grep -q '^missed 0$' /sys/kernel/debug/kedr_locks/vfs; do
                rm -f /tmp/done
                (for i in 1 2 3 4; do dd if=/dev/zero of=/tmp/big bs=16M count=1 2> /dev/null; done; touch /tmp/done) &
                append & append & append &
                wait
                r=$((r + 1))
            done
            rm /tmp/big
            cat /sys/kernel/debug/kedr_locks/vfs > /out/vfs-busy.txt
            rmmod fat
            modprobe fat
            cat /sys/kernel/debug/kedr_locks/vfs > /out/vfs-idle.txt
            rmmod fat
            rmmod kedr_locks
            dmesg | grep 'kedr_locks: vfs: ' > /out/vfs-lines.txt || true
            """)
        {
            GuestModules = FatModules,
            ExtraFiles = [.. GuestKedr.Files, locks, alloc],
            Cpus = 4,
            MemoryMiB = 1024,
            Timeout = TimeSpan.FromSeconds(300),
        }, output);
        PatchSiteRun.AssertAttached(r, "fat");
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal("36", r.File("lines.txt").Trim());
        output.WriteLine(r.File("record.txt"));

        var unload = r.File("unload.txt").Split(' ').Select(t => double.Parse(t, CultureInfo.InvariantCulture)).ToArray();
        output.WriteLine($"rmmod kedr_locks: {(unload[1] - unload[0]) * 1000:F0} ms");
        AssertMissesPerTarget(r);

        var probed = r.File("probed.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => ulong.Parse(l.Split(' ')[0], NumberStyles.HexNumber)).ToHashSet();
        Assert.Equal(Probed.Length, probed.Count);
        var recPath = Path.Combine(_dir.FullName, "rec.trace");
        File.WriteAllBytes(recPath, r.Vm.Files["rec.trace"]);
        var trace = TraceReader.Read(recPath);
        Assert.Equal(0ul, trace.Recording!.Dropped);
        bool vfs(in TraceEvent e) => e.Kind is >= TraceEventKind.Acquire and <= TraceEventKind.Free && probed.Contains(e.Pc);
        var vfsAcquires = trace.Events.Where(e => vfs(e) && e.Kind == TraceEventKind.Acquire).ToList();
        Assert.True(vfsAcquires.Select(e => e.Tid).Distinct().Count() >= 3,
            $"ACQUIREs of the VFS probes from {vfsAcquires.Select(e => e.Tid).Distinct().Count()} tasks: is vfs=1 the default?");

        var fat = GuestKernel.FindOrInstall(RepositoryPaths.VmScripts).FindModule("fat")!;
        var warnings = new List<Kedr.Core.Diagnostics.KedrDiagnostic>();
        var elf = ElfFile.Read(fat);
        var symbols = TraceSymbolizer.Create(elf, trace, warnings);
        var init = ModuleInit.Find(elf, symbols, trace);
        var setup = ModuleInit.FindEntered(symbols, trace, ["fat_fill_super"], out _);
        RaceResult Detect(IEnumerable<TraceEvent> events)
        {
            var d = new RaceDetector(new RaceDetectorOptions { InitFunction = init, SetupFunctions = setup });
            foreach (var e in events) d.Process(e);
            return d.Result();
        }
        string Fn(ulong pc) => symbols.Resolve(pc)?.Function ?? $"0x{pc:x}";
        (string, string) Pair(RacePair p) => string.CompareOrdinal(Fn(p.First.Pc), Fn(p.Second.Pc)) <= 0
            ? (Fn(p.First.Pc), Fn(p.Second.Pc)) : (Fn(p.Second.Pc), Fn(p.First.Pc));
        string List(RaceResult res) => string.Join('\n', res.Races.Select(p => $"{p.Count,6} {Fn(p.First.Pc)}+0x{symbols.Resolve(p.First.Pc)?.Offset:x} / {Fn(p.Second.Pc)}+0x{symbols.Resolve(p.Second.Pc)?.Offset:x}"));

        var without = Detect(trace.Events.Where(e => !vfs(e)));
        var with = Detect(trace.Events);
        // The reader's dput(): every record but the SIGNALs made at dput's address.
        var dputs = r.File("probed.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.EndsWith(" dput", StringComparison.Ordinal))
            .Select(l => ulong.Parse(l.Split(' ')[0], NumberStyles.HexNumber)).ToHashSet();
        var withoutDput = Detect(trace.Events.Where(e => !(e.Kind == TraceEventKind.Signal && dputs.Contains(e.Pc))));
        bool evicts(RacePair p) => Eviction.Contains(Fn(p.First.Pc)) || Eviction.Contains(Fn(p.Second.Pc));
        output.WriteLine($"without the dput() signals, {withoutDput.Races.Count} pairs:\n{List(withoutDput)}");
        Assert.True(withoutDput.Races.Any(evicts), $"no eviction pair without the dput() signals:\n{List(withoutDput)}");
        Assert.DoesNotContain(with.Races, evicts);
        output.WriteLine($"without the VFS records, {without.Races.Count} pairs:\n{List(without)}\nwith them, {with.Races.Count} pairs:\n{List(with)}");
        Assert.True(without.Races.Any(p => OrderedByIRwsem.Contains(Pair(p))), $"no i_rwsem pair without the VFS records:\n{List(without)}");
        Assert.DoesNotContain(with.Races, p => OrderedByIRwsem.Contains(Pair(p)));
        // The entries only order: whatever is reported with them was reported without (the true races stay).
        var before = without.Races.Select(Pair).ToHashSet();
        Assert.All(with.Races, p => Assert.Contains(Pair(p), before));
    }

    /// <summary>
    /// A probe hit the kernel skipped (nmissed) may be a lost ACQUIRE or RELEASE, and so a false race: kedr_locks
    /// counts the misses while a target is loaded, in debugfs kedr_locks/vfs and in one dmesg line naming the target
    /// when it unloads, starting again from 0 when the next target loads.
    /// </summary>
    private void AssertMissesPerTarget(PatchSiteResult r)
    {
        static long Missed(string debugfs) => long.Parse(debugfs.Split('\n').Single(l => l.StartsWith("missed ", StringComparison.Ordinal))[7..],
            CultureInfo.InvariantCulture);
        var busy = r.File("vfs-busy.txt");
        var idle = r.File("vfs-idle.txt");
        var lines = r.File("vfs-lines.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        output.WriteLine($"kedr_locks/vfs with the workload:\n{busy}\nthen:\n{idle}\n{string.Join('\n', lines)}");
        Assert.StartsWith("target fat loaded\n", busy);
        Assert.StartsWith("target fat loaded\n", idle);
        long missed = Missed(busy);
        Assert.True(missed > 0, $"no miss with vfs_maxactive=1 and the appenders:\n{busy}");
        // Unloads: the recorded run's fat, then the two of vfs_maxactive=1; each line counts its own target's misses.
        var counts = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"kedr_locks: vfs: fat: (\d+) probe hits missed"))
            .Select(m => m.Success ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : -1).ToArray();
        Assert.True(counts.Length == 3 && counts.All(c => c >= 0), $"not three lines, one per unload of fat:\n{string.Join('\n', lines)}");
        Assert.True(counts[1] >= missed, $"the line of the loaded fat gives {counts[1]}, debugfs gave {missed} before");
        Assert.True(Missed(idle) < missed && counts[2] < missed,
            $"the count did not start again when fat loaded again: {Missed(idle)} at its load, {counts[2]} at its unload, after {missed}");
    }
}
