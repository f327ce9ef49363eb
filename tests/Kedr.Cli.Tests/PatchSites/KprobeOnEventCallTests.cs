using Kedr.Cli.Vm;
using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Rewriter;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// A kprobe a user puts on an event call in a copy (<c>cfake_open.kedr+OFF</c>, the call's <c>push $site</c>)
/// keeps the byte its int3 replaced and writes it back when it is removed. A filter change that rewrote the call
/// underneath (to <c>jmp +8</c>, jumping over it) took the kprobe's int3 away, and its removal then wrote
/// <c>push</c> back before the jmp's displacement: a push of another site; the other way round (a kprobe on a
/// jumped-over call, the filter putting the call back) it wrote a <c>jmp</c> whose displacement is the site's
/// low byte, into the call's operand. kedr_sample refuses such a change (-EBUSY, one line naming the call) and
/// makes it once the kprobe is gone.
/// </summary>
public sealed class KprobeOnEventCallTests(ITestOutputHelper output)
{
    private const string Target = "kedr_sample_target";

    [Fact]
    public async Task A_filter_change_under_a_kprobe_on_an_event_call_is_refused_and_made_once_the_kprobe_is_gone()
    {
        int off = await FirstEventCallInAsync("cfake_open");
        var script = $$"""
            D=/sys/kernel/debug/kedr_sample
            T=/sys/kernel/debug/tracing
            {{PatchSiteRun.Try}}
            io() {
                echo 123456789788 >/dev/cfake0
                [ "$(dd if=/dev/cfake0 ibs=20 count=1 2>/dev/null)" = 123456789788 ] || { echo "FAIL: /dev/cfake0 after $1"; exit 1; }
            }
            insmod $KEDR_MODULES/{{Target}}.ko
            echo 'p:kedrkp cfake_open.kedr+{{off}}' > $T/kprobe_events
            echo 1 > $T/events/kprobes/kedrkp/enable
            io "the kprobe went in"
            grep -c kedrkp: $T/trace > /out/hits-before.txt || true
            # Every call of the target jumped over: refused while the kprobe is on one of them.
            try with-kprobe sh -c "echo 'functions no_such_function' > $D/filter"
            cat $D/filter > /out/filter-with-kprobe.txt
            io "the filter change under the kprobe"
            grep -c kedrkp: $T/trace > /out/hits.txt || true
            echo 0 > $T/events/kprobes/kedrkp/enable
            echo > $T/kprobe_events
            io "the kprobe went out"
            try without-kprobe sh -c "echo 'functions no_such_function' > $D/filter"
            io "the filter change without it"
            echo all > $D/filter
            io "the calls back"
            rmmod {{Target}}
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest(Target, script), output);
        PatchSiteRun.AssertAttached(r, Target);
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.StartsWith("fail:", r.File("with-kprobe"));
        Assert.Contains("busy", r.File("with-kprobe"), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("no_such_function", r.File("filter-with-kprobe.txt"));
        Assert.Matches(@"kedr_sample: filter: the event call at cfake_open\.kedr\+0x[0-9a-f]+/0x[0-9a-f]+ \[kedr_sample\] is not as kedr_sample left it", r.KernelLog);
        // The kprobe still fires after the refused change (its int3 is still there).
        int before = int.Parse(r.File("hits-before.txt").Trim()), after = int.Parse(r.File("hits.txt").Trim());
        Assert.True(before > 0 && after > before, $"kprobe hits: {before} before the refused filter change, {after} after:\n" + r.Describe());
        Assert.Equal("ok", r.File("without-kprobe").Trim());
        // The calls are back: the last opens recorded their events.
        Assert.Contains(r.Events, e => e.Kind == "entry" && e.Function == "cfake_open");
    }

    /// <summary>The offset in <paramref name="function"/>'s copy of its first event call (<c>push $site; call helper</c>).</summary>
    private static async Task<int> FirstEventCallInAsync(string function)
    {
        var built = await KmodBuilder.BuildAsync(NullLogger.Instance, default);
        Assert.True(ModuleRewriter.TryRewrite(ElfFile.Read(built[Target]), null, new RewriteOptions(), out var rewritten, out var error), error?.ToString());
        var blob = rewritten!.Blob;
        var f = blob.Functions.Single(x => x.Name == function);
        var call = blob.Fixups
            .Where(x => x.Target == BlobFixupTarget.Helper && x.Index is (uint)BlobHelper.MemEvent or (uint)BlobHelper.MemEventNoFlags)
            .Select(x => (int)x.Offset - 6)
            .Where(at => at >= f.CopyOffset && at < f.CopyOffset + f.CopySize && blob.Code[at] == 0x68 && blob.Code[at + 5] == 0xe8)
            .Order()
            .First();
        return call - (int)f.CopyOffset;
    }
}
