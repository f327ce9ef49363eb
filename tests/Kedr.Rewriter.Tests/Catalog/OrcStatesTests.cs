using System.Buffers.Binary;
using Kedr.Core.Elf;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Tests.Validation;

namespace Kedr.Rewriter.Tests.Catalog;

public sealed class OrcStatesTests
{
    /// <summary>
    /// objtool puts a "weak" terminator (sp_reg undefined, not an end) and a real entry at the same
    /// address where a section's unwind data has a gap; the kernel sorts the weak one first so that its
    /// look-up finds the real one. The copies must get the real state there too, not "undefined".
    /// </summary>
    [Theory]
    [InlineData("fs/btrfs/btrfs.ko")]
    [InlineData("fs/xfs/xfs.ko")]
    public void At_an_address_with_a_weak_terminator_the_real_entry_is_in_effect(string module)
    {
        var elf = ElfFile.Read(KernelCorpus.Module(module));
        var ips = elf.FindSection(".orc_unwind_ip")!;
        var data = elf.FindSection(".orc_unwind")!.Data.Span;
        var byAddress = new Dictionary<(int Section, long Offset), List<ulong>>();
        foreach (var r in elf.GetRelocations(ips))
        {
            ref readonly var sym = ref elf.Symbol(r.SymbolIndex);
            int i = (int)(r.Offset / 4);
            ulong entry = BinaryPrimitives.ReadUInt32LittleEndian(data[(i * 6)..]) | (ulong)BinaryPrimitives.ReadUInt16LittleEndian(data[(i * 6 + 4)..]) << 32;
            var key = (sym.SectionIndex, (long)sym.Value + r.Addend);
            if (!byAddress.TryGetValue(key, out var list)) byAddress[key] = list = [];
            list.Add(entry);
        }
        // Weak as orc_sort_cmp() says: sp_reg (low 4 bits of byte 4) ORC_REG_UNDEFINED, end (bit 2 of byte 5) clear.
        static bool Weak(ulong e) => ((e >> 32) & 0xf) == 0 && ((e >> 42) & 1) == 0;
        var states = new OrcStates(elf);
        int checkedCount = 0;
        foreach (var ((section, offset), entries) in byAddress.OrderBy(kv => kv.Key))
        {
            var real = entries.Where(e => !Weak(e)).ToList();
            if (entries.Count < 2 || real.Count != 1) continue;
            Assert.True(real[0] == states.StateAt(section, offset),
                $"{elf.Section(section).Name}+0x{offset:x}: state 0x{states.StateAt(section, offset):x12}, the real entry is 0x{real[0]:x12}");
            checkedCount++;
        }
        Assert.True(checkedCount > 10, $"only {checkedCount} addresses with a weak terminator and a real entry");
    }
}
