using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace Kedr.Kernel.Payloads;

/// <summary>
/// A template file of Payloads/Templates (an embedded resource): the text before the first
/// <c>@@ name</c> line is section "", each <c>@@ name</c> line starts a section. <c>{{key}}</c> is
/// replaced by its value; a line holding only a placeholder takes a value of whole lines (empty: the line
/// goes), any other placeholder a value without a line break. A key without a value is a bug (thrown).
/// </summary>
internal sealed partial class PayloadTemplate
{
    private readonly Dictionary<string, string> _sections = new(StringComparer.Ordinal);
    private readonly string _file;

    [GeneratedRegex(@"\{\{([a-z_]+)\}\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^\s*\{\{([a-z_]+)\}\}\s*$")]
    private static partial Regex LinePlaceholder();

    private PayloadTemplate(string file, string text)
    {
        _file = file;
        var name = "";
        var b = new StringBuilder();
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("@@ ", StringComparison.Ordinal))
            {
                _sections[name] = b.ToString();
                b.Clear();
                name = line[3..].Trim();
                continue;
            }
            b.Append(line).Append('\n');
        }
        var last = b.ToString();
        _sections[name] = last.EndsWith("\n\n", StringComparison.Ordinal) ? last[..^1] : last;
    }

    /// <summary>The template file <paramref name="file"/> of Payloads/Templates.</summary>
    public static PayloadTemplate Load(string file) => new(file, Resource($"payloads/{file}"));

    /// <summary>The text of an embedded resource (a template, or a kmod/ header the payload builds with).</summary>
    public static string Resource(string logicalName)
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream(logicalName)
            ?? throw new InvalidOperationException($"resource {logicalName} is not embedded in Kedr.Kernel");
        using var r = new StreamReader(s, Encoding.UTF8);
        return r.ReadToEnd();
    }

    /// <summary>Section <paramref name="section"/> with every placeholder replaced.</summary>
    public string Render(string section, IReadOnlyDictionary<string, string> values)
    {
        if (!_sections.TryGetValue(section, out var text))
            throw new InvalidOperationException($"{_file} has no section '{section}'");
        var b = new StringBuilder(text.Length * 2);
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (i == lines.Length - 1 && line.Length == 0) break;
            var m = LinePlaceholder().Match(line);
            if (m.Success)
            {
                var v = Value(m.Groups[1].Value, values, section);
                b.Append(v);
                if (v.Length > 0 && !v.EndsWith('\n')) b.Append('\n');
                continue;
            }
            b.Append(Placeholder().Replace(line, x =>
            {
                var v = Value(x.Groups[1].Value, values, section);
                return v.Contains('\n') ? throw new InvalidOperationException($"{_file}/{section}: {{{{{x.Groups[1].Value}}}}} takes one line") : v;
            })).Append('\n');
        }
        return b.ToString();
    }

    private string Value(string key, IReadOnlyDictionary<string, string> values, string section) =>
        values.TryGetValue(key, out var v) ? v : throw new InvalidOperationException($"{_file}/{section}: no value for {{{{{key}}}}}");
}
