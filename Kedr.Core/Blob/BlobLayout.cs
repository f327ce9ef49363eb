namespace Kedr.Core.Blob;

/// <summary>
/// Where every field of every blob record sits: the one C# description of the structs of
/// <c>kmod/kedr_blob.h</c>, used by <see cref="BlobWriter"/> and <see cref="BlobReader"/> (no other code
/// writes a blob offset or size as a number). One nested class per C struct, named by
/// <see cref="CStructAttribute"/>; in it, <c>Size</c> is the struct's <c>sizeof</c> and each field's offset is a
/// constant named by <see cref="CFieldAttribute"/> with its width. Constants, so the writer's stores compile to
/// fixed displacements. BlobLayoutTests compiles the header and checks every one of them, both ways.
/// </summary>
public static class BlobLayout
{
    /// <summary><c>struct kedr_blob_header</c>; the table descriptors end it.</summary>
    [CStruct("kedr_blob_header")]
    public static class Header
    {
        [CField("magic", 8)] public const int Magic = 0;
        [CField("version_major", 2)] public const int VersionMajor = 8;
        [CField("version_minor", 2)] public const int VersionMinor = 10;
        [CField("header_size", 4)] public const int HeaderSize = 12;
        [CField("blob_size", 4)] public const int BlobSize = 16;
        [CField("flags", 4)] public const int Flags = 20;
        [CField("target_name", 4)] public const int TargetName = 24;
        [CField("target_srcversion", 4)] public const int TargetSrcVersion = 28;
        [CField("target_num_symtab", 4)] public const int TargetNumSymtab = 32;
        [CField("target_build_id_len", 4)] public const int TargetBuildIdLength = 36;
        [CField("target_build_id", BlobFormat.BuildIdMax)] public const int TargetBuildId = 40;
        [CField("code_align", 4)] public const int CodeAlign = 60;
        [CField("num_tables", 4)] public const int NumTables = 64;
        [CField("tables", BlobFormat.TableCount * Table.Size)] public const int Tables = 68;
        /// <summary>The header of this version: <see cref="BlobFormat.TableCount"/> descriptors.</summary>
        public const int Size = Tables + BlobFormat.TableCount * Table.Size;
        /// <summary>The header of a 1.0 blob, the smallest a reader takes.</summary>
        public const int SizeV1 = Tables + BlobFormat.TableCountV1 * Table.Size;

        /// <summary>Where the descriptor of table <paramref name="id"/> is.</summary>
        public static int TableAt(int id) => Tables + id * Table.Size;
        public static int TableAt(BlobTableId id) => TableAt((int)id);
    }

    /// <summary><c>struct kedr_blob_table</c>: a table descriptor.</summary>
    [CStruct("kedr_blob_table")]
    public static class Table
    {
        [CField("offset", 4)] public const int Offset = 0;
        [CField("count", 4)] public const int Count = 4;
        [CField("entsize", 4)] public const int EntrySize = 8;
        [CField("reserved", 4)] public const int Reserved = 12;
        public const int Size = 16;
    }

    [CStruct("kedr_blob_func")]
    public static class Function
    {
        [CField("name", 4)] public const int Name = 0;
        [CField("symidx", 4)] public const int SymbolIndex = 4;
        [CField("size", 4)] public const int OriginalSize = 8;
        [CField("copy_offset", 4)] public const int CopyOffset = 12;
        [CField("copy_size", 4)] public const int CopySize = 16;
        [CField("mask_first", 4)] public const int MaskFirst = 20;
        [CField("mask_count", 4)] public const int MaskCount = 24;
        [CField("flags", 4)] public const int Flags = 28;
        [CField("digest", 8)] public const int Digest = 32;
        [CField("owner", 4)] public const int Owner = 40;
        [CField("reserved", 4)] public const int Reserved = 44;
        public const int Size = 48;
    }

    [CStruct("kedr_blob_mask")]
    public static class Mask
    {
        [CField("offset", 4)] public const int Offset = 0;
        [CField("length", 4)] public const int Length = 4;
        public const int Size = 8;
    }

    [CStruct("kedr_blob_fixup")]
    public static class Fixup
    {
        [CField("offset", 4)] public const int Offset = 0;
        [CField("type", 1)] public const int Type = 4;
        [CField("target", 1)] public const int Target = 5;
        [CField("reserved", 2)] public const int Reserved = 6;
        [CField("index", 4)] public const int Index = 8;
        [CField("reserved2", 4)] public const int Reserved2 = 12;
        [CField("addend", 8)] public const int Addend = 16;
        public const int Size = 24;
    }

    [CStruct("kedr_blob_site")]
    public static class Site
    {
        [CField("func", 4)] public const int Function = 0;
        [CField("offset", 4)] public const int Offset = 4;
        [CField("kind", 1)] public const int Kind = 8;
        [CField("flags", 1)] public const int Flags = 9;
        [CField("size", 2)] public const int AccessSize = 10;
        public const int Size = 12;
    }

