using System.Buffers.Binary;
using System.Text;

namespace Kedr.Core.Dwarf;

/// <summary>
/// Reads DWARF's encodings (fixed-size little-endian integers, LEB128, NUL-terminated strings) from a
/// section's bytes. Reading past the end throws <see cref="DwarfFormatException"/>.
/// </summary>
internal ref struct DwarfCursor(ReadOnlySpan<byte> data, int position = 0)
{
    private readonly ReadOnlySpan<byte> _data = data;

    public int Position { get; set; } = position;
    public readonly int Length => _data.Length;
    public readonly bool AtEnd => Position >= _data.Length;

    public byte U8() => Take(1)[0];
    public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
    public uint U24() { var b = Take(3); return (uint)(b[0] | b[1] << 8 | b[2] << 16); }
    public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
    public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    /// <summary>A value of <paramref name="size"/> bytes (1, 2, 4 or 8).</summary>
    public ulong Unsigned(int size) => size switch
    {
        1 => U8(),
        2 => U16(),
        4 => U32(),
        8 => U64(),
        _ => throw new DwarfFormatException($"unsupported size {size}"),
    };

    /// <summary>A 32-bit or (after 0xffffffff) 64-bit initial length; <paramref name="offsetSize"/> is 4 or 8.</summary>
    public ulong InitialLength(out int offsetSize)
    {
        uint l = U32();
        if (l < 0xfffffff0) { offsetSize = 4; return l; }
        if (l != 0xffffffff) throw new DwarfFormatException($"reserved unit length 0x{l:x}");
        offsetSize = 8;
        return U64();
    }

    public ulong Uleb()
    {
        ulong v = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = U8();
            if (shift < 64) v |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return v;
        }
    }

    public long Sleb()
    {
        long v = 0;
        int shift = 0;
        byte b;
        do
        {
            b = U8();
            if (shift < 64) v |= (long)(b & 0x7f) << shift;
            shift += 7;
        } while ((b & 0x80) != 0);
        if (shift < 64 && (b & 0x40) != 0) v |= -1L << shift;
        return v;
    }

    public string CString()
    {
        int end = _data[Position..].IndexOf((byte)0);
        if (end < 0) throw new DwarfFormatException($"unterminated string at 0x{Position:x}");
        var s = Encoding.UTF8.GetString(_data.Slice(Position, end));
        Position += end + 1;
        return s;
    }

    public void Skip(ulong n)
    {
        if (n > (ulong)(_data.Length - Position)) throw new DwarfFormatException($"0x{n:x} bytes past the end at 0x{Position:x}");
        Position += (int)n;
    }

    public ReadOnlySpan<byte> Take(int n)
    {
        if (Position < 0 || n > _data.Length - Position)
            throw new DwarfFormatException($"read of {n} byte(s) past the end at 0x{Position:x}");
        var s = _data.Slice(Position, n);
        Position += n;
        return s;
    }

    /// <summary>The NUL-terminated string at <paramref name="offset"/> of a string section.</summary>
    public static string StringAt(ReadOnlySpan<byte> section, ulong offset)
    {
        if (offset >= (ulong)section.Length) throw new DwarfFormatException($"string offset 0x{offset:x} past the end of its section");
        var c = new DwarfCursor(section, (int)offset);
        return c.CString();
    }
}

/// <summary>Debug information that does not parse: a truncated section, an unknown form, a bad offset.</summary>
public sealed class DwarfFormatException(string message) : Exception(message);
