using Iced.Intel;
using Kedr.Core.Blob;
using Kedr.Rewriter.Planning;
using Kedr.Rewriter.Tests.Support;
using static Kedr.Rewriter.Tests.Support.HandAssembled;

namespace Kedr.Rewriter.Tests.Planning;

/// <summary>
/// The plans stage on hand-assembled modules: what each instruction becomes, and which functions are left
/// out with which reason. Offsets and reasons are read off the assembly below (the encodings are noted).
/// </summary>
public sealed class ModulePlannerTests
{
    [Fact]
    public void Each_instruction_gets_the_kind_and_events_its_form_asks_for()
    {
        var plans = From(
            "\t.text\n" +
            Function("f",
                "\tmovl (%rdi), %eax\n" +   // +0x0: 8b 07, a read
                "\tcall g\n" +               // +0x2: e8 rel32 (PLT32 relocation on g)
                "\ttestl %eax, %eax\n" +     // +0x7: 85 c0
                "\tjz 1f\n" +                // +0x9: 74 rel8, inside f
                "\tjmp g\n" +                // +0xb: eb rel8 (as resolves it), a tail call to g
                "1:\tloop 1b\n" +            // +0xd: e2 rel8
                "\tret\n") +                 // +0xf
            Function("g", "\tnop\n\tnop\n\tnop\n\tnop\n\tret\n")).Plans();

        Assert.True(plans.IsCopied(Id(plans, "f")));
        Assert.True(plans.IsCopied(Id(plans, "g")));
        var mov = At(plans, "f", 0);
        Assert.Equal(EmitKind.Verbatim, mov.Kind);
        Assert.Equal(EventFlags.Entry, mov.Events);
        Assert.Equal(MemoryClass.Operand, mov.MemForm);
        Assert.Equal(BlobEventKind.Read, mov.MemKind);
        Assert.Equal(4, mov.MemSize);
        var call = At(plans, "f", 2);
        Assert.Equal(EmitKind.Branch, call.Kind);
        Assert.Equal(FlowControl.Call, call.Flow);
        Assert.Equal(5, call.Size); // call rel32, no event
        var jz = At(plans, "f", 9);
        Assert.Equal(EmitKind.Branch, jz.Kind);
        Assert.Equal(6, jz.Size);   // jz rel32
        var tail = At(plans, "f", 0xb);
        Assert.Equal(EmitKind.Branch, tail.Kind);
        Assert.Equal(EventFlags.Exit, tail.Events);
        Assert.Equal(5 + 10, tail.Size); // exit event (push $site; call) and jmp rel32
        var loop = At(plans, "f", 0xd);
        Assert.Equal(EmitKind.LoopBranch, loop.Kind);
        Assert.Equal(2 + 2 + 5, loop.Size); // loop 1f; jmp 2f; 1: jmp rel32
        var ret = At(plans, "f", 0xf);
        Assert.Equal(EmitKind.Verbatim, ret.Kind);
        Assert.Equal(EventFlags.Exit, ret.Events);
    }

    [Fact]
    public void A_jcc_out_of_the_function_is_a_conditional_tail_call()
    {
        var plans = From(
            "\t.text\n" +
            Function("f", "\ttestl %edi, %edi\n\tjnz g\n\tret\n") +  // jnz at +0x2
            Function("g", "\tnop\n\tnop\n\tnop\n\tnop\n\tret\n")).Plans();
        var jnz = At(plans, "f", 2);
        Assert.Equal(EmitKind.ConditionalTailCall, jnz.Kind);
        Assert.Equal(2 + 10 + 5, jnz.Size); // j!cc 1f; exit event; jmp rel32
    }

