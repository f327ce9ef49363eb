using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Rewriter.Tests.Validation;
using Xunit.Abstractions;

namespace Kedr.Rewriter.Tests.Conformance;

/// <summary>
/// <see cref="LoaderInstructionLength"/>, with which BlobReader walks a copy to check landing pads, gives the
/// loader's kedr_insn_len() (kmod/kedr_sample/kedr_insn.c, built for user space) at every offset: of random bytes
/// (most of them no instruction Iced would decode: both must still agree on the length or the refusal) and of
/// the rewriter's code images of real modules. Kedr.Kernel.Tests' InsnLengthTests holds the C decoder to Iced.
/// </summary>
public sealed class LoaderInstructionLengthTests(ITestOutputHelper output, BlobConformanceTests.Parser fixture)
    : IClassFixture<BlobConformanceTests.Parser>
{
    [Theory]
    [InlineData("random")]
    [InlineData("arch/x86/crypto/crc32c-intel.ko")]
    [InlineData("arch/x86/crypto/aesni-intel.ko")]
    [InlineData("fs/fat/fat.ko")]
    public void Lengths_agree_with_the_loaders_decoder_at_every_offset(string input)
    {
        byte[] bytes;
        if (input == "random")
        {
            // Bytes where prefixes, escapes, VEX/EVEX and ModRM forms are frequent, and uniform ones.
            var rng = new Random(1313);
            byte[] hot = [0x0f, 0x38, 0x3a, 0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x65, 0x40, 0x48, 0x4c, 0xc4, 0xc5, 0x62,
                0x8f, 0xf6, 0xf7, 0x04, 0x05, 0x44, 0x84, 0x24, 0x25, 0xe8, 0xe9, 0xa0, 0xa3, 0xb8, 0xc8, 0x77];
            bytes = new byte[400_000];
            for (int i = 0; i < bytes.Length; i++) bytes[i] = rng.Next(2) == 0 ? hot[rng.Next(hot.Length)] : (byte)rng.Next(256);
        }
        else bytes = ModuleRewriter.Rewrite(ElfFile.Read(KernelCorpus.Module(input))).Blob.Code;
        var dir = Directory.CreateTempSubdirectory("kedr-insn-").FullName;
        try
        {
            var path = Path.Combine(dir, "code.bin");
            File.WriteAllBytes(path, bytes);
            var c = fixture.Value.InstructionLengths(path);
            Assert.Equal(bytes.Length, c.Length);
            int decoded = 0;
            var wrong = new List<string>();
            for (int off = 0; off < bytes.Length; off++)
            {
                int cs = LoaderInstructionLength.Of(bytes.AsSpan(off));
                int want = c[off] < 0 ? -1 : c[off];
                if (want > 0) decoded++;
                if (cs != want && wrong.Count < 20)
                    wrong.Add($"+0x{off:x} {Convert.ToHexString(bytes, off, Math.Min(15, bytes.Length - off))}: kedr_insn_len {c[off]}, LoaderInstructionLength {cs}");
            }
            output.WriteLine($"{input}: {bytes.Length} offsets, {decoded} decoded, {bytes.Length - decoded} refused by both");
            Assert.True(wrong.Count == 0, string.Join("\n", wrong));
            Assert.True(decoded > bytes.Length / 4 && decoded < bytes.Length, $"{decoded} of {bytes.Length} decoded: the input exercises one side only");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
