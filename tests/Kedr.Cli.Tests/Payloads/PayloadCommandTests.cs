namespace Kedr.Cli.Tests.Payloads;

/// <summary><c>kedr payload generate</c> as a user runs it: the files of a good spec, the one line of a bad one.</summary>
public sealed class PayloadCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kedr-payload-cli.").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Root => Kedr.Cli.Vm.RepositoryPaths.Root;

    [Fact]
    public void A_built_in_spec_gives_the_module_source_in_the_output_folder()
    {
        var spec = Path.Combine(Root, "kmod", "payloads", "kedr_alloc", "kedr_alloc.json");
        var outDir = Path.Combine(_dir, "new", "kedr_alloc");
        var r = KedrProcess.Run(_dir, "payload", "generate", spec, "-o", outDir);
        Assert.True(r.ExitCode == 0, r.ToString());
        // The spec's own count, so that adding a function to the built-in spec does not break this test.
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(spec));
        int functions = json.RootElement.GetProperty("functions").GetArrayLength();
        Assert.Equal($"kedr_alloc: {functions} functions, 9 files in {outDir}", r.Stdout.Trim());
        Assert.Equal(new[] { "Kbuild", "kedr_alloc.h", "kedr_alloc_leaks.c", "kedr_alloc_leaks.h", "kedr_alloc_main.c",
            "kedr_alloc_trace.h", "kedr_payload.h", "kedr_record.h", "kedr_types.h" },
            Directory.GetFiles(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Empty(r.Stderr);
    }

    [Fact]
    public void A_bad_spec_is_one_error_line_with_the_json_path_and_exit_status_2()
    {
        var spec = Path.Combine(_dir, "bad.json");
        File.WriteAllText(spec, """{ "name": "p", "functions": [ { "name": "kfree", "returns": "void", "params": ["const void *objp"], "record": ["ptr"] } ] }""");
        var r = KedrProcess.Run(_dir, "payload", "generate", spec, "-o", Path.Combine(_dir, "out"));
        Assert.Equal(2, r.ExitCode);
        Assert.Equal([$"kedr: error: {spec}: $.functions[0].record[0]: KEDR7007: 'ptr' is not a parameter of kfree (objp); give 'value' to record an expression"],
            r.StderrLines);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")), "nothing is written for a bad spec");
    }
}
