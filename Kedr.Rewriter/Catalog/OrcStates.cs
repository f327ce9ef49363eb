using Kedr.Core.Elf;

namespace Kedr.Rewriter.Catalog;

/// <summary>
/// The original's ORC unwind state at any instruction, which <see cref="CopyEmitter"/> turns
/// into entries for the copies (moving the stack offset by what its sequences push), so that
/// stack traces taken inside a copy are as reliable as in the original.
/// </summary>
internal sealed class OrcStates
{
    private const int OrcRegSp = 5;

    private readonly OriginalOrc _rows;

    public OrcStates(ElfFile elf) : this(new OriginalOrc(elf)) { }

    public OrcStates(OriginalOrc rows)
    {
        _rows = rows;
        _offsets = rows.Offsets;
    }

    public bool HasData => _rows.HasData;

    /// <summary>The original's entries in code sections: each can start at most one entry of the copies.</summary>
    public int Count => _rows.Count;

    /// <summary>sp_reg UNDEFINED, not an end: an unwinder stopping here reports an error.</summary>
    public const ulong Undefined = 0;

    /// <summary>The entry in effect at (section, offset) of the original.</summary>
    /// <remarks>
    /// Asked for every instruction the emitter does not copy as part of a plain run, mostly a little
    /// after the previous one and before the next change of state: answered inline from the last answer then.
    /// </remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public ulong StateAt(int section, long offset)
    {
        if (section == _lastSection && offset >= _lastOffset && offset < _next)
        {
            _lastOffset = offset;
            return _state;
        }
        return Seek(section, offset);
    }

    private ulong Seek(int section, long offset)
    {
        // Copies are emitted instruction by instruction in address order: step forward from the
        // last answer, and search only when the walk moves to another section or backwards.
        var offsets = _offsets;
        if (section != _lastSection || offset < _lastOffset)
        {
            (_first, _end) = _rows.RowsOf(section);
            int i = Array.BinarySearch(offsets, _first, _end - _first, offset);
            _cursor = i < 0 ? ~i - 1 : i;
            _lastSection = section;
        }
        while (_cursor + 1 < _end && offsets[_cursor + 1] <= offset) _cursor++;
        _lastOffset = offset;
        _next = _cursor + 1 < _end ? offsets[_cursor + 1] : long.MaxValue;
        return _state = _cursor < _first ? Undefined : _rows.Entries[_cursor];
    }

    /// <summary>After <see cref="StateAt"/>: the offset of the next entry of that section (where the state may change next), or long.MaxValue.</summary>
    public long NextChange() => _next;

    private readonly long[] _offsets;
    /// <summary>The rows of the section asked for last ([_first, _end) of <see cref="OriginalOrc"/>'s arrays) and the one in effect.</summary>
    private int _lastSection = -1, _first, _end, _cursor = -1;
    private long _lastOffset;
    /// <summary>The last answer and where it stops holding (<see cref="NextChange"/>).</summary>
    private ulong _state;
    private long _next = long.MinValue;

    /// <summary>Our pushes move the CFA only when it is computed from %rsp.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static ulong Adjust(ulong entry, int depth)
    {
        if (depth == 0 || (int)((entry >> 32) & 0xf) != OrcRegSp) return entry;
        short sp = (short)(entry & 0xffff);
        return (entry & ~0xffffUL) | (ushort)(sp + depth);
    }
}
