namespace Kedr.Core.Elf;

/// <summary>A section header of a relocatable ELF file, with its contents.</summary>
public sealed class ElfSection
{
    internal ElfSection(int index, string name, uint type, ulong flags, ulong offset, ulong size,
        uint link, uint info, ulong alignment, ulong entrySize, ReadOnlyMemory<byte> data)
    {
        Index = index; Name = name; Type = type; Flags = flags; FileOffset = offset; Size = size;
        Link = link; Info = info; Alignment = alignment; EntrySize = entrySize; Data = data;
    }

    public int Index { get; }
    public string Name { get; }
    public uint Type { get; }
    public ulong Flags { get; }
    public ulong FileOffset { get; }
    public ulong Size { get; }
    public uint Link { get; }
    public uint Info { get; }
    public ulong Alignment { get; }
    public ulong EntrySize { get; }

    /// <summary>The bytes in the file; empty for SHT_NOBITS.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>
    /// Whether the file holds all <see cref="Size"/> bytes of the section: not SHT_NOBITS, nor a damaged
    /// SHT_NULL header that keeps a size (its <see cref="Data"/> is empty). Only such code can be decoded.
    /// </summary>
    public bool IsInFile => Type != ElfConstants.ShtNobits && (ulong)Data.Length == Size;

    /// <summary>
    /// Whether <paramref name="size"/> bytes at <paramref name="offset"/> lie inside the section (in two steps:
    /// a huge offset plus a size wraps around).
    /// </summary>
    public bool Holds(ulong offset, ulong size) => offset <= Size && size <= Size - offset;

    public bool IsAlloc => (Flags & ElfConstants.ShfAlloc) != 0;
    public bool IsExecutable => (Flags & ElfConstants.ShfExecInstr) != 0;
    public bool IsWritable => (Flags & ElfConstants.ShfWrite) != 0;

    /// <summary>Sections the kernel loads into the init region and frees after init.</summary>
    public bool IsInit => Name.StartsWith(".init", StringComparison.Ordinal);

    public override string ToString() => $"[{Index}] {Name}";
}
