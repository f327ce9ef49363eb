using System.Reflection;
using Kedr.Core.Blob;

namespace Kedr.Tests.Shared;

/// <summary>A field as a C# layout description describes it: C struct and field, offset, size, and the C# member holding it.</summary>
internal sealed record DescribedField(string Struct, string Field, int Offset, int Size, string Member);

/// <summary>
/// A C# layout description (<c>BlobLayout</c>, <c>TraceLayout</c>: one <see cref="CStructAttribute"/> class per
/// C struct, one <see cref="CFieldAttribute"/> constant per field) read by reflection and held to a compiled
/// header (<see cref="CHeaderLayout"/>) field by field, both ways. Linked into each test project that has such
/// a description.
/// </summary>
internal static class CLayoutDescription
{
    /// <summary>Every <see cref="CFieldAttribute"/> constant of every <see cref="CStructAttribute"/> class nested in <paramref name="layout"/>, and each class's <c>Size</c>.</summary>
    public static (List<DescribedField> Fields, Dictionary<string, int> Sizes) Read(Type layout)
    {
        var fields = new List<DescribedField>();
        var sizes = new Dictionary<string, int>();
        foreach (var type in layout.GetNestedTypes())
        {
            if (type.GetCustomAttribute<CStructAttribute>() is not { } st) continue;
            var size = type.GetField("Size") ?? throw new InvalidOperationException($"{layout.Name}.{type.Name} has no Size");
            sizes[st.Name] = (int)size.GetRawConstantValue()!;
            foreach (var f in type.GetFields(BindingFlags.Public | BindingFlags.Static))
                if (f.GetCustomAttribute<CFieldAttribute>() is { } cf)
                    fields.Add(new DescribedField(st.Name, cf.Name, (int)f.GetRawConstantValue()!, cf.Size, $"{layout.Name}.{type.Name}.{f.Name}"));
        }
        return (fields, sizes);
    }

    /// <summary>
    /// Where <paramref name="fields"/> and <paramref name="sizes"/> (of the description <paramref name="layout"/>) and
    /// the compiled <paramref name="header"/> differ, one line each; empty if nowhere.
    /// </summary>
    public static List<string> Mismatches(CHeaderLayout c, List<DescribedField> fields, Dictionary<string, int> sizes, string layout, string header)
    {
        var problems = new List<string>();
        foreach (var (s, size) in c.Sizes)
        {
            if (!sizes.TryGetValue(s, out var cs)) problems.Add($"struct {s}: no [CStruct(\"{s}\")] class in {layout}");
            else if (cs != size) problems.Add($"struct {s}: sizeof is {size} in C, Size {cs} in {layout}");
        }
        problems.AddRange(sizes.Keys.Except(c.Sizes.Keys).Select(s => $"{layout} describes struct {s}, which {header} does not have"));
        var described = new Dictionary<(string, string), DescribedField>();
        foreach (var d in fields)
            if (!described.TryAdd((d.Struct, d.Field), d))
                problems.Add($"{d.Member} describes {d.Struct}.{d.Field} a second time");
        foreach (var f in c.Fields)
        {
            if (!described.TryGetValue((f.Struct, f.Name), out var d))
                problems.Add($"{f.Struct}.{f.Name}: no [CField(\"{f.Name}\", ...)] constant in {layout}");
            else if (d.Offset != f.Offset || d.Size != f.Size)
                problems.Add($"{f.Struct}.{f.Name}: at {f.Offset}, {f.Size} bytes in C; {d.Member} says {d.Offset}, {d.Size} bytes");
        }
        var cFields = c.Fields.Select(f => (f.Struct, f.Name)).ToHashSet();
        problems.AddRange(fields.Where(d => !cFields.Contains((d.Struct, d.Field))).Select(d => $"{d.Member} describes {d.Struct}.{d.Field}, which {header} does not have"));
        return problems;
    }

    /// <summary>
    /// Each described field moved by a byte or widened, each dropped, one added that C lacks, and each struct
    /// size changed on the C# side is caught, the field ones naming the field (<paramref name="mismatches"/>
    /// compares a description with the compiled header).
    /// </summary>
    public static void AssertEveryCSharpSideChangeIsCaught(List<DescribedField> fields, Dictionary<string, int> sizes,
        Func<List<DescribedField>, Dictionary<string, int>, List<string>> mismatches, string layout)
    {
        for (int i = 0; i < fields.Count; i++)
        {
            foreach (var moved in new[] { fields[i] with { Offset = fields[i].Offset + 1 }, fields[i] with { Size = fields[i].Size + 1 } })
            {
                var mutated = fields.Select((f, k) => k == i ? moved : f).ToList();
                var problems = mismatches(mutated, sizes);
                Xunit.Assert.True(problems.Count == 1 && problems[0].Contains(fields[i].Member, StringComparison.Ordinal),
                    $"{fields[i].Member} changed to {moved.Offset}/{moved.Size}: {string.Join("; ", problems)}");
            }
            var dropped = mismatches(fields.Where((_, k) => k != i).ToList(), sizes);
            Xunit.Assert.True(dropped.Count == 1 && dropped[0].StartsWith($"{fields[i].Struct}.{fields[i].Field}: no [CField", StringComparison.Ordinal),
                $"{fields[i].Member} dropped: {string.Join("; ", dropped)}");
        }
        var extra = fields[0] with { Field = "not_in_c", Member = $"{layout}.Extra" };
        var added = mismatches([.. fields, extra], sizes);
        Xunit.Assert.True(added.Count == 1 && added[0].Contains($"{layout}.Extra describes", StringComparison.Ordinal), string.Join("; ", added));
        foreach (var s in sizes.Keys)
            Xunit.Assert.NotEmpty(mismatches(fields, sizes.ToDictionary(kv => kv.Key, kv => kv.Key == s ? kv.Value + 8 : kv.Value)));
    }
}
