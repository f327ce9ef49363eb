using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// User accesses from the copies: a fault at an instruction with an exception-table entry is fixed
/// up (the write fails with EFAULT, no oops); STAC/CLAC (alternatives) are live in the copies, so a
/// valid user access under SMAP works.
/// </summary>
public sealed class ExtableTests(ITestOutputHelper output)
{
    private const string Script = PatchSiteRun.Try + """

        insmod $KEDR_MODULES/kedr_pt_uaccess.ko
        C=/sys/kernel/debug/kedr_pt_uaccess/ctl
        grep -q smap /proc/cpuinfo && echo yes > /out/smap.txt
        try smap.res sh -c "echo 'smap 0' > $C"
        try get.res sh -c "echo 'get 4096' > $C"
        try put.res sh -c "echo 'put 4096' > $C"
        try uget.res sh -c "echo 'uget 4096' > $C"
        try uput.res sh -c "echo 'uput 4096' > $C"
        rmmod kedr_pt_uaccess
        """;

    [Fact]
    public async Task Faults_in_copies_are_fixed_up_and_user_access_works_under_SMAP()
    {
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_uaccess", Script), output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_uaccess");
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal("yes\n", r.File("smap.txt"));
        Assert.Equal("ok\n", r.File("smap.res"));
        foreach (var cmd in new[] { "get", "put", "uget", "uput" })
            Assert.Matches("^fail: .*Bad address", r.File(cmd + ".res"));
        r.AssertEntered("kedr_pt_smap");
        r.AssertEntered("kedr_pt_uget");
        r.AssertEntered("kedr_pt_uput");
    }
}
