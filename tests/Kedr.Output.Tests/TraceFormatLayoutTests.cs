using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Kedr.Output.Tests.Support;

namespace Kedr.Output.Tests;

/// <summary>
/// kmod/kedr_record.h and <see cref="TraceFormat"/> agree. The header is scanned for its structs, their
/// fields and its #defines; a C program built with the host's <c>cc</c> (the header's userspace branch)
/// prints sizeof/offsetof of every field and every constant's value, and each is compared with
/// TraceFormat. A field, struct or constant present on one side only fails.
/// </summary>
public sealed partial class TraceFormatLayoutTests
{
    private sealed record CLayout(Dictionary<string, int> Sizes, List<(string Struct, string Field, int Offset, int Size)> Fields,
        Dictionary<string, ulong> Constants, Dictionary<string, string> Strings);

    private static readonly Lazy<CLayout> s_layout = new(Probe);

    private static string HeaderPath => Path.Combine(Tools.RepoRoot, "kmod", "kedr_record.h");

    [GeneratedRegex(@"/\*.*?\*/|//[^\n]*", RegexOptions.Singleline)] private static partial Regex Comment();
    [GeneratedRegex(@"struct\s+(\w+)\s*\{(.*?)\}\s*;", RegexOptions.Singleline)] private static partial Regex Struct();
    [GeneratedRegex(@"^[\w\s]+?\b(\w+)\s*(\[[^\]]+\])?$")] private static partial Regex Field();
    [GeneratedRegex(@"^#define\s+(KEDR_\w+)\s+(\S.*)$", RegexOptions.Multiline)] private static partial Regex Define();

    private static (List<(string Struct, List<string> Fields)> Structs, List<(string Name, bool IsString)> Defines) Scan()
    {
        var text = Comment().Replace(File.ReadAllText(HeaderPath), " ");
        var structs = new List<(string, List<string>)>();
        foreach (Match m in Struct().Matches(text))
        {
            var fields = new List<string>();
            foreach (var decl in m.Groups[2].Value.Split(';').Select(d => d.Trim()).Where(d => d.Length > 0))
            {
                var f = Field().Match(decl);
                Assert.True(f.Success, $"kedr_record.h: struct {m.Groups[1].Value}: cannot read the declaration '{decl}'");
                fields.Add(f.Groups[1].Value);
            }
            structs.Add((m.Groups[1].Value, fields));
        }
        var defines = Define().Matches(text).Select(m => (m.Groups[1].Value, m.Groups[2].Value.TrimStart().StartsWith('"')))
            .Where(d => d.Item1 != "KEDR_RECORD_H").ToList();
        return (structs, defines);
    }

