using Kedr.Core.Blob;

namespace Kedr.Output;

/// <summary>
/// Where every field of the binary trace sits: the one C# description of the structs of
/// <c>kmod/kedr_record.h</c>, used by <see cref="TraceReader"/> (no other code writes a trace offset or
/// size as a number). One nested class per C struct, named by <see cref="CStructAttribute"/>; in it,
/// <c>Size</c> is the struct's <c>sizeof</c> and each field's offset is a constant named by
/// <see cref="CFieldAttribute"/> with its width, as <see cref="BlobLayout"/> does for the blob.
/// TraceLayoutTests compiles the header and checks every one of them, both ways.
/// </summary>
public static class TraceLayout
{
    /// <summary><c>struct kedr_trace_header</c>: the start of the stream.</summary>
    [CStruct("kedr_trace_header")]
    public static class Header
    {
        [CField("magic", MagicLength)] public const int Magic = 0;
        [CField("version", 2)] public const int Version = 8;
        [CField("header_size", 2)] public const int HeaderSize = 10;
        [CField("record_size", 2)] public const int RecordSize = 12;
        [CField("reserved", 2)] public const int Reserved = 14;
        [CField("target", TraceFormat.NameLength)] public const int Target = 16;
        [CField("target_core_base", 8)] public const int TargetCoreBase = 72;
        /// <summary>The header of this version; a larger header_size is skipped over.</summary>
        public const int Size = 80;

        /// <summary>The width of <see cref="Magic"/>: <c>KEDR_TRACE_MAGIC</c> without its NUL.</summary>
        public const int MagicLength = 8;
    }

    /// <summary><c>struct kedr_record</c>: one event.</summary>
    [CStruct("kedr_record")]
    public static class Record
    {
        [CField("ts", 8)] public const int Timestamp = 0;
        [CField("pc", 8)] public const int Pc = 8;
        [CField("addr", 8)] public const int Address = 16;
        [CField("seq", 4)] public const int Seq = 24;
        [CField("tid", 4)] public const int Tid = 28;
        [CField("size", 4)] public const int AccessSize = 32;
        [CField("site", 4)] public const int Site = 36;
        [CField("kind", 1)] public const int Kind = 40;
        [CField("cpu_low", 1)] public const int CpuLow = 41;
        [CField("context", 1)] public const int Context = 42;
        /// <summary>log2 of the running task's stack size when the address is inside that stack, else 0.</summary>
        [CField("stack_order", 1)] public const int StackOrder = 43;
        /// <summary>KEDR_REC_F_* (<see cref="TraceRecordFlags"/>); 0 in records of recorders before them (the byte was reserved).</summary>
        [CField("flags", 1)] public const int Flags = 44;
        [CField("reserved", 3)] public const int Reserved = 45;
        /// <summary>The record of this version; a larger record_size has its tail skipped.</summary>
        public const int Size = 48;
    }

    /// <summary>
    /// <c>struct kedr_record_file</c>: in a <c>kedr record</c> file, right after <see cref="Header"/> and inside
    /// its header_size; <see cref="RecordCpu"/> entries follow it, then the records, then at
    /// <see cref="FuncsOffset"/> the <see cref="RecordFuncs"/> table.
    /// </summary>
    [CStruct("kedr_record_file")]
    public static class RecordFile
    {
        [CField("magic", MagicLength)] public const int Magic = 0;
        [CField("nr_cpus", 4)] public const int CpuCount = 8;
        [CField("flags", 4)] public const int Flags = 12;
        [CField("written", 8)] public const int Written = 16;
        [CField("recorded", 8)] public const int Recorded = 24;
        [CField("dropped", 8)] public const int Dropped = 32;
        [CField("funcs_offset", 8)] public const int FuncsOffset = 40;
        public const int Size = 48;
        /// <summary>The struct in version 1 of the file ("KEDRREC1"): without <see cref="FuncsOffset"/>.</summary>
        public const int SizeV1 = 40;

        /// <summary>The width of <see cref="Magic"/>: <c>KEDR_RECORD_FILE_MAGIC</c> without its NUL.</summary>
        public const int MagicLength = 8;
    }

    /// <summary><c>struct kedr_record_cpu</c>: one CPU's counts in a <c>kedr record</c> file.</summary>
    [CStruct("kedr_record_cpu")]
    public static class RecordCpu
    {
        [CField("written", 8)] public const int Written = 0;
        [CField("recorded", 8)] public const int Recorded = 8;
        [CField("dropped", 8)] public const int Dropped = 16;
        public const int Size = 24;
    }

    /// <summary>
    /// <c>struct kedr_record_funcs</c>: in a <c>kedr record</c> file at <see cref="RecordFile.FuncsOffset"/>, after
    /// the records: <see cref="RecordFunc"/> entries follow, then the names.
    /// </summary>
    [CStruct("kedr_record_funcs")]
    public static class RecordFuncs
    {
        [CField("magic", MagicLength)] public const int Magic = 0;
        [CField("nr_funcs", 4)] public const int FunctionCount = 8;
        [CField("names_size", 4)] public const int NamesSize = 12;
        public const int Size = 16;

        /// <summary>The width of <see cref="Magic"/>: <c>KEDR_RECORD_FUNCS_MAGIC</c> without its NUL.</summary>
        public const int MagicLength = 8;
    }

    /// <summary><c>struct kedr_record_func</c>: one function's drops in a <c>kedr record</c> file.</summary>
    [CStruct("kedr_record_func")]
    public static class RecordFunc
    {
        [CField("dropped", 8)] public const int Dropped = 0;
        [CField("symidx", 4)] public const int SymbolIndex = 8;
        [CField("name", 4)] public const int Name = 12;
        public const int Size = 16;
    }
}
