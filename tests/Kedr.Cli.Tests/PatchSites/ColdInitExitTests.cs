using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>.cold parts, init code (run from copies, dropped at LIVE) and exit code (run from copies at rmmod).</summary>
public sealed class ColdInitExitTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Hot_and_cold_paths_run_in_the_copies()
    {
        const string script = """
            insmod $KEDR_MODULES/kedr_pt_cold.ko
            C=/sys/kernel/debug/kedr_pt_cold/ctl
            echo 4 > $C
            echo -5 > $C
            echo 6 > $C
            cat $C > /out/ctl.txt
            rmmod kedr_pt_cold
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_cold", script), output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_cold");
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal("2 1 35\n", r.File("ctl.txt"));
        Assert.Contains("cold path with -5", r.Vm.Dmesg);
        Assert.Equal(3, r.Events.Count(e => e.Kind == "entry" && e.Function is not null && PatchSiteResult.BaseName(e.Function) == "kedr_pt_cold_work"));
    }

    [Fact]
    public async Task Init_runs_from_copies_which_go_at_LIVE_and_exit_runs_from_copies()
    {
        const string script = """
            insmod $KEDR_MODULES/kedr_pt_init.ko
            cat /sys/module/kedr_pt_init/parameters/result > /out/result.txt
            grep '\[kedr_sample\]' /proc/kallsyms | grep '\.kedr' > /out/names.txt || true
            rmmod kedr_pt_init
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_init", script), output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_init");
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal("42\n", r.File("result.txt"));
        Assert.Contains("exit done: 42", r.Vm.Dmesg);
        Assert.Matches(@"kedr_pt_init: init done: 3 copies of init functions dropped", r.Vm.Dmesg);
        foreach (var f in new[] { "kedr_pt_init", "kedr_pt_init_mid", "kedr_pt_init_leaf", "kedr_pt_exit", "kedr_pt_exit_helper" })
            r.AssertEntered(f);
        // After init, only the exit code's copies have names.
        var names = Regex.Matches(r.File("names.txt"), @" t (\S+)\.kedr").Select(m => PatchSiteResult.BaseName(m.Groups[1].Value)).ToHashSet();
        Assert.Equal(new HashSet<string> { "kedr_pt_exit", "kedr_pt_exit_helper" }, names);
    }
}
