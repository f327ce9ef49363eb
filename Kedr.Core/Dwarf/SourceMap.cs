namespace Kedr.Core.Dwarf;

/// <summary>Where a code address comes from: the line (<see cref="Position"/>) and, innermost first, the
/// chain of functions inlined there (<see cref="Frames"/>; one frame when nothing was inlined).</summary>
public sealed record SourceLocation(SourcePosition Position, IReadOnlyList<SourceFrame> Frames)
{
    /// <summary>The inlined functions with the line each was called from, innermost first: empty when
    /// the code was not inlined.</summary>
    public IEnumerable<SourceFrame> InlinedCallers => Frames.Skip(1);
    public bool IsInlined => Frames.Count > 1;
}

/// <summary>
/// A module's debug information turned into a map from code (section + offset, as the symbolizer
/// places it) to source: the line table and the inlined calls. Paths under the unit's compilation
/// directory are shown relative to it (as a kernel tree's files are), others as written.
/// </summary>
public sealed class SourceMap
{
    private readonly LineTable _lines;
    private readonly InlineScopes? _scopes;
    private readonly HashSet<string> _compDirs;

    private SourceMap(LineTable lines, InlineScopes? scopes, IEnumerable<string> compDirs)
    {
        _lines = lines;
        _scopes = scopes;
        _compDirs = compDirs.Where(d => d.StartsWith('/')).Select(d => d.TrimEnd('/') + "/").ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The source map of <paramref name="dwarf"/>: its line table and, if .debug_info reads, its inlined calls.</summary>
    public static SourceMap Build(DwarfSections dwarf)
    {
        var program = LineProgram.Read(dwarf);
        var table = new LineTable(program);
        InlineScopes? scopes = dwarf.Has(".debug_info") ? new InlineScopes(dwarf, program) : null;
        return new SourceMap(table, scopes, program.CompDirs);
    }

    public int LineRows => _lines.RowCount;
    public int Functions => _scopes?.FunctionCount ?? 0;
    public int InlinedCalls => _scopes?.InlinedCount ?? 0;

    /// <summary>The source of the code at <paramref name="offset"/> of code section <paramref name="section"/>, or null.</summary>
    public SourceLocation? Find(string section, ulong offset)
    {
        if (!_lines.TryFind(section, offset, out var pos)) return null;
        pos = Shorten(pos);
        var frames = _scopes?.Frames(section, offset, pos) ?? [];
        for (int i = 0; i < frames.Count; i++) frames[i] = frames[i] with { Position = Shorten(frames[i].Position) };
        return new SourceLocation(pos, frames);
    }

    private SourcePosition Shorten(SourcePosition p)
    {
        if (_shortNames.TryGetValue(p.File, out var s)) return p with { File = s };
        s = p.File;
        foreach (var d in _compDirs)
            if (p.File.StartsWith(d, StringComparison.Ordinal)) { s = p.File[d.Length..]; break; }
        _shortNames[p.File] = s;
        return p with { File = s };
    }

    private readonly Dictionary<string, string> _shortNames = new(StringComparer.Ordinal);
}
