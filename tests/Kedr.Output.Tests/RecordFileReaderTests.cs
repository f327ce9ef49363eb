using System.Buffers.Binary;
using Kedr.Core.Diagnostics;
using Kedr.Output.Tests.Support;

namespace Kedr.Output.Tests;

/// <summary>
/// A <c>kedr record</c> file (docs/record-format.md): a trace whose header_size also covers struct kedr_record_file
/// (at 80: magic KEDRREC2, nr_cpus, flags, written, recorded, dropped, funcs_offset) and 24 bytes per CPU (written,
/// recorded, dropped); after the records, at funcs_offset, struct kedr_record_funcs (magic KEDRFUN1, nr_funcs,
/// names_size), 16 bytes per function (dropped, symidx, name offset) and the names. Version 1 (KEDRREC1: a 40-byte
/// struct, no funcs_offset, no table) is still read. Offsets written out here from kmod/kedr_record.h.
/// </summary>
public sealed class RecordFileReaderTests
{
    private const int Records = 2;

    /// <summary>Two records; the function table (if any) after them; <paramref name="v1"/>: the version-1 layout.</summary>
    private static byte[] Recording(uint nrCpus, int cpuEntries, uint flags = 1, byte[]? table = null, bool v1 = false)
    {
        int fileStruct = v1 ? 40 : 48;
        var b = new TraceBuilder { HeaderSize = 80 + fileStruct + 24 * cpuEntries }
            .Add(new Rec(1, 0xffffffffc0000000, 0, 0, 1, 0, 0, Kinds.Entry, 0),
                 new Rec(2, 0xffffffffc0000000, 0, 0, 1, 0, 0, Kinds.Entry, 1))
            .Build();
        (v1 ? "KEDRREC1"u8 : "KEDRREC2"u8).CopyTo(b.AsSpan(80));
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(88), nrCpus);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(92), flags);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(96), Records);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(104), Records);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(112), 7);
        if (!v1) BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(120), table is null ? 0 : (ulong)b.Length);
        for (int i = 0; i < cpuEntries; i++)
        {
            int at = 80 + fileStruct + 24 * i;
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), 1);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at + 8), 1);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at + 16), (ulong)(3 + i));
        }
        return table is null ? b : [.. b, .. table];
    }

    /// <summary>struct kedr_record_funcs for (name, symidx, dropped) entries, names in order.</summary>
    private static byte[] Table(params (string Name, uint SymIdx, ulong Dropped)[] functions)
    {
        var names = functions.SelectMany(f => System.Text.Encoding.ASCII.GetBytes(f.Name + "\0")).ToArray();
        var t = new byte[16 + 16 * functions.Length + names.Length];
        "KEDRFUN1"u8.CopyTo(t);
        BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(8), (uint)functions.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(12), (uint)names.Length);
        uint name = 0;
        for (int i = 0; i < functions.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(t.AsSpan(16 + 16 * i), functions[i].Dropped);
            BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(24 + 16 * i), functions[i].SymIdx);
            BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(28 + 16 * i), name);
            name += (uint)functions[i].Name.Length + 1;
        }
        names.CopyTo(t, 16 + 16 * functions.Length);
        return t;
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
        Assert.Empty(r.Functions);
        Assert.Equal(7ul, r.DroppedWithoutFunction);
        Assert.Empty(t.Warnings);
    }

    /// <summary>The table after the records is not read as records; its entries are, with their names.</summary>
    [Fact]
    public void The_drops_per_function_after_the_records_are_read()
    {
        var bytes = Recording(2, 2, table: Table(("fat_write", 41, 5), ("fat_get_block", 7, 1)));
        Assert.True(TraceReader.TryRead(bytes, "r.trace", out var t, out var error), error?.ToString());
        Assert.Empty(t!.Warnings);
        Assert.Equal(Records, t.Events.Count);
        var r = t.Recording!;
        Assert.Equal([("fat_write", 41u, 5ul), ("fat_get_block", 7u, 1ul)], r.Functions.Select(f => (f.Name, f.SymbolIndex, f.Dropped)));
        Assert.Equal(1ul, r.DroppedWithoutFunction);
    }

    [Fact]
    public void An_empty_table_ends_the_records()
    {
        Assert.True(TraceReader.TryRead(Recording(2, 2, table: Table()), "r.trace", out var t, out _));
        Assert.Empty(t!.Warnings);
        Assert.Equal(Records, t.Events.Count);
        Assert.Empty(t.Recording!.Functions);
    }

    [Theory]
    [InlineData("magic")]
    [InlineData("count")]
    [InlineData("name")]
    public void A_damaged_table_is_a_warning_and_the_records_are_kept(string damage)
    {
        var table = Table(("fat_write", 41, 5));
        switch (damage)
        {
            case "magic": table[0] = (byte)'X'; break;
            case "count": BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(8), 2); break;
            case "name": BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(28), 10); break;
        }
        Assert.True(TraceReader.TryRead(Recording(2, 2, table: table), "r.trace", out var t, out _));
        var w = Assert.Single(t!.Warnings);
        Assert.Equal(DiagnosticCodes.TraceRecordFileFunctions.Code, w.Code);
        Assert.Equal(Records, t.Events.Count);
        Assert.Empty(t.Recording!.Functions);
    }

    [Fact]
    public void A_funcs_offset_past_the_end_is_a_warning()
    {
        var bytes = Recording(2, 2);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(120), (ulong)bytes.Length + 1);
        Assert.True(TraceReader.TryRead(bytes, "r.trace", out var t, out _));
        Assert.Equal(DiagnosticCodes.TraceRecordFileFunctions.Code, Assert.Single(t!.Warnings).Code);
        Assert.Equal(Records, t.Events.Count);
    }

    [Fact]
    public void A_version_1_recording_is_still_read()
    {
        Assert.True(TraceReader.TryRead(Recording(2, 2, v1: true), "r.trace", out var t, out var error), error?.ToString());
        Assert.Empty(t!.Warnings);
        var r = t.Recording!;
        Assert.Equal((2ul, 2ul, 7ul), (r.Written, r.Recorded, r.Dropped));
        Assert.Equal([3ul, 4ul], r.Cpus.Select(c => c.Dropped));
        Assert.Equal(2, t.Events.Count);
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
