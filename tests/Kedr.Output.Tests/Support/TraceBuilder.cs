using System.Buffers.Binary;
using System.Text;

namespace Kedr.Output.Tests.Support;

/// <summary>One record to write; kind and context are the raw numbers of kedr_record.h.</summary>
internal sealed record Rec(ulong Ts, ulong Pc, ulong Addr, uint Seq, uint Tid, uint Size, uint Site, byte Kind, byte Cpu, byte Context = 0, byte StackOrder = 0, byte Flags = 0);

/// <summary>
/// Writes a binary trace byte by byte at the offsets of <see cref="TraceLayout"/> (the C# description of
/// kmod/kedr_record.h, which TraceLayoutTests holds to the compiled header field by field).
/// Larger header/record sizes are filled with 0xEE so a reader that does not skip them sees garbage.
/// </summary>
internal sealed class TraceBuilder
{
    public string Magic { get; init; } = "KEDRTRC1";
    public ushort Version { get; init; } = 1;
    public int HeaderSize { get; init; } = TraceLayout.Header.Size;
    public int RecordSize { get; init; } = TraceLayout.Record.Size;
    public string Target { get; init; } = "demo_mod";
    public ulong CoreBase { get; init; }
    public List<Rec> Records { get; } = [];

    public TraceBuilder Add(params Rec[] recs) { Records.AddRange(recs); return this; }

    public byte[] Build()
    {
        var b = new byte[HeaderSize + Records.Count * RecordSize];
        b.AsSpan(TraceLayout.Header.Size, HeaderSize - TraceLayout.Header.Size).Fill(0xEE);
        Encoding.ASCII.GetBytes(Magic).AsSpan(0, Math.Min(TraceLayout.Header.MagicLength, Magic.Length)).CopyTo(b.AsSpan(TraceLayout.Header.Magic));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(TraceLayout.Header.Version), Version);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(TraceLayout.Header.HeaderSize), (ushort)HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(TraceLayout.Header.RecordSize), (ushort)RecordSize);
        var name = Encoding.ASCII.GetBytes(Target);
        name.AsSpan(0, Math.Min(name.Length, TraceFormat.NameLength)).CopyTo(b.AsSpan(TraceLayout.Header.Target));
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(TraceLayout.Header.TargetCoreBase), CoreBase);
        for (int i = 0; i < Records.Count; i++)
        {
            var r = Records[i];
            var s = b.AsSpan(HeaderSize + i * RecordSize, RecordSize);
            s[TraceLayout.Record.Size..].Fill(0xEE);
            BinaryPrimitives.WriteUInt64LittleEndian(s[TraceLayout.Record.Timestamp..], r.Ts);
            BinaryPrimitives.WriteUInt64LittleEndian(s[TraceLayout.Record.Pc..], r.Pc);
            BinaryPrimitives.WriteUInt64LittleEndian(s[TraceLayout.Record.Address..], r.Addr);
            BinaryPrimitives.WriteUInt32LittleEndian(s[TraceLayout.Record.Seq..], r.Seq);
            BinaryPrimitives.WriteUInt32LittleEndian(s[TraceLayout.Record.Tid..], r.Tid);
            BinaryPrimitives.WriteUInt32LittleEndian(s[TraceLayout.Record.AccessSize..], r.Size);
            BinaryPrimitives.WriteUInt32LittleEndian(s[TraceLayout.Record.Site..], r.Site);
            s[TraceLayout.Record.Kind] = r.Kind;
            s[TraceLayout.Record.CpuLow] = r.Cpu;
            s[TraceLayout.Record.Context] = r.Context;
            s[TraceLayout.Record.StackOrder] = r.StackOrder;
            s[TraceLayout.Record.Flags] = r.Flags;
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
    public const byte Entry = 1, Exit = 2, Read = 3, Write = 4, Locked = 5, LockedDone = 17;
    /// <summary>KEDR_REC_* of kedr_record.h (recorded with site KEDR_REC_NO_SITE).</summary>
    public const byte Acquire = 9, Release = 10, Signal = 11, Wait = 12, Alloc = 13, Free = 14;
    public const uint NoSite = 0xffffffff;
}
