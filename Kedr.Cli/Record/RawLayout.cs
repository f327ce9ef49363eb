using Kedr.Core.Blob;

namespace Kedr.Cli.Record;

/// <summary>
/// The mapped reading of <c>per_cpu/cpuN/raw</c>: the one C# description of <c>kmod/kedr_raw.h</c> (its structs field
/// by field, its ioctl numbers and flags), used by <see cref="RawStream"/>. Native-endian: the structs only cross
/// ioctl(2). RawLayoutTests compiles the header and checks every one of them, both ways.
/// </summary>
internal static class RawLayout
{
    /// <summary><c>struct kedr_raw_info</c>: KEDR_RAW_IOC_INFO's answer, the ring's geometry.</summary>
    [CStruct("kedr_raw_info")]
    public static class Info
    {
        [CField("record_size", 4)] public const int RecordSize = 0;
        [CField("nr_records", 4)] public const int NrRecords = 4;
        [CField("map_size", 8)] public const int MapSize = 8;
        public const int Size = 16;
    }

    /// <summary><c>struct kedr_raw_span</c>: KEDR_RAW_IOC_GET's answer, KEDR_RAW_IOC_PUT's question.</summary>
    [CStruct("kedr_raw_span")]
    public static class Span
    {
        [CField("pos", 8)] public const int Pos = 0;
        [CField("index", 4)] public const int Index = 8;
        [CField("count", 4)] public const int Count = 12;
        [CField("flags", 4)] public const int Flags = 16;
        [CField("reserved", 4)] public const int Reserved = 20;
        public const int Size = 24;
    }

    /// <summary>KEDR_RAW_TORN (PUT's flags): the copy may be torn, the cursor stayed.</summary>
    public const uint Torn = 0x1;

    /// <summary>The ioctl numbers: _IOR/_IOWR('k', 0x40..0x42, the struct).</summary>
    public const uint IocInfo = 0x80106b40, IocGet = 0xc0186b41, IocPut = 0xc0186b42;

    /// <summary>Every constant of kedr_raw.h by its C name, for the layout test.</summary>
    public static IReadOnlyDictionary<string, ulong> Constants { get; } = new Dictionary<string, ulong>
    {
        ["KEDR_RAW_TORN"] = Torn,
        ["KEDR_RAW_IOC_INFO"] = IocInfo,
        ["KEDR_RAW_IOC_GET"] = IocGet,
        ["KEDR_RAW_IOC_PUT"] = IocPut,
    };
}
