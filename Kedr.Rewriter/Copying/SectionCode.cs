using System.Runtime.InteropServices;
using Iced.Intel;
using Kedr.Core.Elf;
using Kedr.Kernel.Modules;

namespace Kedr.Rewriter.Copying;

/// <summary>An executable section with what the copier looks up in it: bytes, relocations, patch sites.</summary>
internal sealed class SectionCode
{
    private readonly ElfFile _elf;

    public SectionCode(ElfFile elf, ElfSection section, IEnumerable<PatchSite> sites)
    {
        _elf = elf;
        Section = section;
        if (!MemoryMarshal.TryGetArray(section.Data, out var seg))
            seg = new ArraySegment<byte>(section.Data.ToArray());
        Bytes = seg.Array!;
        BytesOffset = seg.Offset;
        Sites = sites.OrderBy(s => s.Offset).ThenBy(s => s.Kind).ToArray();
        _reader = new ByteArrayCodeReader(Bytes, BytesOffset, (int)section.Size);
        _decoder = Decoder.Create(64, _reader, 0, DecoderOptions.None);
    }

    private readonly ByteArrayCodeReader _reader;
    private readonly Decoder _decoder;

    /// <summary>
    /// The section's decoder, placed at <paramref name="offset"/> (its IP is the section offset).
    /// One per section rather than per function: an instruction that runs past its function's
    /// end still decodes, and the planner refuses it by its length.
    /// </summary>
    public Decoder DecoderAt(long offset)
    {
        _reader.Position = (int)offset;
        _decoder.IP = (ulong)offset;
        return _decoder;
    }

    public ElfSection Section { get; }
    /// <summary>The file's bytes; the section starts at <see cref="BytesOffset"/>.</summary>
    public byte[] Bytes { get; }
    public int BytesOffset { get; }
    /// <summary>The section's relocations, sorted by offset.</summary>
    public ReadOnlySpan<ElfRelocation> Relocations => _elf.RelocationSpan(Section);
    public PatchSite[] Sites { get; }

    public byte ByteAt(long offset) => Bytes[BytesOffset + offset];
    public ReadOnlySpan<byte> Span(long offset, int length) => Bytes.AsSpan(BytesOffset + (int)offset, length);

    /// <summary>Index of the first relocation at or after <paramref name="offset"/>.</summary>
    public int FirstRelocationAtOrAfter(long offset) => _elf.FirstRelocationAtOrAfter(Section, offset);

    /// <summary>Index of the first patch site at or after <paramref name="offset"/>.</summary>
    public int FirstSiteAtOrAfter(long offset)
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
