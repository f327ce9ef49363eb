using System.Text;

namespace Kedr.Core.Elf;

/// <summary>
/// The <c>.modinfo</c> section: NUL-separated <c>key=value</c> entries in file order (keys such as alias
/// repeat). Kept as bytes: a value is decoded when asked for (the rewriter asks for two of a module's
/// tens or hundreds), the whole table only if <see cref="All"/> is.
/// </summary>
public sealed class ElfModInfo
{
    private readonly ReadOnlyMemory<byte> _data;
    private Dictionary<string, List<string>>? _all;

    internal ElfModInfo(ReadOnlyMemory<byte> data) => _data = data;

    internal static readonly ElfModInfo None = new(ReadOnlyMemory<byte>.Empty);

    /// <summary>
    /// The entry at or after <paramref name="pos"/> (NULs between entries skipped): 1 and the entry, <paramref name="pos"/>
    /// past it; 0 at the end; -1 if the entry starting at <paramref name="pos"/> has no NUL.
    /// </summary>
    internal static int Next(ReadOnlySpan<byte> data, ref int pos, out ReadOnlySpan<byte> entry)
    {
        entry = default;
        while (pos < data.Length && data[pos] == 0) pos++;
        if (pos == data.Length) return 0;
        int end = data[pos..].IndexOf((byte)0);
        if (end < 0) return -1;
        entry = data.Slice(pos, end);
        pos += end + 1;
        return 1;
    }

    /// <summary>An entry's key and value: split at the first '=' (none: the whole entry is the key, the value empty).</summary>
    internal static void Split(ReadOnlySpan<byte> entry, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        int eq = entry.IndexOf((byte)'=');
        key = eq < 0 ? entry : entry[..eq];
        value = eq < 0 ? default : entry[(eq + 1)..];
    }

    /// <summary>The first value of <paramref name="key"/>, decoded as UTF-8; null if no entry has that key.</summary>
    public string? First(string key)
    {
        // A key's bytes and its string match one for one when it is ASCII (UTF-8 decodes no other bytes to ASCII).
        if (!Ascii.IsValid(key)) return All.TryGetValue(key, out var values) && values.Count > 0 ? values[0] : null;
        var data = _data.Span;
        int pos = 0;
        while (Next(data, ref pos, out var entry) > 0)
        {
            Split(entry, out var k, out var value);
            if (Ascii.Equals(k, key)) return Encoding.UTF8.GetString(value);
        }
        return null;
    }

    /// <summary>Every key with its values, in file order.</summary>
    public IReadOnlyDictionary<string, List<string>> All => _all ??= Decode(_data.Span);

    private static Dictionary<string, List<string>> Decode(ReadOnlySpan<byte> data)
    {
        var all = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        int pos = 0;
        while (Next(data, ref pos, out var entry) > 0)
        {
            Split(entry, out var k, out var v);
            string key = Encoding.UTF8.GetString(k), value = Encoding.UTF8.GetString(v);
            if (!all.TryGetValue(key, out var values)) all[key] = values = [];
            values.Add(value);
        }
        return all;
    }
}
