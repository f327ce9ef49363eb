using Kedr.Core.Diagnostics;
using Kedr.Output.Tests.Support;

namespace Kedr.Output.Tests;

public sealed class TraceReaderTests
{
    private static Trace Read(byte[] bytes)
    {
        Assert.True(TraceReader.TryRead(bytes, "t.bin", out var trace, out var error), error?.ToString());
        return trace!;
    }

    private static KedrDiagnostic Fails(byte[] bytes)
    {
        Assert.False(TraceReader.TryRead(bytes, "t.bin", out var trace, out var error));
        Assert.Null(trace);
        return error!;
    }

    [Fact]
    public void Header_and_every_field_of_a_record_are_decoded()
    {
        var t = Read(new TraceBuilder { Target = "cfake-x", CoreBase = 0xffffffffc0a00000 }
            .Add(new Rec(0x1122334455667788, 0xffffffffc0a00012, 0xff11223344556677, 0, 0x62, 0x10001, 0xabcdef, Kinds.Locked, 7, 2))
            .Build());
        Assert.Equal("cfake-x", t.Target);
        Assert.Equal(1, t.Version);
        Assert.Equal(0xffffffffc0a00000UL, t.TargetCoreBase);
        var e = Assert.Single(t.Events);
        Assert.Equal(0x1122334455667788UL, e.Timestamp);
        Assert.Equal(0xffffffffc0a00012UL, e.Pc);
        Assert.Equal(0xff11223344556677UL, e.Addr);
        Assert.Equal(0u, e.Seq);
        Assert.Equal(0x62u, e.Tid);
        Assert.Equal(0x10001u, e.Size);
        Assert.Equal(0xabcdefu, e.Site);
        Assert.Equal(TraceEventKind.LockedUpdate, e.Kind);
        Assert.Equal(7, e.Cpu);
        Assert.Equal(TraceContext.HardIrq, e.Context);
        Assert.Equal(80, e.FileOffset);
        Assert.Empty(t.Warnings);
        Assert.Empty(t.Drops);
    }

    /// <summary>The flags byte (kedr_record.h's KEDR_REC_F_PERCPU 0x1, KEDR_REC_F_OWN_TASK 0x2; 0 in older records) and its JSON names.</summary>
    [Fact]
    public void The_flags_byte_is_decoded_and_named()
    {
        var t = Read(new TraceBuilder()
            .Add(new Rec(1, 0xffffffffc0a00012, 0xff11223344556677, 0, 5, 4, 1, Kinds.Write, 0, 0, 0, 0x1))
            .Add(new Rec(2, 0xffffffffc0a00012, 0xff11223344556677, 1, 5, 8, 2, Kinds.Read, 0, 0, 14, 0x2))
            .Add(new Rec(3, 0xffffffffc0a00012, 0xff11223344556677, 2, 5, 8, 3, Kinds.Read, 0, 0, 0, 0x3))
            .Add(new Rec(4, 0xffffffffc0a00012, 0xff11223344556677, 3, 5, 8, 4, Kinds.Read, 0, 0, 0, 0))
            .Build());
        Assert.Equal(new[] { (true, false), (false, true), (true, true), (false, false) }, t.Events.Select(e => (e.IsPerCpu, e.InOwnTask)));
        Assert.Equal(14, t.Events[1].StackOrder);
        Assert.Equal(new[] { "per-cpu", "own-task" }, JsonRenderer.FlagNames(t.Events[2].Flags));
        Assert.Null(JsonRenderer.FlagNames(t.Events[3].Flags));
    }

    [Fact]
    public void Records_of_all_CPUs_are_merged_by_timestamp_then_cpu_then_seq()
    {
        // Per-CPU blocks, as a per-CPU buffer dump would give them.
        var b = new TraceBuilder().Add(
            new Rec(30, 1, 0, 0, 1, 0, 0, Kinds.Entry, 1),
            new Rec(50, 2, 0, 1, 1, 0, 0, Kinds.Exit, 1),
            new Rec(50, 3, 0, 2, 1, 0, 0, Kinds.Entry, 1),
            new Rec(10, 4, 0, 0, 2, 0, 0, Kinds.Entry, 0),
            new Rec(50, 5, 0, 1, 2, 0, 0, Kinds.Exit, 0),
            new Rec(60, 6, 0, 2, 2, 0, 0, Kinds.Entry, 0));
        var t = Read(b.Build());
        Assert.Equal([4UL, 1, 5, 2, 3, 6], t.Events.Select(e => e.Pc));
        Assert.Empty(t.Drops);
    }