    [Fact]
    public void An_undecodable_instruction_leaves_its_function_out_and_whatever_jumps_into_its_middle()
    {
        var plans = From(
            "\t.text\n" +
            Function("f", "\tnop\n\tnop\n\tjmp g_mid\n\tret\n") +   // 5 bytes, the least a function may have to be copied
            Function("g", "\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n" +
                "g_mid:\tnop\n" +            // +0x5
                "\t.byte 0x06\n" +           // +0x6: push %es, invalid in 64-bit mode
                "\tret\n") +
            Function("h", "\tnop\n\tnop\n\tnop\n\tnop\n\tret\n")).Plans();

        Assert.Equal("undecodable instruction at +0x6", plans.LeftOutReason(Id(plans, "g")));
        Assert.Equal("shares code paths with g, which is left out (via g)", plans.LeftOutReason(Id(plans, "f")));
        Assert.True(plans.IsCopied(Id(plans, "h")));
    }

    [Fact]
    public void A_branch_into_the_middle_of_an_instruction_leaves_the_target_out()
    {
        var plans = From(
            "\t.text\n" +
            Function("f", "\tnop\n\tnop\n\tjmp g+2\n\tret\n") +    // jmp at +0x2
            Function("g", "\tmovl $0x12345678, %eax\n" +    // b8 imm32: +0x2 is inside it
                "\tnop\n\tret\n")).Plans();

        Assert.Equal("f+0x2 branches to +0x2, not an instruction start of the copy", plans.LeftOutReason(Id(plans, "g")));
        Assert.Equal("shares code paths with g, which is left out (via g)", plans.LeftOutReason(Id(plans, "f")));
    }

    [Fact]
    public void Functions_jumping_into_each_others_middle_are_copied_together()
    {
        var plans = From(
            "\t.text\n" +
            Function("f", "\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n" +
                "f_mid:\tjmp g_mid\n\tret\n") +
            Function("g", "\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n" +
                "g_mid:\tjmp f_mid\n\tret\n")).Plans();

        Assert.True(plans.IsCopied(Id(plans, "f")));
        Assert.True(plans.IsCopied(Id(plans, "g")));
        // Each branch resolved to the other's instruction: index 5 (after five nops).
        Assert.Equal(5, At(plans, "f", 5).TargetIndex);
        Assert.Equal(Id(plans, "g"), At(plans, "f", 5).TargetFunction);
        Assert.Equal(5, At(plans, "g", 5).TargetIndex);
    }

    [Fact]
    public void A_jrcxz_leaving_the_function_is_not_supported()
    {
        var plans = From(
            "\t.text\n" +
            Function("f", "\tnop\n\tnop\n\tjrcxz g_in\n\tret\n") +   // jrcxz at +0x2, to g's first instruction
            Function("g", "g_in:\tnop\n\tnop\n\tnop\n\tnop\n\tret\n")).Plans();
        Assert.Equal("Jrcxz at +0x2 leaves the function", plans.LeftOutReason(Id(plans, "f")));
        Assert.True(plans.IsCopied(Id(plans, "g")));
    }

    [Fact]
    public void A_relocation_type_the_loader_cannot_apply_leaves_the_function_out()
    {
        // movl $sym@GOTPCREL... has no place in a module; R_X86_64_32 (unsigned) is not one the loader applies.
        var plans = From(
            "\t.text\n" +
            Function("f", "\tnop\n\tmovl $ext, %eax\n\tret\n")).Plans();   // b8 imm32 at +0x2: R_X86_64_32
        Assert.Equal("relocation type Abs32 at +0x2 is not supported in code", plans.LeftOutReason(Id(plans, "f")));
    }

    [Fact]
    public void Noinstr_code_is_left_out_with_its_reason()
    {
        var plans = From(
            "\t.section .noinstr.text,\"ax\",@progbits\n" +
            Function("f", "\tnop\n\tnop\n\tnop\n\tnop\n\tret\n") +
            "\t.text\n" +
            Function("g", "\tnop\n\tnop\n\tnop\n\tnop\n\tret\n")).Plans();
        Assert.StartsWith("in .noinstr.text: the kernel forbids instrumenting it", plans.LeftOutReason(Id(plans, "f")));
        Assert.True(plans.IsCopied(Id(plans, "g")));
    }
}
