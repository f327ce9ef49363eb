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
/// A site whose events are all filtered out whatever the address is skipped in the helper, before any C
/// handler runs: with everything filtered out, kprobes on the handlers see only the string site's calls.
/// </summary>
public sealed partial class FilterVmTests(ITestOutputHelper output)
{
    private const string Script = """
        K=/lib/modules/kedr
        D=/sys/kernel/debug/kedr_sample
        P=/sys/kernel/debug/kedr_rec_probe
        # "recorded dropped filtered" from stats.
        totals() { sed -n 's/^all \([0-9]*\) \([0-9]*\) [0-9]* \([0-9]*\)$/\1 \2 \3/p' $D/stats; }
        # step NAME CALLS: CALLS calls of kedr_rec_work(); the deltas go to /out/NAME.txt.
        step() {
            set -- $1 $2 $(totals)
            echo "work $2" > $P/ctl
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
        rmmod kedr_rec_probe
        rmmod kedr_rec_target
        """;

    [Fact]
    public async Task Each_setting_keeps_exactly_the_events_it_should()
    {
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_rec_target", Script)
        {
            ExtraModules = ["kedr_rec_probe"],
        }, output);
        PatchSiteRun.AssertAttached(r, "kedr_rec_target");
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal("functions kedr_rec_w*\nkinds write\nranges\n", r.File("filter1.txt"));
        Assert.Matches(@"^functions kedr_rec_w\*\nkinds write\nranges ([0-9a-f]+)-([0-9a-f]+)\n$", r.File("filter2.txt"));
        // recorded, dropped, filtered for N calls of six events each.
        Assert.Equal("200 0 400\n", r.File("writes.txt"));      // W var, W dst
        Assert.Equal("100 0 500\n", r.File("var-writes.txt"));  // W var only
        Assert.Equal("60 0 0\n", r.File("all.txt"));
        Assert.Equal("20 0 40\n", r.File("functions.txt"));     // entry, exit
        Assert.Equal("0 0 60\n", r.File("none.txt"));
        Assert.Equal("refused\n", r.File("bogus.txt"));
        // Filtered out before the handler (kedr_helpers.S, kedr_fast_sites): the entry, the exit and the INCL's
        // read-write never enter C, and still count as filtered (1 + 1 + 2 of the 6 events a call); the string
        // helper always does (its events depend on how far the pointers moved): the MOVSQ's and the REP MOVSB's
        // (zero count, no event), twice a call. Every helper call entered C before: 5 a call.
        Assert.Equal("0 0 60\n", r.File("nothing.txt"));
        Assert.Matches(@"(?m)^handlers 20$", r.File("nothing-handlers.txt"));

        // What was recorded (the output stream, read at the end): in order, the steps' kept events.
        var lines = r.Output.Split('\n').Where(l => l.StartsWith("TID=", StringComparison.Ordinal)).ToList();
        var kinds = lines.Select(l => KindOf().Match(l).Groups[1].Value).ToList();
        Assert.Equal(200 + 100 + 60 + 20, lines.Count);
        Assert.All(kinds.Take(300), k => Assert.Equal("write", k));
        Assert.All(lines.Take(300), l => Assert.Contains("kedr_rec_work+", l));
        var varAddr = AddrOf().Match(lines[200]).Groups[1].Value;
        Assert.All(lines.Skip(200).Take(100), l => Assert.Equal(varAddr, AddrOf().Match(l).Groups[1].Value));
        Assert.Equal(Enumerable.Repeat(new[] { "entry", "read", "write", "read", "write", "exit" }, 10).SelectMany(x => x), kinds.Skip(300).Take(60));
        Assert.Equal(Enumerable.Repeat(new[] { "entry", "exit" }, 10).SelectMany(x => x), kinds.Skip(360));
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

    [GeneratedRegex(@"^TID=0x[0-9a-f]+ (entry|exit|read|write|locked update)")]
    private static partial Regex KindOf();

    [GeneratedRegex(@"addr=(0x[0-9a-f]+), size=")]
    private static partial Regex AddrOf();
}
