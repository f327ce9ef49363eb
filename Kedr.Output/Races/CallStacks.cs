namespace Kedr.Output.Races;

/// <summary>
/// Call stacks rebuilt from entry/exit events, interned as nodes of one call tree so that an access
/// keeps its whole stack in one int. Node 0 is the empty stack. Past <see cref="Capacity"/> nodes,
/// new paths are not interned: a call then stays on its caller's node (its stack is shown
/// truncated at the caller, marked <see cref="Truncated"/>).
/// </summary>
public sealed class CallStacks
{
    public const int Root = 0;

    private readonly List<(int Parent, ulong Function, int Depth)> _nodes = [(-1, 0, 0)];
    private readonly Dictionary<(int, ulong), int> _children = [];

    public CallStacks(int capacity = 1 << 20) => Capacity = capacity;

    public int Capacity { get; }
    public int Count => _nodes.Count;
    /// <summary>Calls that were not interned because the tree was full.</summary>
    public long Truncated { get; private set; }

    /// <summary>The stack after entering <paramref name="function"/> from <paramref name="node"/>.</summary>
    public int Enter(int node, ulong function)
    {
        if (_children.TryGetValue((node, function), out int child)) return child;
        if (_nodes.Count >= Capacity) { Truncated++; return node; }
        child = _nodes.Count;
        _nodes.Add((node, function, _nodes[node].Depth + 1));
        _children[(node, function)] = child;
        return child;
    }

    /// <summary>
    /// The stack after <paramref name="function"/> returns: the caller of its innermost frame. An exit
    /// with no matching frame (the trace began inside the call, or events were lost) leaves the stack as it is.
    /// </summary>
    public int Exit(int node, ulong function)
    {
        for (int n = node; n > Root; n = _nodes[n].Parent)
            if (_nodes[n].Function == function) return _nodes[n].Parent;
        return node;
    }

    public int Depth(int node) => _nodes[node].Depth;

    /// <summary>The functions' entry addresses, innermost first.</summary>
    public IReadOnlyList<ulong> Frames(int node)
    {
        var l = new List<ulong>();
        for (int n = node; n > Root; n = _nodes[n].Parent) l.Add(_nodes[n].Function);
        return l;
    }
}
