using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Iced.Intel;
using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Rewriter;

namespace Kedr.Benchmarks;

/// <summary>
/// Rewriter throughput over real modules, beside Iced decoding the same function bytes.
/// <para><c>Rewrite</c> is what <c>kedr instrument --all</c> does per module once the file is in
/// memory: parse the ELF, plan, lay out and emit every copy, serialise the blob.
/// <c>DecodeOnly</c> decodes every function of the same modules with Iced and nothing else, with one
/// <see cref="Decoder"/> per thread moved from function to function, as the planner decodes (a new
/// decoder per function measured 1-2% slower). <c>Floor</c> is <see cref="RewriterFloor"/>: the ELF, the catalog, and one
/// pass that decodes, copies, re-encodes branches and writes each memory event's sequence and records (issue 14 item 6).</para>
/// <para><c>Threads</c> &gt; 1: the <c>all</c> set is spread over that many threads, largest module
/// first (as <see cref="BatchRewriter.Run"/> does); a single-module set is processed once per
/// thread, all at the same time, so the work per operation grows with the thread count.</para>
/// </summary>
[Config(typeof(BenchConfig))]
public class RewriterThroughput
{
    [Params(Corpus.Small, Corpus.Large, Corpus.All)]
    public string Set { get; set; } = Corpus.Small;

    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; } = 1;

    public static IEnumerable<int> ThreadCounts() => new[] { 1, Environment.ProcessorCount }.Distinct();

    private ModuleInput[] _work = [];
    private int _failed;

    /// <summary>The modules one operation processes, in scheduling order.</summary>
    public static ModuleInput[] WorkFor(string set, int threads)
    {
        var corpus = Corpus.Get(set);
        return set == Corpus.All ? corpus.Modules : Enumerable.Repeat(corpus.Modules[0], threads).ToArray();
    }

    [GlobalSetup]
    public void Setup()
    {
        _work = WorkFor(Set, Threads);
        _failed = 0;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_failed > 0)
            Console.Error.WriteLine($"kedr-bench: {Set}: {_failed} module rewrites failed (timed all the same; see kedr instrument --all)");
    }

    [Benchmark(Baseline = true)]
    public long DecodeOnly() => ForEach(DecodeModule);

    [Benchmark]
    public long Rewrite() => ForEach(RewriteModule);

    /// <summary>The least a rewriter producing the same code must do, in one pass per module: <see cref="RewriterFloor"/>.</summary>
    [Benchmark]
    public long Floor() => ForEach(RewriterFloor.Module);

    private long ForEach(Func<ModuleInput, long> work)
    {
        if (Threads == 1)
        {
            long sum = 0;
            foreach (var m in _work) sum += work(m);
            return sum;
        }
        long total = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = Threads };
        Parallel.ForEach(Partitioner.Create(_work, EnumerablePartitionerOptions.NoBuffering), options,
            m => Interlocked.Add(ref total, work(m)));
        return total;
    }

    /// <summary>Decodes every function; returns the instruction count so nothing is optimised away.</summary>
    public static long DecodeModule(ModuleInput m)
    {
        var (decoder, reader) = t_decoder ??= NewDecoder();
        long instructions = 0;
        foreach (var (offset, length, address) in m.Functions)
        {
            reader.MoveTo(m.File, offset, offset + length);
            decoder.IP = address;
            ulong end = address + (ulong)length;
            while (decoder.IP < end)
            {
                decoder.Decode(out var instr);
                if (instr.IsInvalid) break;
                instructions++;
            }
        }
        return instructions;
    }

    [ThreadStatic] private static (Decoder, MovableReader)? t_decoder;

    private static (Decoder, MovableReader) NewDecoder()
    {
        var reader = new MovableReader();
        return (Decoder.Create(64, reader, 0, DecoderOptions.None), reader);
    }

    /// <summary>Bytes [start, end) of an array; moved to the next function's.</summary>
    internal sealed class MovableReader : CodeReader
    {
        private byte[] _data = [];
        private int _position, _end;

        public void MoveTo(byte[] data, int start, int end) => (_data, _position, _end) = (data, start, end);

        public override int ReadByte() => _position < _end ? _data[_position++] : -1;
    }

    /// <summary>Per thread, as each of <see cref="BatchRewriter.Run"/>'s workers has its own.</summary>
    [ThreadStatic] private static BlobBuffers? t_buffers;

    /// <summary>ELF parse, rewrite, blob serialised (to a null stream, as the CLI streams it to its file); returns the code size (0 if the rewriter refused the module).</summary>
    public long RewriteModule(ModuleInput m)
    {
        try
        {
            if (ElfFile.TryRead(m.File, m.Path, out var elf, out _) && ModuleRewriter.TryRewrite(elf!, t_buffers ??= new BlobBuffers(), out var result, out _))
            {
                BlobWriter.Write(result!.Blob, Stream.Null);
                return result.Blob.Code.Length;
            }
        }
        catch (Exception e) when (e is KedrException or InvalidOperationException or EncoderException or ArgumentException or IndexOutOfRangeException)
        {
            // As BatchRewriter: one module's internal error does not stop the rest.
        }
        Interlocked.Increment(ref _failed);
        return 0;
    }
}
