using Iced.Intel;
using Kedr.Core.Elf;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Planning;
using Kedr.Rewriter.Tests.Validation;

namespace Kedr.Rewriter.Tests.Planning;

/// <summary>The per-Code flag facts against Iced's answer for each instruction.</summary>
public sealed class StatusFlagsTests
{
    private static Instruction Decode(params byte[] bytes)
    {
        Decoder.Create(64, new ByteArrayCodeReader(bytes)).Decode(out var instr);
        return instr;
    }

    /// <summary>The facts as Iced gives them for this one instruction, written out here rather than taken from the code under test.</summary>
    private static (bool, bool) FromIced(in Instruction instr)
    {
        const RflagsBits status = RflagsBits.OF | RflagsBits.SF | RflagsBits.ZF | RflagsBits.AF | RflagsBits.CF | RflagsBits.PF;
        return ((instr.RflagsRead & status) != 0, (instr.RflagsModified & status) == status);
    }

    [Theory]
    [InlineData(new byte[] { 0xc1, 0xe0, 0x00 }, false, false)]  // shl $0,%eax: no flag changes
    [InlineData(new byte[] { 0xc1, 0xe0, 0x05 }, false, true)]   // shl $5,%eax
    [InlineData(new byte[] { 0xc0, 0xd0, 0x09 }, false, false)]  // rcl $9,%al: 9 bits through CF, a no-op
    [InlineData(new byte[] { 0xc1, 0xd0, 0x03 }, true, false)]   // rcl $3,%eax reads CF, writes CF and OF only
    [InlineData(new byte[] { 0x31, 0xc0 }, false, true)]         // xor %eax,%eax
    [InlineData(new byte[] { 0x31, 0xd8 }, false, true)]         // xor %ebx,%eax
    [InlineData(new byte[] { 0x11, 0xd8 }, true, true)]          // adc %ebx,%eax
    [InlineData(new byte[] { 0x89, 0xd8 }, false, false)]        // mov %ebx,%eax
    public void Facts_of_one_instruction(byte[] bytes, bool reads, bool writesAll)
    {
        // Asked after other instructions of the same Code, so a wrongly cached answer would show.
        foreach (var other in new byte[][] { [0xc1, 0xe0, 0x01], [0xc1, 0xd0, 0x01], [0xc0, 0xd0, 0x01], [0x31, 0xd8] })
            StatusFlags.Of(Decode(other));
        Assert.Equal((reads, writesAll), StatusFlags.Of(Decode(bytes)));
        Assert.Equal((reads, writesAll), FromIced(Decode(bytes)));
    }

    [Fact]
    public void Cached_facts_match_Iced_for_every_instruction_of_the_corpus()
    {
        long checkedCount = 0;
        foreach (var path in KernelCorpus.Modules())
        {
            var elf = ElfFile.Read(path);
            foreach (var f in new FunctionCatalog(elf).Functions)
            {
                var data = f.Section.Data.Slice((int)f.Start, f.Size).ToArray();
                var decoder = Decoder.Create(64, new ByteArrayCodeReader(data), (ulong)f.Start);
                while (decoder.IP < (ulong)f.End)
                {
                    decoder.Decode(out var instr);
                    if (instr.IsInvalid) break;
                    var (cached, direct) = (StatusFlags.Of(instr), FromIced(instr));
                    if (cached != direct)
                        Assert.Fail($"{path}: {f.Name}+0x{instr.IP - (ulong)f.Start:x} {instr}: cached {cached}, Iced {direct}");
                    checkedCount++;
                }
            }
        }
        Assert.True(checkedCount > 1_000_000, $"only {checkedCount} instructions decoded");
    }
}