    [Fact]
    public void Sequence_gaps_are_drops_per_cpu_including_a_late_start()
    {
        var b = new TraceBuilder().Add(
            new Rec(1, 1, 0, 0, 1, 0, 0, Kinds.Read, 0),
            new Rec(2, 2, 0, 1, 1, 0, 0, Kinds.Read, 0),
            new Rec(9, 3, 0, 4, 1, 0, 0, Kinds.Read, 0),   // 2, 3 lost on cpu 0
            new Rec(3, 4, 0, 3, 1, 0, 0, Kinds.Read, 1),   // 0..2 lost on cpu 1
            new Rec(4, 5, 0, 4, 1, 0, 0, Kinds.Read, 1),
            new Rec(5, 6, 0, 10, 1, 0, 0, Kinds.Read, 1)); // 5..9 lost on cpu 1
        var t = Read(b.Build());
        Assert.Equal(10, t.DroppedCount);
        Assert.Equal(3, t.Drops.Count);
        // Merged: ts 1,2,3,4,5,9 -> pcs 1,2,4,5,6,3
        Assert.Equal([1UL, 2, 4, 5, 6, 3], t.Events.Select(e => e.Pc));
        Assert.Equal(new TraceDrop(1, 0, 3, 2), t.Drops[0]);
        Assert.Equal(new TraceDrop(1, 5, 5, 4), t.Drops[1]);
        Assert.Equal(new TraceDrop(0, 2, 2, 5), t.Drops[2]);
    }

    [Fact]
    public void Sequence_numbers_wrap_around_without_a_false_drop()
    {
        var t = Read(new TraceBuilder().Add(
            new Rec(1, 1, 0, 0, 1, 0, 0, Kinds.Read, 0)).Build());
        Assert.Empty(t.Drops);
        var b = new TraceBuilder().Add(new Rec(1, 1, 0, 0, 1, 0, 0, Kinds.Read, 3));
        for (uint i = 1; i < 4; i++) b.Add(new Rec(1 + i, 1, 0, i, 1, 0, 0, Kinds.Read, 3));
        Assert.Empty(Read(b.Build()).Drops);
        var wrap = new TraceBuilder().Add(
            new Rec(1, 1, 0, uint.MaxValue - 1, 1, 0, 0, Kinds.Read, 0),
            new Rec(2, 1, 0, uint.MaxValue, 1, 0, 0, Kinds.Read, 0),
            new Rec(3, 1, 0, 0, 1, 0, 0, Kinds.Read, 0),
            new Rec(4, 1, 0, 2, 1, 0, 0, Kinds.Read, 0));
        var w = Read(wrap.Build());
        Assert.Equal([new TraceDrop(0, 0, uint.MaxValue - 1, 0), new TraceDrop(0, 1, 1, 3)], w.Drops);
        Assert.Empty(w.Warnings);
    }

    [Fact]
    public void A_repeating_sequence_number_is_a_warning_not_a_drop()
    {
        var t = Read(new TraceBuilder().Add(
            new Rec(1, 1, 0, 0, 1, 0, 0, Kinds.Read, 0),
            new Rec(2, 1, 0, 1, 1, 0, 0, Kinds.Read, 0),
            new Rec(3, 1, 0, 1, 1, 0, 0, Kinds.Read, 0)).Build());
        Assert.Empty(t.Drops);
        var w = Assert.Single(t.Warnings);
        Assert.Equal("KEDR5009", w.Code);
        Assert.Equal(80 + 2 * 48, w.Offset);
    }

    [Fact]
    public void Larger_header_and_record_sizes_are_skipped_over()
    {
        var recs = new[] { new Rec(5, 0xaa, 0xbb, 0, 9, 4, 3, Kinds.Write, 1), new Rec(6, 0xcc, 0xdd, 1, 9, 8, 4, Kinds.Read, 1) };
        var plain = Read(new TraceBuilder().Add(recs).Build());
        var big = Read(new TraceBuilder { HeaderSize = 128, RecordSize = 72 }.Add(recs).Build());
        Assert.Equal(128, big.HeaderSize);
        Assert.Equal(72, big.RecordSize);
        Assert.Equal(plain.Events.Select(e => e with { FileOffset = 0 }), big.Events.Select(e => e with { FileOffset = 0 }));
        Assert.Equal([128L, 200], big.Events.Select(e => e.FileOffset));
        Assert.Empty(big.Warnings);
    }