    private static CLayout Probe()
    {
        var (structs, defines) = Scan();
        var c = new StringBuilder("#include <stddef.h>\n#include <stdio.h>\n#include \"kedr_record.h\"\n\nint main(void)\n{\n");
        foreach (var (s, fields) in structs)
        {
            c.AppendLine($"\tprintf(\"sizeof {s} %zu\\n\", sizeof(struct {s}));");
            foreach (var f in fields)
                c.AppendLine($"\tprintf(\"field {s} {f} %zu %zu\\n\", offsetof(struct {s}, {f}), sizeof(((struct {s} *)0)->{f}));");
        }
        foreach (var (name, isString) in defines)
            c.AppendLine(isString ? $"\tprintf(\"string {name} %s\\n\", {name});"
                : $"\tprintf(\"const {name} %llu\\n\", (unsigned long long)({name}));");
        c.AppendLine("\treturn 0;\n}");

        var dir = Directory.CreateTempSubdirectory("kedr-record-layout-");
        try
        {
            var src = Path.Combine(dir.FullName, "probe.c");
            var exe = Path.Combine(dir.FullName, "probe");
            File.WriteAllText(src, c.ToString());
            Tools.Check("cc", "to compile kmod/kedr_record.h and compare its layout with TraceFormat",
                "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", Path.GetDirectoryName(HeaderPath)!, "-o", exe, src);
            var layout = new CLayout([], [], [], []);
            foreach (var line in Tools.Check(exe, "(the layout probe)").Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var t = line.Split(' ', 3);
                switch (t[0])
                {
                    case "sizeof": layout.Sizes[t[1]] = int.Parse(t[2], CultureInfo.InvariantCulture); break;
                    case "field":
                        var r = t[2].Split(' ');
                        layout.Fields.Add((t[1], r[0], int.Parse(r[1], CultureInfo.InvariantCulture), int.Parse(r[2], CultureInfo.InvariantCulture)));
                        break;
                    case "const": layout.Constants[t[1]] = ulong.Parse(t[2], CultureInfo.InvariantCulture); break;
                    case "string": layout.Strings[t[1]] = t[2]; break;
                }
            }
            return layout;
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void The_scan_sees_both_structs_and_the_magic()
    {
        var (structs, defines) = Scan();
        Assert.Contains(structs, s => s.Struct == "kedr_trace_header" && s.Fields.Contains("target_core_base"));
        Assert.Contains(structs, s => s.Struct == "kedr_record" && s.Fields.Contains("seq"));
        Assert.Contains(defines, d => d.Name == "KEDR_TRACE_MAGIC" && d.IsString);
        Assert.Equal(structs.Sum(s => s.Fields.Count), s_layout.Value.Fields.Count);
    }

    [Fact]
    public void Struct_sizes_match()
    {
        var c = s_layout.Value.Sizes;
        Assert.Equal(c.Keys.Order(), TraceFormat.StructSizes.Keys.Order());
        foreach (var (s, size) in TraceFormat.StructSizes)
            Assert.True(c[s] == size, $"sizeof(struct {s}) is {c[s]} in C, {size} in TraceFormat");
        Assert.Equal(TraceFormat.HeaderSize, c["kedr_trace_header"]);
        Assert.Equal(TraceFormat.RecordSize, c["kedr_record"]);
    }

    [Fact]
    public void Every_field_has_the_same_offset_and_size()
    {
        var c = s_layout.Value.Fields.Select(f => $"{f.Struct}.{f.Field} @{f.Offset} +{f.Size}").Order().ToList();
        var cs = TraceFormat.Fields.Select(f => $"{f.Struct}.{f.Field} @{f.Offset} +{f.Size}").Order().ToList();
        Assert.Equal(c, cs);
    }

    [Fact]
    public void Fields_tile_each_struct_without_padding()
    {
        var layout = s_layout.Value;
        foreach (var g in layout.Fields.GroupBy(f => f.Struct))
        {
            int pos = 0;
            foreach (var f in g.OrderBy(f => f.Offset))
            {
                Assert.True(f.Offset == pos, $"struct {g.Key}: {f.Field} at {f.Offset}, expected {pos}: implicit padding");
                pos += f.Size;
            }
            Assert.Equal(layout.Sizes[g.Key], pos);
        }
    }

    [Fact]
    public void Constants_match()
    {
        var c = s_layout.Value;
        Assert.Equal(c.Constants.Keys.Order(), TraceFormat.Constants.Keys.Order());
        foreach (var (k, v) in TraceFormat.Constants)
            Assert.True(c.Constants[k] == v, $"{k} is {c.Constants[k]} in C, {v} in TraceFormat");
        Assert.Equal(c.Strings.Keys.Order(), TraceFormat.Strings.Keys.Order());
        foreach (var (k, v) in TraceFormat.Strings)
            Assert.Equal(c.Strings[k], v);
        Assert.Equal(TraceFormat.MagicText, System.Text.Encoding.ASCII.GetString(TraceFormat.Magic));
    }

    /// <summary>The record's kind is enum kedr_event_kind of kedr_blob.h: the values TraceEventKind names must be those.</summary>
    [Fact]
    public void Event_kinds_are_those_of_kedr_blob_h()
    {
        var text = File.ReadAllText(Path.Combine(Tools.RepoRoot, "kmod", "kedr_blob.h"));
        var body = Regex.Match(text, @"enum\s+kedr_event_kind\s*\{(.*?)\}", RegexOptions.Singleline).Groups[1].Value;
        var names = Comment().Replace(body, " ").Split(',').Select(s => s.Trim()).Where(s => s.Length > 0).ToList();
        Assert.StartsWith("KEDR_EV_ENTRY = 1", names[0]);
        var expected = new[] { "KEDR_EV_ENTRY", "KEDR_EV_EXIT", "KEDR_EV_READ", "KEDR_EV_WRITE", "KEDR_EV_LOCKED_UPDATE" };
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.StartsWith(expected[i], names[i]);
            Assert.Equal(i + 1, (int)Enum.GetValues<TraceEventKind>()[i]);
        }
    }
}
