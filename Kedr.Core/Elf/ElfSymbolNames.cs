using System.Text;

namespace Kedr.Core.Elf;

/// <summary>
/// The names of one symbol table, decoded from its string table on first use and kept per symbol.
/// The reader has already checked that every name lies inside the table and is terminated.
/// </summary>
internal sealed class ElfSymbolNames(ReadOnlyMemory<byte> table, int count)
{
    private readonly string?[] _names = new string?[count];

    public string Get(int index, uint offset) => _names[index] ??= Decode(table.Span, offset);

    /// <summary>The NUL-terminated string at <paramref name="offset"/>; null if it is outside the table or unterminated.</summary>
    public static string? TryDecode(ReadOnlySpan<byte> table, uint offset)
    {
        if (offset >= (uint)table.Length) return offset == 0 && table.Length == 0 ? "" : null;
        int end = table[(int)offset..].IndexOf((byte)0);
        return end < 0 ? null : Encoding.UTF8.GetString(table.Slice((int)offset, end));
    }

    private static string Decode(ReadOnlySpan<byte> table, uint offset) => TryDecode(table, offset) ?? "";
}
