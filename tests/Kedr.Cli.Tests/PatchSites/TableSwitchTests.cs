using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// kedr_sample's own exception, bug and ORC entries stay visible while it switches its tables to
/// the merged ones and back: a reader (here the unwinder behind /proc/PID/stack) finds kedr_sample's
/// code at every moment of attach and detach, which kedr_sample slows down with
/// <c>tables_delay_ms</c> so that the moments can be sampled.
/// </summary>
public sealed class TableSwitchTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Kedr_samples_own_code_unwinds_at_every_step_of_attach_and_detach()
    {
        // The insmod (attach) and rmmod (detach) threads sleep inside kedr_sample's table switch:
        // their stacks go through kedr_sample's functions down to the system call.
        const string script = """
            # Every 0.2 s until the process has exited (a zombie until waited for), at most 60 s.
            sample() {
                i=0
                while [ $i -lt 300 ] && [ -e /proc/$1/status ] && ! grep -q '^State:.*Z' /proc/$1/status 2>/dev/null; do
                    cat /proc/$1/stack 2>/dev/null >> $2 || true
                    echo ---- >> $2
                    sleep 0.2
                    i=$((i + 1))
                done
            }
            insmod $KEDR_MODULES/kedr_pt_init.ko &
            pid=$!
            sample $pid /out/stacks-attach.txt
            wait $pid
            rmmod kedr_pt_init &
            pid=$!
            sample $pid /out/stacks-detach.txt
            wait $pid
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_init", script) { LoaderArgs = "tables_delay_ms=1500", Timeout = TimeSpan.FromSeconds(240) }, output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_init");
        Assert.True(r.Vm.Succeeded, r.Describe());
        foreach (var (file, step) in new[] { ("stacks-attach.txt", "kedr_tables_install"), ("stacks-detach.txt", "kedr_tables_") })
        {
            output.WriteLine($"{file}:\n{r.File(file)}");
            var samples = r.File(file).Split("----\n").Where(s => s.Contains("[kedr_sample]", StringComparison.Ordinal)).ToList();
            // The switch itself was sampled, not just the moments around it.
            Assert.Contains(samples, s => s.Contains(step, StringComparison.Ordinal));
            foreach (var s in samples)
                Assert.True(s.Contains("do_syscall_64", StringComparison.Ordinal),
                    $"{file}: the unwinder lost its way in kedr_sample's code:\n{s}\n" + r.Describe());
        }
    }
}
