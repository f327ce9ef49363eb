namespace Kedr.Core.Elf;

/// <summary>
/// Looks up a section's relocations by offset for a reader that asks in increasing order (a table
/// walked entry by entry): each answer steps forward from the last instead of searching again.
/// Asking for a smaller offset than before searches again, so any order gives the answers
/// <see cref="ElfFile.TryGetRelocationAt"/> gives.
/// </summary>
public sealed class RelocationCursor(ElfFile elf, ElfSection section)
{
    private readonly ElfFile _elf = elf;
    private readonly ElfSection _section = section;
    /// <summary>Every relocation before it is at a smaller offset than the last one asked for.</summary>
    private int _next;
    private ulong _lastAsked;

    /// <summary>The relocation at exactly <paramref name="offset"/> (of several there, the last in file order).</summary>
    public bool TryAt(ulong offset, out ElfRelocation relocation)
    {
        var relocs = _elf.RelocationSpan(_section);
        if (offset < _lastAsked) _next = _elf.FirstRelocationAtOrAfter(_section, (long)offset);
        _lastAsked = offset;
        int i = _next;
        while (i < relocs.Length && relocs[i].Offset < offset) i++;
        _next = i;
        if (i < relocs.Length && relocs[i].Offset == offset)
        {
            while (i + 1 < relocs.Length && relocs[i + 1].Offset == offset) i++;
            relocation = relocs[i];
            return true;
        }
        relocation = default;
        return false;
    }
}
