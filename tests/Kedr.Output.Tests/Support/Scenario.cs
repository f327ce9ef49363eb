namespace Kedr.Output.Tests.Support;

/// <summary>
/// A trace of <see cref="SampleModule"/> on two CPUs, per-CPU blocks as a recorder would dump them:
/// init on CPU 0, a helper call on CPU 1, an open with two lost events on CPU 0, the exit on CPU 1.
/// <see cref="ExpectedText"/> is the output written out by hand.
/// </summary>
internal static class Scenario
{
    public const ulong Core = 0xffffffffc0a00000, Init = 0xffffffffc0a14000;
    public const ulong A1 = 0xff3ac497c25e5f7c, A2 = 0xff3ac497c261f038, A3 = 0xffff888003a1b000;

    public static TraceBuilder Builder(ulong coreBase = Core)
    {
        var b = new TraceBuilder { Target = "demo_mod", CoreBase = coreBase };
        b.Add(
            new Rec(10, Init + SampleModule.Init, 0, 0, 0x62, 0, 1, Kinds.Entry, 0),
            new Rec(11, Init + 5, A1, 1, 0x62, 4, 2, Kinds.Write, 0),
            new Rec(12, Init + SampleModule.InitTail, 0, 2, 0x62, 0, 3, Kinds.Entry, 0),
            new Rec(13, Init + SampleModule.InitTail, 0, 3, 0x62, 0, 4, Kinds.Exit, 0),
            new Rec(14, Init + SampleModule.Init, 0, 4, 0x62, 0, 5, Kinds.Exit, 0),
            new Rec(20, Core + SampleModule.Open, 0, 5, 0x62, 0, 6, Kinds.Entry, 0),
            new Rec(21, Core + 0x0e, A2, 6, 0x62, 4, 7, Kinds.Read, 0),
            new Rec(22, Core + 0x1b, A2, 7, 0x62, 4, 8, Kinds.Locked, 0),
            new Rec(25, Core + SampleModule.OpenCold + 3, A3, 10, 0x62, 8, 9, Kinds.Read, 0),
            new Rec(26, Core + SampleModule.Open, 0, 11, 0x62, 0, 10, Kinds.Exit, 0),
            new Rec(15, Core + SampleModule.Helper, 0, 0, 0x63, 0, 11, Kinds.Entry, 1, 1),
            new Rec(16, Core + 0x35, A1, 1, 0x63, 2, 12, Kinds.Read, 1, 1),
            new Rec(17, Core + 0x40, A1, 2, 0x63, 2, 13, Kinds.Write, 1, 1),
            new Rec(18, Core + SampleModule.Helper, 0, 3, 0x63, 0, 14, Kinds.Exit, 1, 1),
            new Rec(30, Core + SampleModule.Exit, 0, 4, 0x64, 0, 15, Kinds.Entry, 1),
            new Rec(31, Core + SampleModule.Exit + 4, A3, 5, 0x64, 8, 16, Kinds.Read, 1),
            new Rec(32, Core + SampleModule.Exit, 0, 6, 0x64, 0, 17, Kinds.Exit, 1));
        return b;
    }

    public const string ExpectedText = """
        TID=0x62 entry: addr=0xffffffffc0a14000 ("demo_init")
        TID=0x62 write at 0xffffffffc0a14005 (demo_init+0x5/0x20 [demo_mod]): addr=0xff3ac497c25e5f7c, size=4
        TID=0x62 entry: addr=0xffffffffc0a14020 ("demo_init_tail")
        TID=0x62 exit: addr=0xffffffffc0a14020 ("demo_init_tail")
        TID=0x62 exit: addr=0xffffffffc0a14000 ("demo_init")
        TID=0x63 entry: addr=0xffffffffc0a00030 ("demo_helper")
        TID=0x63 read at 0xffffffffc0a00035 (demo_helper+0x5/0x21 [demo_mod]): addr=0xff3ac497c25e5f7c, size=2
        TID=0x63 write at 0xffffffffc0a00040 (demo_helper+0x10/0x21 [demo_mod]): addr=0xff3ac497c25e5f7c, size=2
        TID=0x63 exit: addr=0xffffffffc0a00030 ("demo_helper")
        TID=0x62 entry: addr=0xffffffffc0a00000 ("demo_open")
        TID=0x62 read at 0xffffffffc0a0000e (demo_open+0xe/0x30 [demo_mod]): addr=0xff3ac497c261f038, size=4
        TID=0x62 locked update at 0xffffffffc0a0001b (demo_open+0x1b/0x30 [demo_mod]): addr=0xff3ac497c261f038, size=4
        <...>
        TID=0x62 read at 0xffffffffc0a0005b (demo_open.cold+0x3/0x10 [demo_mod]): addr=0xffff888003a1b000, size=8
        TID=0x62 exit: addr=0xffffffffc0a00000 ("demo_open")
        TID=0x64 entry: addr=0xffffffffc0a00068 ("demo_exit")
        TID=0x64 read at 0xffffffffc0a0006c (demo_exit+0x4/0xb [demo_mod]): addr=0xffff888003a1b000, size=8
        TID=0x64 exit: addr=0xffffffffc0a00068 ("demo_exit")
        events: 17 recorded, 2 dropped

        """;

    public static TraceReport Report(TraceBuilder? b = null, bool withKo = true)
    {
        Assert.True(TraceReader.TryRead((b ?? Builder()).Build(), "scenario.bin", out var trace, out var error), error?.ToString());
        return TraceReport.Build(trace!, withKo ? SampleModule.Elf : null);
    }
}
