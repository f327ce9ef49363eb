using Kedr.Core.Blob;
using static Kedr.Rewriter.Tests.Support.HandAssembled;

namespace Kedr.Rewriter.Tests.Planning;

/// <summary>
/// Blob 1.6: the kernel functions whose address the module's own data holds (an <c>R_X86_64_64</c> with addend 0
/// against an undefined symbol in <c>.data*</c>/<c>.rodata*</c>) are imports flagged
/// <see cref="BlobImportFlags.AddressTaken"/>, listed after the called ones when nothing calls them directly;
/// other data references (an addend, a table the kernel reads, a name the stubs may not take) are not.
/// </summary>
public sealed class ImportStubsTests
{
    private const string Source =
        "\t.text\n" +
        "\t.globl f\n\t.type f, @function\nf:\n" +
        "\tcall called\n" +                 // a direct call: an import as before (1.4)
        "\tmovq ops(%rip), %rax\n" +
        "\tret\n" +
        "\t.size f, .-f\n" +
        "\t.section .rodata\nops:\n" +
        "\t.quad called\n" +                // called and address-taken
        "\t.quad pointed\n" +               // address-taken only
        "\t.quad __x86_indirect_thunk_rax\n" + // a convention of its own: never an import
        "\t.section .data..read_mostly\n" +
        "\t.quad pointed_rw\n" +
        "\t.quad offset_only + 8\n" +       // not the function's start
        "\t.section __param, \"a\"\n" +
        "\t.quad kernel_table\n";           // a table of the kernel's, not the module's data

    [Fact]
    public void Functions_the_data_points_to_are_flagged_imports()
    {
        var blob = ModuleRewriter.Rewrite(From(Source).Elf).Blob;
        Assert.Equal(
            [("called", BlobImportFlags.AddressTaken), ("pointed", BlobImportFlags.AddressTaken), ("pointed_rw", BlobImportFlags.AddressTaken)],
            blob.Imports.Select(i => (i.Name, i.Flags)).ToArray());
        // Stubs in order, the copy after the last; the one call is the called function's.
        Assert.Equal([0u, (uint)BlobFormat.StubSize, 2u * BlobFormat.StubSize], blob.Imports.Select(i => i.StubOffset).ToArray());
        Assert.Equal(3u * BlobFormat.StubSize, Assert.Single(blob.Functions).CopyOffset);
        Assert.Equal(0u, Assert.Single(blob.Calls).Import);
    }

    /// <summary>Calls to static call trampolines, the kernel's (undefined) or the module's own, go through stubs flagged StaticCall.</summary>
    [Fact]
    public void Static_call_trampolines_are_flagged_imports_defined_or_not()
    {
        const string source =
            "\t.text\n" +
            "\t.globl f\n\t.type f, @function\nf:\n" +
            "\tcall __SCT__kernel_call\n" +
            "\tcall __SCT__own_call\n" +
            "\tjmp __SCT__kernel_call\n" +       // a tail call: the same stub, no calls-table entry
            "\t.size f, .-f\n" +
            "\t.section .static_call.text, \"ax\"\n" +
            "\t.globl __SCT__own_call\n\t.type __SCT__own_call, @function\n__SCT__own_call:\n" +
            "\t.byte 0xe9\n\t.long g - (. + 4)\n\t.byte 0x0f, 0xb9, 0xcc\n" +
            "\t.size __SCT__own_call, 8\n" +
            "\t.text\n\t.globl g\n\t.type g, @function\ng:\n\tret\n\t.size g, .-g\n";
        var elf = From(source).Elf;
        var blob = ModuleRewriter.Rewrite(elf).Blob;
        Assert.Equal([("__SCT__kernel_call", BlobImportFlags.StaticCall), ("__SCT__own_call", BlobImportFlags.StaticCall)],
            blob.Imports.Select(i => (i.Name, i.Flags)).ToArray());
        Assert.False(elf.Symbol((int)blob.Imports[1].SymbolIndex).IsUndefined);
        Assert.Equal([0u, 1u], blob.Calls.Select(c => c.Import).ToArray());
    }

    [Fact]
    public void Without_interception_there_are_none()
    {
        Assert.True(ModuleRewriter.TryRewrite(From(Source).Elf, null, new RewriteOptions { Intercept = false }, out var result, out var error),
            error?.ToString());
        Assert.Empty(result!.Blob.Imports);
    }
}
