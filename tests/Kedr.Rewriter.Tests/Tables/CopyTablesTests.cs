using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Rewriter.Tables;
using Kedr.Rewriter.Tests.Support;
using static Kedr.Rewriter.Tests.Support.HandAssembled;

namespace Kedr.Rewriter.Tests.Tables;

/// <summary>
/// The tables stage on hand-assembled modules. Expected values are worked out by hand from the assembly
/// (noted beside it) and the ELF: a copy starts with its entry event (<c>push $site; call helper</c>,
/// 10 bytes), each <c>ret</c> is preceded by an exit event (10 bytes), other instructions here are
/// copied as they are.
/// </summary>
public sealed class CopyTablesTests
{
    private const int Event = 10;

    private static KedrBlob NewBlob(ElfFile elf) =>
        new() { Target = new BlobTarget(elf.ModuleName, "", (uint)elf.Symbols.Count, elf.BuildId) };

    /// <summary>The index of the STT_SECTION symbol of section <paramref name="name"/>.</summary>
    private static int SectionSymbol(ElfFile elf, string name)
    {
        var section = elf.FindSection(name)!;
        for (int i = 0; i < elf.Symbols.Count; i++)
            if (elf.Symbol(i).IsSection && elf.Symbol(i).SectionIndex == section.Index) return i;
        throw new InvalidOperationException("no section symbol for " + name);
    }

    private const string MaskedFunction =
        "\t.text\n" +
        "\t.globl f\n\t.type f, @function\nf:\n" +
        "\tnop\n" +                        // +0x0
        "\tmovabs $ext, %rax\n" +          // +0x1: 48 b8 imm64, R_X86_64_64 at +0x3 (8 bytes)
        "1:\tlock incl (%rdi)\n" +         // +0xb: f0 ff 07, a .smp_locks site of 1 byte at +0xb
        "\tcall ext2\n" +                  // +0xe: e8 rel32, R_X86_64_PLT32 at +0xf (4 bytes)
        "2:\tjmp __x86_return_thunk\n" +   // +0x13: e9 rel32 (PLT32 at +0x14), a .return_sites site of length 0: its instruction, 5 bytes
        "\t.size f, .-f\n" +
        "\t.section .smp_locks,\"a\"\n\t.long 1b - .\n" +
        "\t.section .return_sites,\"a\"\n\t.long 2b - .\n";

    [Fact]
    public void Masks_cover_relocation_fields_and_patch_sites_joined_where_they_touch()
    {
        var asm = From(MaskedFunction);
        var blob = NewBlob(asm.Elf);
        FunctionTable.Build(asm.Layout(), blob);

        var f = Assert.Single(blob.Functions);
        // [0x3, 0xb) the movabs field, touching [0xb, 0xc) the lock prefix; [0xf, 0x13) the call's field,
        // touching [0x13, 0x18) the return-thunk jump (whose own field [0x14, 0x18) is inside it).
        Assert.Equal([new BlobMask(0x3, 9), new BlobMask(0xf, 9)], blob.Masks.Skip((int)f.MaskFirst).Take((int)f.MaskCount));
        Assert.Equal(0x18u, f.Size);
        // The call to ext2 goes through its import stub (blob 1.4), which the layout puts first.
        Assert.Equal((uint)BlobFormat.StubSize, f.CopyOffset);
        Assert.Equal(0u, f.Owner);

        // The digest is over the original's bytes with exactly those bytes zeroed.
        var text = asm.Elf.FindSection(".text")!;
        var bytes = text.Data.Span[..0x18].ToArray();
        bytes.AsSpan(0x3, 9).Clear();
        bytes.AsSpan(0xf, 9).Clear();
        Assert.Equal(BlobFormat.Digest(bytes, [], blob.Flags), f.Digest);
        bytes[0x2] ^= 1; // an unmasked byte (the movabs opcode) changes it
        Assert.NotEqual(BlobFormat.Digest(bytes, [], blob.Flags), f.Digest);
    }

    [Fact]
    public void Exception_entries_move_to_the_copies_with_their_fixups()
    {
        var asm = From(
            "\t.text\n" +
            Function("f",
                "\tnop\n" +                 // copy: 10 (after the entry event)
                "1:\trdmsr\n" +             // +0x1, copy 11
                "\tret\n" +                 // +0x3, exit event at 13, ret at 23
                "2:\txorl %eax, %eax\n" +   // +0x4, copy 24
                "3:\tmovl (%rdi), %ecx\n" +  // +0x6, its memory event from copy 26: push %rax; lea (%rdi),%rax (3 bytes);
                                            // push $site; call helper; pop %rax: 15 bytes, then the mov at copy 41
                "\tret\n") +
            "\t.section .text.fixup,\"ax\"\n\tnop\n\tnop\n4:\tjmp f\n" +   // no function here: reached through its section symbol + 2
            "\t.section __ex_table,\"a\"\n" +
            "\t.long 1b - .\n\t.long 2b - .\n\t.long 1\n" +
            "\t.long 3b - .\n\t.long 4b - .\n\t.long 3\n");
        var blob = NewBlob(asm.Elf);
        ExceptionTable.Build(asm.Layout(), blob);

        Assert.Equal(
            [
                new BlobExTableEntry(Event + 1, Event + 1 + 2 + Event + 1, 0, 0, 1),
                new BlobExTableEntry(Event + 1 + 2 + Event + 1 + 2 + 1 + 3 + Event + 1, BlobFormat.NoCopy, (uint)SectionSymbol(asm.Elf, ".text.fixup"), 2, 3),
            ],
            blob.ExTable);
    }

    [Fact]
    public void Bug_entries_move_to_the_copies_ud2_with_file_line_and_flags()
    {
        var asm = From(
            "\t.text\n" +
            Function("f", "1:\tud2\n\tnop\n\tnop\n\tret\n") +   // ud2 at +0x0: copy 10, after the entry event
            "\t.section .rodata,\"a\"\n\t.byte 0\n5:\t.asciz \"x.c\"\n" +   // the file name at .rodata+1
            "\t.section __bug_table,\"aw\"\n" +
            "\t.long 1b - .\n\t.long 5b - .\n\t.word 42, 1\n");     // line 42, BUGFLAG_WARNING
        var blob = NewBlob(asm.Elf);
        BugTable.Build(asm.Layout(), blob);

        Assert.Equal([new BlobBug(Event, (uint)SectionSymbol(asm.Elf, ".rodata"), 1, 42, 1)], blob.Bugs);
    }

    [Fact]
    public void A_landing_pad_goes_to_its_instruction_in_the_copy_past_the_entry_event()
    {
        var asm = From(
            "\t.text\n" +
            Function("g", "\tnop\n\tnop\n\tnop\n\tnop\n\tret\n") +   // copy [0, 25), then f at 32
            Function("f", string.Concat(Enumerable.Repeat("\tnop\n", 16)) + "\tret\n") +
            "\t.data\n\t.quad f+6\n");
        var blob = NewBlob(asm.Elf);
        LandingPadTable.Build(asm.Layout(), blob);

        // g: entry event, 4 nops, exit event, ret = 25 bytes; f's copy at the next 16-byte boundary, 32.
        Assert.Equal([new BlobPatch(32 + Event + 6, 1, 6, 5, 0, BlobPatchKind.Landing, 0)], blob.Patches);
    }
}