    [Fact]
    public void A_truncated_last_record_is_a_warning_naming_its_offset_and_the_rest_is_kept()
    {
        var bytes = new TraceBuilder().Add(new Rec(1, 1, 0, 0, 1, 0, 0, Kinds.Read, 0), new Rec(2, 2, 0, 1, 1, 0, 0, Kinds.Read, 0)).Build();
        var t = Read(bytes[..^5]);
        Assert.Single(t.Events);
        var w = Assert.Single(t.Warnings);
        Assert.Equal("KEDR5007", w.Code);
        Assert.Equal(128, w.Offset);
        Assert.Contains("43 bytes", w.Message);
        Assert.Contains("offset 0x80", w.ToString());
    }

    [Fact]
    public void Unknown_kinds_are_skipped_with_one_warning_per_kind()
    {
        var t = Read(new TraceBuilder().Add(
            new Rec(1, 1, 0, 0, 1, 0, 0, 0, 0),
            new Rec(2, 1, 0, 1, 1, 0, 0, Kinds.Read, 0),
            new Rec(3, 1, 0, 2, 1, 0, 0, 6, 0),
            new Rec(4, 1, 0, 3, 1, 0, 0, 6, 0)).Build());
        Assert.Single(t.Events);
        Assert.Equal(2, t.Warnings.Count(w => w.Code == "KEDR5008"));
        Assert.Contains(t.Warnings, w => w.Offset == 80 + 2 * 48 && w.Message.StartsWith("2 record(s) with unknown event kind 6"));
        Assert.Empty(t.Drops);   // skipped records still count for the sequence: no false drop
    }

    /// <summary>The KEDR_REC_* kinds of kedr_record.h (numbers written here from the header's text) are decoded, not skipped.</summary>
    [Fact]
    public void Sync_and_allocation_kinds_are_decoded()
    {
        var kinds = new (byte Raw, TraceEventKind Kind)[]
        {
            (9, TraceEventKind.Acquire), (10, TraceEventKind.Release), (11, TraceEventKind.Signal),
            (12, TraceEventKind.Wait), (13, TraceEventKind.Alloc), (14, TraceEventKind.Free),
        };
        var b = new TraceBuilder();
        for (int i = 0; i < kinds.Length; i++)
            b.Add(new Rec((ulong)i + 1, 0xffffffffc0a00010 + (ulong)i, 0xff00000000001000 + (ulong)i, (uint)i, 7, (uint)i * 8, Kinds.NoSite, kinds[i].Raw, 0));
        var t = Read(b.Build());
        Assert.Empty(t.Warnings);
        Assert.Equal(kinds.Select(k => k.Kind), t.Events.Select(e => e.Kind));
        Assert.All(t.Events, e => Assert.Equal(0xffffffffu, e.Site));
        Assert.Equal(0xff00000000001004ul, t.Events[4].Addr);
        Assert.Equal(32u, t.Events[4].Size);
    }

    [Fact]
    public void Records_without_a_site_are_read_and_rendered_as_kedr_sample_writes_them()
    {
        // kedr_recorder.c: "TID=0x%x %s at 0x%lx: addr=0x%llx, size=%u" for KEDR_REC_NO_SITE records.
        var t = Read(new TraceBuilder().Add(
            new Rec(1, 0xffffffffc0001234, 0xffffffffc0002000, 0, 7, 0, 0xffffffff, 8, 0),
            new Rec(2, 0xffffffffc0001300, 0xff11000012345000, 1, 7, 1234, 0xffffffff, 13, 0),
            new Rec(3, 0xffffffffc0001400, 0xff11000012345000, 2, 7, 0, 0xffffffff, 14, 0)).Build());
        Assert.Empty(t.Warnings);
        Assert.Equal([TraceEventKind.Indirect, TraceEventKind.Alloc, TraceEventKind.Free], t.Events.Select(e => e.Kind).ToArray());
        Assert.All(t.Events, e => Assert.False(e.IsFunctionEvent));
        Assert.Equal("TID=0x7 indirect at 0xffffffffc0001234: addr=0xffffffffc0002000, size=0", TextRenderer.Line(new ReportEvent(t.Events[0], null)));
        Assert.Equal("TID=0x7 alloc at 0xffffffffc0001300: addr=0xff11000012345000, size=1234", TextRenderer.Line(new ReportEvent(t.Events[1], null)));
        Assert.Equal("TID=0x7 free at 0xffffffffc0001400: addr=0xff11000012345000, size=0", TextRenderer.Line(new ReportEvent(t.Events[2], null)));
    }

