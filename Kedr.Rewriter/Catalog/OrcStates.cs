using System.Buffers.Binary;
using Kedr.Core.Elf;

namespace Kedr.Rewriter.Catalog;

/// <summary>
/// The original's ORC unwind state at any instruction, which <see cref="CopyEmitter"/> turns
/// into entries for the copies (moving the stack offset by what its sequences push), so that
/// stack traces taken inside a copy are as reliable as in the original.
/// </summary>
internal sealed class OrcStates
{
    // struct orc_entry: s16 sp_offset, s16 bp_offset, sp_reg:4 bp_reg:4, type:2 end:1.
    private const int EntrySize = 6;
    private const int OrcRegSp = 5;

    private readonly Dictionary<int, (long[] Offsets, ulong[] Entries)> _bySection = [];

    public OrcStates(ElfFile elf)
    {
        var ips = elf.FindSection(".orc_unwind_ip");
        var orcs = elf.FindSection(".orc_unwind");
        // Tables the file holds, with one entry per ip.
        if (ips is null || orcs is null || ips.Size / 4 != orcs.Size / EntrySize || !orcs.IsInFile) return;
        var relocs = elf.RelocationSpan(ips);
        var data = orcs.Data.Span;
        // Each entry's ip is a PC32 relocation to "section symbol + offset": counted per section, then
        // gathered into each section's parallel arrays, which are sorted by offset.
        var perSection = new int[elf.Sections.Count];
        foreach (ref readonly var r in relocs)
            if (IsEntryIp(elf, r, out int section)) perSection[section]++;
        var filled = new int[perSection.Length];
        int current = -1;
        (long[] Offsets, ulong[] Entries) arrays = ([], []);
        foreach (ref readonly var r in relocs)
        {
            if (!IsEntryIp(elf, r, out int section)) continue;
            if (section != current && !_bySection.TryGetValue(current = section, out arrays))
                _bySection[section] = arrays = (new long[perSection[section]], new ulong[perSection[section]]);
            int i = (int)(r.Offset / 4), k = filled[section]++;
            arrays.Offsets[k] = (long)elf.Symbol(r.SymbolIndex).Value + r.Addend;
            arrays.Entries[k] = BinaryPrimitives.ReadUInt32LittleEndian(data[(i * EntrySize)..]) | (ulong)BinaryPrimitives.ReadUInt16LittleEndian(data[(i * EntrySize + 4)..]) << 32;
        }
        foreach (var (o, e) in _bySection.Values)
        {
            // objtool writes them in address order, so this is mostly a check.
            if (!IsAscending(o)) Array.Sort(o, e);
            WeakFirst(o, e);
            Count += o.Length;
        }
    }

    /// <summary>Whether <paramref name="r"/> is an entry's ip (a PC32 field to a place in a section of the module), and which section.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsEntryIp(ElfFile elf, in ElfRelocation r, out int section)
    {
        ref readonly var sym = ref elf.Symbol(r.SymbolIndex);
        section = sym.SectionIndex;
        return r.IsPcRelative && r.Offset % 4 == 0 && sym.IsDefinedInSection;
    }

    public bool HasData => _bySection.Count > 0;

    private static bool IsAscending(long[] offsets)
    {
        for (int i = 1; i < offsets.Length; i++)
            if (offsets[i] < offsets[i - 1]) return false;
        return true;
    }

    /// <summary>
    /// At one address, the "weak" section terminators (sp_reg undefined, not an end) go before the real
    /// entry, as the kernel's orc_sort_cmp() puts them: the look-up takes the last entry at or before an
    /// address, so the real one is found. (Array.Sort leaves the order of equal addresses to chance.)
    /// </summary>
    private static void WeakFirst(long[] offsets, ulong[] entries)
    {
        // Each weak entry moves ahead of the real ones at its address; the rest keep their order.
        for (int i = 1; i < offsets.Length; i++)
            for (int k = i; k > 0 && offsets[k - 1] == offsets[k] && IsWeak(entries[k]) && !IsWeak(entries[k - 1]); k--)
                (entries[k], entries[k - 1]) = (entries[k - 1], entries[k]);
    }

    /// <summary>sp_reg (bits 32-35) ORC_REG_UNDEFINED and end (bit 42) clear: a section terminator, not a state.</summary>
    private static bool IsWeak(ulong entry) => ((entry >> 32) & 0xf) == 0 && ((entry >> 42) & 1) == 0;

    /// <summary>The original's entries in code sections: each can start at most one entry of the copies.</summary>
    public int Count { get; }

    /// <summary>sp_reg UNDEFINED, not an end: an unwinder stopping here reports an error.</summary>
    public const ulong Undefined = 0;

    /// <summary>The entry in effect at (section, offset) of the original.</summary>
    /// <remarks>
    /// Asked for every instruction the emitter does not copy as part of a plain run, mostly a little
    /// after the previous one and before the next change of state: answered inline from the last answer then.
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public ulong StateAt(int section, long offset)
    {
        if (section == _lastSection && offset >= _lastOffset && offset < _next)
        {
            _lastOffset = offset;
            return _state;
        }
        return Seek(section, offset);
    }

    private ulong Seek(int section, long offset)
    {
        // Copies are emitted instruction by instruction in address order: step forward from the
        // last answer, and search only when the walk moves to another section or backwards.
        if (section != _lastSection || offset < _lastOffset)
        {
            if (!_bySection.TryGetValue(section, out _last)) _last = ([], []);
            int i = Array.BinarySearch(_last.Offsets, offset);
            _cursor = i < 0 ? ~i - 1 : i;
            _lastSection = section;
        }
        var offsets = _last.Offsets;
        while (_cursor + 1 < offsets.Length && offsets[_cursor + 1] <= offset) _cursor++;
        _lastOffset = offset;
        _next = _cursor + 1 < offsets.Length ? offsets[_cursor + 1] : long.MaxValue;
        return _state = _cursor < 0 ? Undefined : _last.Entries[_cursor];
    }

    /// <summary>After <see cref="StateAt"/>: the offset of the next entry of that section (where the state may change next), or long.MaxValue.</summary>
    public long NextChange() => _next;

    private (long[] Offsets, ulong[] Entries) _last = ([], []);
    private int _lastSection = -1, _cursor = -1;
    private long _lastOffset;
    /// <summary>The last answer and where it stops holding (<see cref="NextChange"/>).</summary>
    private ulong _state;
    private long _next = long.MinValue;

    /// <summary>Our pushes move the CFA only when it is computed from %rsp.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static ulong Adjust(ulong entry, int depth)
    {
        if (depth == 0 || (int)((entry >> 32) & 0xf) != OrcRegSp) return entry;
        short sp = (short)(entry & 0xffff);
        return (entry & ~0xffffUL) | (ushort)(sp + depth);
    }
}
