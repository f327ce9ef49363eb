using System.Buffers.Binary;
using Kedr.Core.Diagnostics;
using Kedr.Output.Tests.Support;

namespace Kedr.Output.Tests;

/// <summary>
/// A <c>kedr record</c> file (docs/record-format.md): a trace whose header_size also covers struct kedr_record_file
/// (at 80: magic KEDRREC1, nr_cpus, flags, written, recorded, dropped) and 24 bytes per CPU (written, recorded,
/// dropped). Offsets written out here from kmod/kedr_record.h.
/// </summary>
public sealed class RecordFileReaderTests
{
    private static byte[] Recording(uint nrCpus, int cpuEntries, uint flags = 1)
    {
        var b = new TraceBuilder { HeaderSize = 80 + 40 + 24 * cpuEntries }
            .Add(new Rec(1, 0xffffffffc0000000, 0, 0, 1, 0, 0, Kinds.Entry, 0),
                 new Rec(2, 0xffffffffc0000000, 0, 0, 1, 0, 0, Kinds.Entry, 1))
            .Build();
        "KEDRREC1"u8.CopyTo(b.AsSpan(80));
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(88), nrCpus);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(92), flags);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(96), 2);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(104), 2);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(112), 7);
        for (int i = 0; i < cpuEntries; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(120 + 24 * i), 1);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(128 + 24 * i), 1);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(136 + 24 * i), (ulong)(3 + i));
        }
        return b;
    }

    [Fact]
    public void The_counts_of_a_recording_are_read()
    {
        Assert.True(TraceReader.TryRead(Recording(2, 2), "r.trace", out var t, out var error), error?.ToString());
        var r = t!.Recording!;
        Assert.True(r.Ended);
        Assert.False(r.Interrupted);
        Assert.Equal((2ul, 2ul, 7ul), (r.Written, r.Recorded, r.Dropped));
        Assert.Equal([(0, 1ul, 1ul, 3ul), (1, 1ul, 1ul, 4ul)], r.Cpus.Select(c => (c.Cpu, c.Written, c.Recorded, c.Dropped)));
        Assert.Equal(2, t.Events.Count);
        Assert.Empty(t.Warnings);
    }

    [Fact]
    public void Per_CPU_counts_that_do_not_fit_the_header_are_a_warning()
    {
        Assert.True(TraceReader.TryRead(Recording(3, 2), "r.trace", out var t, out _));
        var w = Assert.Single(t!.Warnings);
        Assert.Equal(DiagnosticCodes.TraceRecordFileCpus.Code, w.Code);
        Assert.Empty(t.Recording!.Cpus);
        Assert.Equal(2, t.Events.Count);
    }

    [Fact]
    public void A_plain_trace_has_no_recording()
    {
        Assert.True(TraceReader.TryRead(new TraceBuilder().Build(), "t.bin", out var t, out _));
        Assert.Null(t!.Recording);
    }
}
