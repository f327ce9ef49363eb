using System.Text.RegularExpressions;
using Kedr.Cli.Tests.PatchSites;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Record;

/// <summary>
/// kedr_sample's filter (debugfs <c>filter</c>, kmod/kedr_sample/kedr_filter.c) on kedr_rec_target, whose
/// kedr_rec_work() gives exactly six events a call (kmod/kedr_rec_target/kedr_rec_work.S): entry, read and
/// write of kedr_rec_var (4 bytes), read of kedr_rec_src and write of kedr_rec_dst (8 bytes), exit. For each
/// setting, N calls must record exactly the events the setting keeps and count the rest as filtered: the
/// filter drops nothing it should keep and keeps nothing it should drop, and none is counted as dropped.
/// A site whose events are all filtered out whatever the address makes no call at all: the copy jumps over its
/// <c>push $site; call helper</c> (kmod/kedr_sample/kedr_jumps.c), so its events are not counted as filtered
/// either, and with everything filtered out kprobes on the helpers see no call. With <c>jump_left_out=0</c>
/// the helpers skip such sites and count them (the string sites still enter C). Then the filter changes back
/// and forth while kedr_rec_work() runs on four vCPUs, the int3s of each change held for 50 ms
/// (<c>restore_delay_ms</c>) so that the CPUs meet them: the events come back exactly, dmesg stays clean.
/// </summary>
public sealed partial class FilterVmTests(ITestOutputHelper output)
{
    private const string Script = """
        K=/lib/modules/kedr
        D=/sys/kernel/debug/kedr_sample
        P=/sys/kernel/debug/kedr_rec_probe
        # "recorded dropped filtered" from stats (then waited_ms).
        totals() { sed -n 's/^all \([0-9]*\) \([0-9]*\) [0-9]* \([0-9]*\) [0-9]*$/\1 \2 \3/p' $D/stats; }
        # step NAME CALLS: CALLS calls of kedr_rec_work(); the deltas go to /out/NAME.txt.
        step() {
            set -- $1 $2 $(totals)
            echo "work $2" > $P/ctl
            set -- $1 $2 $3 $4 $5 $(totals)
            echo "$(($6 - $3)) $(($7 - $4)) $(($8 - $5))" > /out/$1.txt
        }
        # stepi NAME CALLS: CALLS indirect calls of kedr_rec_indirect(), the same way.
        stepi() {
            set -- $1 $2 $(totals)
            echo "indirect $2" > $P/ctl
            set -- $1 $2 $3 $4 $5 $(totals)
            echo "$(($6 - $3)) $(($7 - $4)) $(($8 - $5))" > /out/$1.txt
        }
        # Set before the target loads: its init's events are left out too.
        printf 'functions kedr_rec_w*\nkinds write\n' > $D/filter
        cat $D/filter > /out/filter1.txt
        insmod $K/kedr_rec_target.ko
        insmod $K/kedr_rec_probe.ko
        step writes 100
        var=$(grep ' kedr_rec_var' /proc/kallsyms | cut -d' ' -f1)
        echo "ranges $var+4" > $D/filter
        cat $D/filter > /out/filter2.txt
        step var-writes 100
        echo all > $D/filter
        step all 10
        echo kinds function > $D/filter
        step functions 10
        printf 'kinds read write locked function\nfunctions no_such_function\n' > $D/filter
        step none 10
        if echo "kinds bogus" > $D/filter 2>/dev/null; then echo accepted > /out/bogus.txt; else echo refused > /out/bogus.txt; fi
        # Everything filtered out, the handlers counted (kprobes): only the string site's enter C.
        rmmod kedr_rec_probe
        insmod $K/kedr_rec_probe.ko mode=ac
        echo kinds > $D/filter
        step nothing 10
        cat $P/result > /out/nothing-handlers.txt
        # Indirect calls are a kind of their own: left out with the rest, kept alone (neither setting moves
        # a call, so no "filter:" line in dmesg).
        stepi nothing-indirect 10
        cat $P/result > /out/nothing-indirect-handlers.txt
        echo 'functions *' > $D/filter
        echo kinds indirect > $D/filter
        cat $D/filter > /out/filter3.txt
        stepi indirect-only 10
        cat $P/result > /out/indirect-only-handlers.txt
        echo kinds > $D/filter
        echo functions no_such_function > $D/filter
        # The helpers skip them instead, counted as filtered.
        J=/sys/module/kedr_sample/parameters/jump_left_out
        echo 0 > $J
        step counted 10
        cat $P/result > /out/counted-handlers.txt
        echo 1 > $J
        rmmod kedr_rec_probe
        # The filter changed while kedr_rec_work() runs on every CPU.
        insmod $K/kedr_rec_probe.ko
        echo 50 > /sys/module/kedr_sample/parameters/restore_delay_ms
        for w in 1 2 3 4; do
            (while [ ! -e /tmp/stop ]; do echo "work 5" > $P/ctl; done) &
        done
        i=0
        while [ $i -lt 8 ]; do
            echo kinds > $D/filter
            echo kinds function > $D/filter
            echo all > $D/filter
            i=$((i + 1))
        done
        set -- $(totals)
        sleep 1
        set -- $1 $2 $3 $(totals)
        echo "$(($4 - $1)) $(($5 - $2))" > /out/busy.txt
        touch /tmp/stop
        wait
        echo 0 > /sys/module/kedr_sample/parameters/restore_delay_ms
        step after 10
        dmesg | grep 'kedr_sample: filter: ' > /out/changes.txt
        # The target's exit gives no event: the last ones are the step's.
        echo kinds > $D/filter
        rmmod kedr_rec_probe
        rmmod kedr_rec_target
        """;

