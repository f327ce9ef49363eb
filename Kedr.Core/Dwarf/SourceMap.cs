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

    private SourceMap(LineTable lines, InlineScopes? scopes)
    {
        _lines = lines;
        _scopes = scopes;
    }

    /// <summary>The source map of <paramref name="dwarf"/>: its line table and, if .debug_info reads, its inlined calls.</summary>
    public static SourceMap Build(DwarfSections dwarf)
    {
        var program = LineProgram.Read(dwarf);
        var compDirs = program.CompDirs.Where(d => d.StartsWith('/')).Select(d => d.TrimEnd('/') + "/").Distinct().ToArray();
        program = program with { Files = program.Files.Select(f => Shorten(f, compDirs)).ToArray() };
        var table = new LineTable(program);
        InlineScopes? scopes = dwarf.Has(".debug_info") ? new InlineScopes(dwarf, program) : null;
        return new SourceMap(table, scopes);
    }

    private static string Shorten(string file, string[] compDirs)
    {
        foreach (var d in compDirs)
            if (file.StartsWith(d, StringComparison.Ordinal)) return file[d.Length..];
        return file;
    }

    public int LineRows => _lines.RowCount;
    public int Functions => _scopes?.FunctionCount ?? 0;
    public int InlinedCalls => _scopes?.InlinedCount ?? 0;

    /// <summary>The source of the code at <paramref name="offset"/> of code section <paramref name="section"/>, or null.</summary>
    public SourceLocation? Find(string section, ulong offset)
    {
        if (!_lines.TryFind(section, offset, out var pos)) return null;
        return new SourceLocation(pos, _scopes?.Frames(section, offset, pos) ?? []);
    }
}
