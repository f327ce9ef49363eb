using System.Runtime.InteropServices;
using Kedr.Core.Elf;
using Kedr.Kernel.Modules;

namespace Kedr.Rewriter.Catalog;

/// <summary>
/// An executable section with what the copier looks up in it: bytes, relocations, patch sites. Read-only
/// but for the look-up cursors (<see cref="FirstRelocationAtOrAfter"/>, <see cref="FirstSiteAtOrAfter"/>),
/// a cache of the last answer that changes no answer.
/// </summary>
internal sealed class SectionCode
{
    private readonly ElfFile _elf;

    /// <param name="sites">The section's patch sites, sorted by <see cref="SortSites"/> (a part of the module's, see <see cref="SitesOf"/>).</param>
    public SectionCode(ElfFile elf, ElfSection section, ArraySegment<PatchSite> sites)
    {
        _elf = elf;
        Section = section;
        if (!MemoryMarshal.TryGetArray(section.Data, out var seg))
            seg = new ArraySegment<byte>(section.Data.ToArray());
        Bytes = seg.Array!;
        BytesOffset = seg.Offset;
        _sites = sites;
    }

    public ElfSection Section { get; }
    /// <summary>The file's bytes; the section starts at <see cref="BytesOffset"/>.</summary>
    public byte[] Bytes { get; }
    public int BytesOffset { get; }
    /// <summary>The section's relocations, sorted by offset.</summary>
    public ReadOnlySpan<ElfRelocation> Relocations => _elf.RelocationSpan(Section);
    public ReadOnlySpan<PatchSite> Sites => _sites;
    private readonly ArraySegment<PatchSite> _sites;

    public byte ByteAt(long offset) => Bytes[BytesOffset + offset];
    public ReadOnlySpan<byte> Span(long offset, int length) => Bytes.AsSpan(BytesOffset + (int)offset, length);

    /// <summary>Index of the first relocation at or after <paramref name="offset"/>.</summary>
    /// <remarks>Functions are planned in address order: a walk on from the last answer, searched only when going back.</remarks>
    public int FirstRelocationAtOrAfter(long offset)
    {
        var relocations = Relocations;
        if (offset < _relocationCursorOffset) _relocationCursor = _elf.FirstRelocationAtOrAfter(Section, offset);
        else
            while (_relocationCursor < relocations.Length && (long)relocations[_relocationCursor].Offset < offset) _relocationCursor++;
        _relocationCursorOffset = offset;
        return _relocationCursor;
    }

    private int _relocationCursor;
    private long _relocationCursorOffset;

    /// <summary>
    /// All sites of the module by section, offset and kind; sites that tie (several alternatives
    /// for one instruction) keep the order of their tables.
    /// </summary>
    public static PatchSite[] SortSites(List<PatchSite> sites)
    {
        // Usually the key packs into one number (section: 16 bits, offset: 40, kind: 8); equal keys keep
        // their table order.
        var packed = new ulong[sites.Count];
        var order = new int[sites.Count];
        // Read in place: a site is 80 bytes, copied only once, into the result.
        var all = CollectionsMarshal.AsSpan(sites);
        for (int i = 0; i < packed.Length; i++)
        {
            ref readonly var s = ref all[i];
            if ((uint)s.SectionIndex > ushort.MaxValue || (ulong)s.Offset >= 1UL << 40 || (uint)s.Kind > byte.MaxValue)
                return SortSitesByKey(sites);
            packed[i] = (ulong)s.SectionIndex << 48 | (ulong)s.Offset << 8 | (byte)s.Kind;
            order[i] = i;
        }
        PackedKeySort.Sort(packed, order, Comparer<int>.Default);
        var result = new PatchSite[order.Length];
        for (int i = 0; i < order.Length; i++) result[i] = all[order[i]];
        return result;
    }

    /// <summary><see cref="SortSites"/> for keys that do not pack.</summary>
    internal static PatchSite[] SortSitesByKey(List<PatchSite> sites)
    {
        var keys = new SiteKey[sites.Count];
        for (int i = 0; i < keys.Length; i++) keys[i] = new SiteKey(sites[i].SectionIndex, sites[i].Offset, sites[i].Kind, i);
        Array.Sort(keys);
        var sorted = new PatchSite[keys.Length];
        for (int i = 0; i < keys.Length; i++) sorted[i] = sites[keys[i].Index];
        return sorted;
    }

    /// <summary>The sites of <paramref name="section"/> in the output of <see cref="SortSites"/>.</summary>
    public static ArraySegment<PatchSite> SitesOf(PatchSite[] sorted, int section)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid].SectionIndex < section) lo = mid + 1; else hi = mid;
        }
        int end = lo;
        while (end < sorted.Length && sorted[end].SectionIndex == section) end++;
        return new ArraySegment<PatchSite>(sorted, lo, end - lo);
    }

    private readonly record struct SiteKey(int Section, long Offset, PatchSiteKind Kind, int Index) : IComparable<SiteKey>
    {
        public int CompareTo(SiteKey other) =>
            Section != other.Section ? Section.CompareTo(other.Section)
            : Offset != other.Offset ? Offset.CompareTo(other.Offset)
            : Kind != other.Kind ? Kind.CompareTo(other.Kind)
            : Index.CompareTo(other.Index);
    }

    /// <summary>Index of the first patch site at or after <paramref name="offset"/> (a walk on, as for relocations).</summary>
    public int FirstSiteAtOrAfter(long offset)
    {
        if (offset < _siteCursorOffset) _siteCursor = SearchSite(offset);
        else
            while (_siteCursor < Sites.Length && Sites[_siteCursor].Offset < offset) _siteCursor++;
        _siteCursorOffset = offset;
        return _siteCursor;
    }

    private int _siteCursor;
    private long _siteCursorOffset;

    private int SearchSite(long offset)
    {
        int lo = 0, hi = Sites.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Sites[mid].Offset < offset) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