    [Fact]
    public async Task Each_setting_keeps_exactly_the_events_it_should()
    {
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_rec_target", Script)
        {
            ExtraModules = ["kedr_rec_probe"],
            Cpus = 4,
            Timeout = TimeSpan.FromSeconds(300),
        }, output);
        PatchSiteRun.AssertAttached(r, "kedr_rec_target");
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal("functions kedr_rec_w*\nkinds write\nranges\n", r.File("filter1.txt"));
        Assert.Matches(@"^functions kedr_rec_w\*\nkinds write\nranges ([0-9a-f]+)-([0-9a-f]+)\n$", r.File("filter2.txt"));
        // recorded, dropped, filtered for N calls of six events each. The five event calls of a call: entry,
        // INCL (read, write), MOVSQ (read src, write dst), REP MOVSB with a zero count (no event), exit. A call
        // whose events are all filtered out is jumped over, its events not counted; the others count in C.
        Assert.Equal("200 0 200\n", r.File("writes.txt"));      // W var, W dst; R var, R src in C; entry, exit jumped
        Assert.Equal("100 0 300\n", r.File("var-writes.txt"));  // W var only; R var, R src, W dst in C
        Assert.Equal("60 0 0\n", r.File("all.txt"));
        Assert.Equal("20 0 0\n", r.File("functions.txt"));      // entry, exit; INCL and MOVSQ jumped
        Assert.Equal("0 0 0\n", r.File("none.txt"));            // every call jumped (function filtered out)
        Assert.Equal("refused\n", r.File("bogus.txt"));
        // Everything filtered out: no helper is called at all, so no handler either. On the module before
        // kedr_jumps.c, the five helper calls a call were all made (the fast path returned in three).
        Assert.Equal("0 0 0\n", r.File("nothing.txt"));
        Assert.Matches(@"(?m)^helpers 0$", r.File("nothing-handlers.txt"));
        Assert.Matches(@"(?m)^handlers 0$", r.File("nothing-handlers.txt"));
        // kedr_rec_indirect(10): ten calls through its pointer, each an indirect-branch event, besides its
        // entry, exit and the pointer's read, whose calls are jumped over. With nothing kept the indirect
        // events count as filtered; kept alone, exactly they are recorded.
        Assert.Equal("0 0 10\n", r.File("nothing-indirect.txt"));
        Assert.Equal("functions *\nkinds indirect\nranges\n", r.File("filter3.txt"));
        Assert.Equal("10 0 0\n", r.File("indirect-only.txt"));
        // Left out, they are counted by the indirect helper itself (kedr_indirect_asm.S), which then goes
        // on to the thunk without kedr_on_indirect() (a kprobe on it counts its calls); kept, each enters it.
        // Before that fast path the ten left out made ten calls of it.
        Assert.Matches(@"(?m)^indirect 0$", r.File("nothing-indirect-handlers.txt"));
        Assert.Matches(@"(?m)^indirect 10$", r.File("indirect-only-handlers.txt"));
        // jump_left_out=0: the helpers skip the entry, the exit and the INCL's read-write before C, counted as
        // filtered (1 + 1 + 2 of the 6 events a call); the string helper always enters C (its events depend on
        // how far the pointers moved): the MOVSQ's and the REP MOVSB's, twice a call. Five helper calls a call.
        Assert.Equal("0 0 60\n", r.File("counted.txt"));
        Assert.Matches(@"(?m)^handlers 20$", r.File("counted-handlers.txt"));
        Assert.Matches(@"(?m)^helpers 50$", r.File("counted-handlers.txt"));

