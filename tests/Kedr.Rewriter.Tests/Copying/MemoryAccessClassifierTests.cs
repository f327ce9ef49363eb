using Iced.Intel;
using Kedr.Core.Blob;
using Kedr.Rewriter.Copying;

namespace Kedr.Rewriter.Tests.Copying;

public sealed class MemoryAccessClassifierTests
{
    private static Instruction Decode(params byte[] bytes)
    {
        Decoder.Create(64, new ByteArrayCodeReader(bytes)).Decode(out var instr);
        return instr;
    }

    /// <summary>The classifier looks for memory among operands 0 to 3 only: Iced's fifth operand must never be one.</summary>
    [Fact]
    public void No_instruction_has_a_memory_operand_after_the_fourth()
    {
        var fifth = new HashSet<OpCodeOperandKind>();
        foreach (var code in Enum.GetValues<Code>())
        {
            var op = code.ToOpCode();
            if (op.OpCount >= 5) fifth.Add(op.GetOpKind(4));
        }
        Assert.NotEmpty(fifth); // vpermil2ps and friends have five
        Assert.All(fifth, k => Assert.StartsWith("imm", k.ToString(), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(new byte[] { 0x48, 0x8b, 0x07 }, "Operand", BlobEventKind.Read, 8)]               // mov (%rdi),%rax
    [InlineData(new byte[] { 0x89, 0x77, 0x08 }, "Operand", BlobEventKind.Write, 4)]              // mov %esi,8(%rdi)
    [InlineData(new byte[] { 0xf0, 0x0f, 0xb1, 0x17 }, "Operand", BlobEventKind.LockedUpdate, 4)]  // lock cmpxchg %edx,(%rdi)
    [InlineData(new byte[] { 0xc4, 0xe3, 0x79, 0x17, 0x07, 0x01 }, "Operand", BlobEventKind.Write, 4)] // vextractps $1,%xmm0,(%rdi): memory first of three
    [InlineData(new byte[] { 0xc4, 0xe3, 0x71, 0x4a, 0x07, 0x20 }, "Operand", BlobEventKind.Read, 16)] // vblendvps %xmm2,(%rdi),%xmm1,%xmm0: memory third of four
    [InlineData(new byte[] { 0xf3, 0xa4 }, "String", BlobEventKind.String, 1)]                    // rep movsb
    [InlineData(new byte[] { 0x48, 0x8d, 0x47, 0x08 }, "None", (BlobEventKind)0, 0)]              // lea 8(%rdi),%rax: no access
    [InlineData(new byte[] { 0x48, 0x01, 0xd8 }, "None", (BlobEventKind)0, 0)]                    // add %rbx,%rax
    public void Classifies_by_the_first_memory_operand(byte[] bytes, string expected, BlobEventKind kind, int size)
    {
        var classifier = new MemoryAccessClassifier();
        Assert.Equal(Enum.Parse<MemoryClass>(expected), classifier.Classify(Decode(bytes), out var k, out var s, out _, out var reason));
        Assert.Null(reason);
        Assert.Equal((kind, size), (k, (int)s));
    }
}
