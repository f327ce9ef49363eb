using System.Collections;

namespace Kedr.Core.Elf;

/// <summary>A section's relocations as a list (<see cref="ElfFile.GetRelocations"/>), read from the table they are kept in.</summary>
internal sealed class RelocationList(ElfFile elf, ElfSection section) : IReadOnlyList<ElfRelocation>
{
    public ElfRelocation this[int index] => elf.RelocationSpan(section)[index];

    public int Count => elf.RelocationSpan(section).Length;

    public IEnumerator<ElfRelocation> GetEnumerator()
    {
        for (int i = 0; i < Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
