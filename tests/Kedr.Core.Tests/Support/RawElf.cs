using System.Buffers.Binary;
using System.Text;

namespace Kedr.Core.Tests.Support;

/// <summary>
/// Just enough of ELF64 (straight from the spec's field offsets) to find and corrupt
/// fields of a real module; independent of <c>Kedr.Core.Elf</c>.
/// </summary>
internal sealed class RawElf
{
    // Elf64_Ehdr
    public const int EShoff = 0x28, EShentsize = 0x3a, EShnum = 0x3c, EShstrndx = 0x3e, EType = 0x10, EMachine = 0x12;
    // Elf64_Shdr field offsets
    public const int ShName = 0, ShType = 4, ShFlags = 8, ShOffset = 24, ShSize = 32, ShLink = 40, ShInfo = 44, ShEntsize = 56;

    public sealed record Section(int Index, string Name, uint Type, ulong Offset, ulong Size, uint Link, uint Info, int HeaderOffset);

    public byte[] Bytes { get; }
    public ulong ShOff { get; }
    public int ShNum { get; }
    public List<Section> Sections { get; } = [];

    public RawElf(byte[] bytes)
    {
        Bytes = bytes;
        ShOff = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(EShoff));
        ShNum = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(EShnum));
        int shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(EShstrndx));
        int strHdr = (int)ShOff + shstrndx * 64;
        ulong strOff = U64(strHdr + ShOffset);
        for (int i = 0; i < ShNum; i++)
        {
            int h = (int)ShOff + i * 64;
            int nameAt = (int)strOff + (int)U32(h + ShName);
            int end = Array.IndexOf(bytes, (byte)0, nameAt);
            Sections.Add(new Section(i, Encoding.ASCII.GetString(bytes, nameAt, end - nameAt), U32(h + ShType),
                U64(h + ShOffset), U64(h + ShSize), U32(h + ShLink), U32(h + ShInfo), h));
        }
    }

    public Section this[string name] => Sections.Single(s => s.Name == name);

    public uint U32(int at) => BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(at));
    public ulong U64(int at) => BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan(at));

    /// <summary>A copy of the file with one change applied.</summary>
    public byte[] With(Action<Span<byte>> change)
    {
        var copy = (byte[])Bytes.Clone();
        change(copy);
        return copy;
    }

    public static void Put16(Span<byte> s, int at, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(s[at..], v);
    public static void Put32(Span<byte> s, int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(s[at..], v);
    public static void Put64(Span<byte> s, int at, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(s[at..], v);
}
