using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// Stack traces from inside the event helpers (kedr_sample's stack_events=N dumps the stack in the
/// next N handlers): the ORC unwinder must go from the helper to the copy that called it, through the
/// entries for the copy's <c>push $site; call</c> where the stack is one word deeper, and on to the
/// copy's callers without guessing.
/// </summary>
public sealed class HelperUnwindTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Stack_traces_from_inside_the_helpers_reach_the_copys_callers()
    {
        const string script = """
            insmod $KEDR_MODULES/kedr_pt_warn.ko
            echo 2 > /sys/module/kedr_sample/parameters/stack_events
            cat /sys/kernel/debug/kedr_pt_warn/ctl > /out/ctl.txt
            rmmod kedr_pt_warn
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_warn", script), output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_warn");
        Assert.Equal(0, r.Vm.ScriptExitCode);
        Assert.Empty(PatchSiteRun.UnexpectedProblems(r.Vm, new Regex("Call Trace")));
        Assert.Equal("0 0\n", r.File("ctl.txt"));

        // The two traces: the read's entry event, then its first memory event.
        var helpers = new List<string>();
        foreach (var trace in CallTrace.All(r.Vm.Dmesg))
        {
            // The frames the unwinder found; '?' lines are stack words that merely look like code
            // addresses (the entry through ftrace leaves one of the original's), printed in between.
            var frames = trace.Frames.Where(f => !f.Guessed).Select(f => f.Name).ToList();
            int helper = frames.FindIndex(f => f.StartsWith("kedr_helper_", StringComparison.Ordinal));
            int vfs = frames.IndexOf("vfs_read");
            Assert.True(helper >= 0 && helper + 1 < frames.Count && frames[helper + 1].StartsWith("kedr_pt_read", StringComparison.Ordinal),
                "the copy (kedr_pt_read.kedr) as the frame after the helper:\n" + trace.Text);
            Assert.True(vfs > helper + 1, "the unwinder on to vfs_read from the copy:\n" + trace.Text);
            helpers.Add(frames[helper]);
        }
        Assert.Equal(2, helpers.Count);
        Assert.Equal("kedr_helper_func_event", helpers[0]);
        Assert.StartsWith("kedr_helper_mem_event", helpers[1], StringComparison.Ordinal);
    }
}