    [CStruct("kedr_blob_patch")]
    public static class Patch
    {
        [CField("copy_offset", 4)] public const int CopyOffset = 0;
        [CField("func", 4)] public const int Function = 4;
        [CField("orig_offset", 4)] public const int OriginalOffset = 8;
        [CField("length", 2)] public const int Length = 12;
        [CField("slot_length", 2)] public const int SlotLength = 14;
        [CField("kind", 1)] public const int Kind = 16;
        [CField("reserved", 3)] public const int Reserved = 17;
        [CField("target_copy_offset", 4)] public const int TargetCopyOffset = 20;
        public const int Size = 24;
    }

    [CStruct("kedr_blob_extable")]
    public static class ExTable
    {
        [CField("insn_copy", 4)] public const int InsnCopy = 0;
        [CField("fixup_copy", 4)] public const int FixupCopy = 4;
        [CField("fixup_symidx", 4)] public const int FixupSymbol = 8;
        [CField("data", 4)] public const int Data = 12;
        [CField("fixup_addend", 8)] public const int FixupAddend = 16;
        public const int Size = 24;
    }

    [CStruct("kedr_blob_bug")]
    public static class Bug
    {
        [CField("copy_offset", 4)] public const int CopyOffset = 0;
        [CField("file_symidx", 4)] public const int FileSymbol = 4;
        [CField("file_addend", 8)] public const int FileAddend = 8;
        [CField("line", 2)] public const int Line = 16;
        [CField("flags", 2)] public const int Flags = 18;
        [CField("reserved", 4)] public const int Reserved = 20;
        public const int Size = 24;
    }

    /// <summary><c>struct kedr_blob_orc</c>: <see cref="Entry"/> is the 6 bytes of the kernel's struct orc_entry.</summary>
    [CStruct("kedr_blob_orc")]
    public static class Orc
    {
        [CField("copy_offset", 4)] public const int CopyOffset = 0;
        [CField("entry", EntryLength)] public const int Entry = 4;
        [CField("reserved", 2)] public const int Reserved = 10;
        public const int EntryLength = 6;
        public const int Size = 12;
    }

    /// <summary><c>struct kedr_blob_import</c> (1.4): a kernel function the copies call through a stub.</summary>
    [CStruct("kedr_blob_import")]
    public static class Import
    {
        [CField("name", 4)] public const int Name = 0;
        [CField("symidx", 4)] public const int SymbolIndex = 4;
        [CField("stub_offset", 4)] public const int StubOffset = 8;
        [CField("flags", 4)] public const int Flags = 12;
        public const int Size = 16;
    }

    /// <summary><c>struct kedr_blob_call</c> (1.4): a call of the copies to an import's stub.</summary>
    [CStruct("kedr_blob_call")]
    public static class Call
    {
        [CField("ret_offset", 4)] public const int ReturnOffset = 0;
        [CField("func", 4)] public const int Function = 4;
        [CField("orig_offset", 4)] public const int OriginalOffset = 8;
        [CField("import", 4)] public const int Import = 12;
        public const int Size = 16;
    }

    /// <summary><c>struct kedr_blob_probe</c> (1.5): a probe and its helper call in the copy.</summary>
    [CStruct("kedr_blob_probe")]
    public static class Probe
    {
        [CField("func", 4)] public const int Function = 0;
        [CField("offset", 4)] public const int Offset = 4;
        [CField("copy_offset", 4)] public const int CopyOffset = 8;
        [CField("site", 4)] public const int Site = 12;
        [CField("length", 2)] public const int Length = 16;
        [CField("reserved", 2)] public const int Reserved = 18;
        public const int Size = 20;
    }

    /// <summary>The one entry of <see cref="BlobTableId.Checksum"/>: a <c>__le32</c> CRC-32C.</summary>
    public static class Checksum
    {
        public const int Size = sizeof(uint);
    }

    /// <summary>Where the writer starts each table of entries: a multiple of this.</summary>
    public const int TableAlign = 8;
    /// <summary>The writer aligns the code image to <see cref="Header.CodeAlign"/> but at least to this.</summary>
    public const int MinCodeAlign = 16;

    /// <summary>Tables of bytes (<see cref="BlobTableId.Strings"/>, <see cref="BlobTableId.Code"/>) have entries of this size, exactly.</summary>
    public const int ByteEntrySize = 1;

    /// <summary>
    /// The smallest entry size a reader takes for each table (its struct's size; a newer minor version may
    /// make entries longer), indexed by <see cref="BlobTableId"/>; what this version writes.
    /// </summary>
    public static ReadOnlySpan<int> EntrySizes =>
    [
        ByteEntrySize, Function.Size, Mask.Size, Fixup.Size, Site.Size, Patch.Size, ByteEntrySize,
        ExTable.Size, Bug.Size, Orc.Size, Checksum.Size, Import.Size, Call.Size, Probe.Size,
    ];

    /// <summary>Is table <paramref name="id"/> one of bytes (entry size exactly <see cref="ByteEntrySize"/>)?</summary>
    public static bool IsByteTable(int id) => id is (int)BlobTableId.Strings or (int)BlobTableId.Code;
}
