using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// The copies under each mitigation mode chosen at boot: retpolines and return thunks on (default)
/// and off. The copies must run correctly in both (the FAT workload, indirect calls and returns
/// everywhere).
/// </summary>
public sealed class MitigationTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(null)]
    [InlineData("spectre_v2=off retbleed=off")]
    public async Task Fat_workload_runs_from_copies_in_every_mitigation_mode(string? cmdline)
    {
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("fat", RealModuleTests.FatWorkload)
        {
            GuestModules = ["brd", "vfat", "nls_ascii", "nls_cp437", "nls_utf8"],
            KernelCommandLine = cmdline,
        }, output);
        PatchSiteRun.AssertAttached(r, "fat");
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal("done\n", r.File("done.txt"));
        if (cmdline is not null) Assert.Contains(cmdline, r.Vm.Dmesg);
    }
}
