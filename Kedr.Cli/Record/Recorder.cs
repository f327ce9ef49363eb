using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Kedr.Core.Diagnostics;
using Kedr.Output;

namespace Kedr.Cli.Record;

/// <summary>
/// What a recording gave: the file's counts (struct kedr_record_file) as written into its header, and how long the
/// recorded code waited in all for the recording to make room (kedr_sample's wait_ms; the stats' waited_ms).
/// </summary>
internal sealed record RecordResult(RecordingCounts Counts, string Target, ulong WaitedMs)
{
    /// <summary>The CPUs' streams, and how many of them were read through the mapping of their ring (<see cref="RawStream"/>).</summary>
    public int Streams { get; init; }

    public int MappedStreams { get; init; }
}

/// <summary>
/// <c>kedr record</c>: drains every CPU's stream (<c>DIR/per_cpu/cpuN/raw</c>, DIR being kedr_sample's debugfs
/// folder) with one thread per CPU into one file, until every stream has ended (the target has come and gone) or
/// <paramref name="stop"/> is cancelled (then each stream is drained of what it has and left). The file is a trace
/// (docs/record-format.md): the header, made at the end from DIR/header, with struct kedr_record_file and a
/// struct kedr_record_cpu per CPU (kedr_sample's own counts from DIR/stats at the end), then the records as they
/// came, each CPU's in its order, then the drops per function (DIR/dropped_functions at the end: struct
/// kedr_record_funcs, at the header's funcs_offset). Each stream is read through the mapping of its ring
/// (<c>DIR/per_cpu/cpuN/ring</c>) where that file is there, opens and has the mapping, and <c>map</c> is true
/// (<see cref="RawStream"/>), else from <c>raw</c> with read(2).
/// </summary>
internal static class Recorder
{
    /// <summary>Bytes asked for per read: many records per system call.</summary>
    private const int ReadBytes = 1 << 20;

