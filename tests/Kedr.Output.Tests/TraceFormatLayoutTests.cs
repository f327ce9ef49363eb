using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Kedr.Output.Tests.Support;
using Kedr.Tests.Shared;

namespace Kedr.Output.Tests;

/// <summary>
/// kmod/kedr_record.h and <see cref="TraceFormat"/> agree. The header is scanned for its structs, their
/// fields and its #defines; a C program built with the host's <c>cc</c> (the header's userspace branch)
/// prints sizeof/offsetof of every field and every constant's value, and each is compared with
/// TraceFormat. A field, struct or constant present on one side only fails.
/// </summary>
public sealed partial class TraceFormatLayoutTests
{
    private static readonly Lazy<CHeaderLayout> s_layout = new(() => CHeaderLayout.Probe(HeaderPath, (tool, why, args) => Tools.Check(tool, why, args)));

    private static string HeaderPath => Path.Combine(Tools.RepoRoot, "kmod", "kedr_record.h");

    private static (List<(string Struct, List<string> Fields)> Structs, List<(string Name, bool IsString)> Defines) Scan() =>
        CHeaderLayout.Scan(HeaderPath);

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
        var c = s_layout.Value.Fields.Select(f => $"{f.Struct}.{f.Name} @{f.Offset} +{f.Size}").Order().ToList();
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
                Assert.True(f.Offset == pos, $"struct {g.Key}: {f.Name} at {f.Offset}, expected {pos}: implicit padding");
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
        var names = Regex.Replace(body, @"/\*.*?\*/", " ", RegexOptions.Singleline).Split(',').Select(s => s.Trim()).Where(s => s.Length > 0).ToList();
        Assert.StartsWith("KEDR_EV_ENTRY = 1", names[0]);
        var expected = new[] { "KEDR_EV_ENTRY", "KEDR_EV_EXIT", "KEDR_EV_READ", "KEDR_EV_WRITE", "KEDR_EV_LOCKED_UPDATE" };
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.StartsWith(expected[i], names[i]);
            Assert.Equal(i + 1, (int)Enum.GetValues<TraceEventKind>()[i]);
        }
    }
}
