namespace Kedr.Core.Blob;

/// <summary>
/// A blob in memory: the instrumented copies of one target module and what the loader
/// needs to validate, place and relocate them. <see cref="BlobWriter"/> serialises it,
/// <see cref="BlobReader"/> reads and checks one.
/// </summary>
public sealed class KedrBlob
{
    public required BlobTarget Target { get; init; }
    public uint CodeAlign { get; init; } = 16;
    public ushort VersionMinor { get; init; } = BlobFormat.VersionMinor;
    /// <summary>Header flags; a blob read from a file has what it says, a new one what this version writes.</summary>
    public BlobHeaderFlags Flags { get; init; } = BlobHeaderFlags.WordDigest | BlobHeaderFlags.CallOrc;
    public List<BlobFunction> Functions { get; init; } = [];
    public List<BlobMask> Masks { get; init; } = [];
    public List<BlobFixup> Fixups { get; init; } = [];
    public List<BlobSite> Sites { get; init; } = [];
    public List<BlobPatch> Patches { get; init; } = [];
    public List<BlobExTableEntry> ExTable { get; init; } = [];
    public List<BlobBug> Bugs { get; init; } = [];
    public List<BlobOrc> Orc { get; init; } = [];
    /// <summary>Kernel functions the copies call through stubs (1.4), sorted by stub offset.</summary>
    public List<BlobImport> Imports { get; init; } = [];
    /// <summary>The copies' calls to the stubs (1.4), sorted by return offset.</summary>
    public List<BlobImportCall> Calls { get; init; } = [];
    /// <summary>Probes (1.5), in the order they were asked for: a probe's id is its index.</summary>
    public List<BlobProbe> Probes { get; init; } = [];
    public byte[] Code { get; set; } = [];

    /// <summary>
    /// Its tables now belong to a newer blob (<see cref="BlobBuffers"/>): it must not be written or read.
    /// </summary>
    public bool IsRetired { get; private set; }

    internal void Retire() => IsRetired = true;

    /// <summary>What <see cref="BlobFunction.Digest"/> of <paramref name="f"/> must be, over its original <paramref name="bytes"/>.</summary>
    public ulong DigestOf(in BlobFunction f, ReadOnlySpan<byte> bytes) => BlobFormat.Digest(bytes, MasksOf(f), Flags);

    public ReadOnlySpan<BlobMask> MasksOf(in BlobFunction f) =>
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(Masks).Slice((int)f.MaskFirst, (int)f.MaskCount);
}
