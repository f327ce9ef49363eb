using Kedr.Core.Diagnostics;

namespace Kedr.Output;

/// <summary>One record of the trace, decoded. <see cref="FileOffset"/> is where it starts in the stream.</summary>
public readonly record struct TraceEvent(
    ulong Timestamp, ulong Pc, ulong Addr, uint Seq, uint Tid, uint Size, uint Site,
    TraceEventKind Kind, byte Cpu, TraceContext Context, long FileOffset, byte StackOrder = 0, TraceRecordFlags Flags = 0)
{
    /// <summary>The address is on the running task's own kernel stack (<see cref="StackOrder"/>: log2 of its size and alignment).</summary>
    public bool OnOwnStack => StackOrder != 0;

    /// <summary>A %gs-relative access: this CPU's copy of per-CPU data, one instruction (<see cref="TraceRecordFlags.PerCpu"/>).</summary>
    public bool IsPerCpu => (Flags & TraceRecordFlags.PerCpu) != 0;

    /// <summary>The address is inside the running task's own <c>struct task_struct</c> (<see cref="TraceRecordFlags.OwnTask"/>).</summary>
    public bool InOwnTask => (Flags & TraceRecordFlags.OwnTask) != 0;

    public bool IsFunctionEvent => Kind is TraceEventKind.Entry or TraceEventKind.Exit;
    public bool IsMemoryEvent => Kind is TraceEventKind.Read or TraceEventKind.Write or TraceEventKind.LockedUpdate;
}

/// <summary>
/// Events a CPU recorded but the trace does not hold: sequence numbers <see cref="FirstSeq"/> ..
/// <see cref="FirstSeq"/> + <see cref="Count"/> - 1 of CPU <see cref="Cpu"/> are missing. They
/// were lost before the event at <see cref="Position"/> of the merged list (that CPU's next event).
/// </summary>
public sealed record TraceDrop(byte Cpu, uint FirstSeq, long Count, int Position);

/// <summary>A decoded trace: the header, the events of all CPUs merged in time order, the drops.</summary>
public sealed class Trace
{
    public required string Path { get; init; }
    public required ushort Version { get; init; }
    /// <summary>The target module's name, as the kernel knows it ('-' written as '_').</summary>
    public required string Target { get; init; }
    /// <summary>target_core_base: where the target's core (non-init) code starts; 0 when not known.</summary>
    public required ulong TargetCoreBase { get; init; }
    public required int HeaderSize { get; init; }
    public required int RecordSize { get; init; }
    /// <summary>Merged (<see cref="TraceMerge"/>): each CPU's records in their order, the smallest stamp of the CPUs' next records first.</summary>
    public required IReadOnlyList<TraceEvent> Events { get; init; }
    /// <summary>Sequence gaps, in merged order.</summary>
    public required IReadOnlyList<TraceDrop> Drops { get; init; }
    /// <summary>Problems that did not stop the decoding (a truncated tail, unknown kinds...).</summary>
    public required IReadOnlyList<KedrDiagnostic> Warnings { get; init; }

    /// <summary>What <c>kedr record</c> saw, for a file it wrote (null for a copy of the trace stream).</summary>
    public RecordingCounts? Recording { get; init; }

    public long DroppedCount => Drops.Sum(d => d.Count);
}

/// <summary>One CPU's counts in a <c>kedr record</c> file (struct kedr_record_cpu).</summary>
public sealed record RecordingCpu(int Cpu, ulong Written, ulong Recorded, ulong Dropped);

/// <summary>
/// The counts of a <c>kedr record</c> file (struct kedr_record_file): records written, and kedr_sample's own
/// recorded/dropped counts at the end, in all and per CPU. Exact accounting: with <see cref="Ended"/>, Written ==
/// Recorded on every CPU.
/// </summary>
public sealed record RecordingCounts(uint Flags, ulong Written, ulong Recorded, ulong Dropped, IReadOnlyList<RecordingCpu> Cpus)
{
    public bool Ended => (Flags & TraceFormat.RecordEnded) != 0;
    public bool Interrupted => (Flags & TraceFormat.RecordInterrupted) != 0;

    /// <summary>Events dropped per function of the target (struct kedr_record_func), most first; empty for none.</summary>
    public IReadOnlyList<RecordingFunction> Functions { get; init; } = [];

    /// <summary>
    /// Drops kedr_sample could not put on a function (nested events, events without a site: indirect branches,
    /// payloads): <see cref="Dropped"/> less the functions' drops.
    /// </summary>
    public ulong DroppedWithoutFunction
    {
        get
        {
            ulong inFunctions = 0;
            foreach (var f in Functions) inFunctions += f.Dropped;
            return Dropped > inFunctions ? Dropped - inFunctions : 0;
        }
    }
}

/// <summary>One function's drops in a <c>kedr record</c> file: its name and index in the .ko's .symtab.</summary>
public sealed record RecordingFunction(string Name, uint SymbolIndex, ulong Dropped);
