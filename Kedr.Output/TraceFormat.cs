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
    public static ReadOnlySpan<byte> RecordFileMagic => "KEDRREC1"u8;
    public const string RecordFileMagicText = "KEDRREC1";
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
        ["KEDR_RECORD_ENDED"] = RecordEnded,
        ["KEDR_RECORD_INTERRUPTED"] = RecordInterrupted,
    };

    /// <summary>The string #defines of kedr_record.h.</summary>
    public static IReadOnlyDictionary<string, string> Strings { get; } = new Dictionary<string, string>
    {
        ["KEDR_TRACE_MAGIC"] = MagicText,
        ["KEDR_RECORD_FILE_MAGIC"] = RecordFileMagicText,
    };
}

/// <summary>enum kedr_event_kind as it appears in records (kedr_blob.h); never READ_WRITE or STRING.</summary>
public enum TraceEventKind : byte { Entry = 1, Exit = 2, Read = 3, Write = 4, LockedUpdate = 5 }

/// <summary>KEDR_CTX_*: what the CPU was doing when the event happened.</summary>
public enum TraceContext : byte { Task = 0, SoftIrq = 1, HardIrq = 2, Nmi = 3 }
