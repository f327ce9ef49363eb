using System.Text;

namespace Kedr.Core.Elf;

/// <summary>The NUL-terminated strings of an ELF string table (<c>.strtab</c>, <c>.shstrtab</c>).</summary>
internal static class ElfStrings
{
    /// <summary>
    /// The bytes of the string at <paramref name="offset"/>, without its NUL; false if it lies outside
    /// the table or is unterminated (offset 0 of an empty table is the empty string).
    /// </summary>
    public static bool TryGetBytes(ReadOnlySpan<byte> table, uint offset, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (offset >= (uint)table.Length) return offset == 0 && table.Length == 0;
        int end = table[(int)offset..].IndexOf((byte)0);
        if (end < 0) return false;
        bytes = table.Slice((int)offset, end);
        return true;
    }

    /// <summary>The string at <paramref name="offset"/>, decoded as UTF-8; "" and false where <see cref="TryGetBytes"/> fails.</summary>
    public static bool TryGet(ReadOnlySpan<byte> table, uint offset, out string value)
    {
        bool ok = TryGetBytes(table, offset, out var bytes);
        value = ok ? Decode(bytes) : "";
        return ok;
    }

    /// <summary>
    /// <paramref name="bytes"/> decoded as UTF-8. Names are ASCII but for the odd one: those are widened as they
    /// are (the same characters), without UTF-8's count-then-transcode, which costs more than the allocation.
    /// </summary>
    public static string Decode(ReadOnlySpan<byte> bytes) =>
        System.Text.Ascii.IsValid(bytes) ? Encoding.ASCII.GetString(bytes) : Encoding.UTF8.GetString(bytes);
}
