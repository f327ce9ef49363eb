using System.Runtime.InteropServices;

namespace Kedr.Core.Elf;

/// <summary>
/// The names of one symbol table, decoded from its string table on first use and kept per symbol.
/// The reader has already checked that every name lies inside the table and is terminated.
/// </summary>
internal sealed class ElfSymbolNames
{
    private readonly string?[] _names;
    /// <summary>The string table as an array segment: a span of it without <see cref="ReadOnlyMemory{T}.Span"/>'s type tests per name.</summary>
    private readonly byte[] _table;
    private readonly int _start, _length;

    public ElfSymbolNames(ReadOnlyMemory<byte> table, int count)
    {
        _names = new string?[count];
        if (!MemoryMarshal.TryGetArray(table, out var segment)) segment = table.ToArray();
        (_table, _start, _length) = (segment.Array!, segment.Offset, segment.Count);
    }

    public string Get(int index, uint offset) => _names[index] ??= Decode(offset);

    private string Decode(uint offset) =>
        ElfStrings.TryGet(_table.AsSpan(_start, _length), offset, out var name) ? name : "";
}