        // A line in dmesg for each setting that changed some call: "all" (entry, exit back), "kinds function"
        // (the INCL and both strings out), the two lines of "none" (those three back; then all five out),
        // jump_left_out 0 and 1. Then the loop, which starts with everything out (functions no_such_function):
        // its first "kinds" and "kinds function" change nothing, its "all" puts all five back; each of the
        // seven rounds after changes three times: "kinds" takes out every call of the module, "kinds function"
        // puts back the entries and exits, "all" the rest. The CPUs met the int3s.
        output.WriteLine(r.File("changes.txt"));
        var changes = ChangeLine().Matches(r.File("changes.txt")).ToList();
        Assert.Equal(6 + 1 + 7 * 3, changes.Count);
        int N(int line, int group) => int.Parse(changes[line].Groups[group].Value);
        for (int k = changes.Count - 21; k < changes.Count; k += 3)
        {
            Assert.True(N(k, 2) == 0 && N(k + 1, 1) == 0 && N(k + 2, 1) == 0, r.File("changes.txt"));
            Assert.True(N(k + 1, 2) > 0 && N(k + 2, 2) > 0, r.File("changes.txt"));
            Assert.Equal(N(k, 1), N(k + 1, 2) + N(k + 2, 2));
        }
        Assert.True(changes.Sum(m => int.Parse(m.Groups[3].Value)) > 0, r.File("changes.txt"));
        var busy = r.File("busy.txt").Split(' ');
        Assert.True(long.Parse(busy[0]) > 0, "recorded while busy: " + r.File("busy.txt"));
        Assert.Equal("0", busy[1].Trim());
        Assert.Equal("60 0 0\n", r.File("after.txt"));

        // What was recorded (the output stream, read at the end): in order, the steps' kept events.
        var lines = r.Output.Split('\n').Where(l => l.StartsWith("TID=", StringComparison.Ordinal)).ToList();
        var kinds = lines.Select(l => KindOf().Match(l).Groups[1].Value).ToList();
        Assert.True(lines.Count > 200 + 100 + 60 + 20 + 60, $"{lines.Count} events");
        Assert.All(kinds.Take(300), k => Assert.Equal("write", k));
        Assert.All(lines.Take(300), l => Assert.Contains("kedr_rec_work+", l));
        var varAddr = AddrOf().Match(lines[200]).Groups[1].Value;
        Assert.All(lines.Skip(200).Take(100), l => Assert.Equal(varAddr, AddrOf().Match(l).Groups[1].Value));
        Assert.Equal(Enumerable.Repeat(new[] { "entry", "read", "write", "read", "write", "exit" }, 10).SelectMany(x => x), kinds.Skip(300).Take(60));
        Assert.Equal(Enumerable.Repeat(new[] { "entry", "exit" }, 10).SelectMany(x => x), kinds.Skip(360).Take(20));
        Assert.Equal(Enumerable.Repeat(new[] { "entry", "read", "write", "read", "write", "exit" }, 10).SelectMany(x => x), kinds.TakeLast(60));
    }

    /// <summary>
    /// A ring of 64 records, no reader: of 100 calls of kedr_rec_work() (600 events) all but what fits are
    /// dropped, and dropped_functions puts every one of those drops on kedr_rec_work, named with its index in the
    /// .ko's symbol table (read here from the ELF).
    /// </summary>
    [Fact]
    public async Task Drops_are_counted_per_function()
    {
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_rec_target", """
            K=/lib/modules/kedr
            D=/sys/kernel/debug/kedr_sample
            insmod $K/kedr_rec_target.ko
            insmod $K/kedr_rec_probe.ko
            echo "work 100" > /sys/kernel/debug/kedr_rec_probe/ctl
            cat $D/stats > /out/stats.txt
            cat $D/dropped_functions > /out/dropped.txt
            rmmod kedr_rec_probe
            rmmod kedr_rec_target
            """)
        {
            ExtraModules = ["kedr_rec_probe"],
            LoaderArgs = "nr_records=64",
        }, output);
        Assert.True(r.Vm.Succeeded, r.Describe());
        var all = Regex.Match(r.File("stats.txt"), @"^all (\d+) (\d+) ", RegexOptions.Multiline);
        Assert.True(all.Success, r.File("stats.txt"));
        long dropped = long.Parse(all.Groups[2].Value);
        Assert.True(dropped >= 600 - 2 * 64, r.File("stats.txt"));
        var elf = Kedr.Core.Elf.ElfFile.Read(Path.Combine(Kedr.Cli.Vm.RepositoryPaths.Kmod, "kedr_rec_target", "kedr_rec_target.ko"));
        int symidx = Enumerable.Range(0, elf.Symbols.Count).Single(i => elf.Symbols[i].Name == "kedr_rec_work");
        Assert.Equal($"{dropped} {symidx} kedr_rec_work\n", r.File("dropped.txt"));
    }

    [GeneratedRegex(@"filter: (\d+) event calls jumped over, (\d+) back \(int3 met (\d+) times meanwhile\)")]
    private static partial Regex ChangeLine();

    [GeneratedRegex(@"^TID=0x[0-9a-f]+ (entry|exit|read|write|locked update)")]
    private static partial Regex KindOf();

    [GeneratedRegex(@"addr=(0x[0-9a-f]+), size=")]
    private static partial Regex AddrOf();
}
