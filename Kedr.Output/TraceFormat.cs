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

    /// <summary>The numeric #defines of kedr_record.h.</summary>
    public static IReadOnlyDictionary<string, ulong> Constants { get; } = new Dictionary<string, ulong>
    {
        ["KEDR_TRACE_VERSION"] = Version,
        ["KEDR_TRACE_NAME_LEN"] = NameLength,
        ["KEDR_CTX_TASK"] = (ulong)TraceContext.Task,
        ["KEDR_CTX_SOFTIRQ"] = (ulong)TraceContext.SoftIrq,
        ["KEDR_CTX_HARDIRQ"] = (ulong)TraceContext.HardIrq,
        ["KEDR_CTX_NMI"] = (ulong)TraceContext.Nmi,
        // Records without a site (kedr_payload.h, the indirect-branch stubs).
        ["KEDR_REC_NO_SITE"] = NoSite,
        ["KEDR_REC_INDIRECT"] = (ulong)TraceEventKind.Indirect,
        ["KEDR_REC_ACQUIRE"] = 9,
        ["KEDR_REC_RELEASE"] = 10,
        ["KEDR_REC_SIGNAL"] = 11,
        ["KEDR_REC_WAIT"] = 12,
        ["KEDR_REC_ALLOC"] = (ulong)TraceEventKind.Alloc,
        ["KEDR_REC_FREE"] = (ulong)TraceEventKind.Free,
        ["KEDR_REC_PROBE"] = 15,
        ["KEDR_SYNC_EXCLUSIVE"] = 0,
        ["KEDR_SYNC_SHARED"] = 1,
    };

    /// <summary><c>KEDR_REC_NO_SITE</c>: the site of a record made without one (its pc is the original's already).</summary>
    public const uint NoSite = 0xffffffff;

    /// <summary>The string #defines of kedr_record.h.</summary>
    public static IReadOnlyDictionary<string, string> Strings { get; } = new Dictionary<string, string>
    {
        ["KEDR_TRACE_MAGIC"] = MagicText,
    };
}

/// <summary>
/// enum kedr_event_kind as it appears in records (kedr_blob.h); never READ_WRITE or STRING. From 8 on, the
/// KEDR_REC_* kinds of kedr_record.h, recorded without a site: an indirect branch (Addr = its destination), an
/// allocation or a free a payload reported (Addr = the block).
/// </summary>
public enum TraceEventKind : byte { Entry = 1, Exit = 2, Read = 3, Write = 4, LockedUpdate = 5, Indirect = 8, Alloc = 13, Free = 14 }

/// <summary>KEDR_CTX_*: what the CPU was doing when the event happened.</summary>
public enum TraceContext : byte { Task = 0, SoftIrq = 1, HardIrq = 2, Nmi = 3 }
