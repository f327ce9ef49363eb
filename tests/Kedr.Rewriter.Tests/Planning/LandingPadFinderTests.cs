using Kedr.Rewriter.Tests.Support;
using static Kedr.Rewriter.Tests.Support.HandAssembled;

namespace Kedr.Rewriter.Tests.Planning;

/// <summary>
/// Landing pads on hand-assembled modules: where the module's data points into the middle of a function
/// (here <c>.quad f+N</c> in <c>.data</c>), the loader writes a 5-byte jmp to the copy, so the place needs
/// 5 bytes of its own at an instruction start; a function where that cannot be is left out, with the reason.
/// </summary>
public sealed class LandingPadFinderTests
{
    /// <summary>f: ten 1-byte nops (+0x0..+0x9), movl $imm32,%eax (+0xa, 5 bytes), ten nops (+0xf..+0x18), ret (+0x19).</summary>
    private static string Module(params string[] pointers) =>
        "\t.text\n" +
        Function("f", string.Concat(Enumerable.Repeat("\tnop\n", 10)) + "\tmovl $1, %eax\n" +
            string.Concat(Enumerable.Repeat("\tnop\n", 10)) + "\tret\n") +
        Function("g", "\tnop\n\tnop\n\tnop\n\tnop\n\tret\n") +
        "\t.data\n" + string.Concat(pointers.Select(p => $"\t.quad {p}\n"));

    [Fact]
    public void Data_pointing_into_a_function_gives_it_landing_pads_sorted_and_once_each()
    {
        var plans = From(Module("f+0xf", "f+5", "f+0xf", "f", "g")).Plans();
        int f = Id(plans, "f");
        Assert.True(plans.IsCopied(f), plans.LeftOutReason(f));
        Assert.Equal([5, 0xf], plans[f].LandingPads!);
        // A pointer to a function's start is a function pointer, not a pad.
        Assert.Null(plans[Id(plans, "g")].LandingPads);
    }

    [Theory]
    [InlineData("f+2", "data points into it at +0x2, which overlaps the entry jump")]
    [InlineData("f+0xc", "data points into it at +0xc, which is not an instruction start")]
    [InlineData("f+0x16", "data points into it at +0x16, which runs past the function")]
    public void A_pad_that_cannot_be_written_leaves_the_function_out(string pointer, string reason)
    {
        var plans = From(Module(pointer)).Plans();
        Assert.Equal(reason, plans.LeftOutReason(Id(plans, "f")));
        Assert.True(plans.IsCopied(Id(plans, "g")));
    }

    [Fact]
    public void Two_pads_closer_than_a_jump_leave_the_function_out()
    {
        var plans = From(Module("f+5", "f+8")).Plans();
        Assert.Equal("data points into it at +0x5, which is closer than 5 bytes to the next one", plans.LeftOutReason(Id(plans, "f")));
    }

    [Fact]
    public void Pointers_in_the_kernels_own_tables_are_not_pads()
    {
        // __ex_table and friends point into code without being branch targets.
        var plans = From(Module() + "\t.section __patchable_function_entries,\"a\"\n\t.quad f+2\n").Plans();
        int f = Id(plans, "f");
        Assert.True(plans.IsCopied(f), plans.LeftOutReason(f));
        Assert.Null(plans[f].LandingPads);
    }
}
