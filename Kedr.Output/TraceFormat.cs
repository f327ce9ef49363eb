namespace Kedr.Output;

/// <summary>
/// The binary trace (<c>/sys/kernel/debug/kedr_sample/trace</c>); the definition is
/// <c>kmod/kedr_record.h</c>. Its constants; where each field of its two structs sits is
/// <see cref="TraceLayout"/>. <c>TraceLayoutTests</c> compiles the header and compares both.
/// </summary>
public static class TraceFormat
{
    public static ReadOnlySpan<byte> Magic => "KEDRTRC1"u8;
    public const string MagicText = "KEDRTRC1";
    public const ushort Version = 1;
    public const int NameLength = 56;
    /// <summary>KEDR_RECORD_FILE_MAGIC: version 2 of the <c>kedr record</c> file (with its function table).</summary>
    public static ReadOnlySpan<byte> RecordFileMagic => "KEDRREC2"u8;
    public const string RecordFileMagicText = "KEDRREC2";
    /// <summary>Version 1 (a 40-byte struct kedr_record_file, no funcs_offset, no function table): still read.</summary>
    public static ReadOnlySpan<byte> RecordFileMagicV1 => "KEDRREC1"u8;
    /// <summary>KEDR_RECORD_FUNCS_MAGIC: struct kedr_record_funcs, the per-function drops after the records.</summary>
    public static ReadOnlySpan<byte> RecordFuncsMagic => "KEDRFUN1"u8;
    public const string RecordFuncsMagicText = "KEDRFUN1";
    /// <summary>KEDR_RECORD_ENDED: every CPU's stream reached its end.</summary>
    public const uint RecordEnded = 1;
    /// <summary>KEDR_RECORD_INTERRUPTED: stopped by the user.</summary>
    public const uint RecordInterrupted = 2;

    /// <summary>The numeric #defines of kedr_record.h.</summary>
    public static IReadOnlyDictionary<string, ulong> Constants { get; } = new Dictionary<string, ulong>
    {
        ["KEDR_TRACE_VERSION"] = Version,
        ["KEDR_TRACE_NAME_LEN"] = NameLength,
        ["KEDR_CTX_TASK"] = (ulong)TraceContext.Task,
        ["KEDR_CTX_SOFTIRQ"] = (ulong)TraceContext.SoftIrq,
        ["KEDR_CTX_HARDIRQ"] = (ulong)TraceContext.HardIrq,
        ["KEDR_CTX_NMI"] = (ulong)TraceContext.Nmi,
        ["KEDR_REC_NO_SITE"] = NoSite,
        ["KEDR_REC_INDIRECT"] = (ulong)TraceEventKind.Indirect,
        ["KEDR_REC_ACQUIRE"] = (ulong)TraceEventKind.Acquire,
        ["KEDR_REC_RELEASE"] = (ulong)TraceEventKind.Release,
        ["KEDR_REC_SIGNAL"] = (ulong)TraceEventKind.Signal,
        ["KEDR_REC_WAIT"] = (ulong)TraceEventKind.Wait,
        ["KEDR_REC_ALLOC"] = (ulong)TraceEventKind.Alloc,
        ["KEDR_REC_FREE"] = (ulong)TraceEventKind.Free,
        ["KEDR_REC_PROBE"] = (ulong)TraceEventKind.Probe,
        ["KEDR_REC_PROBE_REGS"] = (ulong)TraceEventKind.ProbeRegs,
        ["KEDR_SYNC_EXCLUSIVE"] = (ulong)TraceSyncMode.Exclusive,
        ["KEDR_SYNC_SHARED"] = (ulong)TraceSyncMode.Shared,
        ["KEDR_SIGNAL_HANDOFF"] = (ulong)TraceSignalMode.HandOff,
        ["KEDR_SIGNAL_PUBLISH"] = (ulong)TraceSignalMode.Publish,
        ["KEDR_WAIT_HANDOFF"] = (ulong)TraceWaitMode.HandOff,
        ["KEDR_WAIT_CALLBACK_END"] = (ulong)TraceWaitMode.CallbackEnd,
        ["KEDR_REC_F_PERCPU"] = (ulong)TraceRecordFlags.PerCpu,
        ["KEDR_REC_F_OWN_TASK"] = (ulong)TraceRecordFlags.OwnTask,
        ["KEDR_RECORD_ENDED"] = RecordEnded,
        ["KEDR_RECORD_INTERRUPTED"] = RecordInterrupted,
    };

    /// <summary>KEDR_REC_NO_SITE: the site of records that have none (the KEDR_REC_* kinds).</summary>
    public const uint NoSite = 0xffffffffu;

    /// <summary>The kinds this reader decodes; a record of any other kind is skipped with a warning.</summary>
    public static bool IsKnownKind(byte kind) =>
        kind is >= (byte)TraceEventKind.Entry and <= (byte)TraceEventKind.LockedUpdate
            or (byte)TraceEventKind.Indirect
            or >= (byte)TraceEventKind.Acquire and <= (byte)TraceEventKind.ProbeRegs
            or (byte)TraceEventKind.LockedDone;

