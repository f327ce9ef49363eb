using Kedr.Core.Elf;

namespace Kedr.Rewriter.Catalog;

/// <summary>
/// A function of the target: one <c>STT_FUNC</c> symbol of an executable section. Read-only once the
/// catalog is built: what the later stages decide about it (left out, blob index) is in their own outputs.
/// </summary>
public sealed class FunctionInfo(ElfSymbol symbol, ElfSection section)
{
    public ElfSymbol Symbol { get; } = symbol;
    /// <summary>Position in the catalog (set by <see cref="FunctionCatalog"/> as it sorts; the later stages' arrays are indexed by it).</summary>
    public int Id { get; internal set; }
    public ElfSection Section { get; } = section;
    public string Name => Symbol.Name;
    public long Start => (long)Symbol.Value;
    public int Size => (int)Symbol.Size;
    public long End => Start + Size;

    /// <summary>The function whose events a <c>.cold</c> part reports; itself otherwise.</summary>
    public FunctionInfo Owner
    {
        get => _owner ?? this;
        internal set => _owner = ReferenceEquals(value, this) ? null : value;
    }
    /// <summary>Null for a function that is its own owner (most): nothing to set for it.</summary>
    private FunctionInfo? _owner;
    public bool IsPart => _owner is not null;

    public bool Contains(int section, long offset) => section == Section.Index && offset >= Start && offset < End;

    /// <summary>The function and its <c>.cold</c> parts: jumps among them are not calls.</summary>
    public bool SameFamily(FunctionInfo other) => ReferenceEquals(Owner, other.Owner);

    public override string ToString() => $"{Name} ({Section.Name}+0x{Start:x}, {Size} bytes)";
}
