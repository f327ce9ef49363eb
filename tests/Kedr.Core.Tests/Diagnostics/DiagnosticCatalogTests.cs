using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Kedr.Core.Diagnostics;
using Kedr.Core.Tests.Support;

namespace Kedr.Core.Tests.Diagnostics;

/// <summary>
/// The catalog of diagnostic codes (<see cref="DiagnosticCodes"/>) is the only place a code is written: the
/// source is scanned for code literals anywhere else, each code stands for one condition (one field, one
/// description), sits in its component's range, is used, and docs/diagnostics.md is the catalog.
/// </summary>
public sealed partial class DiagnosticCatalogTests
{
    private const string CatalogFile = "Kedr.Core/Diagnostics/DiagnosticCodes.cs";

    [GeneratedRegex(@"""KEDR\d{4}""")]
    private static partial Regex CodeLiteral();

    private static readonly (string Prefix, char Range)[] Ranges =
        [("Elf", '1'), ("Rewriter", '2'), ("Blob", '3'), ("Vm", '4'), ("Trace", '5'), ("Report", '5'), ("Cli", '6'), ("Payload", '7')];

    private static IEnumerable<(string Path, string Text)> Sources()
    {
        var root = TestEnvironment.RepoRoot;
        foreach (var dir in Directory.GetDirectories(root, "Kedr.*"))
            foreach (var f in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
            {
                var rel = Path.GetRelativePath(root, f).Replace('\\', '/');
                if (rel.Contains("/bin/") || rel.Contains("/obj/")) continue;
                yield return (rel, File.ReadAllText(f));
            }
    }

    private static List<(string Name, DiagnosticCode Code)> Fields() => typeof(DiagnosticCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.FieldType == typeof(DiagnosticCode))
        .Select(f => (f.Name, (DiagnosticCode)f.GetValue(null)!)).ToList();

    [Fact]
    public void Each_code_is_one_field_with_one_condition_in_its_components_range()
    {
        var fields = Fields();
        Assert.True(fields.Count >= 60, $"{fields.Count} codes: the catalog is not being read");
        Assert.Equal(fields.Count, DiagnosticCodes.All.Count);
        foreach (var dup in fields.GroupBy(f => f.Code.Code).Where(g => g.Count() > 1))
            Assert.Fail($"{dup.Key} is used for {dup.Count()} conditions: {string.Join(", ", dup.Select(f => f.Name))}");
        foreach (var dup in fields.GroupBy(f => f.Code.Condition).Where(g => g.Count() > 1))
            Assert.Fail($"one condition, several codes: {string.Join(", ", dup.Select(f => f.Code.Code))}");
        foreach (var (name, code) in fields)
        {
            Assert.Matches(@"^KEDR\d{4}$", code.Code);
            Assert.False(string.IsNullOrWhiteSpace(code.Condition), name);
            var range = Ranges.FirstOrDefault(r => name.StartsWith(r.Prefix, StringComparison.Ordinal));
            Assert.True(range.Prefix is not null, $"{name}: no component prefix ({string.Join(", ", Ranges.Select(r => r.Prefix))})");
            Assert.True(code.Code[4] == range.Range, $"{name} is {code.Code}: {range.Prefix} codes are KEDR{range.Range}xxx");
        }
    }

    [Fact]
    public void No_code_is_written_outside_the_catalog()
    {
        var known = Fields().Select(f => f.Code.Code).ToHashSet();
        var stray = new List<string>();
        foreach (var (path, text) in Sources())
        {
            if (path == CatalogFile) continue;
            foreach (Match m in CodeLiteral().Matches(text))
            {
                int line = text.AsSpan(0, m.Index).Count('\n') + 1;
                var code = m.Value.Trim('"');
                if (!known.Contains(code)) stray.Add($"{path}:{line}: {code} is not in the catalog");
                else stray.Add($"{path}:{line}: {code} written as a literal; use the DiagnosticCodes field");
            }
        }
        Assert.True(stray.Count == 0, string.Join('\n', stray));
    }

    [Fact]
    public void Every_code_of_the_catalog_is_used()
    {
        var sources = Sources().Where(s => s.Path != CatalogFile).Select(s => s.Text).ToList();
        var unused = Fields().Where(f => !sources.Any(t =>
                Regex.IsMatch(t, $@"\bDiagnosticCodes\.{f.Name}\b") || t.Contains($"\"{f.Code.Code}\"", StringComparison.Ordinal)))
            .Select(f => $"{f.Code.Code} ({f.Name})").ToList();
        Assert.True(unused.Count == 0, "in the catalog, used nowhere: " + string.Join(", ", unused));
    }

    /// <summary>docs/diagnostics.md as the catalog makes it.</summary>
    internal static string Document()
    {
        var b = new StringBuilder();
        b.Append("# Diagnostics\n\n");
        b.Append("Every problem `kedr` reports has a stable code, one per condition. The line names the input (file,\n");
        b.Append("section and offset, or the argument) and says what is wrong:\n\n");
        b.Append("```\nkedr: error: mod.ko: .rela.text+0x30: KEDR1011: relocation uses symbol 16777215, the symbol table has 12\n```\n\n");
        b.Append("Bad input exits with status 2 and that one line on stderr. Codes marked *warning* do not stop the\n");
        b.Append("command. This file is generated from `Kedr.Core/Diagnostics/DiagnosticCodes.cs`; the test\n");
        b.Append("`DiagnosticCatalogTests` fails when they differ (run it with `KEDR_WRITE_DIAGNOSTICS_DOC=1` to rewrite it).\n");
        var sections = new (char Range, string Title)[]
        {
            ('1', "ELF (KEDR1xxx)"), ('2', "Rewriter (KEDR2xxx)"), ('3', "Blob (KEDR3xxx, see blob-format.md)"),
            ('4', "Kernel and VM (KEDR4xxx)"), ('5', "Trace and report (KEDR5xxx)"), ('6', "Command line (KEDR6xxx)"),
            ('7', "Payload specs (KEDR7xxx, see payloads.md)"),
        };
        foreach (var (range, title) in sections)
        {
            b.Append($"\n## {title}\n\n| code | condition |\n| --- | --- |\n");
            foreach (var c in DiagnosticCodes.All.Where(c => c.Code[4] == range))
                b.Append($"| {c.Code} | {c.Condition.Replace("|", "\\|")} |\n");
        }
        return b.ToString();
    }

    [Fact]
    public void Docs_diagnostics_md_is_the_catalog()
    {
        var path = Path.Combine(TestEnvironment.RepoRoot, "docs", "diagnostics.md");
        var expected = Document();
        if (Environment.GetEnvironmentVariable("KEDR_WRITE_DIAGNOSTICS_DOC") == "1") File.WriteAllText(path, expected);
        Assert.True(File.Exists(path), $"{path} is missing: run this test with KEDR_WRITE_DIAGNOSTICS_DOC=1");
        Assert.Equal(expected, File.ReadAllText(path));
    }
}
