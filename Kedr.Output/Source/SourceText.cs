using Kedr.Core.Dwarf;

namespace Kedr.Output.Source;

/// <summary>
/// A source location as the text, CSV and HTML reports write it: <c>file:line</c>, and for inlined code
/// the chain after it, innermost first: <c>file:line (in inner, inlined in outer at file:line)</c>.
/// </summary>
public static class SourceText
{
    public static string Format(SourceLocation s)
    {
        if (!s.IsInlined) return s.Position.ToString();
        var parts = new List<string> { $"in {s.Frames[0].Function}" };
        for (int i = 1; i < s.Frames.Count; i++)
            parts.Add($"inlined in {s.Frames[i].Function} at {s.Frames[i].Position}");
        return $"{s.Position} ({string.Join(", ", parts)})";
    }
}
