using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// When kedr_sample may change what it installed: the copies retired only once async work the
/// target's init or exit scheduled is done, and no attaching while kedr_sample's own init runs.
/// </summary>
public sealed class LifecycleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Async_work_of_init_and_exit_runs_in_the_copies_before_they_are_retired()
    {
        const string script = """
            insmod $KEDR_MODULES/kedr_pt_async.ko
            cat /sys/module/kedr_pt_async/parameters/result > /out/result.txt
            rmmod kedr_pt_async
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_async", script), output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_async");
        Assert.True(r.Vm.Succeeded, r.Describe());
        // do_init_module() waits for the async work before init is over: 5 * 8 + 2.
        Assert.Equal("42\n", r.File("result.txt"));
        var dmesg = r.Vm.Dmesg;
        var asyncInit = dmesg.IndexOf("kedr_pt_async: async init done: 42", StringComparison.Ordinal);
        var dropped = Regex.Match(dmesg, @"kedr_sample: kedr_pt_async: init done: \d+ copies of init functions dropped");
        var asyncExit = dmesg.IndexOf("kedr_pt_async: async exit done: 43", StringComparison.Ordinal);
        var detached = dmesg.IndexOf("kedr_sample: kedr_pt_async: detached", StringComparison.Ordinal);
        Assert.True(asyncInit >= 0 && dropped.Success && asyncInit < dropped.Index,
            "the init copies were dropped before the async init work was done:\n" + r.Describe());
        Assert.True(asyncExit >= 0 && detached >= 0 && asyncExit < detached,
            "the copies were retired before the async exit work was done:\n" + r.Describe());
        foreach (var f in new[] { "kedr_pt_async_init_work", "kedr_pt_async_init_leaf", "kedr_pt_async_exit_work", "kedr_pt_async_exit_leaf" })
            r.AssertEntered(f);
    }
}
