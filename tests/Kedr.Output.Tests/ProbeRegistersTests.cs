using Kedr.Output;

namespace Kedr.Output.Tests;

/// <summary>
/// <c>kedr report</c>'s probe line: the KEDR_REC_PROBE_REGS records that follow a probe record on its CPU
/// (next sequence numbers, kedr_record.h) are joined into it in kedr_record.h's register order; another CPU's
/// records in between (the merge is by time) do not disturb it.
/// </summary>
public sealed class ProbeRegistersTests
{
    private static TraceEvent Ev(TraceEventKind kind, byte cpu, uint seq, ulong pc, ulong addr, uint size) =>
        new(1000 + seq, pc, addr, seq, 0x42, size, TraceFormat.NoSite, kind, cpu, TraceContext.Task, 0);

    [Fact]
    public void The_register_records_join_their_probe_line()
    {
        var events = new List<ReportEvent>
        {
            new(Ev(TraceEventKind.Probe, 1, 10, 0xffffffffc0001009, 3, 9), new ResolvedPc("cfake_write", 9, 0x101, "kedr_sample_target")),
            new(Ev(TraceEventKind.Read, 0, 5, 0xffffffffc0001100, 0x1000, 4), null),
        };
        for (uint k = 0; k < 9; k++)
            events.Add(new(Ev(TraceEventKind.ProbeRegs, 1, 11 + k, 100 + 2 * k, k == 8 ? 0 : 101 + 2 * k, k), null));
        var index = ProbeRegisters.Index(events);
        var line = ProbeRegisters.Line(events[0], index);
        Assert.Equal("TID=0x42 probe at 0xffffffffc0001009 (cfake_write+0x9/0x101 [kedr_sample_target]): id=3 " +
            "rdi=0x64 rsi=0x65 rdx=0x66 rcx=0x67 r8=0x68 r9=0x69 rax=0x6a rbx=0x6b rbp=0x6c rsp=0x6d " +
            "r10=0x6e r11=0x6f r12=0x70 r13=0x71 r14=0x72 r15=0x73 flags=0x74", line);
    }

    [Fact]
    public void Missing_register_records_end_the_list()
    {
        var events = new List<ReportEvent>
        {
            new(Ev(TraceEventKind.Probe, 0, 1, 0x10, 0, 9), null),
            new(Ev(TraceEventKind.ProbeRegs, 0, 2, 7, 8, 0), null),
            new(Ev(TraceEventKind.ProbeRegs, 0, 4, 9, 9, 2), null), // seq 3 was dropped
        };
        Assert.Equal("TID=0x42 probe at 0x10: id=0 rdi=0x7 rsi=0x8", ProbeRegisters.Line(events[0], ProbeRegisters.Index(events)));
    }

    [Fact]
    public void Probe_kinds_are_known_to_the_reader()
    {
        Assert.True(TraceFormat.IsKnownKind((byte)TraceEventKind.Probe));
        Assert.True(TraceFormat.IsKnownKind((byte)TraceEventKind.ProbeRegs));
        Assert.Equal(2 * TraceFormat.ProbeRegRecords, TraceFormat.ProbeRegisterNames.Length);
    }
}
