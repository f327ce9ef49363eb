using Kedr.Core.Diagnostics;

namespace Kedr.Output;

/// <summary>
/// A trace file read as a stream, for traces too large to hold (<c>kedr races</c> on a long recording): the header
/// and one pass over the records at <see cref="Open"/> (which CPUs there are, the functions entered, records of
/// unknown kinds), then <see cref="Events"/> merges the CPUs (<see cref="TraceMerge"/>, the order
/// <see cref="TraceReader"/> gives) with one <see cref="CpuRecordCursor"/> per CPU, each holding one chunk of the
/// file. Memory: the chunks (CPUs × <see cref="ChunkRecords"/> records), whatever the file's length.
/// </summary>
public sealed class StreamedTrace
{
    /// <summary>Records each CPU's cursor reads at a time (16,384 × 48 bytes = 768 KiB).</summary>
    public const int ChunkRecords = 1 << 14;

    private readonly TraceReader.Header _header;
    private readonly byte[] _cpus;
    private readonly List<KedrDiagnostic> _warnings;
    private long _dropped = -1;
    private bool _backwardsTold;

    private StreamedTrace(string path, TraceReader.Header header, long records, byte[] cpus, HashSet<ulong> entries, List<KedrDiagnostic> warnings)
    {
        Path = path;
        _header = header;
        Records = records;
        _cpus = cpus;
        EntryPcs = entries;
        _warnings = warnings;
    }

    public string Path { get; }
    public string Target => _header.Target;
    public ulong TargetCoreBase => _header.CoreBase;
    public RecordingCounts? Recording => _header.Recording;
    /// <summary>Whole records in the file (those of unknown kinds included).</summary>
    public long Records { get; }
    /// <summary>The distinct pcs of the trace's entry events (the functions entered), for the symbolizer.</summary>
    public IReadOnlySet<ulong> EntryPcs { get; }
    /// <summary>Header and record problems found so far; after <see cref="Events"/> was read to its end, the sequence problems too.</summary>
    public IReadOnlyList<KedrDiagnostic> Warnings => _warnings;
    /// <summary>Events lost by the sequence numbers (as <see cref="Trace.DroppedCount"/>); known once <see cref="Events"/> was read to its end.</summary>
    public long DroppedCount => _dropped >= 0 ? _dropped : throw new InvalidOperationException("read the events first");

    public static StreamedTrace Open(string path) =>
        TryOpen(path, out var trace, out var error) ? trace! : throw new KedrException(error!);

    public static bool TryOpen(string path, out StreamedTrace? trace, out KedrDiagnostic? error)
    {
        trace = null;
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            long length = f.Length;
            var head = new byte[(int)Math.Min(length, ushort.MaxValue)];
            f.ReadExactly(head);
            var warnings = new List<KedrDiagnostic>();
            error = TraceReader.DecodeHeader(head, length, path, warnings, out var header);
            if (error is not null) return false;
            long records = (header.RecordsEnd - header.HeaderSize) / header.RecordSize;
            long tail = (header.RecordsEnd - header.HeaderSize) % header.RecordSize;
            if (tail != 0)
                warnings.Add(new KedrDiagnostic(DiagnosticCodes.TraceTruncatedRecord, $"{tail} bytes after the last whole record: a truncated record (record_size {header.RecordSize}), ignored",
                    path, null, header.HeaderSize + records * header.RecordSize));
            f.Position = header.HeaderSize;
            var seen = new bool[256];
            var entries = new HashSet<ulong>();
            var badKinds = new Dictionary<byte, (long First, int Count)>();
            var buffer = new byte[ChunkRecords * header.RecordSize];
            long at = header.HeaderSize, end = header.HeaderSize + records * header.RecordSize;
            while (at < end)
            {
                int want = (int)Math.Min(buffer.Length, end - at);
                f.ReadExactly(buffer, 0, want);
                for (int p = 0; p < want; p += header.RecordSize)
                {
                    var r = buffer.AsSpan(p, TraceLayout.Record.Size);
                    byte kind = r[TraceLayout.Record.Kind];
                    seen[r[TraceLayout.Record.CpuLow]] = true;
                    if (!TraceFormat.IsKnownKind(kind))
                        badKinds[kind] = badKinds.TryGetValue(kind, out var b) ? (b.First, b.Count + 1) : (at + p, 1);
                    else if (kind == (byte)TraceEventKind.Entry)
                        entries.Add(TraceReader.DecodeRecord(r, at + p).Pc);
                }
                at += want;
            }
            foreach (var (kind, (first, n)) in badKinds.OrderBy(k => k.Value.First))
                warnings.Add(new KedrDiagnostic(DiagnosticCodes.TraceUnknownKind, $"{n} record(s) with unknown event kind {kind}, skipped; the first one", path, null, first));
            var cpus = Enumerable.Range(0, 256).Where(c => seen[c]).Select(c => (byte)c).ToArray();
            trace = new StreamedTrace(path, header, records, cpus, entries, warnings);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = new KedrDiagnostic(DiagnosticCodes.TraceCannotRead, $"cannot read: {e.Message}", path);
            return false;
        }
    }

    /// <summary>The events, merged; each call reads the file again.</summary>
    public IEnumerable<TraceEvent> Events()
    {
        var cursors = _cpus.Select(c => new CpuRecordCursor(Path, c, _header.HeaderSize, _header.RecordSize, Records, ChunkRecords)).ToList();
        try
        {
            foreach (var e in TraceMerge.Merge(cursors)) yield return e;
            _dropped = cursors.Sum(c => c.Dropped);
            long backwards = cursors.Sum(c => c.Backwards);
            if (backwards > 0 && !_backwardsTold)
                _warnings.Add(new KedrDiagnostic(DiagnosticCodes.TraceSequenceBackwards,
                    $"{backwards} record(s) whose per-CPU sequence number repeats or goes backwards (drops cannot be counted there); the first one",
                    Path, null, cursors.Where(c => c.FirstBackwards >= 0).Min(c => c.FirstBackwards)));
            _backwardsTold |= backwards > 0;
        }
        finally
        {
            foreach (var c in cursors) c.Dispose();
        }
    }
}
