using Kedr.Core.Diagnostics;
using Kedr.Kernel.Payloads;

namespace Kedr.Kernel.Tests.Payloads;

/// <summary>
/// The spec reader: what a good spec becomes (defaults derived from the C types, as docs/payloads.md
/// states them), and one bad spec per check, each refused with its catalog code, the file and the JSON
/// path of the value at fault.
/// </summary>
public sealed class PayloadSpecReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kedr-spec.").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Kmalloc = """{ "name": "__kmalloc", "returns": "void *", "params": ["size_t size", "gfp_t flags"] }""";

    private static string Spec(string functions, string extra = "") =>
        $$"""{ "name": "my_payload", {{extra}} "functions": [ {{functions}} ] }""";

    private PayloadSpec Read(string text)
    {
        var path = Path.Combine(_dir, "spec.json");
        File.WriteAllText(path, text);
        Assert.True(PayloadSpecReader.TryRead(path, out var spec, out var error), error?.ToString());
        return spec!;
    }

    private KedrDiagnostic Refuse(string text)
    {
        var path = Path.Combine(_dir, "spec.json");
        File.WriteAllText(path, text);
        Assert.False(PayloadSpecReader.TryRead(path, out _, out var error), "the spec was accepted");
        Assert.Equal(path, error!.File);
        return error;
    }

    [Fact]
    public void A_function_without_record_records_every_parameter_and_the_result_with_the_types_defaults()
    {
        var f = Assert.Single(Read(Spec(Kmalloc)).Functions);
        Assert.Equal(PayloadMode.Post, f.Mode);
        Assert.Equal("void *", f.Returns);
        Assert.Equal([new PayloadParameter("size_t", "size"), new PayloadParameter("gfp_t", "flags")], f.Parameters);
        // size_t prints with %zu; gfp_t is a bitwise type: a __force cast to unsigned int, in hex (seed 003: "d0").
        Assert.Equal(new PayloadRecordedValue("size", "size_t", "size", "%zu"), f.Record[0]);
        Assert.Equal(new PayloadRecordedValue("flags", "unsigned int", "(__force unsigned int)flags", "%x"), f.Record[1]);
        // A pointer is an unsigned long in hex (%p would be hashed, %px is what checkpatch warns about).
        Assert.Equal(new PayloadRecordedValue("result", "unsigned long", "(unsigned long)ret", "%lx"), f.Result);
        Assert.True(f.CheckPrototype);
    }

    [Fact]
    public void Types_are_normalised_and_a_spec_may_hold_comments_and_trailing_commas()
    {
        var spec = Read("""
            // a comment
            { "name": "p", "functions": [
              { "name": "kfree", "returns": "void", "params": ["const   void*objp"], "mode": "pre", },
            ], }
            """);
        var f = Assert.Single(spec.Functions);
        Assert.Equal(new PayloadParameter("const void *", "objp"), Assert.Single(f.Parameters));
        Assert.Null(f.Result);
        Assert.Equal("(unsigned long)objp", Assert.Single(f.Record).Value);
    }

    [Fact]
    public void Recorded_values_may_name_an_expression_a_type_and_a_format()
    {
        var f = Assert.Single(Read(Spec("""
            { "name": "kmemdup", "returns": "void *", "params": ["const void *src", "size_t len", "gfp_t gfp"],
              "record": ["len", { "name": "words", "value": "len / 8", "type": "unsigned long", "format": "%lu" },
                         { "name": "gfp", "format": "%#x" }],
              "result": { "format": "%#lx" } }
            """)).Functions);
        Assert.Equal(["len", "words", "gfp"], f.Record.Select(r => r.Name));
        Assert.Equal(new PayloadRecordedValue("words", "unsigned long", "len / 8", "%lu"), f.Record[1]);
        Assert.Equal("%#x", f.Record[2].Format);
        Assert.Equal("%#lx", f.Result!.Format);
    }

    [Fact]
    public void Replace_behaviours_are_read()
    {
        var spec = Read(Spec("""
            { "name": "__kmalloc", "returns": "void *", "params": ["size_t size", "gfp_t flags"],
              "mode": "replace", "behaviour": "fault", "value": "NULL" },
            { "name": "msleep", "returns": "void", "params": ["unsigned int msecs"], "mode": "replace", "behaviour": "skip" }
            """, "\"fault_check\": \"should_fail\", \"sources\": [\"x.c\"],"), create: "x.c");
        Assert.Equal(PayloadBehaviour.Fault, spec.Functions[0].Behaviour);
        Assert.Equal("NULL", spec.Functions[0].Value);
        Assert.Equal(PayloadBehaviour.Skip, spec.Functions[1].Behaviour);
        Assert.Equal("should_fail", spec.FaultCheck);
    }

    [Fact]
    public void A_variadic_function_in_mode_pre_keeps_its_named_parameters_and_is_marked_variadic()
    {
        var f = Assert.Single(Read(Spec("""{ "name": "kasprintf", "returns": "char *", "params": ["gfp_t gfp", "const char *fmt", "..."], "mode": "pre" }""")).Functions);
        Assert.True(f.Variadic);
        Assert.Equal([new PayloadParameter("gfp_t", "gfp"), new PayloadParameter("const char *", "fmt")], f.Parameters);
        Assert.Equal(["gfp", "fmt"], f.Record.Select(r => r.Name));
        Assert.Null(f.Result);
        Assert.False(Assert.Single(Read(Spec(Kmalloc)).Functions).Variadic);
    }

    private PayloadSpec Read(string text, string create)
    {
        File.WriteAllText(Path.Combine(_dir, create), "");
        return Read(text);
    }

    public static TheoryData<string, string, string, string> BadSpecs() => new()
    {
        // spec text, code, JSON path, a word of the message
        { """{ "functions": [] }""", "KEDR7002", "$", "'name'" },
        { """{ "name": "p" }""", "KEDR7002", "$", "'functions'" },
        { """{ "name": "p", "functions": [] }""", "KEDR7003", "$.functions", "non-empty" },
        { """{ "name": "p", "functions": {} }""", "KEDR7003", "$.functions", "non-empty" },
        { """{ "name": 5, "functions": [] }""", "KEDR7003", "$.name", "a number" },
        { """{ "name": "p", "fucntions": [] }""", "KEDR7004", "$.fucntions", "unknown field" },
        { """{ "name": "My-Payload", "functions": [] }""", "KEDR7005", "$.name", "module name" },
        { Spec(Kmalloc, "\"includes\": [\"../etc/passwd\"],"), "KEDR7005", "$.includes[0]", "header path" },
        { Spec(Kmalloc, "\"description\": \"say \\\"hi\\\"\","), "KEDR7005", "$.description", "'\"'" },
        { Spec(Kmalloc, $"\"description\": \"{new string('x', 71)}\","), "KEDR7005", "$.description", "at most 70" },
        { Spec("""{ "name": "kmalloc(", "returns": "void *", "params": [] }"""), "KEDR7005", "$.functions[0].name", "C identifier" },
        { Spec("""{ "returns": "void *", "params": [] }"""), "KEDR7002", "$.functions[0]", "'name'" },
        { Spec("""{ "name": "f", "params": [] }"""), "KEDR7002", "$.functions[0]", "'returns'" },
        { Spec("""{ "name": "f", "returns": "void" }"""), "KEDR7002", "$.functions[0]", "'params'" },
        { Spec("""{ "name": "f", "returns": "void", "params": ["int"] }"""), "KEDR7006", "$.functions[0].params[0]", "type name" },
        { Spec("""{ "name": "f", "returns": "void", "params": ["unsigned long"] }"""), "KEDR7006", "$.functions[0].params[0]", "type name" },
        { Spec("""{ "name": "f", "returns": "void", "params": ["void (*cb)(void)"] }"""), "KEDR7006", "$.functions[0].params[0]", "typedef" },
        { Spec("""{ "name": "f", "returns": "void", "params": ["int a", "long a"] }"""), "KEDR7006", "$.functions[0].params[1]", "second parameter" },
        { Spec("""{ "name": "f", "returns": "void", "params": ["int ret"] }"""), "KEDR7006", "$.functions[0].params[0]", "reserved" },
        { Spec("""{ "name": "f", "returns": "int[2]", "params": [] }"""), "KEDR7006", "$.functions[0].returns", "C type" },
        { Spec("""{ "name": "f", "returns": "void", "params": ["int a", "...", "int b"], "mode": "pre" }"""), "KEDR7006", "$.functions[0].params[2]", "last parameter" },
        { Spec("""{ "name": "f", "returns": "void", "params": ["..."], "mode": "pre" }"""), "KEDR7006", "$.functions[0].params[0]", "named parameter before" },
        { Spec("""{ "name": "f", "returns": "void", "params": ["int a", "int b", "int c", "int d", "int e", "int g", "..."], "mode": "pre" }"""), "KEDR7006", "$.functions[0].params[6]", "at most 5" },
        { Spec("""{ "name": "f", "returns": "int", "params": ["const char *fmt", "..."] }"""), "KEDR7008", "$.functions[0].mode", "variadic" },
        { Spec("""{ "name": "f", "returns": "int", "params": ["const char *fmt", "..."], "mode": "replace", "code": "ret = 0;" }"""), "KEDR7008", "$.functions[0].mode", "variadic" },
        { Spec("""{ "name": "f", "returns": "void", "params": ["int a"], "record": ["b"] }"""), "KEDR7007", "$.functions[0].record[0]", "not a parameter" },
        { Spec("""{ "name": "f", "returns": "void", "params": ["int a"], "record": [{ "name": "a", "format": "%s" }] }"""), "KEDR7007", "$.functions[0].record[0].format", "integer conversion" },
        { Spec("""{ "name": "f", "returns": "void", "params": ["size_t a"], "record": [{ "name": "a", "format": "%d" }] }"""), "KEDR7007", "$.functions[0].record[0].format", "does not fit a size_t" },
        { Spec("""{ "name": "f", "returns": "void", "params": ["struct page pg"] }"""), "KEDR7007", "$.functions[0].params", "no default format" },
        { Spec("""{ "name": "f", "returns": "void", "params": ["int a"], "record": ["a", "a"] }"""), "KEDR7007", "$.functions[0].record[1]", "twice" },
        { Spec("""{ "name": "f", "returns": "void", "params": ["int a"], "record": [{ "name": "x", "value": "a * 2" }] }"""), "KEDR7007", "$.functions[0].record[0]", "'type'" },
        { Spec("""{ "name": "f", "returns": "void", "params": [], "result": true }"""), "KEDR7007", "$.functions[0].result", "void" },
        { Spec("""{ "name": "f", "returns": "int", "params": [], "mode": "pre", "result": true }"""), "KEDR7007", "$.functions[0].result", "pre" },
        { Spec("""{ "name": "f", "returns": "int", "params": [], "mode": "around" }"""), "KEDR7008", "$.functions[0].mode", "pre, post or replace" },
        { Spec("""{ "name": "f", "returns": "int", "params": [], "mode": "replace" }"""), "KEDR7008", "$.functions[0]", "needs 'code'" },
        { Spec("""{ "name": "f", "returns": "int", "params": [], "behaviour": "skip", "value": "0" }"""), "KEDR7008", "$.functions[0].behaviour", "mode replace" },
        { Spec("""{ "name": "f", "returns": "int", "params": [], "mode": "replace", "behaviour": "skip" }"""), "KEDR7008", "$.functions[0]", "'value'" },
        { Spec("""{ "name": "f", "returns": "int", "params": [], "mode": "replace", "behaviour": "fault", "value": "0" }"""), "KEDR7008", "$.functions[0].behaviour", "fault_check" },
        { Spec("""{ "name": "f", "returns": "void", "params": [], "mode": "replace", "behaviour": "skip", "value": "0" }"""), "KEDR7008", "$.functions[0].value", "non-void" },
        { Spec("""{ "name": "f", "returns": "int", "params": [], "mode": "replace", "behaviour": "skip", "value": "0", "code": "ret = 1;" }"""), "KEDR7008", "$.functions[0].code", "not both" },
        { Spec(Kmalloc + ", " + Kmalloc), "KEDR7009", "$.functions[1].name", "twice" },
        { Spec(Kmalloc, "\"sources\": [\"missing.c\"],"), "KEDR7010", "$.sources[0]", "no such file" },
        { Spec(Kmalloc, "\"sources\": [\"../x.c\"],"), "KEDR7010", "$.sources[0]", "spec's folder" },
        { Spec(Kmalloc, "\"sources\": [\"my_payload_main.c\"],"), "KEDR7010", "$.sources[0]", "generated" },
        { Spec(Kmalloc, "\"hooks\": { \"setup\": \"s\" },"), "KEDR7010", "$.sources", "no .c file" },
        { Spec(Kmalloc, "\"hooks\": { \"on_load\": \"s\" },"), "KEDR7004", "$.hooks.on_load", "unknown field" },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void A_bad_spec_is_refused_naming_the_file_the_json_path_and_the_problem(string text, string code, string at, string word)
    {
        var e = Refuse(text);
        Assert.Equal(code, e.Code);
        Assert.Equal(at, e.Section);
        Assert.Contains(word, e.Message, StringComparison.Ordinal);
        Assert.Contains(DiagnosticCodes.All, c => c.Code == e.Code);
    }

    [Fact]
    public void Text_that_is_not_json_is_refused_with_its_line()
    {
        var e = Refuse("{\n  \"name\": \"p\",\n  \"functions\": [ oops ]\n}");
        Assert.Equal(DiagnosticCodes.PayloadSpecNotJson.Code, e.Code);
        Assert.StartsWith("line 3,", e.Section, StringComparison.Ordinal);
    }

    [Fact]
    public void A_spec_that_cannot_be_read_is_refused()
    {
        Assert.False(PayloadSpecReader.TryRead(Path.Combine(_dir, "none.json"), out _, out var e));
        Assert.Equal(DiagnosticCodes.PayloadSpecCannotRead.Code, e!.Code);
    }
}
