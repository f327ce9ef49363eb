using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// WARN_ON and BUG in the copies behave as in the original, and stack traces from the copies are
/// reliable and name the target's functions. The harness counts any WARNING or Call Trace as a
/// problem: each test states exactly which problem lines it expects and fails on any other.
/// </summary>
public sealed class BugTableTests(ITestOutputHelper output)
{
    private const string Source = "kedr_pt_warn.c";

    [Fact]
    public async Task WARN_ON_in_a_copy_warns_once_with_file_and_line_and_the_code_goes_on()
    {
        const string script = """
            insmod $KEDR_MODULES/kedr_pt_warn.ko
            echo warn > /sys/kernel/debug/kedr_pt_warn/ctl
            cat /sys/kernel/debug/kedr_pt_warn/ctl > /out/ctl.txt
            rmmod kedr_pt_warn
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_warn", script), output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_warn");
        Assert.Equal(0, r.Vm.ScriptExitCode);
        Assert.Equal("1 1\n", r.File("ctl.txt"));
        var warnings = r.Vm.Problems.Where(p => p.Contains("WARNING:", StringComparison.Ordinal)).ToList();
        Assert.True(warnings.Count == 1, r.Describe());
        Assert.Matches($@"WARNING: CPU: \d+ PID: \d+ at \S*{Regex.Escape(Source)}:\d+ kedr_pt_warn_inner", warnings[0]);
        Assert.Empty(PatchSiteRun.UnexpectedProblems(r.Vm, new Regex("WARNING: CPU"), new Regex("Call Trace")));
        r.AssertEntered("kedr_pt_warn_inner");
    }

    [Fact]
    public async Task BUG_in_a_copy_is_reported_as_a_BUG_with_file_and_line()
    {
        const string script = """
            insmod $KEDR_MODULES/kedr_pt_warn.ko
            sh -c 'echo bug > /sys/kernel/debug/kedr_pt_warn/ctl' || echo killed > /out/bug.txt
            """;
        // The oops leaves the writer's locks held: the guest does not shut down cleanly, only send its results.
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_warn", script) { Timeout = TimeSpan.FromSeconds(60) }, output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_warn");
        Assert.Equal("killed\n", r.File("bug.txt"));
        Assert.Contains(r.Vm.Problems, p => Regex.IsMatch(p, $@"kernel BUG at \S*{Regex.Escape(Source)}:\d+!"));
    }

    /// <summary>dump_stack() from a copy: both target functions named (their copies), no '?' guesses between them and the syscall.</summary>
    [Fact]
    public async Task Stack_trace_from_a_copy_is_reliable_and_names_the_target_functions()
    {
        const string script = """
            insmod $KEDR_MODULES/kedr_pt_warn.ko
            echo stack > /sys/kernel/debug/kedr_pt_warn/ctl
            rmmod kedr_pt_warn
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_warn", script), output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_warn");
        Assert.Equal(0, r.Vm.ScriptExitCode);
        Assert.Empty(PatchSiteRun.UnexpectedProblems(r.Vm, new Regex("Call Trace")));
        var traces = CallTrace.All(r.Vm.Dmesg);
        Assert.True(traces.Count > 0, r.Describe());
        var trace = traces[0];
        var frames = trace.Frames.ToList();
        int inner = frames.FindIndex(f => f.Name.StartsWith("kedr_pt_warn_inner", StringComparison.Ordinal));
        int outer = frames.FindIndex(f => f.Name.StartsWith("kedr_pt_warn_outer", StringComparison.Ordinal));
        int write = frames.FindIndex(f => f.Name.StartsWith("kedr_pt_write", StringComparison.Ordinal));
        int vfs = frames.FindIndex(f => f.Name == "vfs_write");
        Assert.True(inner >= 0 && inner < outer && outer < write && write < vfs, trace.Text);
        Assert.True(frames.Take(vfs + 1).All(f => !f.Guessed), "unreliable frames:\n" + trace.Text);
    }
}
