using System.Buffers.Binary;

namespace Kedr.Output;

/// <summary>
/// One CPU's records of a trace file, in file order (which is that CPU's recording order), read a chunk at a time
/// through its own file handle: records of other CPUs are skipped, records of unknown kinds too. Holds one chunk,
/// never the file. Counts the CPU's sequence gaps (drops) as it goes.
/// </summary>
internal sealed class CpuRecordCursor : IEnumerator<TraceEvent>
{
    private readonly FileStream _file;
    private readonly byte _cpu;
    private readonly int _recordSize;
    private readonly byte[] _buffer;
    private readonly long _end;
    private long _bufferAt;
    private int _length, _pos;
    private bool _seenFirst;
    private uint _lastSeq;

    public CpuRecordCursor(string path, byte cpu, int headerSize, int recordSize, long records, int chunkRecords)
    {
        _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        _cpu = cpu;
        _recordSize = recordSize;
        _buffer = new byte[Math.Max(1, chunkRecords) * recordSize];
        _end = headerSize + records * recordSize;
        _bufferAt = headerSize;
        _file.Position = headerSize;
    }

    public TraceEvent Current { get; private set; }
    object System.Collections.IEnumerator.Current => Current;

    /// <summary>Events this CPU lost by its sequence numbers so far (a first record with seq N: N lost before it).</summary>
    public long Dropped { get; private set; }
    /// <summary>Records whose sequence number repeats or goes back, and the first one's offset.</summary>
    public long Backwards { get; private set; }
    public long FirstBackwards { get; private set; } = -1;

    public bool MoveNext()
    {
        for (;;)
        {
            if (_pos >= _length && !Fill()) return false;
            var r = _buffer.AsSpan(_pos, TraceLayout.Record.Size);
            long offset = _bufferAt + _pos;
            _pos += _recordSize;
            if (r[TraceLayout.Record.CpuLow] != _cpu) continue;
            uint seq = BinaryPrimitives.ReadUInt32LittleEndian(r[TraceLayout.Record.Seq..]);
            Gap(seq, offset);
            if (!TraceFormat.IsKnownKind(r[TraceLayout.Record.Kind])) continue;
            Current = TraceReader.DecodeRecord(r, offset);
            return true;
        }
    }

    private void Gap(uint seq, long offset)
    {
        if (!_seenFirst) { _seenFirst = true; Dropped += seq; _lastSeq = seq; return; }
        uint gap = unchecked(seq - (_lastSeq + 1));
        if (gap > int.MaxValue) { if (Backwards++ == 0) FirstBackwards = offset; }
        else Dropped += gap;
        _lastSeq = seq;
    }

    private bool Fill()
    {
        _bufferAt += _length;
        long left = _end - _bufferAt;
        if (left <= 0) { _length = _pos = 0; return false; }
        int want = (int)Math.Min(_buffer.Length, left);
        int got = 0;
        while (got < want)
        {
            int n = _file.Read(_buffer, got, want - got);
            if (n == 0) break;
            got += n;
        }
        _length = got - got % _recordSize;
        _pos = 0;
        return _length > 0;
    }

    public void Reset() => throw new NotSupportedException();
    public void Dispose() => _file.Dispose();
}
