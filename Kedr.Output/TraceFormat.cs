namespace Kedr.Output;

/// <summary>
/// The binary trace (<c>/sys/kernel/debug/kedr_sample/trace</c>); the definition is
/// <c>kmod/kedr_record.h</c>. Offsets and sizes of every field of the two structs, as the
/// reader uses them; <c>TraceFormatLayoutTests</c> compiles the header and compares.
/// </summary>
public static class TraceFormat
{
    public static ReadOnlySpan<byte> Magic => "KEDRTRC1"u8;
    public const string MagicText = "KEDRTRC1";
    public const ushort Version = 1;
    public const int NameLength = 56;

    /// <summary>sizeof(struct kedr_trace_header) of this version; a larger header_size is skipped over.</summary>
    public const int HeaderSize = 80;
    /// <summary>sizeof(struct kedr_record) of this version; a larger record_size has its tail skipped.</summary>
    public const int RecordSize = 48;

    // struct kedr_trace_header
    public const int HeaderMagic = 0, HeaderVersion = 8, HeaderHeaderSize = 10, HeaderRecordSize = 12,
        HeaderReserved = 14, HeaderTarget = 16, HeaderTargetCoreBase = 72;

    // struct kedr_record
    public const int RecordTs = 0, RecordPc = 8, RecordAddr = 16, RecordSeq = 24, RecordTid = 28,
        RecordSizeField = 32, RecordSite = 36, RecordKind = 40, RecordCpuLow = 41, RecordContext = 42,
        RecordReserved = 43;

    /// <summary>Every field as (C struct, C field, offset, size): what the layout test checks.</summary>
    public static IReadOnlyList<(string Struct, string Field, int Offset, int Size)> Fields { get; } =
    [
        ("kedr_trace_header", "magic", HeaderMagic, 8),
        ("kedr_trace_header", "version", HeaderVersion, 2),
        ("kedr_trace_header", "header_size", HeaderHeaderSize, 2),
        ("kedr_trace_header", "record_size", HeaderRecordSize, 2),
        ("kedr_trace_header", "reserved", HeaderReserved, 2),
        ("kedr_trace_header", "target", HeaderTarget, NameLength),
        ("kedr_trace_header", "target_core_base", HeaderTargetCoreBase, 8),
        ("kedr_record", "ts", RecordTs, 8),
        ("kedr_record", "pc", RecordPc, 8),
        ("kedr_record", "addr", RecordAddr, 8),
        ("kedr_record", "seq", RecordSeq, 4),
        ("kedr_record", "tid", RecordTid, 4),
        ("kedr_record", "size", RecordSizeField, 4),
        ("kedr_record", "site", RecordSite, 4),
        ("kedr_record", "kind", RecordKind, 1),
        ("kedr_record", "cpu_low", RecordCpuLow, 1),
        ("kedr_record", "context", RecordContext, 1),
        ("kedr_record", "reserved", RecordReserved, 5),
    ];

    /// <summary>sizeof of each struct.</summary>
    public static IReadOnlyDictionary<string, int> StructSizes { get; } = new Dictionary<string, int>
    {
        ["kedr_trace_header"] = HeaderSize,
        ["kedr_record"] = RecordSize,
    };

    /// <summary>The numeric #defines of kedr_record.h.</summary>
    public static IReadOnlyDictionary<string, ulong> Constants { get; } = new Dictionary<string, ulong>
    {
        ["KEDR_TRACE_VERSION"] = Version,
        ["KEDR_TRACE_NAME_LEN"] = NameLength,
        ["KEDR_CTX_TASK"] = (ulong)TraceContext.Task,
        ["KEDR_CTX_SOFTIRQ"] = (ulong)TraceContext.SoftIrq,
        ["KEDR_CTX_HARDIRQ"] = (ulong)TraceContext.HardIrq,
        ["KEDR_CTX_NMI"] = (ulong)TraceContext.Nmi,
    };

    /// <summary>The string #defines of kedr_record.h.</summary>
    public static IReadOnlyDictionary<string, string> Strings { get; } = new Dictionary<string, string>
    {
        ["KEDR_TRACE_MAGIC"] = MagicText,
    };
}

/// <summary>enum kedr_event_kind as it appears in records (kedr_blob.h); never READ_WRITE or STRING.</summary>
public enum TraceEventKind : byte { Entry = 1, Exit = 2, Read = 3, Write = 4, LockedUpdate = 5 }

/// <summary>KEDR_CTX_*: what the CPU was doing when the event happened.</summary>
public enum TraceContext : byte { Task = 0, SoftIrq = 1, HardIrq = 2, Nmi = 3 }
