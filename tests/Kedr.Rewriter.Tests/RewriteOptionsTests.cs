using Kedr.Core.Blob;
using static Kedr.Rewriter.Tests.Support.HandAssembled;

namespace Kedr.Rewriter.Tests;

/// <summary>
/// <see cref="RewriteOptions.Intercept"/> on a hand-assembled function with one call and one tail call to an
/// undefined (kernel) function: by default both go to its import stub, which the layout puts first (blob
/// 1.4, docs/blob-format.md); without interception there is no stub and no import, no calls-table entry, and
/// the copy's call is a direct one whose fixup names the kernel function's symbol.
/// </summary>
public sealed class RewriteOptionsTests
{
    private const string Source =
        "\t.text\n" +
        "\t.globl f\n\t.type f, @function\nf:\n" +
        "\tcall ext\n" +                   // e8 rel32, R_X86_64_PLT32 ext - 4
        "\tjmp ext\n" +                    // e9 rel32: a tail call
        "\t.size f, .-f\n";

    [Fact]
    public void By_default_the_calls_go_to_the_import_stub()
    {
        var blob = ModuleRewriter.Rewrite(From(Source).Elf).Blob;
        var import = Assert.Single(blob.Imports);
        Assert.Equal("ext", import.Name);
        Assert.Single(blob.Calls); // the call; a tail call has no entry
        Assert.Equal((uint)BlobFormat.StubSize, Assert.Single(blob.Functions).CopyOffset);
    }

    [Fact]
    public void Without_interception_the_calls_stay_direct_with_no_stub()
    {
        var elf = From(Source).Elf;
        Assert.True(ModuleRewriter.TryRewrite(elf, null, new RewriteOptions { Intercept = false }, out var result, out var error),
            error?.ToString());
        var blob = result!.Blob;
        Assert.Empty(blob.Imports);
        Assert.Empty(blob.Calls);
        Assert.Equal(0u, Assert.Single(blob.Functions).CopyOffset);
        // Both branches of the copy are fixed up against ext itself.
        var ext = Enumerable.Range(0, elf.Symbols.Count).Single(i => elf.Symbol(i).Name == "ext");
        Assert.Equal(2, blob.Fixups.Count(x => x.Target == BlobFixupTarget.Symbol && x.Index == ext));
    }
}