    /// <summary>
    /// kedr_recorder.c writes a record without a site with its bare pc ("%s at 0x%lx: addr=..."), even where
    /// the report could name the function: the text line must be the kernel's (ReportVmTests compares them
    /// event for event), so the location is not put into it.
    /// </summary>
    [Fact]
    public void A_record_without_a_site_renders_as_the_kernel_writes_it_even_when_its_pc_resolves()
    {
        var t = Read(new TraceBuilder().Add(new Rec(1, 0xffffffffc1ac728a, 0xffffffffc1ac7000, 0, 0x66, 0, 0xffffffff, 8, 0)).Build());
        var where = new ResolvedPc("cfake_write", 0xaa, 0x101, "kedr_sample_target");
        Assert.Equal("TID=0x66 indirect at 0xffffffffc1ac728a: addr=0xffffffffc1ac7000, size=0",
            TextRenderer.Line(new ReportEvent(t.Events[0], where)));
    }

    [Theory]
    [InlineData(0, "KEDR5001")]
    [InlineData(79, "KEDR5001")]
    public void Too_short_for_a_header(int length, string code)
    {
        var bytes = new TraceBuilder().Build()[..length];
        Assert.Equal(code, Fails(bytes).Code);
    }

    [Fact]
    public void Bad_header_fields_are_errors_naming_the_field_offset()
    {
        var e = Fails(new TraceBuilder { Magic = "KEDRBLOB" }.Build());
        Assert.Equal(("KEDR5002", 0L), (e.Code, e.Offset));
        Assert.Contains("KEDRBLOB", e.Message);
        e = Fails(new TraceBuilder { Version = 0 }.Build());
        Assert.Equal(("KEDR5003", 8L), (e.Code, e.Offset));
        e = Fails(new TraceBuilder { HeaderSize = 80 }.Build().Also(b => b[10] = 64));
        Assert.Equal(("KEDR5004", 10L), (e.Code, e.Offset));
        e = Fails(new TraceBuilder { HeaderSize = 200 }.Build()[..150]);
        Assert.Equal("KEDR5001", e.Code);
        Assert.Contains("truncated header", e.Message);
        e = Fails(new TraceBuilder().Build().Also(b => b[12] = 40));
        Assert.Equal(("KEDR5005", 12L), (e.Code, e.Offset));
        e = Fails(new TraceBuilder().Build().Also(b => { b[12] = 0; b[13] = 0; }));
        Assert.Equal("KEDR5005", e.Code);
    }

    [Fact]
    public void A_newer_version_is_read_with_a_warning()
    {
        var t = Read(new TraceBuilder { Version = 2 }.Add(new Rec(1, 1, 0, 0, 1, 0, 0, Kinds.Read, 0)).Build());
        Assert.Single(t.Events);
        Assert.Equal("KEDR5010", Assert.Single(t.Warnings).Code);
    }

    [Fact]
    public void Read_of_a_missing_file_is_a_KedrException()
    {
        var e = Assert.Throws<KedrException>(() => TraceReader.Read("/nonexistent/trace.bin"));
        Assert.Equal("KEDR5000", e.Diagnostic.Code);
    }

    /// <summary>Every prefix and many random corruptions of a valid trace: a result or a diagnostic, never an exception.</summary>
    [Fact]
    public void Damaged_input_never_throws()
    {
        var b = new TraceBuilder { HeaderSize = 96, RecordSize = 56, CoreBase = 0xffffffffc0000000 };
        for (uint i = 0; i < 20; i++) b.Add(new Rec(i * 7 % 5, 0xffffffffc0000000 + i, i, i, 1, 4, i, (byte)(1 + i % 5), (byte)(i % 3)));
        var good = b.Build();
        for (int n = 0; n <= good.Length; n++)
            _ = TraceReader.TryRead(good.AsMemory(0, n), "t", out _, out _);
        var rng = new Random(12345);
        for (int round = 0; round < 3000; round++)
        {
            var bad = (byte[])good.Clone();
            for (int k = rng.Next(1, 6); k > 0; k--) bad[rng.Next(bad.Length)] = (byte)rng.Next(256);
            if (TraceReader.TryRead(bad, "t", out var t, out var err)) Assert.NotNull(t);
            else Assert.StartsWith("KEDR50", err!.Code);
        }
    }
}

internal static class ByteArrayExtensions
{
    public static byte[] Also(this byte[] b, Action<byte[]> change) { change(b); return b; }
}
