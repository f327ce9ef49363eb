using Kedr.Core.Blob;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Emission;

/// <summary>
/// The copies' ORC entries: the original's unwind state at each instruction, the stack offset moved by
/// what our sequences have pushed. Written as the bytes are, since each push changes the state.
/// </summary>
internal sealed partial class CopyEmitter
{
    private readonly OrcStates _orc;
    private ulong _orcBase;
    private readonly bool _hasOrc;
    /// <summary>The blob leaves a helper call's two ORC entries to the loader (<see cref="BlobHeaderFlags.CallOrc"/>).</summary>
    private readonly bool _loaderAddsCallOrc;
    /// <summary>The last entry of <c>blob.Orc</c> (offset -1: none), kept apart from the list for the per-instruction check.</summary>
    private int _lastOrcOffset = -1;
    private ulong _lastOrcEntry;

    /// <summary>From <paramref name="pos"/> on, the stack is as before the original instruction at (section, origin); section -1: no code.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void OrcBase(int pos, int section, long origin)
    {
        if (!_hasOrc) return;
        _orcBase = section < 0 ? OrcStates.Undefined : _orc.StateAt(section, origin);
        AddOrc(pos, _orcBase);
    }

    /// <summary>
    /// From <paramref name="pos"/> on, our sequence has <paramref name="depth"/> bytes pushed. Entries
    /// go straight to the blob: a later one at the same offset replaces the earlier, and one equal to
    /// its predecessor is not repeated.
    /// </summary>
    private void OrcDepth(int pos, int depth)
    {
        if (!_hasOrc) return;
        AddOrc(pos, OrcStates.Adjust(_orcBase, depth));
    }

    /// <summary>
    /// <see cref="OrcDepth"/> where <paramref name="pos"/> is past every entry so far (inside an event sequence, after
    /// the instruction's own entry): never one to replace, so the entry is added inline unless it repeats the last.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void OrcDepthAfter(int pos, int depth)
    {
        if (!_hasOrc) return;
        ulong entry = OrcStates.Adjust(_orcBase, depth);
        if (_lastOrcEntry == entry && _lastOrcOffset >= 0) return;
        System.Diagnostics.Debug.Assert(pos > _lastOrcOffset);
        _blob.Orc.Add(new BlobOrc((uint)pos, entry));
        (_lastOrcOffset, _lastOrcEntry) = (pos, entry);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void AddOrc(int pos, ulong entry)
    {
        // Most calls: the same state as the entry before, at another offset (what AddOrcSlow would skip too).
        if (_lastOrcOffset != pos && _lastOrcOffset >= 0 && _lastOrcEntry == entry) return;
        AddOrcSlow(pos, entry);
    }

    private void AddOrcSlow(int pos, ulong entry)
    {
        var list = _blob.Orc;
        if (_lastOrcOffset == pos)
        {
            list.RemoveAt(list.Count - 1);
            (_lastOrcOffset, _lastOrcEntry) = list.Count > 0 ? ((int)list[^1].CopyOffset, list[^1].Entry) : (-1, 0UL);
        }
        if (_lastOrcOffset >= 0 && _lastOrcEntry == entry) return;
        list.Add(new BlobOrc((uint)pos, entry));
        (_lastOrcOffset, _lastOrcEntry) = (pos, entry);
    }

    /// <summary>
    /// ORC for plain instructions [<paramref name="first"/>, <paramref name="end"/>) copied as one stretch
    /// from <paramref name="pos"/>: what <see cref="OrcBase"/> at each would give, visiting only the
    /// instructions where the original's state changes.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void OrcRun(FunctionPlan plan, int first, int end, int pos)
    {
        int section = plan.Function.Section.Index;
        var offsets = plan.Offsets;
        int origin = offsets[first];
        OrcBase(pos, section, origin);
        int k = first;
        for (long change = _orc.NextChange(); ;)
        {
            while (k < end && offsets[k] < change) k++;
            if (k == end) return;
            OrcBase(pos + offsets[k] - origin, section, offsets[k]);
            change = _orc.NextChange();
        }
    }
}
