namespace Kedr.Rewriter.Tests.Validation;

public enum PlaceKind : byte
{
    /// <summary>A byte of the original module: (section index, offset in the section).</summary>
    Original,
    /// <summary>A byte of the blob's code image: (image offset).</summary>
    Image,
    /// <summary>An undefined symbol of the module (a kernel symbol): name + addend.</summary>
    External,
    /// <summary>A loader helper: helper id + addend.</summary>
    Helper,
    /// <summary>An <c>SHN_ABS</c> value.</summary>
    Absolute,
}

/// <summary>
/// A location in the validator's one symbolic address space. Two places are the same
/// address at run time exactly when they are equal: sections are placed by the kernel
/// as a whole, undefined symbols are bound by name, the image is placed as a whole.
/// </summary>
public readonly record struct Place(PlaceKind Kind, int Section, long Offset, string? Name = null)
{
    public static Place Original(int section, long offset) => new(PlaceKind.Original, section, offset);
    public static Place Image(long offset) => new(PlaceKind.Image, -1, offset);
    public static Place External(string name, long addend) => new(PlaceKind.External, -1, addend, name);
    public static Place Helper(int id, long addend) => new(PlaceKind.Helper, id, addend);
    public static Place Absolute(long value) => new(PlaceKind.Absolute, -1, value);

    public Place Plus(long delta) => this with { Offset = Offset + delta };
}
