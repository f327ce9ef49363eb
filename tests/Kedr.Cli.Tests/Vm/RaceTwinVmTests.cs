using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Vm;

/// <summary>
/// The race targets' twins that are correct through a primitive only the call-interception payloads
/// record (the <c>locks</c> payload's ACQUIRE/RELEASE for spin_lock, SIGNAL/WAIT for queue_work → work
/// function, complete → wait_for_completion, mod_timer → callback; docs/races.md). Until those payloads
/// are merged these tests FAIL (the trace has no sync events, so each twin's hand-off shows as a race):
/// the lead enables this class after merging h15-payloads, naming the payload's .ko in <see cref="Payloads"/>.
/// </summary>
public sealed class RaceTwinVmTestsAwaitingPayloads(ITestOutputHelper output)
{
    /// <summary>The payload modules to load with the target (the locks payload, once it exists in kmod/).</summary>
    private static IReadOnlyList<string> Payloads =>
        Directory.EnumerateFiles(Kedr.Cli.Vm.RepositoryPaths.Kmod, "kedr_payload_locks.ko", SearchOption.AllDirectories).ToList();

    [Theory]
    [InlineData("kedr_race_lock")]
    [InlineData("kedr_race_work")]
    [InlineData("kedr_race_completion")]
    [InlineData("kedr_race_timer")]
    public async Task A_twin_ordered_by_an_intercepted_primitive_gives_no_report(string target)
    {
        Assert.NotEmpty(Payloads);
        var json = await RaceVmRun.RunAsync(target, output, Payloads);
        Assert.True(json.GetProperty("sync_events").GetInt64() > 0, "no synchronization event in the trace: is the locks payload loaded?");
        Assert.Empty(json.GetProperty("races").EnumerateArray());
    }
}
