using System.Buffers.Binary;

namespace Kedr.Tests.MutationFuzzing;

/// <summary>
/// Mutations of a valid ELF64 relocatable object, aimed at what a reader trusts: the ELF header's table
/// offset and counts, every section header's offset, size, link, info and entsize, symbol and relocation
/// entries' indices and offsets, note sizes; plus truncation and bit flips. The layout is read here from
/// the specification's field offsets, independently of the reader under test. A mutation is applied in
/// place and undone with <see cref="Undo"/>, so a large seed is never copied per input.
/// </summary>
internal sealed class ElfMutator
{
    private enum Kind : byte { Offset, Size, Count, Index, StringOffset, Other }

    private readonly record struct Field(int At, byte Width, Kind Kind);

    private readonly byte[] _bytes;
    private readonly List<Field> _headerFields = [];
    private readonly List<Field> _entryFields = [];
    private readonly List<int> _boundaries = [];
    private readonly (int Start, int Length)[] _structures;
    private readonly int _shnum;
    private readonly int _symbols;
    private readonly List<(int At, byte[] Old)> _undo = [];

    public ElfMutator(byte[] seed)
    {
        _bytes = seed;
        ulong shoff = U64(0x28);
        _shnum = BinaryPrimitives.ReadUInt16LittleEndian(seed.AsSpan(0x3c));
        _headerFields.AddRange([new(0x28, 8, Kind.Offset), new(0x3a, 2, Kind.Size), new(0x3c, 2, Kind.Count),
            new(0x3e, 2, Kind.Index), new(0x10, 2, Kind.Other), new(0x12, 2, Kind.Other), new(4, 1, Kind.Other), new(5, 1, Kind.Other)]);
        var structures = new List<(int, int)> { (0, 64), ((int)shoff, _shnum * 64) };
        _boundaries.AddRange([0, 64, (int)shoff, (int)shoff + _shnum * 64]);
        for (int i = 0; i < _shnum; i++)
        {
            int h = (int)shoff + i * 64;
            _headerFields.AddRange([new(h, 4, Kind.StringOffset), new(h + 4, 4, Kind.Other), new(h + 8, 8, Kind.Other),
                new(h + 24, 8, Kind.Offset), new(h + 32, 8, Kind.Size), new(h + 40, 4, Kind.Index), new(h + 44, 4, Kind.Index),
                new(h + 56, 8, Kind.Size)]);
            uint type = U32(h + 4);
            ulong off = U64(h + 24), size = U64(h + 32);
            if (type == 8 /* SHT_NOBITS */ || off + size > (ulong)seed.Length) continue;
            _boundaries.AddRange([(int)off, (int)(off + size)]);
            switch (type)
            {
                case 2: // SHT_SYMTAB: Elf64_Sym
                    _symbols = (int)(size / 24);
                    structures.Add(((int)off, (int)size));
                    for (int e = 0; e + 24 <= (int)size; e += 24)
                        _entryFields.AddRange([new((int)off + e, 4, Kind.StringOffset), new((int)off + e + 4, 1, Kind.Other),
                            new((int)off + e + 6, 2, Kind.Index), new((int)off + e + 8, 8, Kind.Offset), new((int)off + e + 16, 8, Kind.Size)]);
                    break;
                case 4: // SHT_RELA: Elf64_Rela
                    structures.Add(((int)off, (int)size));
                    for (int e = 0; e + 24 <= (int)size; e += 24)
                        _entryFields.AddRange([new((int)off + e, 8, Kind.Offset), new((int)off + e + 8, 4, Kind.Other),
                            new((int)off + e + 12, 4, Kind.Index), new((int)off + e + 16, 8, Kind.Other)]);
                    break;
                case 7: // SHT_NOTE: namesz, descsz of the first note
                    structures.Add(((int)off, (int)size));
                    if (size >= 12) _headerFields.AddRange([new((int)off, 4, Kind.Size), new((int)off + 4, 4, Kind.Size)]);
                    break;
            }
        }
        _structures = structures.ToArray();
    }

    public byte[] Bytes => _bytes;

    public static readonly string[] Mutations = ["truncate", "bitflip", "field", "offset", "count", "stacked"];

