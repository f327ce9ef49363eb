using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Kedr.Core.Elf;

namespace Kedr.Rewriter.Catalog;

/// <summary>
/// The original's ORC table (<c>.orc_unwind</c> with the ips of <c>.orc_unwind_ip</c>) as rows per code
/// section, each section's rows sorted by offset with the "weak" terminators first at an address (as the
/// kernel sorts them). Read in one pass over the ip relocations into flat arrays: objtool writes an
/// object's entries in address order, section by section, so the rows are in place as read for a module
/// of one object and need only regrouping by section (no sort) for a module linked from several.
/// </summary>
internal sealed class OriginalOrc
{
    // struct orc_entry: s16 sp_offset, s16 bp_offset, sp_reg:4 bp_reg:4, type:2 end:1.
    private const int EntrySize = 6;

    /// <summary>Every row's offset in its section and its entry (the six bytes, little-endian), by section.</summary>
    private readonly long[] _offsets = [];
    private readonly ulong[] _entries = [];
    /// <summary>Per section index, its rows' range [start, end) in the arrays (null: no table).</summary>
    private readonly int[]? _starts, _ends;

    public OriginalOrc(ElfFile elf)
    {
        var ips = elf.FindSection(".orc_unwind_ip");
        var orcs = elf.FindSection(".orc_unwind");
        // Tables the file holds, with one entry per ip.
        if (ips is null || orcs is null || ips.Size / 4 != orcs.Size / EntrySize || !orcs.IsInFile) return;
        var relocs = elf.RelocationSpan(ips);
        // The entries viewed in place (six bytes each): one bounds check per row.
        var data = MemoryMarshal.Cast<byte, RawEntry>(orcs.Data.Span);
        var offsets = new long[relocs.Length];
        var entries = new ulong[relocs.Length];
        // Section indices fit 16 bits (e_shnum does).
        var sections = new ushort[relocs.Length];
        int sectionCount = elf.Sections.Count;
        var starts = new int[sectionCount];
        var ends = new int[sectionCount];
        // Each entry's ip is a PC32 relocation to "section symbol + offset". A section's rows are one run
        // (grouped) unless its section comes back after another's; sortedness and equal offsets are noted
        // as the rows go by, so that the usual table needs nothing more.
        bool grouped = true, ascending = true, ties = false;
        int k = 0, current = -1;
        foreach (ref readonly var r in relocs)
        {
            if (!IsRow(elf, r, out int section, out long offset)) continue;
            int i = (int)(r.Offset / 4);
            if (section != current)
            {
                if (ends[section] != 0) grouped = false;
                starts[section] = k;
                current = section;
            }
            else if (offset <= offsets[k - 1])
            {
                if (offset < offsets[k - 1]) ascending = false;
                else ties = true;
            }
            ends[section] = k + 1;
            offsets[k] = offset;
            entries[k] = data[i].Value;
            sections[k++] = (ushort)section;
        }
        Count = k;
        if (k == 0) return;
        if (!grouped) Group(sections, ref offsets, ref entries, k, starts, ends);
        if (!ascending || ties || !grouped)
            for (int s = 0; s < sectionCount; s++)
            {
                if (ends[s] == starts[s]) continue;
                // objtool writes them in address order, so this is mostly a check.
                if (!IsAscending(offsets, starts[s], ends[s])) Array.Sort(offsets, entries, starts[s], ends[s] - starts[s]);
                WeakFirst(offsets, entries, starts[s], ends[s]);
            }
        (_offsets, _entries, _starts, _ends) = (offsets, entries, starts, ends);
    }

    /// <summary>A struct orc_entry as stored: six little-endian bytes.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    private readonly struct RawEntry
    {
        private readonly uint _low;
        private readonly ushort _high;

        public ulong Value
        {
            // Once per row: NativeAOT's speed preference left it a call.
            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
            get => BitConverter.IsLittleEndian
                ? _low | (ulong)_high << 32
                : BinaryPrimitives.ReverseEndianness(_low) | (ulong)BinaryPrimitives.ReverseEndianness(_high) << 32;
        }
    }

    /// <summary>Whether <paramref name="r"/> is an entry's ip (a PC32 field to a place in a section of the module), and which place.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsRow(ElfFile elf, in ElfRelocation r, out int section, out long offset)
    {
        ref readonly var sym = ref elf.Symbol(r.SymbolIndex);
        (section, offset) = (sym.SectionIndex, (long)sym.Value + r.Addend);
        return r.IsPcRelative && r.Offset % 4 == 0 && sym.IsDefinedInSection;
    }

    /// <summary>Rows in code sections: each can start at most one entry of the copies.</summary>
    public int Count { get; }

    public bool HasData => Count > 0;

    /// <summary>The rows of <paramref name="section"/>, sorted by offset (empty if none).</summary>
    public (int Start, int End) RowsOf(int section) =>
        _starts is null || (uint)section >= (uint)_starts.Length ? (0, 0) : (_starts[section], _ends![section]);

    /// <summary>Every row's offset (a section's are <see cref="RowsOf"/>).</summary>
    public long[] Offsets => _offsets;
    /// <summary>Every row's entry, beside <see cref="Offsets"/>.</summary>
    public ulong[] Entries => _entries;

    /// <summary>
    /// Rows whose sections interleave (a module linked from several objects has each object's tables one
    /// after the other): regrouped by section, each section's rows in the order read (a counting sort by
    /// section), as reading them section by section would give.
    /// </summary>
    private static void Group(ushort[] sections, ref long[] offsets, ref ulong[] entries, int count, int[] starts, int[] ends)
    {
        Array.Clear(ends);
        for (int k = 0; k < count; k++) ends[sections[k]]++;
        for (int s = 0, at = 0; s < starts.Length; s++) (starts[s], at) = (at, at + ends[s]);
        Array.Copy(starts, ends, starts.Length);
        var o = new long[count];
        var e = new ulong[count];
        for (int k = 0; k < count; k++)
        {
            int to = ends[sections[k]]++;
            (o[to], e[to]) = (offsets[k], entries[k]);
        }
        (offsets, entries) = (o, e);
    }

    private static bool IsAscending(long[] offsets, int start, int end)
    {
        for (int i = start + 1; i < end; i++)
            if (offsets[i] < offsets[i - 1]) return false;
        return true;
    }

    /// <summary>
    /// At one address, the "weak" section terminators (sp_reg undefined, not an end) go before the real
    /// entry, as the kernel's orc_sort_cmp() puts them: the look-up takes the last entry at or before an
    /// address, so the real one is found. (Array.Sort leaves the order of equal addresses to chance.)
    /// </summary>
    private static void WeakFirst(long[] offsets, ulong[] entries, int start, int end)
    {
        // Each weak entry moves ahead of the real ones at its address; the rest keep their order.
        for (int i = start + 1; i < end; i++)
            for (int k = i; k > start && offsets[k - 1] == offsets[k] && IsWeak(entries[k]) && !IsWeak(entries[k - 1]); k--)
                (entries[k], entries[k - 1]) = (entries[k - 1], entries[k]);
    }

    /// <summary>sp_reg (bits 32-35) ORC_REG_UNDEFINED and end (bit 42) clear: a section terminator, not a state.</summary>
    private static bool IsWeak(ulong entry) => ((entry >> 32) & 0xf) == 0 && ((entry >> 42) & 1) == 0;
}
