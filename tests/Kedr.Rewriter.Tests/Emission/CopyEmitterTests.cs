using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Rewriter.Emission;
using Kedr.Rewriter.Tests.Support;
using Kedr.Rewriter.Tests.Validation;
using Iced.Intel;

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

    /// <summary>
    /// A locked update is reported twice (blob 1.7): its LOCKED_UPDATE event before the instruction (the
    /// release side, stamped before the update takes effect) and its LOCKED_DONE event after it (the acquire
    /// side: a spinning cmpxchg stamped before it succeeds let another CPU's release sort after it,
    /// docs/races.md). After the instruction the flags it set are live: the flag-keeping helper. Where the
    /// instruction overwrites its own address register (xadd's source, here %rax), the address cannot be
    /// computed again: both events come before it. Expected order read off the assembly.
    /// </summary>
    [Fact]
    public void A_locked_update_is_reported_before_and_again_after_its_instruction()
    {
        var asm = HandAssembled.From("\t.text\n" + HandAssembled.Function("f",
            "\tlock cmpxchgl %edx, (%rdi)\n" +   // +0x0: f0 0f b1 17
            "\tsete %al\n" +                     // +0x4: reads the ZF cmpxchg set
            "\tlock xaddq %rax, (%rax)\n" +      // +0x7: f0 48 0f c1 00: overwrites %rax, its address
            "\tlock btsq %rsi, (%rdi)\n" +       // +0xc: f0 48 0f ab 37: a bit op with a register offset
            "\tret\n"));                         // +0x11
        var blob = ModuleRewriter.Rewrite(asm.Elf).Blob;
        var f = blob.Functions.Single(x => x.Name == "f");
        var code = blob.Code.AsSpan((int)f.CopyOffset, (int)f.CopySize).ToArray();
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code), f.CopyOffset);
        var seen = new List<string>();
        while (decoder.IP < f.CopyOffset + f.CopySize)
        {
            var ins = decoder.Decode();
            if (ins.Code == Code.Pushq_imm32)
            {
                var site = blob.Sites[(int)ins.Immediate32];
                var call = decoder.Decode();
                Assert.Equal(Code.Call_rel32_64, call.Code);
                var helper = (BlobHelper)blob.Fixups.Single(x => x.Offset == call.IP + 1).Index;
                seen.Add($"{site.Kind}@{site.Offset:x}" + (site.Kind == BlobEventKind.LockedDone ? $" {helper}" : ""));
            }
            else if (ins.HasLockPrefix)
                seen.Add(ins.Mnemonic.ToString().ToLowerInvariant());
        }
        Assert.Equal(
        [
            "Entry@0",
            "LockedUpdate@0", "cmpxchg", "LockedDone@0 MemEvent",
            "LockedUpdate@7", "LockedDone@7 MemEventNoFlags", "xadd", // xadd sets every status flag: dead before it
            "LockedUpdate@c", "bts", "LockedDone@c BitOpEvent",
            "Exit@11",
        ], seen);
    }
}
