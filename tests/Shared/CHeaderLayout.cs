using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Kedr.Tests.Shared;

/// <summary>A field of a C struct as the host's compiler lays it out.</summary>
internal sealed record CField(string Struct, string Name, int Offset, int Size);

/// <summary>
/// The layout of one of kmod/'s shared headers (kedr_blob.h, kedr_record.h) as the host's <c>cc</c> sees
/// it: the header text is scanned for its structs and fields, enumerators and <c>#define</c>s; a C program
/// including the header (its userspace branch) prints sizeof/offsetof of every field and every constant's
/// value. Used by the tests that hold a C# twin of a header to it. Linked into each test project.
/// </summary>
internal sealed partial class CHeaderLayout
{
    public Dictionary<string, int> Sizes { get; } = [];
    public List<CField> Fields { get; } = [];
    public Dictionary<string, ulong> Constants { get; } = [];
    public Dictionary<string, string> Strings { get; } = [];

    [GeneratedRegex(@"/\*.*?\*/|//[^\n]*", RegexOptions.Singleline)] private static partial Regex Comment();
    [GeneratedRegex(@"struct\s+(\w+)\s*\{(.*?)\}\s*;", RegexOptions.Singleline)] private static partial Regex StructDef();
    [GeneratedRegex(@"^[\w\s]+?\b(\w+)\s*(?:\[[^\]]*\])?$")] private static partial Regex FieldDecl();
    [GeneratedRegex(@"enum\s+\w+\s*\{(.*?)\};", RegexOptions.Singleline)] private static partial Regex EnumDef();
    [GeneratedRegex(@"^(KEDR_\w+)(?:\s*=\s*\w+)?$")] private static partial Regex EnumItem();
    [GeneratedRegex(@"^#define\s+(KEDR_\w+)[ \t]+(\S.*)$", RegexOptions.Multiline)] private static partial Regex Define();

    /// <summary>Structs with their fields, and the enumerators and valued <c>#define</c>s, from the header text.</summary>
    public static (List<(string Struct, List<string> Fields)> Structs, List<(string Name, bool IsString)> Constants) Scan(string headerPath)
    {
        string file = Path.GetFileName(headerPath);
        var text = Comment().Replace(File.ReadAllText(headerPath), " ");
        var structs = new List<(string, List<string>)>();
        foreach (Match m in StructDef().Matches(text))
        {
            var fields = new List<string>();
            foreach (var decl in m.Groups[2].Value.Split(';').Select(d => d.Trim()).Where(d => d.Length > 0))
            {
                var f = FieldDecl().Match(decl);
                if (!f.Success) throw new FormatException($"{file}: struct {m.Groups[1].Value}: declaration not understood: {decl}");
                fields.Add(f.Groups[1].Value);
            }
            structs.Add((m.Groups[1].Value, fields));
        }
        var constants = new List<(string, bool)>();
        foreach (Match m in EnumDef().Matches(text))
            foreach (var item in m.Groups[1].Value.Split(',').Select(i => i.Trim()).Where(i => i.Length > 0))
                constants.Add(EnumItem().Match(item) is { Success: true } e ? (e.Groups[1].Value, false)
                    : throw new FormatException($"{file}: enumerator not understood: {item}"));
        foreach (Match m in Define().Matches(text))
            constants.Add((m.Groups[1].Value, m.Groups[2].Value.StartsWith('"')));
        return (structs, constants);
    }

    /// <param name="run">Runs a tool (file, why it is needed, arguments) and returns its standard output, failing the test otherwise.</param>
    public static CHeaderLayout Probe(string headerPath, Func<string, string, string[], string> run)
    {
        var (structs, constants) = Scan(headerPath);
        var c = new StringBuilder($"#include <stddef.h>\n#include <stdio.h>\n#include \"{Path.GetFileName(headerPath)}\"\n\nint main(void)\n{{\n");
        foreach (var (s, fields) in structs)
        {
            c.AppendLine($"\tprintf(\"sizeof {s} %zu\\n\", sizeof(struct {s}));");
            foreach (var f in fields)
                c.AppendLine($"\tprintf(\"field {s} {f} %zu %zu\\n\", offsetof(struct {s}, {f}), sizeof(((struct {s} *)0)->{f}));");
        }
        foreach (var (name, isString) in constants)
            c.AppendLine(isString ? $"\tprintf(\"string {name} %s\\n\", {name});"
                : $"\tprintf(\"const {name} %llu\\n\", (unsigned long long)({name}));");
        c.AppendLine("\treturn 0;\n}");

        var dir = Directory.CreateTempSubdirectory("kedr-layout-");
        try
        {
            var src = Path.Combine(dir.FullName, "probe.c");
            var exe = Path.Combine(dir.FullName, "probe");
            File.WriteAllText(src, c.ToString());
            run("cc", $"to compile kmod/{Path.GetFileName(headerPath)} and compare its layout with the C# side",
                ["-std=c11", "-Wall", "-Wextra", "-Werror", "-I", Path.GetDirectoryName(headerPath)!, "-o", exe, src]);
            var layout = new CHeaderLayout();
            foreach (var line in run(exe, "(the layout probe)", []).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var t = line.Split(' ', 3);
                switch (t[0])
                {
                    case "sizeof": layout.Sizes[t[1]] = int.Parse(t[2], CultureInfo.InvariantCulture); break;
                    case "field":
                        var r = t[2].Split(' ');
                        layout.Fields.Add(new CField(t[1], r[0], int.Parse(r[1], CultureInfo.InvariantCulture), int.Parse(r[2], CultureInfo.InvariantCulture)));
                        break;
                    case "const": layout.Constants[t[1]] = ulong.Parse(t[2], CultureInfo.InvariantCulture); break;
                    case "string": layout.Strings[t[1]] = t[2]; break;
                }
            }
            return layout;
        }
        finally { dir.Delete(true); }
    }
}
