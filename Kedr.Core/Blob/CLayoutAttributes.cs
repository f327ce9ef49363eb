namespace Kedr.Core.Blob;

/// <summary>The C struct of kedr_blob.h a <see cref="BlobLayout"/> class describes.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class CStructAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>The C field (name, <c>sizeof</c>) whose <c>offsetof</c> a <see cref="BlobLayout"/> constant holds.</summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class CFieldAttribute(string name, int size) : Attribute
{
    public string Name { get; } = name;
    public int Size { get; } = size;
}
