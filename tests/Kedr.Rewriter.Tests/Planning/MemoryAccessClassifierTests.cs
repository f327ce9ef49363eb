using Iced.Intel;
using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Rewriter.Planning;
using Kedr.Rewriter.Tests.Validation;

namespace Kedr.Rewriter.Tests.Planning;

public sealed class MemoryAccessClassifierTests
{
    private static Instruction Decode(params byte[] bytes)
    {
        Decoder.Create(64, new ByteArrayCodeReader(bytes)).Decode(out var instr);
        return instr;
    }

    /// <summary>The classifier tells a vector index by one range of registers: it must be exactly Iced's XMM, YMM and ZMM.</summary>
    [Fact]
    public void Vector_registers_are_one_range()
    {
        int vectors = 0;
        foreach (var r in Enum.GetValues<Register>())
        {
            bool iced = r.IsXMM() || r.IsYMM() || r.IsZMM();
            Assert.True(iced == MemoryAccessClassifier.IsVectorRegister(r), $"{r}: Iced says {iced}");
            if (iced) vectors++;
        }
        Assert.Equal(3 * 32, vectors);
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

    /// <summary>
    /// The planner asks <see cref="MemoryAccessClassifier.HasMemoryOperand"/> before classifying: wherever it
    /// says no, the classification must be None. Checked on every instruction of a large real module
    /// (string instructions included: a check that missed their operand kinds fails here).
    /// </summary>
    [Fact]
    public void An_instruction_without_a_memory_operand_is_never_classified()
    {
        var path = KernelCorpus.Module("fs/btrfs/btrfs.ko");
        Assert.True(ElfFile.TryRead(File.ReadAllBytes(path), path, out var elf, out var error), error?.ToString());
        var classifier = new MemoryAccessClassifier();
        int with = 0, without = 0, strings = 0;
        foreach (var section in elf!.Sections.Where(s => s.IsExecutable && s.Data.Length > 0))
        {
            var decoder = Decoder.Create(64, new ByteArrayCodeReader(section.Data.ToArray()));
            while (decoder.IP < (ulong)section.Data.Length)
            {
                decoder.Decode(out var instr);
                var cls = classifier.Classify(instr, out _, out _, out _, out _);
                if (MemoryAccessClassifier.HasMemoryOperand(instr)) { with++; strings += cls == MemoryClass.String ? 1 : 0; continue; }
                without++;
                Assert.True(cls == MemoryClass.None, $"{instr} at 0x{instr.IP:x} in {section.Name}: no memory operand, classified {cls}");
            }
        }
        Assert.True(with > 10_000 && without > 10_000 && strings > 0, $"{with} with, {without} without, {strings} string instructions");
    }

    /// <summary>Size is cached per Code; an EVEX broadcast of the same Code reads one element, not the vector.</summary>
    [Fact]
    public void A_broadcast_operand_is_sized_by_its_element_after_the_full_vector_form()
    {
        var classifier = new MemoryAccessClassifier();
        // vaddps (%rdi),%zmm1,%zmm0 then vaddps (%rdi){1to16},%zmm1,%zmm0: one Code, 64 and 4 bytes.
        classifier.Classify(Decode(0x62, 0xf1, 0x74, 0x48, 0x58, 0x07), out _, out var full, out _, out _);
        classifier.Classify(Decode(0x62, 0xf1, 0x74, 0x58, 0x58, 0x07), out _, out var element, out _, out _);
        Assert.Equal((64, 4), ((int)full, (int)element));
    }
}
