using System.Buffers.Binary;
using System.Text;

namespace Kedr.Kernel.Tests.Pipeline;

/// <summary><c>struct kedr_record</c> (kmod/kedr_record.h), decoded field by field.</summary>
internal readonly record struct TraceRecord(ulong Ts, ulong Pc, ulong Addr, uint Seq, uint Tid, uint Size, uint Site,
    byte Kind, byte Cpu, byte Context);

/// <summary>
/// /sys/kernel/debug/kedr_sample/trace: a <c>struct kedr_trace_header</c>, then records. Decoded here
/// from the layout in kmod/kedr_record.h, written out by hand (Kedr.Output has no trace decoder yet).
/// </summary>
internal sealed record TraceStream(string Target, ulong CoreBase, int RecordSize, IReadOnlyList<TraceRecord> Records)
{
    public const int HeaderSize = 80;
    public const int RecordSizeV1 = 48;

    public const byte CtxTask = 0, CtxSoftirq = 1, CtxHardirq = 2, CtxNmi = 3;

    public static TraceStream Parse(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderSize) throw new FormatException($"trace: {data.Length} bytes, shorter than a header");
        if (Encoding.ASCII.GetString(data[..8]) != "KEDRTRC1") throw new FormatException("trace: bad magic");
        var version = BinaryPrimitives.ReadUInt16LittleEndian(data[8..]);
        var headerSize = BinaryPrimitives.ReadUInt16LittleEndian(data[10..]);
        var recordSize = BinaryPrimitives.ReadUInt16LittleEndian(data[12..]);
        if (version != 1 || headerSize < HeaderSize || recordSize < RecordSizeV1)
            throw new FormatException($"trace: version {version}, header {headerSize}, record {recordSize}");
        var target = Encoding.ASCII.GetString(data.Slice(16, 56)).TrimEnd('\0');
        var coreBase = BinaryPrimitives.ReadUInt64LittleEndian(data[72..]);
        var body = data[headerSize..];
        if (body.Length % recordSize != 0) throw new FormatException($"trace: {body.Length} bytes of records, not a multiple of {recordSize}");
        var records = new List<TraceRecord>(body.Length / recordSize);
        for (var off = 0; off < body.Length; off += recordSize)
        {
            var r = body.Slice(off, recordSize);
            records.Add(new TraceRecord(
                Ts: BinaryPrimitives.ReadUInt64LittleEndian(r),
                Pc: BinaryPrimitives.ReadUInt64LittleEndian(r[8..]),
                Addr: BinaryPrimitives.ReadUInt64LittleEndian(r[16..]),
                Seq: BinaryPrimitives.ReadUInt32LittleEndian(r[24..]),
                Tid: BinaryPrimitives.ReadUInt32LittleEndian(r[28..]),
                Size: BinaryPrimitives.ReadUInt32LittleEndian(r[32..]),
                Site: BinaryPrimitives.ReadUInt32LittleEndian(r[36..]),
                Kind: r[40], Cpu: r[41], Context: r[42]));
        }
        return new TraceStream(target, coreBase, recordSize, records);
    }
}
