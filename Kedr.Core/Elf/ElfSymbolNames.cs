namespace Kedr.Core.Elf;

/// <summary>
/// The names of one symbol table, decoded from its string table on first use and kept per symbol.
/// The reader has already checked that every name lies inside the table and is terminated.
/// </summary>
internal sealed class ElfSymbolNames(ReadOnlyMemory<byte> table, int count)
{
    private readonly string?[] _names = new string?[count];

    public string Get(int index, uint offset) =>
        _names[index] ??= ElfStrings.TryGet(table.Span, offset, out var name) ? name : "";
}
