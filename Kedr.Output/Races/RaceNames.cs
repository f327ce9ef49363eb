using Kedr.Output.Source;

namespace Kedr.Output.Races;

/// <summary>How the race renderers name code: function+offset/size [module] and file:line through the trace's symbolizer.</summary>
public sealed class RaceNames(Func<ulong, ResolvedPc?>? resolve)
{
    public ResolvedPc? Resolve(ulong pc) => resolve?.Invoke(pc);

    /// <summary>The function's name, or the address when it is in no function of the .ko.</summary>
    public string Function(ulong pc) => Resolve(pc)?.Function ?? $"0x{pc:x}";

    /// <summary><c>fn+0x1c/0x80 [mod]</c>, or the address.</summary>
    public string Pc(ulong pc) => Resolve(pc)?.ToString() ?? $"0x{pc:x}";

    /// <summary><c>file:line</c> (with the inlined chain), or null without debug information.</summary>
    public string? Source(ulong pc) => Resolve(pc)?.Source is { } s ? SourceText.Format(s) : null;

    /// <summary>The callers of the access: the stack's frames without the innermost one when it is the access's own function.</summary>
    public IEnumerable<ulong> Callers(RaceAccess a)
    {
        var own = Resolve(a.Pc);
        int skip = a.Stack.Count > 0 && own is not null && Resolve(a.Stack[0]) is { } f && f.Function == own.Function ? 1 : 0;
        return a.Stack.Skip(skip);
    }

    public static string Kind(RaceAccess a) => a.IsWrite ? "write" : "read";

    /// <summary>KCSAN's "by task 123 on cpu 1", with the context when it is not a task.</summary>
    public static string Who(RaceAccess a) => a.Thread.Context switch
    {
        TraceContext.Task => $"task {a.Tid} on cpu {a.Cpu}",
        TraceContext.SoftIrq => $"softirq on cpu {a.Cpu} (interrupting task {a.Tid})",
        TraceContext.HardIrq => $"hardirq on cpu {a.Cpu} (interrupting task {a.Tid})",
        _ => $"NMI on cpu {a.Cpu} (interrupting task {a.Tid})",
    };

    /// <summary>KCSAN's title: <c>data-race in fat_a / fat_b</c>.</summary>
    public string Title(RacePair p) => $"data-race in {Function(p.First.Pc)} / {Function(p.Second.Pc)}";
}