    public static RecordResult Run(string dir, string output, TextWriter progress, TimeSpan interval, CancellationToken stop,
        bool map = true)
    {
        var streams = Streams(dir);
        int nrCpus = streams.Max(s => s.Cpu) + 1;
        var kernelHeader = ReadHeader(dir);
        int recordSize = BinaryPrimitives.ReadUInt16LittleEndian(kernelHeader.AsSpan(TraceLayout.Header.RecordSize));
        if (recordSize < TraceLayout.Record.Size)
            throw Fail($"{Path.Combine(dir, "header")}: record_size {recordSize} is smaller than a record ({TraceLayout.Record.Size})");
        int headerSize = TraceLayout.Header.Size + TraceLayout.RecordFile.Size + nrCpus * TraceLayout.RecordCpu.Size;

        using var file = File.OpenHandle(output, FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
        // Where the next chunk goes: each thread takes its place and writes there (pwrite), so no thread waits for
        // another's write, and each CPU's records stay in their order.
        long end = headerSize;
        var written = new long[nrCpus];
        var ended = new bool[nrCpus];
        int mapped = 0;
        Exception? failure = null;
        var threads = streams.Select(s => new Thread(() =>
        {
            try
            {
                using var raw = RawStream.Open(s.Path, map);
                if (raw.Mapped) Interlocked.Increment(ref mapped);
                var buffer = new byte[ReadBytes / recordSize * recordSize];
                for (;;)
                {
                    int n = raw.Read(buffer);
                    if (n > 0)
                    {
                        RandomAccess.Write(file, buffer.AsSpan(0, n), Interlocked.Add(ref end, n) - n);
                        Interlocked.Add(ref written[s.Cpu], n / recordSize);
                    }
                    else if (n == 0) { ended[s.Cpu] = true; return; }
                    else if (stop.IsCancellationRequested) return;
                    else Thread.Sleep(2);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Interlocked.CompareExchange(ref failure, new IOException($"{s.Path}: {e.Message}", e), null);
            }
        }) { IsBackground = true, Name = $"kedr record cpu{s.Cpu}" }).ToList();
        foreach (var t in threads) t.Start();

        var clock = Stopwatch.StartNew();
        long lastEvents = 0;
        ulong lastDropped = 0;
        var lastAt = TimeSpan.Zero;
        // One look at the threads a round: a thread that ends between two looks (its stream ended) is simply not found.
        while (threads.FirstOrDefault(t => t.IsAlive) is { } alive)
        {
            alive.Join(interval);
            if (clock.Elapsed - lastAt < interval) continue;
            long events = Enumerable.Range(0, nrCpus).Sum(i => Volatile.Read(ref written[i]));
            ulong dropped = TryStats(dir)?.Cpus.Sum(c => (long)c.Dropped) is { } d ? (ulong)d : lastDropped;
            double seconds = (clock.Elapsed - lastAt).TotalSeconds;
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"kedr record: {events} events, {(events - lastEvents) / seconds:F0}/s, {dropped} dropped"));
            if (dropped > lastDropped)
                progress.WriteLine($"kedr record: warning: {dropped - lastDropped} events dropped in the last {seconds:F0} s: the target made them faster than they were drained (a larger nr_records, or filters, can help)");
            (lastEvents, lastDropped, lastAt) = (events, dropped, clock.Elapsed);
        }
        if (failure is not null) throw Fail(failure.Message);

        // The header now: the target's base is known once it has loaded.
        var header = new byte[headerSize];
        ReadHeader(dir).AsSpan(0, TraceLayout.Header.Size).CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(TraceLayout.Header.HeaderSize), (ushort)headerSize);
        var stats = TryStats(dir) ?? throw Fail($"{Path.Combine(dir, "stats")}: cannot be read");
        var cpus = new List<RecordingCpu>();
        for (int cpu = 0; cpu < nrCpus; cpu++)
        {
            var k = stats.Cpus.FirstOrDefault(c => c.Cpu == cpu);
            cpus.Add(new RecordingCpu(cpu, (ulong)written[cpu], k?.Recorded ?? 0, k?.Dropped ?? 0));
        }
        uint flags = (streams.All(s => ended[s.Cpu]) ? TraceFormat.RecordEnded : 0)
            | (stop.IsCancellationRequested ? TraceFormat.RecordInterrupted : 0);
        var counts = new RecordingCounts(flags, (ulong)cpus.Sum(c => (long)c.Written), (ulong)cpus.Sum(c => (long)c.Recorded),
            (ulong)cpus.Sum(c => (long)c.Dropped), cpus)
        {
            Functions = FunctionDrops(dir),
        };
        // The function table after the records: the file ends with it.
        long funcsOffset = end;
        RandomAccess.Write(file, FunctionTable(counts.Functions), funcsOffset);
        var f = header.AsSpan(TraceLayout.Header.Size);
        TraceFormat.RecordFileMagic.CopyTo(f[TraceLayout.RecordFile.Magic..]);
        BinaryPrimitives.WriteUInt32LittleEndian(f[TraceLayout.RecordFile.CpuCount..], (uint)nrCpus);
        BinaryPrimitives.WriteUInt32LittleEndian(f[TraceLayout.RecordFile.Flags..], flags);
        BinaryPrimitives.WriteUInt64LittleEndian(f[TraceLayout.RecordFile.Written..], counts.Written);
        BinaryPrimitives.WriteUInt64LittleEndian(f[TraceLayout.RecordFile.Recorded..], counts.Recorded);
        BinaryPrimitives.WriteUInt64LittleEndian(f[TraceLayout.RecordFile.Dropped..], counts.Dropped);
        BinaryPrimitives.WriteUInt64LittleEndian(f[TraceLayout.RecordFile.FuncsOffset..], (ulong)funcsOffset);
        foreach (var c in cpus)
        {
            var e = f[(TraceLayout.RecordFile.Size + c.Cpu * TraceLayout.RecordCpu.Size)..];
            BinaryPrimitives.WriteUInt64LittleEndian(e[TraceLayout.RecordCpu.Written..], c.Written);
            BinaryPrimitives.WriteUInt64LittleEndian(e[TraceLayout.RecordCpu.Recorded..], c.Recorded);
            BinaryPrimitives.WriteUInt64LittleEndian(e[TraceLayout.RecordCpu.Dropped..], c.Dropped);
        }
        RandomAccess.Write(file, header, 0);
        var name = header.AsSpan(TraceLayout.Header.Target, TraceFormat.NameLength);
        int nul = name.IndexOf((byte)0);
        return new RecordResult(counts, System.Text.Encoding.ASCII.GetString(nul < 0 ? name : name[..nul]),
            stats.WaitedMs) { Streams = streams.Count, MappedStreams = mapped };
    }

    /// <summary>DIR/dropped_functions ("dropped symidx name" lines), most first; empty if there is none.</summary>
    private static List<RecordingFunction> FunctionDrops(string dir)
    {
        var list = new List<RecordingFunction>();
        try
        {
            foreach (var line in File.ReadAllLines(Path.Combine(dir, "dropped_functions")))
            {
                var w = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (w.Length == 3 && ulong.TryParse(w[0], NumberStyles.None, CultureInfo.InvariantCulture, out ulong n)
                    && uint.TryParse(w[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint symidx))
                    list.Add(new RecordingFunction(w[2], symidx, n));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return list.OrderByDescending(f => f.Dropped).ThenBy(f => f.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>struct kedr_record_funcs, a struct kedr_record_func per function, then the NUL-terminated names.</summary>
    private static byte[] FunctionTable(IReadOnlyList<RecordingFunction> functions)
    {
        var names = new MemoryStream();
        var offsets = new List<uint>();
        foreach (var fn in functions)
        {
            offsets.Add((uint)names.Length);
            names.Write(System.Text.Encoding.ASCII.GetBytes(fn.Name));
            names.WriteByte(0);
        }
        int entries = TraceLayout.RecordFuncs.Size + functions.Count * TraceLayout.RecordFunc.Size;
        var table = new byte[entries + names.Length];
        TraceFormat.RecordFuncsMagic.CopyTo(table.AsSpan(TraceLayout.RecordFuncs.Magic));
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(TraceLayout.RecordFuncs.FunctionCount), (uint)functions.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(TraceLayout.RecordFuncs.NamesSize), (uint)names.Length);
        for (int i = 0; i < functions.Count; i++)
        {
            var e = table.AsSpan(TraceLayout.RecordFuncs.Size + i * TraceLayout.RecordFunc.Size);
            BinaryPrimitives.WriteUInt64LittleEndian(e[TraceLayout.RecordFunc.Dropped..], functions[i].Dropped);
            BinaryPrimitives.WriteUInt32LittleEndian(e[TraceLayout.RecordFunc.SymbolIndex..], functions[i].SymbolIndex);
            BinaryPrimitives.WriteUInt32LittleEndian(e[TraceLayout.RecordFunc.Name..], offsets[i]);
        }
        names.ToArray().CopyTo(table, entries);
        return table;
    }

    /// <summary>DIR/per_cpu/cpuN/raw, by N.</summary>
    private static List<(int Cpu, string Path)> Streams(string dir)
    {
        var perCpu = Path.Combine(dir, "per_cpu");
        var list = new List<(int, string)>();
        if (Directory.Exists(perCpu))
            foreach (var d in Directory.GetDirectories(perCpu, "cpu*"))
                if (int.TryParse(Path.GetFileName(d).AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out int cpu)
                    && cpu < 65536 && File.Exists(Path.Combine(d, "raw")))
                    list.Add((cpu, Path.Combine(d, "raw")));
        if (list.Count == 0)
            throw new KedrException(new KedrDiagnostic(DiagnosticCodes.VmRecordNoStreams,
                "no per_cpu/cpuN/raw streams here: is kedr_sample loaded and debugfs mounted (mount -t debugfs none /sys/kernel/debug)?", dir));
        return list.OrderBy(s => s.Item1).ToList();
    }

    private static byte[] ReadHeader(string dir)
    {
        var path = Path.Combine(dir, "header");
        byte[] h;
        try { h = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw Fail($"{path}: {e.Message}"); }
        if (h.Length < TraceLayout.Header.Size || !h.AsSpan(0, TraceLayout.Header.MagicLength).SequenceEqual(TraceFormat.Magic))
            throw Fail($"{path}: not a trace header ({h.Length} bytes)");
        return h;
    }

    internal sealed record CpuStats(int Cpu, ulong Recorded, ulong Dropped);

    /// <summary>DIR/stats: the per-CPU counts, and the time waited in all.</summary>
    internal sealed record Stats(List<CpuStats> Cpus, ulong WaitedMs);

    /// <summary>DIR/stats (<see cref="ParseStats"/>); null if it cannot be read.</summary>
    private static Stats? TryStats(string dir)
    {
        try { return ParseStats(File.ReadAllLines(Path.Combine(dir, "stats"))); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>
    /// The lines of DIR/stats: "cpu recorded dropped size filtered waited_ms" per CPU, then "all" with the totals. The
    /// time waited is the "all" line's: each CPU's line rounds its own nanoseconds down to milliseconds, so their
    /// sum may fall short of it by up to a millisecond a CPU. A kedr_sample without the waited_ms column waited 0 ms.
    /// </summary>
    internal static Stats ParseStats(IEnumerable<string> lines)
    {
        var list = new List<CpuStats>();
        ulong waitedMs = 0;
        foreach (var line in lines)
        {
            var w = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (w.Length >= 6 && w[0] == "all")
                waitedMs = ulong.TryParse(w[5], NumberStyles.None, CultureInfo.InvariantCulture, out ulong waited) ? waited : 0;
            else if (w.Length >= 3 && int.TryParse(w[0], NumberStyles.None, CultureInfo.InvariantCulture, out int cpu)
                && ulong.TryParse(w[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong rec)
                && ulong.TryParse(w[2], NumberStyles.None, CultureInfo.InvariantCulture, out ulong drop))
                list.Add(new CpuStats(cpu, rec, drop));
        }
        return new Stats(list, waitedMs);
    }

    private static KedrException Fail(string message) => new(new KedrDiagnostic(DiagnosticCodes.VmRecordReadFailed, message));
}
