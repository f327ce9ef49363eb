using System.Buffers.Binary;
using System.Text;
using Kedr.Core.Diagnostics;

namespace Kedr.Output;

/// <summary>
/// Decodes a binary trace (<c>kmod/kedr_record.h</c>): checks the header, reads every record
/// (skipping the tail of records and headers larger than this version's), merges the CPUs'
/// records (<see cref="TraceMerge"/>: each CPU's order kept, the smallest stamp of the CPUs' next records first)
/// and finds per-CPU sequence gaps, i.e. drops.
/// A header that cannot be used is an error; a damaged tail or odd record is a warning and the
/// rest is kept. Diagnostics KEDR50xx name the byte offset. Never throws on bad input.
/// </summary>
/// <remarks>
/// Sequence numbers are taken to start at 0 on every CPU, so a CPU whose first record has
/// seq N lost N events first. They are compared modulo 2^32 in stream order, which is each
/// CPU's recording order.
/// </remarks>
public static class TraceReader
{
    public static Trace Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KedrException(new KedrDiagnostic(DiagnosticCodes.TraceCannotRead, $"cannot read: {e.Message}", path));
        }
        return TryRead(bytes, path, out var trace, out var error) ? trace! : throw new KedrException(error!);
    }

    public static bool TryRead(ReadOnlyMemory<byte> data, string path, out Trace? trace, out KedrDiagnostic? error)
    {
        trace = null;
        error = Decode(data.Span, path, out trace);
        return error is null;
    }

    private static KedrDiagnostic? Decode(ReadOnlySpan<byte> s, string path, out Trace? trace)
    {
        trace = null;
        var warnings = new List<KedrDiagnostic>();
        var failure = DecodeHeader(s, s.Length, path, warnings, out var header);
        if (failure is not null) return failure;
        int headerSize = header.HeaderSize, recordSize = header.RecordSize;
        string target = header.Target;
        ulong coreBase = header.CoreBase;
        var recording = header.Recording;
        long recordsEnd = header.RecordsEnd;
        KedrDiagnostic Warn(DiagnosticCode code, string message, long offset) => new(code, message, path, null, offset);

        long body = recordsEnd - headerSize;
        long count = body / recordSize;
        long tail = body % recordSize;
        if (tail != 0)
            warnings.Add(Warn(DiagnosticCodes.TraceTruncatedRecord, $"{tail} bytes after the last whole record: a truncated record (record_size {recordSize}), ignored",
                headerSize + count * recordSize));

        var events = new TraceEvent[count];
        var sequence = new (byte Cpu, uint Seq, long Offset)[count];
        int kept = 0;
        var badKinds = new Dictionary<byte, (long First, int Count)>();
        for (long i = 0; i < count; i++)
        {
            long off = headerSize + i * recordSize;
            var r = s.Slice((int)off, TraceLayout.Record.Size);
            sequence[i] = (r[TraceLayout.Record.CpuLow], U32(r, TraceLayout.Record.Seq), off);
            byte kind = r[TraceLayout.Record.Kind];
            if (!TraceFormat.IsKnownKind(kind))
            {
                badKinds[kind] = badKinds.TryGetValue(kind, out var b) ? (b.First, b.Count + 1) : (off, 1);
                continue;
            }
            events[kept++] = DecodeRecord(r, off);
        }
        foreach (var (kind, (first, n)) in badKinds.OrderBy(k => k.Value.First))
            warnings.Add(Warn(DiagnosticCodes.TraceUnknownKind, $"{n} record(s) with unknown event kind {kind}, skipped; the first one", first));
        Array.Resize(ref events, kept);

        var drops = FindDrops(sequence, path, warnings);
        events = TraceMerge.Merge(events);
        trace = new Trace
        {
            Path = path,
            Version = header.Version,
            Target = header.Target,
            TargetCoreBase = header.CoreBase,
            HeaderSize = headerSize,
            RecordSize = recordSize,
            Events = events,
            Drops = PlaceDrops(drops, events),
            Warnings = warnings,
            Recording = header.Recording,
        };
        return null;
    }

    /// <summary>What the header of a trace says (and, for a <c>kedr record</c> file, its counts).</summary>
    internal readonly record struct Header(ushort Version, int HeaderSize, int RecordSize, string Target, ulong CoreBase, RecordingCounts? Recording, long RecordsEnd);

    /// <summary>
    /// Checks and decodes the header: <paramref name="s"/> holds the file's first bytes, at least its header when the
    /// file (<paramref name="fileLength"/> bytes) is that long. An error when it cannot be used; warnings are added.
    /// </summary>
    internal static KedrDiagnostic? DecodeHeader(ReadOnlySpan<byte> s, long fileLength, string path, List<KedrDiagnostic> warnings, out Header header)
    {
        header = default;
        KedrDiagnostic Fail(DiagnosticCode code, string message, long offset) => new(code, message, path, null, offset);

        if (fileLength < TraceLayout.Header.Size || s.Length < TraceLayout.Header.Size)
            return Fail(DiagnosticCodes.TraceTruncatedHeader, $"file is {fileLength} bytes, too small for a trace header ({TraceLayout.Header.Size})", 0);
        if (!s.Slice(TraceLayout.Header.Magic, TraceLayout.Header.MagicLength).SequenceEqual(TraceFormat.Magic))
            return Fail(DiagnosticCodes.TraceBadMagic, $"not a KEDR trace (magic is \"{Printable(s.Slice(TraceLayout.Header.Magic, TraceLayout.Header.MagicLength))}\", expected \"{TraceFormat.MagicText}\")", 0);
        ushort version = U16(s, TraceLayout.Header.Version);
        int headerSize = U16(s, TraceLayout.Header.HeaderSize);
        int recordSize = U16(s, TraceLayout.Header.RecordSize);
        if (version < TraceFormat.Version)
            return Fail(DiagnosticCodes.TraceOldVersion, $"trace version {version}; this reader knows version {TraceFormat.Version}", TraceLayout.Header.Version);
        if (headerSize < TraceLayout.Header.Size)
            return Fail(DiagnosticCodes.TraceHeaderSize, $"header_size {headerSize} is smaller than the version-1 header ({TraceLayout.Header.Size})", TraceLayout.Header.HeaderSize);
        if (fileLength < headerSize || s.Length < headerSize)
            return Fail(DiagnosticCodes.TraceTruncatedHeader, $"file is {fileLength} bytes, the header says it has {headerSize}: truncated header", fileLength);
        if (recordSize < TraceLayout.Record.Size)
            return Fail(DiagnosticCodes.TraceRecordSize, $"record_size {recordSize} is smaller than the version-1 record ({TraceLayout.Record.Size})", TraceLayout.Header.RecordSize);

        KedrDiagnostic Warn(DiagnosticCode code, string message, long offset) => new(code, message, path, null, offset);
        if (version > TraceFormat.Version)
            warnings.Add(Warn(DiagnosticCodes.TraceNewerVersion, $"trace version {version} is newer than this reader's ({TraceFormat.Version}); reading the fields it knows", TraceLayout.Header.Version));

        var nameField = s.Slice(TraceLayout.Header.Target, TraceFormat.NameLength);
        int nul = nameField.IndexOf((byte)0);
        if (nul < 0)
        {
            warnings.Add(Warn(DiagnosticCodes.TraceTargetName, $"target name is not NUL-terminated within {TraceFormat.NameLength} bytes", TraceLayout.Header.Target));
            nul = nameField.Length;
        }
        var recording = ReadRecording(s, headerSize, fileLength, path, warnings, out long recordsEnd);
        header = new Header(version, headerSize, recordSize, Printable(nameField[..nul]), U64(s, TraceLayout.Header.TargetCoreBase),
            recording, recordsEnd);
        return null;
    }

    /// <summary>One record of a known kind, decoded (<paramref name="r"/> starts at it; <paramref name="offset"/> is where it is in the file).</summary>
    internal static TraceEvent DecodeRecord(ReadOnlySpan<byte> r, long offset) => new(
        U64(r, TraceLayout.Record.Timestamp), U64(r, TraceLayout.Record.Pc), U64(r, TraceLayout.Record.Address),
        U32(r, TraceLayout.Record.Seq), U32(r, TraceLayout.Record.Tid), U32(r, TraceLayout.Record.AccessSize),
        U32(r, TraceLayout.Record.Site), (TraceEventKind)r[TraceLayout.Record.Kind], r[TraceLayout.Record.CpuLow],
        (TraceContext)r[TraceLayout.Record.Context], offset, r[TraceLayout.Record.StackOrder],
        (TraceRecordFlags)r[TraceLayout.Record.Flags]);

    /// <summary>
    /// struct kedr_record_file and its per-CPU entries, if the header holds them (a <c>kedr record</c> file, version 2
    /// or 1), and the per-function drops after the records; null for a plain trace. <paramref name="recordsEnd"/>:
    /// where the records end (funcs_offset, else the end of the file).
    /// </summary>
    private static RecordingCounts? ReadRecording(ReadOnlySpan<byte> s, int headerSize, long fileLength, string path,
        List<KedrDiagnostic> warnings, out long recordsEnd)
    {
        const int at = TraceLayout.Header.Size;
        recordsEnd = fileLength;
        var magic = headerSize >= at + TraceLayout.RecordFile.MagicLength
            ? s.Slice(at + TraceLayout.RecordFile.Magic, TraceLayout.RecordFile.MagicLength) : [];
        int size = magic.SequenceEqual(TraceFormat.RecordFileMagic) ? TraceLayout.RecordFile.Size
            : magic.SequenceEqual(TraceFormat.RecordFileMagicV1) ? TraceLayout.RecordFile.SizeV1 : 0;
        if (size == 0 || headerSize < at + size)
            return null;
        var f = s.Slice(at, size);
        uint cpus = U32(f, TraceLayout.RecordFile.CpuCount);
        var list = new List<RecordingCpu>();
        if ((long)cpus * TraceLayout.RecordCpu.Size > headerSize - at - size)
            warnings.Add(new KedrDiagnostic(DiagnosticCodes.TraceRecordFileCpus,
                $"nr_cpus {cpus}: {cpus} per-CPU entries do not fit in header_size {headerSize}", path, null, at + TraceLayout.RecordFile.CpuCount));
        else
            for (int i = 0; i < cpus; i++)
            {
                var c = s.Slice(at + size + i * TraceLayout.RecordCpu.Size, TraceLayout.RecordCpu.Size);
                list.Add(new RecordingCpu(i, U64(c, TraceLayout.RecordCpu.Written), U64(c, TraceLayout.RecordCpu.Recorded), U64(c, TraceLayout.RecordCpu.Dropped)));
            }
        IReadOnlyList<RecordingFunction> functions = [];
        ulong funcsOffset = size >= TraceLayout.RecordFile.Size ? U64(f, TraceLayout.RecordFile.FuncsOffset) : 0;
        if (funcsOffset != 0)
        {
            if (funcsOffset < (ulong)headerSize || funcsOffset > (ulong)fileLength)
                warnings.Add(new KedrDiagnostic(DiagnosticCodes.TraceRecordFileFunctions,
                    $"funcs_offset {funcsOffset} is outside the records ({headerSize}..{fileLength})", path, null, at + TraceLayout.RecordFile.FuncsOffset));
            else
            {
                recordsEnd = (long)funcsOffset;
                // A streaming reader hands over the header only: the records end there all the same, and the
                // per-function drops are for kedr report, which reads the whole file.
                if (s.Length >= fileLength)
                    functions = ReadFunctions(s[(int)funcsOffset..], (long)funcsOffset, path, warnings);
            }
        }
        return new RecordingCounts(U32(f, TraceLayout.RecordFile.Flags), U64(f, TraceLayout.RecordFile.Written),
            U64(f, TraceLayout.RecordFile.Recorded), U64(f, TraceLayout.RecordFile.Dropped), list)
        {
            Functions = functions,
        };
    }

    /// <summary>struct kedr_record_funcs, its entries and names; empty with a warning if any of it is damaged.</summary>
    private static IReadOnlyList<RecordingFunction> ReadFunctions(ReadOnlySpan<byte> t, long offset, string path, List<KedrDiagnostic> warnings)
    {
        List<RecordingFunction> Damaged(string why, long at)
        {
            warnings.Add(new KedrDiagnostic(DiagnosticCodes.TraceRecordFileFunctions, why, path, null, at));
            return [];
        }
        if (t.Length < TraceLayout.RecordFuncs.Size
            || !t.Slice(TraceLayout.RecordFuncs.Magic, TraceLayout.RecordFuncs.MagicLength).SequenceEqual(TraceFormat.RecordFuncsMagic))
            return Damaged($"no function table (magic \"{TraceFormat.RecordFuncsMagicText}\") at funcs_offset", offset);
        uint n = U32(t, TraceLayout.RecordFuncs.FunctionCount);
        uint namesSize = U32(t, TraceLayout.RecordFuncs.NamesSize);
        long namesAt = TraceLayout.RecordFuncs.Size + (long)n * TraceLayout.RecordFunc.Size;
        if (namesAt + namesSize != t.Length)
            return Damaged($"nr_funcs {n} and names_size {namesSize} do not fill the {t.Length} bytes after funcs_offset", offset + TraceLayout.RecordFuncs.FunctionCount);
        var names = t.Slice((int)namesAt, (int)namesSize);
        var list = new List<RecordingFunction>((int)n);
        for (int i = 0; i < n; i++)
        {
            var e = t.Slice(TraceLayout.RecordFuncs.Size + i * TraceLayout.RecordFunc.Size, TraceLayout.RecordFunc.Size);
            uint name = U32(e, TraceLayout.RecordFunc.Name);
            int nul = name < namesSize ? names[(int)name..].IndexOf((byte)0) : -1;
            if (nul < 0)
                return Damaged($"function {i}: name offset {name} is not a NUL-terminated name in the {namesSize} bytes of names",
                    offset + TraceLayout.RecordFuncs.Size + i * TraceLayout.RecordFunc.Size + TraceLayout.RecordFunc.Name);
            list.Add(new RecordingFunction(Printable(names.Slice((int)name, nul)), U32(e, TraceLayout.RecordFunc.SymbolIndex),
                U64(e, TraceLayout.RecordFunc.Dropped)));
        }
        return list;
    }

    /// <summary>
    /// Gaps per CPU in stream order (every record counts, also those skipped); a CPU's first record
    /// with seq N means N lost before it. The record after each gap identifies it.
    /// </summary>
    private static List<(byte Cpu, uint FirstSeq, long Count, long NextOffset)> FindDrops(
        (byte Cpu, uint Seq, long Offset)[] records, string path, List<KedrDiagnostic> warnings)
    {
        var drops = new List<(byte, uint, long, long)>();
        var last = new Dictionary<byte, uint>();
        int backwards = 0;
        long firstBackwards = -1;
        foreach (var (cpu, seq, offset) in records)
        {
            if (!last.TryGetValue(cpu, out var prev))
            {
                if (seq != 0) drops.Add((cpu, 0, seq, offset));
                last[cpu] = seq;
                continue;
            }
            uint expected = unchecked(prev + 1);
            uint gap = unchecked(seq - expected);
            // A gap of more than half the sequence space is the sequence going back or repeating.
            if (gap > int.MaxValue)
            {
                if (backwards++ == 0) firstBackwards = offset;
            }
            else if (gap != 0) drops.Add((cpu, expected, gap, offset));
            last[cpu] = seq;
        }
        if (backwards > 0)
            warnings.Add(new KedrDiagnostic(DiagnosticCodes.TraceSequenceBackwards,
                $"{backwards} record(s) whose per-CPU sequence number repeats or goes backwards (drops cannot be counted there); the first one",
                path, null, firstBackwards));
        return drops;
    }

    /// <summary>Each drop goes before its CPU's first event at or after the record that revealed it.</summary>
    private static List<TraceDrop> PlaceDrops(List<(byte Cpu, uint FirstSeq, long Count, long NextOffset)> drops, TraceEvent[] merged)
    {
        if (drops.Count == 0) return [];
        var byCpu = new Dictionary<byte, List<(long Offset, int Position)>>();
        for (int i = 0; i < merged.Length; i++)
        {
            if (!byCpu.TryGetValue(merged[i].Cpu, out var l)) byCpu[merged[i].Cpu] = l = [];
            l.Add((merged[i].FileOffset, i));
        }
        foreach (var l in byCpu.Values) l.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        return drops.Select(d =>
        {
            int pos = merged.Length;
            if (byCpu.TryGetValue(d.Cpu, out var l))
            {
                int lo = 0, hi = l.Count;
                while (lo < hi) { int mid = (lo + hi) >>> 1; if (l[mid].Offset < d.NextOffset) lo = mid + 1; else hi = mid; }
                if (lo < l.Count) pos = l[lo].Position;
            }
            return new TraceDrop(d.Cpu, d.FirstSeq, d.Count, pos);
        }).OrderBy(d => d.Position).ThenBy(d => d.Cpu).ThenBy(d => d.FirstSeq).ToList();
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var b = new StringBuilder(bytes.Length);
        foreach (var c in bytes)
            b.Append(c is >= 0x20 and < 0x7f ? (char)c : $"\\x{c:x2}");
        return b.ToString();
    }

    private static ushort U16(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt16LittleEndian(s[o..]);
    private static uint U32(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt32LittleEndian(s[o..]);
    private static ulong U64(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt64LittleEndian(s[o..]);
}
