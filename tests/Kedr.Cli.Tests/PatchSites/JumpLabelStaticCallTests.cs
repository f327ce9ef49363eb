using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// Jump labels and static calls patched by the kernel after attaching: every change takes effect in
/// the copies, and the kernel's checks of the sites in the originals (__jump_label_patch,
/// __static_call_validate: BUG on unexpected bytes) never fire. The notrace functions have their
/// site in their first 5 bytes, where no entry jmp may go.
/// </summary>
public sealed class JumpLabelStaticCallTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Static_key_flipped_both_ways_after_attach_takes_effect_in_the_copies()
    {
        const string script = """
            insmod $KEDR_MODULES/kedr_pt_jump.ko
            C=/sys/kernel/debug/kedr_pt_jump/ctl
            cat $C > /out/0.txt
            echo on > $C
            cat $C > /out/1.txt
            echo off > $C
            cat $C > /out/2.txt
            echo on > $C
            cat $C > /out/3.txt
            rmmod kedr_pt_jump
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_jump", script), output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_jump");
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal(["0 0\n", "1 1\n", "0 0\n", "1 1\n"], new[] { r.File("0.txt"), r.File("1.txt"), r.File("2.txt"), r.File("3.txt") });
        r.AssertEntered("kedr_pt_jump_mid");
    }

    /// <summary>
    /// Fails today: the rewriter copies the module's own trampoline (<c>__SCT__kedr_pt_call</c>, in
    /// .static_call.text) and the copies call that copy, whose jmp the kernel never updates.
    /// </summary>
    [Fact]
    public async Task Static_call_updated_after_attach_takes_effect_in_the_copies()
    {
        const string script = """
            insmod $KEDR_MODULES/kedr_pt_scall.ko
            C=/sys/kernel/debug/kedr_pt_scall/ctl
            cat $C > /out/0.txt
            echo two > $C
            cat $C > /out/1.txt
            echo one > $C
            cat $C > /out/2.txt
            rmmod kedr_pt_scall
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_scall", script), output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_scall");
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal(["1 1\n", "2 2\n", "1 1\n"], new[] { r.File("0.txt"), r.File("1.txt"), r.File("2.txt") });
        r.AssertEntered("kedr_pt_scall_mid");
    }
}
