namespace Kedr.Rewriter.Encoders;

/// <summary>
/// A growing run of machine-code bytes that encoders write straight into: <see cref="Reserve"/> room for
/// the longest encoding, write it, <see cref="Advance"/> by what was written (no per-byte calls, no copy
/// through a temporary).
/// </summary>
internal sealed class CodeBuffer(int capacity)
{
    private byte[] _bytes = new byte[capacity];

    public int Count { get; private set; }

    /// <summary>At least <paramref name="length"/> bytes after <see cref="Count"/>, for the caller to write.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public Span<byte> Reserve(int length)
    {
        if (Count + length > _bytes.Length) Grow(length);
        return _bytes.AsSpan(Count, length);
    }

    private void Grow(int length) => Array.Resize(ref _bytes, Math.Max(Count + length, 2 * _bytes.Length));

    /// <summary>Keeps <paramref name="written"/> bytes of what <see cref="Reserve"/> gave.</summary>
    public void Advance(int written) => Count += written;

    /// <summary>The low <paramref name="length"/> bytes of <paramref name="value"/>, little-endian, by one 8-byte store.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void AppendUInt64(ulong value, int length)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(Reserve(sizeof(ulong)), value);
        Count += length;
    }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(bytes.Length));
        Count += bytes.Length;
    }

    public ReadOnlySpan<byte> AsSpan(int start, int length) => _bytes.AsSpan(start, length);

    /// <summary>The bytes themselves (the first <see cref="Count"/> written), for a copy by 16-byte moves; not to be written.</summary>
    internal byte[] Bytes => _bytes;

    public void Clear() => Count = 0;
}
