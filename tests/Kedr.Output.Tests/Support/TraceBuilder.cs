using System.Buffers.Binary;
using System.Text;

namespace Kedr.Output.Tests.Support;

/// <summary>One record to write; kind and context are the raw numbers of kedr_record.h.</summary>
internal sealed record Rec(ulong Ts, ulong Pc, ulong Addr, uint Seq, uint Tid, uint Size, uint Site, byte Kind, byte Cpu, byte Context = 0);

/// <summary>
/// Writes a binary trace byte by byte from the layout of kmod/kedr_record.h, with offsets written out
/// here from the header's text (not taken from TraceFormat, which is what is under test).
/// Larger header/record sizes are filled with 0xEE so a reader that does not skip them sees garbage.
/// </summary>
internal sealed class TraceBuilder
{
    public string Magic { get; init; } = "KEDRTRC1";
    public ushort Version { get; init; } = 1;
    public int HeaderSize { get; init; } = 80;
    public int RecordSize { get; init; } = 48;
    public string Target { get; init; } = "demo_mod";
    public ulong CoreBase { get; init; }
    public List<Rec> Records { get; } = [];

    public TraceBuilder Add(params Rec[] recs) { Records.AddRange(recs); return this; }

    public byte[] Build()
    {
        var b = new byte[HeaderSize + Records.Count * RecordSize];
        b.AsSpan(80, HeaderSize - 80).Fill(0xEE);
        Encoding.ASCII.GetBytes(Magic).AsSpan(0, Math.Min(8, Magic.Length)).CopyTo(b);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), Version);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(10), (ushort)HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(12), (ushort)RecordSize);
        var name = Encoding.ASCII.GetBytes(Target);
        name.AsSpan(0, Math.Min(name.Length, 56)).CopyTo(b.AsSpan(16));
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(72), CoreBase);
        for (int i = 0; i < Records.Count; i++)
        {
            var r = Records[i];
            var s = b.AsSpan(HeaderSize + i * RecordSize, RecordSize);
            s[48..].Fill(0xEE);
            BinaryPrimitives.WriteUInt64LittleEndian(s, r.Ts);
            BinaryPrimitives.WriteUInt64LittleEndian(s[8..], r.Pc);
            BinaryPrimitives.WriteUInt64LittleEndian(s[16..], r.Addr);
            BinaryPrimitives.WriteUInt32LittleEndian(s[24..], r.Seq);
            BinaryPrimitives.WriteUInt32LittleEndian(s[28..], r.Tid);
            BinaryPrimitives.WriteUInt32LittleEndian(s[32..], r.Size);
            BinaryPrimitives.WriteUInt32LittleEndian(s[36..], r.Site);
            s[40] = r.Kind;
            s[41] = r.Cpu;
            s[42] = r.Context;
        }
        return b;
    }

    public string WriteTo(string dir, string name = "trace.bin")
    {
        var p = Path.Combine(dir, name);
        File.WriteAllBytes(p, Build());
        return p;
    }
}

internal static class Kinds
{
    public const byte Entry = 1, Exit = 2, Read = 3, Write = 4, Locked = 5;
}