    /// <summary>Applies one mutation; returns its name and the length of the input to read (shorter when truncated).</summary>
    public (string Name, int Length) Mutate(Random rng)
    {
        int pick = rng.Next(100);
        string name = pick switch { < 15 => "truncate", < 35 => "bitflip", < 60 => "field", < 75 => "offset", < 90 => "count", _ => "stacked" };
        switch (name)
        {
            case "truncate":
                return (name, Truncation(rng));
            case "bitflip":
                for (int k = rng.Next(1, 5); k > 0; k--) FlipBit(rng);
                break;
            case "field":
                SetField(rng, PickField(rng, null), anyKind: true);
                break;
            case "offset":
                SetField(rng, PickField(rng, f => f.Kind is Kind.Offset or Kind.StringOffset or Kind.Index), anyKind: false);
                break;
            case "count":
                SetField(rng, PickField(rng, f => f.Kind is Kind.Size or Kind.Count), anyKind: false);
                break;
            default:
                for (int k = rng.Next(2, 5); k > 0; k--)
                {
                    if (rng.Next(3) == 0) FlipBit(rng);
                    else SetField(rng, PickField(rng, null), anyKind: true);
                }
                if (rng.Next(4) == 0) return (name, Truncation(rng));
                break;
        }
        return (name, _bytes.Length);
    }

    /// <summary>Restores the seed.</summary>
    public void Undo()
    {
        for (int i = _undo.Count - 1; i >= 0; i--) _undo[i].Old.CopyTo(_bytes, _undo[i].At);
        _undo.Clear();
    }

    private int Truncation(Random rng)
    {
        // Half anywhere, half a few bytes either side of where a structure starts or ends.
        if (rng.Next(2) == 0) return rng.Next(_bytes.Length);
        int b = _boundaries[rng.Next(_boundaries.Count)] + rng.Next(-8, 9);
        return Math.Clamp(b, 0, _bytes.Length - 1);
    }

    private void FlipBit(Random rng)
    {
        // Mostly inside the headers and tables the reader interprets, sometimes anywhere.
        int at;
        if (rng.Next(3) == 0) at = rng.Next(_bytes.Length);
        else
        {
            var (start, length) = _structures[rng.Next(_structures.Length)];
            at = start + rng.Next(Math.Max(1, length));
            if (at >= _bytes.Length) at = rng.Next(_bytes.Length);
        }
        Save(at, 1);
        _bytes[at] ^= (byte)(1 << rng.Next(8));
    }

    private Field PickField(Random rng, Func<Field, bool>? want)
    {
        for (int tries = 0; ; tries++)
        {
            var list = _entryFields.Count > 0 && rng.Next(3) == 0 ? _entryFields : _headerFields;
            var f = list[rng.Next(list.Count)];
            if (want is null || want(f) || tries > 64) return f;
        }
    }

    private void SetField(Random rng, Field f, bool anyKind)
    {
        ulong old = f.Width switch { 1 => _bytes[f.At], 2 => BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan(f.At)),
            4 => U32(f.At), _ => U64(f.At) };
        ulong max = f.Width == 8 ? ulong.MaxValue : (1UL << (8 * f.Width)) - 1;
        ulong len = (ulong)_bytes.Length;
        ulong[] common = [0, 1, max, max >> 1, (max >> 1) + 1, old + 1, old - 1, old + (ulong)rng.Next(1, 65), old ^ (1UL << rng.Next(8 * f.Width)),
            NextU64(rng)];
        ulong[] specific = (anyKind ? (Kind)rng.Next(6) : f.Kind) switch
        {
            Kind.Offset => [len, len - 1, len + 1, len - (ulong)rng.Next(1, 257), (ulong)rng.NextInt64((long)len), 1UL << 31, 1UL << 32, 1UL << 63, old + len],
            Kind.Size or Kind.Count => [max, 0x7fffffff, 0xffff, old * 2, old << 8, len, len + 1, old + 24, old - 24, 0x1_0000_0000],
            Kind.Index => [(ulong)_shnum, (ulong)_shnum - 1, (ulong)_shnum + 1, 0xffff, 0xfff1, 0xfff2, 0xff00, (ulong)_symbols, (ulong)_symbols + 1],
            Kind.StringOffset => [len, (ulong)rng.Next(1 << 16), max, 0xffffffff, old + 0x10000],
            _ => [],
        };
        ulong v = rng.Next(3) == 0 || specific.Length == 0 ? common[rng.Next(common.Length)] : specific[rng.Next(specific.Length)];
        Save(f.At, f.Width);
        var span = _bytes.AsSpan(f.At, f.Width);
        for (int i = 0; i < f.Width; i++) span[i] = (byte)(v >> (8 * i));
    }

    private void Save(int at, int width) => _undo.Add((at, _bytes.AsSpan(at, width).ToArray()));

    private static ulong NextU64(Random rng) => (ulong)rng.NextInt64() ^ ((ulong)rng.Next(4) << 62);

    private uint U32(int at) => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(at));
    private ulong U64(int at) => BinaryPrimitives.ReadUInt64LittleEndian(_bytes.AsSpan(at));
}
