using Kedr.Rewriter.Planning;
using static Kedr.Rewriter.Tests.Support.HandAssembled;

namespace Kedr.Rewriter.Tests.Planning;

/// <summary>
/// The memory-event decisions kept by instruction bytes: an instruction planned from the table must get
/// exactly what planning it afresh gives (every memory field and the address computation's bytes).
/// </summary>
public sealed class MemoryEventCacheTests
{
    [Fact]
    public void The_key_is_the_instruction_bytes_and_nothing_after_them()
    {
        var a = new byte[32];
        var b = new byte[32];
        for (int i = 0; i < 32; i++) (a[i], b[i]) = ((byte)(i + 1), (byte)(i + 1));
        for (int length = 1; length <= 15; length++)
        {
            b[3 + length] ^= 0xff; // the byte just past the instruction differs
            Assert.True(MemoryEventCache.TryKey(a, 3, length, out var al, out var ah));
            Assert.True(MemoryEventCache.TryKey(b, 3, length, out var bl, out var bh));
            Assert.Equal((al, ah), (bl, bh));
            b[3 + length] ^= 0xff;
            b[3 + length - 1] ^= 0xff; // its last byte differs
            Assert.True(MemoryEventCache.TryKey(b, 3, length, out bl, out bh));
            Assert.NotEqual((al, ah), (bl, bh));
            b[3 + length - 1] ^= 0xff;
        }
        Assert.False(MemoryEventCache.TryKey(a, 17, 1, out _, out _)); // fewer than 16 bytes left to read
    }

    [Fact]
    public void An_instruction_planned_again_from_the_table_gets_what_planning_it_afresh_gave()
    {
        // Each form twice: the first is decided (the table emptied first), the second found in the table.
        string[] forms =
        [
            "\tmovl 8(%rdi), %eax\n",              // a read that overwrites %rax
            "\tmovq %rsi, 16(%rsp)\n",             // a write through %rsp (its displacement moved by the push)
            "\tbtsq %rsi, (%rdi)\n",               // a bit operation: push %rsi and a LEA
            "\tlock incl (%rdi)\n",                // a locked update, reported again after it
            "\tlock xaddq %rdi, (%rdi)\n",         // a locked update that overwrites its address register
            "\tmovabs 0x1122334455667788, %al\n",  // moffs: movabs of the address
            "\txlatb\n",
            "\trep movsb\n",                       // a string instruction
            "\tleaq 8(%rdi), %rax\n",              // a memory operand but no access
        ];
        string body = "\tnop\n" + string.Concat(forms) + string.Concat(forms) + "\tret\n"; // nop: the entry event's
        PlanArena.Rent().Events.Clear();
        var plans = From("\t.text\n" + Function("f", body)).Plans();
        var plan = plans[Id(plans, "f")];
        var instructions = plan.Instructions;
        Assert.Equal(2 * forms.Length + 2, instructions.Length);
        int instrumented = 0;
        for (int i = 0; i < forms.Length; i++)
        {
            var (first, again) = (instructions[1 + i], instructions[1 + forms.Length + i]);
            Assert.True(plan.Code.Span(first.Offset, first.Length).SequenceEqual(plan.Code.Span(again.Offset, again.Length)), forms[i]);
            Assert.Equal(
                (first.MemForm, first.MemKind, first.MemSize, first.MemFlags, first.RaxDead, first.LockedDoneAfter, first.LeaLength, first.LeaDisplacementOffset),
                (again.MemForm, again.MemKind, again.MemSize, again.MemFlags, again.RaxDead, again.LockedDoneAfter, again.LeaLength, again.LeaDisplacementOffset));
            Assert.Equal(first.Size, again.Size);
            Assert.True(plan.ExtraBytes.Slice(first.LeaStart, first.LeaLength).SequenceEqual(plan.ExtraBytes.Slice(again.LeaStart, again.LeaLength)), forms[i]);
            if (first.MemForm != MemoryClass.None) instrumented++;
        }
        Assert.Equal(forms.Length - 1, instrumented); // all but the LEA
        Assert.Equal(2 * instrumented, plan.MemoryInstrumented);
        Assert.Equal(2 * instrumented, plan.MemoryAccesses);
    }
}
