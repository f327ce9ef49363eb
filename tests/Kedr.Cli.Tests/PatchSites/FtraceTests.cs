using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// ftrace and kprobes on instrumented functions: the function tracer (on before the target loads
/// and switched on after), a kprobe at a function's entry. ftrace must not find its sites corrupt
/// (ftrace_bug() warns and turns ftrace off for good), the tracers must see the calls, and the
/// calls must still run the copies.
/// </summary>
public sealed class FtraceTests(ITestOutputHelper output)
{
    internal const string Script = """
        T=/sys/kernel/debug/tracing
        C=/sys/kernel/debug/kedr_pt_ftrace/ctl
        # Tracing the whole module from before it loads: its sites are calls at COMING.
        echo ':mod:kedr_pt_ftrace' > $T/set_ftrace_filter
        echo function > $T/current_tracer
        insmod $KEDR_MODULES/kedr_pt_ftrace.ko
        echo 5 > $C
        cat $T/trace > /out/trace-early.txt
        echo nop > $T/current_tracer
        # Switched on after attaching.
        echo kedr_pt_write > $T/set_ftrace_filter
        echo function > $T/current_tracer
        echo 7 > $C
        cat $T/trace > /out/trace-function.txt
        echo nop > $T/current_tracer
        echo > $T/set_ftrace_filter
        # A kprobe at the entry (ftrace-based).
        echo 'p:kedrkp kedr_pt_write' > $T/kprobe_events
        echo 1 > $T/events/kprobes/kedrkp/enable
        echo 9 > $C
        echo 0 > $T/events/kprobes/kedrkp/enable
        cat $T/trace > /out/trace-kprobe.txt
        echo > $T/kprobe_events
        cat $C > /out/ctl.txt
        rmmod kedr_pt_ftrace
        """;

    private static readonly Regex FtraceBroken = new(@"ftrace (faulted|failed to modify)|ftrace_bug|ftrace record flags", RegexOptions.Compiled);

    [Fact]
    public async Task Function_tracer_and_kprobe_on_instrumented_functions_work_and_the_copies_run()
    {
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_ftrace", Script), output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_ftrace");
        Assert.DoesNotMatch(FtraceBroken, r.Vm.Dmesg);
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Matches(@"kedr_pt_write <-", r.File("trace-early.txt"));
        Assert.Matches(@"kedr_pt_write <-", r.File("trace-function.txt"));
        Assert.Matches(@"kedrkp: \(kedr_pt_write\+0x0/", r.File("trace-kprobe.txt"));
        Assert.StartsWith("3 21 ", r.File("ctl.txt"));
        r.AssertEntered("kedr_pt_write");
        r.AssertEntered("kedr_pt_ftrace_work");
    }

    /// <summary>The same with a jmp over the fentry sites (what kedr_sample did before): ftrace breaks.</summary>
    [Fact]
    public async Task Without_ftrace_entry_the_tracer_finds_the_sites_corrupt()
    {
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_ftrace", Script) { LoaderArgs = "entry_via_ftrace=0" }, output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_ftrace");
        Assert.Matches(FtraceBroken, r.KernelLog);
    }
}
