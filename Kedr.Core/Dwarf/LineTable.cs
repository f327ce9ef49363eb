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

    /// <summary>Sorted by address; at one address an end of sequence first (the next sequence may start
    /// there), then rows in program order, so the last one at an address is the one found.</summary>
    private readonly record struct Entry(ulong Address, int Order, bool End) : IComparable<Entry>
    {
        public int CompareTo(Entry o) => Address != o.Address ? Address.CompareTo(o.Address)
            : End != o.End ? (End ? -1 : 1) : Order.CompareTo(o.Order);
    }

    public LineTable(LineProgram.Result program)
    {
        _files = program.Files.ToArray();
        _rows = program.Rows.ToArray();
        var bySection = new Dictionary<string, List<Entry>>(StringComparer.Ordinal);
        for (int i = 0; i < _rows.Length; i++)
        {
            var r = _rows[i];
            var key = r.Address.Section ?? "";
            if (!bySection.TryGetValue(key, out var list)) bySection[key] = list = [];
            list.Add(new Entry(r.Address.Value, i, r.EndSequence));
        }
        _sections = new Dictionary<string, Section>(StringComparer.Ordinal);
        foreach (var (name, list) in bySection)
        {
            var entries = list.ToArray();
            Array.Sort(entries);
            var addresses = new ulong[entries.Length];
            var rows = new int[entries.Length];
            for (int i = 0; i < entries.Length; i++)
            {
                addresses[i] = entries[i].Address;
                rows[i] = entries[i].End ? -1 : entries[i].Order;
            }
            _sections[name] = new Section(addresses, rows);
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
        if (row.Line == 0) return false; // line 0: code that comes from no line (DWARF 5 §6.2.2)
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
