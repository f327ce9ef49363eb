using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iced.Intel;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// An Iced <see cref="CodeReader"/> that can be moved to other bytes, so that one
/// <see cref="Decoder"/> (a few kilobytes to create) serves every section of every module a thread rewrites.
/// </summary>
internal sealed class MovableCodeReader : CodeReader
{
    private byte[] _data = [];
    private int _position, _end;

    /// <summary>Reads <paramref name="data"/> from <paramref name="start"/> up to (not including) <paramref name="end"/>.</summary>
    public void MoveTo(byte[] data, int start, int end)
    {
        // ReadByte relies on this: it reads [_position, _end) without a bounds check.
        if ((uint)end > (uint)data.Length || start < 0)
            throw new ArgumentOutOfRangeException(nameof(end), $"[{start}, {end}) is not within {data.Length} bytes");
        _data = data;
        _position = Math.Min(start, end); // past the end: nothing to read
        _end = end;
    }

    /// <remarks>
    /// Iced's decoder calls this for every byte. The NativeAOT build devirtualises those calls (this is the
    /// only reader the program creates) but did not inline them; the hint and the unchecked read make it small.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override int ReadByte()
    {
        int position = _position;
        if (position >= _end) return -1;
        _position = position + 1;
        return Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_data), position);
    }
}
