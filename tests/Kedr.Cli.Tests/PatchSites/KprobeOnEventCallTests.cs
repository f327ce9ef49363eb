using Kedr.Cli.Vm;
using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Rewriter;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// kedr_sample rewrites its copies while they run (a filter change jumps over an event call or puts it back,
/// init copies and a detach become int3), and a kprobe keeps the bytes its int3 replaced and writes them back when
/// disarmed: a kprobe on a copy (<c>cfake_open.kedr+OFF</c>, an event call's <c>push $site</c>, which could be
/// placed until now) gave back a stale byte after a filter change, a push of another site or a jmp into the call's
/// operand. The copies' area is <c>.kprobes.text</c>, so kprobes refuse it; the originals can still be probed.
/// </summary>
public sealed class KprobeOnEventCallTests(ITestOutputHelper output)
{
    private const string Target = "kedr_sample_target";

    [Fact]
    public async Task Kprobes_refuse_the_copies_and_still_take_the_originals()
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
            try on-call sh -c "echo 'p:kedrcall cfake_open.kedr+{{off}}' > $T/kprobe_events"
            try on-copy sh -c "echo 'p:kedrcopy cfake_open.kedr' >> $T/kprobe_events"
            try on-original sh -c "echo 'p:kedrorig cfake_open' >> $T/kprobe_events"
            cat $T/kprobe_events > /out/kprobe_events.txt
            grep -w kedr_area /sys/kernel/debug/kprobes/blacklist > /out/blacklist.txt || true
            echo 1 > $T/events/kprobes/kedrorig/enable
            io "a kprobe on the original"
            echo 'functions no_such_function' > $D/filter
            io "every call jumped over"
            echo all > $D/filter
            io "the calls back"
            grep -c kedrorig: $T/trace > /out/hits.txt || true
            echo 0 > $T/events/kprobes/kedrorig/enable
            echo > $T/kprobe_events
            rmmod {{Target}}
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest(Target, script), output);
        PatchSiteRun.AssertAttached(r, Target);
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.StartsWith("fail:", r.File("on-call"));
        Assert.StartsWith("fail:", r.File("on-copy"));
        Assert.Equal("ok", r.File("on-original").Trim());
        Assert.DoesNotContain("kedrcall", r.File("kprobe_events.txt"));
        Assert.DoesNotContain("kedrcopy", r.File("kprobe_events.txt"));
        // The whole area, as one entry of the blacklist: START-END kedr_area.
        var entry = System.Text.RegularExpressions.Regex.Match(r.File("blacklist.txt"), @"0x([0-9a-f]+)-0x([0-9a-f]+)\s+kedr_area");
        Assert.True(entry.Success, "kedr_area is not in kprobes' blacklist:\n" + r.File("blacklist.txt"));
        // The original (redirected to its copy by ftrace) still takes a kprobe: each open hit it.
        Assert.True(int.Parse(r.File("hits.txt").Trim()) >= 6, "kprobe hits on the original: " + r.File("hits.txt") + "\n" + r.Describe());
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
