namespace Kedr.Core.Dwarf;

/// <summary>A source position: a file (as the line program names it) and a line; column 0 when not known.</summary>
public readonly record struct SourcePosition(string File, uint Line, uint Column = 0)
{
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>
/// The line-number matrix of a module as one sorted array per code section: finding the row for an
/// address is a binary search. Rows at the same address keep the last one of their sequence (the one
/// a debugger stops at); a sequence's end row marks where no line applies until the next sequence.
/// </summary>
public sealed class LineTable
{
    private readonly Dictionary<string, Section> _sections;
    private readonly string[] _files;

    private sealed class Section(ulong[] addresses, int[] rows)
    {
        public readonly ulong[] Addresses = addresses;
        /// <summary>Index in <see cref="LineTable._rows"/>, or -1 for an end of sequence.</summary>
        public readonly int[] Rows = rows;
    }

    private readonly LineRow[] _rows;

    public LineTable(LineProgram.Result program)
    {
        _files = program.Files.ToArray();
        _rows = program.Rows.ToArray();
        var bySection = new Dictionary<string, List<(ulong Address, int Order, int Row)>>(StringComparer.Ordinal);
        for (int i = 0; i < _rows.Length; i++)
        {
            var r = _rows[i];
            var key = r.Address.Section ?? "";
            if (!bySection.TryGetValue(key, out var list)) bySection[key] = list = [];
            list.Add((r.Address.Value, i, r.EndSequence ? -1 : i));
        }
        _sections = new Dictionary<string, Section>(StringComparer.Ordinal);
        foreach (var (name, list) in bySection)
        {
            // By address; at one address an end of sequence first (the next sequence may start there), then rows in program order.
            list.Sort((a, b) => a.Address != b.Address ? a.Address.CompareTo(b.Address)
                : (a.Row < 0) != (b.Row < 0) ? (a.Row < 0 ? -1 : 1) : a.Order.CompareTo(b.Order));
            _sections[name] = new Section(list.Select(x => x.Address).ToArray(), list.Select(x => x.Row).ToArray());
        }
        RowCount = _rows.Length;
    }

    public int RowCount { get; }
    public IReadOnlyList<string> Files => _files;

    /// <summary>The line of the code at <paramref name="offset"/> of code section <paramref name="section"/>
    /// (null: an absolute address), or false if no sequence covers it.</summary>
    public bool TryFind(string? section, ulong offset, out SourcePosition position)
    {
        position = default;
        if (!_sections.TryGetValue(section ?? "", out var s)) return false;
        int i = UpperBound(s.Addresses, offset) - 1;
        if (i < 0 || s.Rows[i] < 0) return false;
        var row = _rows[s.Rows[i]];
        position = new SourcePosition(_files[row.File], row.Line, row.Column);
        return true;
    }

    /// <summary>The index of the first element greater than <paramref name="value"/>.</summary>
    private static int UpperBound(ulong[] a, ulong value)
    {
        int lo = 0, hi = a.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (a[mid] <= value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
