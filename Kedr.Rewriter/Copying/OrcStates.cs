using System.Buffers.Binary;
using Kedr.Core.Blob;
using Kedr.Core.Elf;

namespace Kedr.Rewriter.Copying;

/// <summary>
/// The original's ORC unwind state at any instruction, which <see cref="CopyEmitter"/> turns
/// into entries for the copies (moving the stack offset by what its sequences push), so that
/// stack traces taken inside a copy are as reliable as in the original.
/// </summary>
internal sealed class OrcStates
{
    // struct orc_entry: s16 sp_offset, s16 bp_offset, sp_reg:4 bp_reg:4, type:2 end:1.
    private const int EntrySize = 6;
    private const int OrcRegUndefined = 0, OrcRegSp = 5;

    private readonly Dictionary<int, (long[] Offsets, ulong[] Entries)> _bySection = [];

    public OrcStates(ElfFile elf)
    {
        var ips = elf.FindSection(".orc_unwind_ip");
        var orcs = elf.FindSection(".orc_unwind");
        if (ips is null || orcs is null || ips.Size / 4 != orcs.Size / EntrySize) return;
        var relocs = elf.GetRelocations(ips);
        var data = orcs.Data.Span;
        var lists = new Dictionary<int, List<(long, ulong)>>();
        foreach (var r in relocs)
        {
            if (!r.IsPcRelative || r.Offset % 4 != 0) continue;
            var sym = elf.Symbols[r.SymbolIndex];
            if (!sym.IsDefinedInSection) continue;
            int i = (int)(r.Offset / 4);
            ulong entry = 0;
            for (int b = 0; b < EntrySize; b++) entry |= (ulong)data[i * EntrySize + b] << (8 * b);
            if (!lists.TryGetValue(sym.SectionIndex, out var list)) lists[sym.SectionIndex] = list = [];
            list.Add(((long)sym.Value + r.Addend, entry));
        }
        foreach (var (section, list) in lists)
        {
            list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
            _bySection[section] = (list.Select(x => x.Item1).ToArray(), list.Select(x => x.Item2).ToArray());
        }
    }

    public bool HasData => _bySection.Count > 0;

    /// <summary>sp_reg UNDEFINED, not an end: an unwinder stopping here reports an error.</summary>
    public const ulong Undefined = 0;

    /// <summary>The entry in effect at (section, offset) of the original.</summary>
    public ulong StateAt(int section, long offset)
    {
        if (!_bySection.TryGetValue(section, out var t)) return Undefined;
        int i = Array.BinarySearch(t.Offsets, offset);
        if (i < 0) i = ~i - 1;
        return i < 0 ? Undefined : t.Entries[i];
    }

    /// <summary>Our pushes move the CFA only when it is computed from %rsp.</summary>
    public static ulong Adjust(ulong entry, int depth)
    {
        if (depth == 0 || (int)((entry >> 32) & 0xf) != OrcRegSp) return entry;
        short sp = (short)(entry & 0xffff);
        return (entry & ~0xffffUL) | (ushort)(sp + depth);
    }
}
