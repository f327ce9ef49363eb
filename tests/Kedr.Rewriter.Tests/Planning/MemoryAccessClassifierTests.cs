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
    /// The mnemonic's facts (xlat, bt*, xchg, moffs) come from a per-Code table beside the operand's: each
    /// family by an example, with the class, kind and size the docs (docs/blob-format.md) give it.
    /// </summary>
    [Theory]
    [InlineData(new byte[] { 0xd7 }, "Xlat", BlobEventKind.Read, 1)]                                 // xlat
    [InlineData(new byte[] { 0x48, 0x0f, 0xa3, 0x07 }, "BitOp", BlobEventKind.Read, 8)]              // bt %rax,(%rdi)
    [InlineData(new byte[] { 0x48, 0x0f, 0xba, 0x2f, 0x01 }, "Operand", BlobEventKind.ReadWrite, 8)] // bts $1,(%rdi): no offset register
    [InlineData(new byte[] { 0x48, 0x87, 0x07 }, "Operand", BlobEventKind.LockedUpdate, 8)]          // xchg %rax,(%rdi): locked without a prefix
    [InlineData(new byte[] { 0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, "Moffs", BlobEventKind.Read, 1)] // movabs 0x1122334455667788,%al
    [InlineData(new byte[] { 0x48, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, "Moffs", BlobEventKind.Write, 8)] // movabs %rax,0x1122334455667788
    public void Classifies_the_mnemonic_families(byte[] bytes, string expected, BlobEventKind kind, int size)
    {
        var classifier = new MemoryAccessClassifier();
        for (int pass = 0; pass < 2; pass++) // the second from the per-Code table
        {
            Assert.Equal(Enum.Parse<MemoryClass>(expected), classifier.Classify(Decode(bytes), out var k, out var s, out _, out var reason));
            Assert.Null(reason);
            Assert.Equal((kind, size), (k, (int)s));
        }
    }

    /// <summary>The accesses this version leaves alone, each with the reason the report gives.</summary>
    [Theory]
    [InlineData(new byte[] { 0x64, 0x48, 0x8b, 0x00 }, "%fs-relative")]                               // mov %fs:(%rax),%rax
    [InlineData(new byte[] { 0x67, 0x8b, 0x00 }, "32-bit address")]                                   // mov (%eax),%eax
    [InlineData(new byte[] { 0x67, 0x8b, 0x05, 0x10, 0, 0, 0 }, "32-bit address")]                    // mov 0x10(%eip),%eax
    [InlineData(new byte[] { 0x67, 0x8b, 0x04, 0x87 }, "32-bit address")]                             // mov (%edi,%eax,4),%eax
    [InlineData(new byte[] { 0xc4, 0xe2, 0x69, 0x90, 0x04, 0x88 }, "vector-indexed (gather/scatter)")] // vpgatherdd %xmm2,(%rax,%xmm1,4),%xmm0
    [InlineData(new byte[] { 0x67, 0xd7 }, "xlat with a 32-bit address")]                              // addr32 xlat
    [InlineData(new byte[] { 0x0f, 0xae, 0x27 }, "size of Xsave not known")]                           // xsave (%rdi)
    [InlineData(new byte[] { 0x64, 0xa4 }, "%fs-relative string instruction")]                         // movsb %fs:(%rsi),%es:(%rdi)
    [InlineData(new byte[] { 0x67, 0xa4 }, "string instruction with a 32-bit address")]                // addr32 movsb
    public void Says_why_an_access_is_not_instrumented(byte[] bytes, string expected)
    {
        var classifier = new MemoryAccessClassifier();
        for (int pass = 0; pass < 2; pass++)
        {
            Assert.Equal(MemoryClass.NotInstrumented, classifier.Classify(Decode(bytes), out _, out _, out _, out var reason));
            Assert.Equal(expected, reason);
        }
    }

    /// <summary>%rax is dead before a load that writes all of it (or %eax) and reads none of it, its address included.</summary>
    [Theory]
    [InlineData(new byte[] { 0x48, 0x8b, 0x07 }, true)]        // mov (%rdi),%rax
    [InlineData(new byte[] { 0x8b, 0x47, 0x08 }, true)]        // mov 8(%rdi),%eax
    [InlineData(new byte[] { 0x0f, 0xb6, 0x07 }, true)]        // movzbl (%rdi),%eax
    [InlineData(new byte[] { 0x48, 0x63, 0x07 }, true)]        // movslq (%rdi),%rax
    [InlineData(new byte[] { 0x48, 0x8b, 0x00 }, false)]       // mov (%rax),%rax: the address reads it
    [InlineData(new byte[] { 0x48, 0x8b, 0x04, 0xc7 }, false)] // mov (%rdi,%rax,8),%rax
    [InlineData(new byte[] { 0x66, 0x8b, 0x07 }, false)]       // mov (%rdi),%ax: the rest of %rax lives on
    [InlineData(new byte[] { 0x48, 0x8b, 0x0f }, false)]       // mov (%rdi),%rcx
    [InlineData(new byte[] { 0x48, 0x03, 0x07 }, false)]       // add (%rdi),%rax: reads it
    [InlineData(new byte[] { 0x48, 0x89, 0x07 }, false)]       // mov %rax,(%rdi)
    [InlineData(new byte[] { 0xf0, 0x48, 0x0f, 0xc1, 0x07 }, false)] // lock xadd %rax,(%rdi)
    public void Knows_where_rax_is_overwritten(byte[] bytes, bool expected)
    {
        var classifier = new MemoryAccessClassifier();
        for (int pass = 0; pass < 2; pass++)
            Assert.Equal(expected, classifier.Classify(Decode(bytes)).OverwritesRax);
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
