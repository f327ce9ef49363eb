using Kedr.Output.Tests.Support;
using Kedr.Tests.MutationFuzzing;
using Xunit.Abstractions;

namespace Kedr.Output.Tests;

/// <summary>
/// Mutation fuzzing of the trace reader from traces written by <see cref="TraceBuilder"/> (the layout of
/// kmod/kedr_record.h, written out independently of TraceFormat): truncation (anywhere and at header and
/// record boundaries), bit flips, and header and record fields set to huge or out-of-range values
/// (header_size, record_size, version, per-CPU sequence numbers, kinds, CPUs). At least 100,000 inputs from
/// a fixed seed: no exception, every rejection a KEDR5xxx diagnostic of the catalog naming the file and an
/// offset; an accepted trace must also build a report. The figures are printed.
/// </summary>
public sealed class TraceReaderFuzzTests(ITestOutputHelper output)
{
    private const int Inputs = 100_000;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private const string FileName = "/fuzz/trace.bin";

    // kedr_record.h: header fields (offset, width) and record fields, relative to the record.
    private static readonly (int At, int Width)[] HeaderFields = [(0, 8), (8, 2), (10, 2), (12, 2), (16, 8), (64, 8), (72, 8)];
    private static readonly (int At, int Width)[] RecordFields = [(0, 8), (8, 8), (16, 8), (24, 4), (28, 4), (32, 4), (36, 4), (40, 1), (41, 1), (42, 1)];

    private static byte[] Seed(int headerSize, int recordSize)
    {
        var b = new TraceBuilder { HeaderSize = headerSize, RecordSize = recordSize, CoreBase = 0xffffffffc0a00000, Target = "fuzz_mod" };
        var seq = new uint[2];
        for (uint i = 0; i < 64; i++)
        {
            byte cpu = (byte)(i % 3 == 0 ? 1 : 0);
            b.Add(new Rec(100 + i, 0xffffffffc0a00000 + i * 4, 0xffff888003a10000 + i * 8, seq[cpu]++, 0x40u + cpu, 1u << (int)(i % 4), i,
                (byte)(1 + i % 5), cpu, (byte)(i % 7 == 0 ? 1 : 0)));
        }
        return b.Build();
    }

    [Fact]
    public void Mutated_traces_are_read_or_rejected_with_a_numbered_diagnostic_naming_the_offset()
    {
        var tally = new FuzzTally("trace reader (TraceReader.TryRead)", "KEDR5");
        var seeds = new[] { (Name: "80/48", Bytes: Seed(80, 48), Header: 80, Record: 48), (Name: "96/56", Bytes: Seed(96, 56), Header: 96, Record: 56) };
        var rng = new Random(1314);
        for (int i = 0; i < Inputs; i++)
        {
            var (seedName, seed, header, record) = seeds[i % 2];
            var (mutation, bytes) = Mutate(rng, seed, header, record);
            var context = $"seed {seedName} input {i} ({mutation}, {bytes.Length} bytes)";
            try
            {
                TraceReader.TryRead(bytes, FileName, out var trace, out var error);
                if ((trace is null) == (error is null)) tally.Fail($"{context}: TryRead gave {(trace is null ? "neither" : "both")} a trace and an error");
                else if (trace is not null)
                {
                    foreach (var w in trace.Warnings) tally.Warned(FileName, w, context);
                    _ = TraceReport.Build(trace, null).Events.Count;
                }
                tally.Record(mutation, FileName, error, context);
            }
            catch (Exception e)
            {
                tally.Threw(mutation, e, context);
            }
        }
        tally.Report(output, $"bound {Bound.TotalSeconds:F0} s");
        Assert.True(tally.Inputs >= 100_000, $"{tally.Inputs} inputs");
        Assert.True(tally.Elapsed < Bound, $"took {tally.Elapsed.TotalSeconds:F1} s, bound {Bound.TotalSeconds} s");
    }

    private static (string, byte[]) Mutate(Random rng, byte[] seed, int header, int record)
    {
        int pick = rng.Next(100);
        if (pick < 20)
        {
            // Truncated: anywhere, or a few bytes either side of the header's end or a record boundary.
            int n = rng.Next(2) == 0 ? rng.Next(seed.Length)
                : Math.Clamp(header + rng.Next(0, (seed.Length - header) / record + 1) * record + rng.Next(-4, 5), 0, seed.Length - 1);
            return ("truncate", seed[..n]);
        }
        var b = (byte[])seed.Clone();
        if (pick < 40)
        {
            for (int k = rng.Next(1, 5); k > 0; k--)
            {
                int at = rng.Next(3) == 0 ? rng.Next(header) : rng.Next(b.Length);
                b[at] ^= (byte)(1 << rng.Next(8));
            }
            return ("bitflip", b);
        }
        string name = pick < 60 ? "header" : pick < 80 ? "record" : "sizes";
        for (int k = rng.Next(1, 3); k > 0; k--)
        {
            (int At, int Width) f;
            if (name == "header") f = HeaderFields[rng.Next(HeaderFields.Length)];
            else if (name == "sizes") f = rng.Next(2) == 0 ? (10, 2) : (12, 2);
            else
            {
                var r = RecordFields[rng.Next(RecordFields.Length)];
                f = (header + rng.Next((b.Length - header) / record) * record + r.At, r.Width);
            }
            Put(b, f.At, f.Width, Value(rng, f.Width, b.Length, header, record));
        }
        return (name, b);
    }

    private static ulong Value(Random rng, int width, int length, int header, int record)
    {
        ulong max = width == 8 ? ulong.MaxValue : (1UL << (8 * width)) - 1;
        ulong[] v = [0, 1, 2, max, max >> 1, (max >> 1) + 1, (ulong)length, (ulong)length + 1, (ulong)header - 1, (ulong)header + 1,
            (ulong)record - 1, (ulong)record + 1, (ulong)record * 2, 79, 47, 0xffff, (ulong)rng.NextInt64(), 6, 255];
        return v[rng.Next(v.Length)] & max;
    }

    private static void Put(byte[] b, int at, int width, ulong v)
    {
        if (at + width > b.Length) return;
        for (int i = 0; i < width; i++) b[at + i] = (byte)(v >> (8 * i));
    }
}
