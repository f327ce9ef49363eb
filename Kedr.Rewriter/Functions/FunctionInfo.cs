using Kedr.Core.Elf;

namespace Kedr.Rewriter.Functions;

/// <summary>A function of the target: one <c>STT_FUNC</c> symbol of an executable section.</summary>
public sealed class FunctionInfo(ElfSymbol symbol, ElfSection section)
{
    public ElfSymbol Symbol { get; } = symbol;
    /// <summary>Position in the catalog.</summary>
    public int Id { get; set; }
    public ElfSection Section { get; } = section;
    public string Name => Symbol.Name;
    public long Start => (long)Symbol.Value;
    public int Size => (int)Symbol.Size;
    public long End => Start + Size;

    /// <summary>The function whose events a <c>.cold</c> part reports; itself otherwise.</summary>
    public FunctionInfo Owner
    {
        get => _owner ?? this;
        set => _owner = ReferenceEquals(value, this) ? null : value;
    }
    /// <summary>Null for a function that is its own owner (most): nothing to set for it.</summary>
    private FunctionInfo? _owner;
    public bool IsPart => _owner is not null;

    /// <summary>Why no copy is made (null if one is).</summary>
    public string? LeftOutReason { get; set; }
    public bool IsCopied => LeftOutReason is null;

    /// <summary>Index in the blob's function table, -1 if left out.</summary>
    public int BlobIndex { get; set; } = -1;

    public bool Contains(int section, long offset) => section == Section.Index && offset >= Start && offset < End;

    /// <summary>The function and its <c>.cold</c> parts: jumps among them are not calls.</summary>
    public bool SameFamily(FunctionInfo other) => ReferenceEquals(Owner, other.Owner);

    public override string ToString() => $"{Name} ({Section.Name}+0x{Start:x}, {Size} bytes)";
}
