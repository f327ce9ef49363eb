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
        _data = data;
        _position = start;
        _end = end;
    }

    public override int ReadByte() => _position < _end ? _data[_position++] : -1;
}
