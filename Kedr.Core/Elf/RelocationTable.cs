using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Kedr.Core.Elf;

/// <summary>
/// One section's relocations: <c>count</c> Elf64_Rela entries from byte <c>start</c> of <c>bytes</c>, which
/// are the file's own (the usual case: one RELA section, sorted by offset, read where it lies) or a
/// sorted copy in the same layout.
/// </summary>
internal readonly struct RelocationTable(byte[] bytes, int start, int count)
{
    public static readonly RelocationTable Empty = new([], 0, 0);

    public int Count => count;

    public ReadOnlySpan<ElfRelocation> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => count == 0 ? default
            : MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<byte, ElfRelocation>(ref bytes[start]), count);
    }

    /// <summary>The entries in the file's layout, in host byte order (a copy made for a sorted or merged table).</summary>
    public static RelocationTable Copy(ReadOnlySpan<ElfRelocation> entries)
    {
        var copy = new byte[entries.Length * Unsafe.SizeOf<ElfRelocation>()];
        entries.CopyTo(MemoryMarshal.Cast<byte, ElfRelocation>(copy.AsSpan()));
        return new RelocationTable(copy, 0, entries.Length);
    }
}