    /// <summary>KEDR_REC_PROBE_REGS records after each probe record (kedr_probes.c), two registers each.</summary>
    public const int ProbeRegRecords = 9;

    /// <summary>The registers of the KEDR_REC_PROBE_REGS records, in order: Pc then Addr of each (kedr_record.h); null: none.</summary>
    public static ReadOnlySpan<string?> ProbeRegisterNames =>
        new string?[] { "rdi", "rsi", "rdx", "rcx", "r8", "r9", "rax", "rbx", "rbp", "rsp", "r10", "r11", "r12", "r13", "r14", "r15", "flags", null };

    /// <summary>The string #defines of kedr_record.h.</summary>
    public static IReadOnlyDictionary<string, string> Strings { get; } = new Dictionary<string, string>
    {
        ["KEDR_TRACE_MAGIC"] = MagicText,
        ["KEDR_RECORD_FILE_MAGIC"] = RecordFileMagicText,
        ["KEDR_RECORD_FUNCS_MAGIC"] = RecordFuncsMagicText,
    };
}

/// <summary>
/// The record kinds: 1-5 and 17 are enum kedr_event_kind of kedr_blob.h (never READ_WRITE or STRING); 8-16 are
/// kedr_record.h's KEDR_REC_* kinds recorded without a site, by the indirect-branch stubs (8) and by payloads
/// (docs/races.md, docs/payloads.md).
/// </summary>
public enum TraceEventKind : byte
{
    Entry = 1, Exit = 2, Read = 3, Write = 4, LockedUpdate = 5,
    /// <summary>An indirect call or jmp of a copy: Pc = the branch, Addr = its destination.</summary>
    Indirect = 8,
    /// <summary>A lock taken: Addr = the lock, Size = <see cref="TraceSyncMode"/>.</summary>
    Acquire = 9,
    /// <summary>A lock released: as <see cref="Acquire"/>.</summary>
    Release = 10,
    /// <summary>Happens-before from here (Addr = the object handed off; Size = <see cref="TraceSignalMode"/>) ...</summary>
    Signal = 11,
    /// <summary>... to here, for the same Addr (Size = <see cref="TraceWaitMode"/>).</summary>
    Wait = 12,
    /// <summary>Addr = the block, Size = its bytes.</summary>
    Alloc = 13,
    /// <summary>Addr = the block.</summary>
    Free = 14,
    /// <summary>A probe hit: Pc = the probed instruction's original address, Addr = the probe id, Size = register records that follow.</summary>
    Probe = 15,
    /// <summary>Two registers of the probe hit just before on the same CPU: Pc and Addr; Size = the pair's index.</summary>
    ProbeRegs = 16,
    /// <summary>
    /// The locked update just before on this CPU and thread, again once its instruction has run (blob 1.7's
    /// KEDR_EV_LOCKED_DONE site): Pc, Addr, Size as its <see cref="LockedUpdate"/>. Not an access; the
    /// acquire side of the update for the race detector (docs/races.md).
    /// </summary>
    LockedDone = 17,
}

/// <summary>KEDR_SYNC_*: the Size of Acquire/Release records.</summary>
public enum TraceSyncMode : uint { Exclusive = 0, Shared = 1 }

/// <summary>
/// KEDR_SIGNAL_*: the Size of Signal records. HandOff: ordered before the waits on Addr (or the entries of the
/// function at Addr); Publish: an object made visible to other tasks, Addr inside it (docs/races.md, "Publication").
/// </summary>
public enum TraceSignalMode : uint { HandOff = 0, Publish = 1 }

/// <summary>
/// KEDR_WAIT_*: the Size of Wait records. HandOff: ordered after the signals on Addr; CallbackEnd: ordered after
/// the ends of the runs of the callback at Addr (cancel_work_sync, timer_delete_sync...: docs/races.md, "Hand-off to a callback").
/// </summary>
public enum TraceWaitMode : uint { HandOff = 0, CallbackEnd = 1 }

/// <summary>
/// KEDR_REC_F_*: the flags byte of a memory record (0 in records of recorders before it, where the byte was reserved).
/// PerCpu: a %gs-relative access (the blob's KEDR_SITE_GS), one instruction on this CPU's copy of per-CPU data; the
/// address includes the CPU's GS base. OwnTask: the address is inside the running task's <c>struct task_struct</c>
/// (<c>current</c>; the interrupted task's in an interrupt). The race detector's uses: docs/races.md, "Per-CPU data", "Tasks".
/// </summary>
[Flags]
public enum TraceRecordFlags : byte { None = 0, PerCpu = 0x1, OwnTask = 0x2 }

/// <summary>KEDR_CTX_*: what the CPU was doing when the event happened.</summary>
public enum TraceContext : byte { Task = 0, SoftIrq = 1, HardIrq = 2, Nmi = 3 }
