using System.Reflection;
using System.Text.RegularExpressions;
using Kedr.Core.Blob;
using Kedr.Output.Tests.Support;
using Kedr.Tests.Shared;

namespace Kedr.Output.Tests;

/// <summary>
/// kmod/kedr_record.h and the C# side (<see cref="TraceLayout"/>, <see cref="TraceFormat"/>) agree. The header
/// is scanned for its structs, their fields and its #defines; a C program built with the host's <c>cc</c> (the
/// header's userspace branch) prints sizeof/offsetof of every field and every constant's value, and each is
/// compared with the [CStruct]/[CField] description of TraceLayout and the constants of TraceFormat. A field,
/// struct or constant present on one side only fails; a field moved on either side is named.
/// </summary>
public sealed partial class TraceLayoutTests
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

    // ---- the layout description (TraceLayout), field by field ----

    private static (List<DescribedField> Fields, Dictionary<string, int> Sizes) Description() => CLayoutDescription.Read(typeof(TraceLayout));

    private static List<string> Mismatches(CHeaderLayout c, List<DescribedField> fields, Dictionary<string, int> sizes) =>
        CLayoutDescription.Mismatches(c, fields, sizes, "TraceLayout", "kedr_record.h");

    [Fact]
    public void The_layout_description_matches_the_C_header_field_by_field()
    {
        var c = s_layout.Value;
        var (fields, sizes) = Description();
        Assert.Equal(["kedr_record", "kedr_record_cpu", "kedr_record_file", "kedr_record_func", "kedr_record_funcs", "kedr_trace_header"], sizes.Keys.Order());
        Assert.Equal(c.Fields.Count, fields.Count);
        var problems = Mismatches(c, fields, sizes);
        Assert.True(problems.Count == 0, "TraceLayout and kmod/kedr_record.h disagree:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void The_layout_description_derived_values_match_the_C_header()
    {
        var c = s_layout.Value;
        CField Field(string s, string f) => c.Fields.Single(x => x.Struct == s && x.Name == f);
        Assert.Equal(TraceLayout.Header.Size, c.Sizes["kedr_trace_header"]);
        Assert.Equal(TraceLayout.Record.Size, c.Sizes["kedr_record"]);
        Assert.Equal(TraceLayout.Header.MagicLength, c.Strings["KEDR_TRACE_MAGIC"].Length);
        Assert.Equal(TraceLayout.Header.MagicLength, TraceFormat.Magic.Length);
        Assert.Equal((int)c.Constants["KEDR_TRACE_NAME_LEN"], Field("kedr_trace_header", "target").Size);
        Assert.Equal(TraceLayout.RecordFile.Size, c.Sizes["kedr_record_file"]);
        Assert.Equal(TraceLayout.RecordCpu.Size, c.Sizes["kedr_record_cpu"]);
        Assert.Equal(TraceLayout.RecordFile.MagicLength, c.Strings["KEDR_RECORD_FILE_MAGIC"].Length);
        Assert.Equal(TraceFormat.RecordFileMagicText, System.Text.Encoding.ASCII.GetString(TraceFormat.RecordFileMagic));
        Assert.Equal(TraceLayout.RecordFuncs.Size, c.Sizes["kedr_record_funcs"]);
        Assert.Equal(TraceLayout.RecordFunc.Size, c.Sizes["kedr_record_func"]);
        Assert.Equal(TraceLayout.RecordFuncs.MagicLength, c.Strings["KEDR_RECORD_FUNCS_MAGIC"].Length);
        Assert.Equal(TraceFormat.RecordFuncsMagicText, System.Text.Encoding.ASCII.GetString(TraceFormat.RecordFuncsMagic));
        // Version 1's struct kedr_record_file is version 2's without funcs_offset, its last field.
        Assert.Equal(TraceLayout.RecordFile.SizeV1, Field("kedr_record_file", "funcs_offset").Offset);
    }

    /// <summary>A C field the description lacks, one it has that C lacks, and one moved or resized on the C# side each fail, naming it.</summary>
    [Fact]
    public void A_field_moved_on_the_CSharp_side_fails_the_comparison()
    {
        var c = s_layout.Value;
        var (fields, sizes) = Description();
        CLayoutDescription.AssertEveryCSharpSideChangeIsCaught(fields, sizes, (f, s) => Mismatches(c, f, s), "TraceLayout");
    }

    /// <summary>Two same-width fields swapped in a copy of the header are caught at both; a field added in C is caught.</summary>
    [Theory]
    [InlineData("kedr_trace_header", "header_size", "record_size", null)]
    [InlineData("kedr_record", "seq", "tid", null)]
    [InlineData("kedr_record", "ts", "pc", null)]
    [InlineData("kedr_record", "kind", "context", null)]
    [InlineData("kedr_record", "reserved", null, "__u8 added_in_c;")]
    public void A_field_moved_or_added_on_the_C_side_fails_the_comparison(string st, string a, string? b, string? insertAfterA)
    {
        var dir = Directory.CreateTempSubdirectory("kedr-trace-layout-moved-");
        try
        {
            foreach (var h in new[] { "kedr_record.h", "kedr_types.h" })
                File.Copy(Path.Combine(Tools.RepoRoot, "kmod", h), Path.Combine(dir.FullName, h));
            var path = Path.Combine(dir.FullName, "kedr_record.h");
            var text = File.ReadAllText(path);
            int start = text.IndexOf($"struct {st} {{", StringComparison.Ordinal), end = text.IndexOf("};", start, StringComparison.Ordinal);
            var lines = text[start..end].Split('\n').ToList();
            int la = lines.FindIndex(l => Regex.IsMatch(l, $@"\b{a}\s*(\[[^\]]*\])?\s*;"));
            Assert.True(la > 0, $"{a} not found in struct {st}");
            if (b is not null)
            {
                int lb = lines.FindIndex(l => Regex.IsMatch(l, $@"\b{b}\s*;"));
                Assert.True(lb > 0, $"{b} not found in struct {st}");
                (lines[la], lines[lb]) = (lines[lb], lines[la]);
            }
            else lines.Insert(la + 1, "\t" + insertAfterA);
            File.WriteAllText(path, text[..start] + string.Join('\n', lines) + text[end..]);

            var moved = CHeaderLayout.Probe(path, (tool, why, args) => Tools.Check(tool, why, args));
            var (fields, sizes) = Description();
            var problems = Mismatches(moved, fields, sizes);
            if (b is not null)
            {
                Assert.Contains(problems, p => p.StartsWith($"{st}.{a}:", StringComparison.Ordinal) && p.Contains("TraceLayout.", StringComparison.Ordinal));
                Assert.Contains(problems, p => p.StartsWith($"{st}.{b}:", StringComparison.Ordinal) && p.Contains("TraceLayout.", StringComparison.Ordinal));
                Assert.Equal(2, problems.Count);
            }
            else
            {
                Assert.Contains(problems, p => p.StartsWith($"{st}.added_in_c: no [CField", StringComparison.Ordinal));
                Assert.Contains(problems, p => p.StartsWith($"struct {st}: sizeof is", StringComparison.Ordinal));
            }
        }
        finally { dir.Delete(true); }
    }
}
