using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Rewriter.Emission;
using Kedr.Rewriter.Tests.Validation;

namespace Kedr.Rewriter.Tests.Emission;

public sealed class CopyEmitterTests
{
    /// <summary>
    /// The code image is not cleared before emission: every byte must be written, by a copy, a slot's
    /// int3s or a gap's. Emitting over two different fills must give the same blob.
    /// </summary>
    [Theory]
    [InlineData("fs/btrfs/btrfs.ko")]   // large, jump labels and alternatives
    [InlineData("drivers/block/loop.ko")]
    public void Emission_writes_every_byte_of_the_code_image(string module)
    {
        var elf = ElfFile.Read(KernelCorpus.Module(module));
        byte[] With(byte fill)
        {
            CopyEmitter.FillForTests = fill;
            try { return ModuleRewriter.Rewrite(elf).Blob.Code; }
            finally { CopyEmitter.FillForTests = null; }
        }
        var zeros = With(0x00);
        var ones = With(0xff);
        int first = zeros.AsSpan().CommonPrefixLength(ones);
        Assert.True(first == zeros.Length && ones.Length == zeros.Length, $"byte 0x{first:x} of the code image is left unwritten");
    }
}
