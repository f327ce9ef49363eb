using System.Globalization;
using System.Text.RegularExpressions;
using Kedr.Kernel.Payloads;
using Kedr.Kernel.Tests.Vm;

namespace Kedr.Kernel.Tests.Payloads;

/// <summary>
/// What the generator writes, checked as text: the trace line of seed 003's shape, where each mode puts
/// the spec's code, the trace call and the original call, registration, the files and their layout.
/// The compiler's and checkpatch's word on the same files is <see cref="PayloadBuildTests"/>'.
/// </summary>
public sealed partial class PayloadGeneratorTests
{
    internal static string TestSpec => Path.Combine(RepoPaths.Root, "tests", "Kedr.Kernel.Tests", "Payloads", "Resources",
        "kedr_test_payload", "kedr_test_payload.json");

    private static Dictionary<string, string> Generate(string specPath)
    {
        Assert.True(PayloadSpecReader.TryRead(specPath, out var spec, out var error), error?.ToString());
        return PayloadGenerator.Generate(spec!).ToDictionary(f => f.Name, f => f.Text);
    }

    private static Dictionary<string, string> GenerateText(string json)
    {
        var dir = Directory.CreateTempSubdirectory("kedr-gen.").FullName;
        try
        {
            var path = Path.Combine(dir, "spec.json");
            File.WriteAllText(path, json);
            return Generate(path);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>The handler of <paramref name="fn"/>, from its definition to its closing brace.</summary>
    private static string Handler(string main, string fn)
    {
        var m = Regex.Match(main, $@"^static [^\n]*\bkedr_repl_{Regex.Escape(fn)}\((?s:.*?)^\}}$", RegexOptions.Multiline);
        Assert.True(m.Success, $"no handler kedr_repl_{fn}");
        return m.Value;
    }

    /// <summary>TP_printk's format string and argument names for event called_<paramref name="fn"/>.</summary>
    private static (string Format, string[] Args) Printk(string trace, string fn)
    {
        var ev = Regex.Match(trace, $@"TRACE_EVENT\(called_{Regex.Escape(fn)},(?s:.*?)\n\);");
        Assert.True(ev.Success, $"no TRACE_EVENT(called_{fn}");
        var p = Regex.Match(ev.Value, @"TP_printk\(""([^""]*)"",((?s:.*?))\)\n\);");
        Assert.True(p.Success, ev.Value);
        return (p.Groups[1].Value, p.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries));
    }

    /// <summary>printf of integer conversions (flags #, length hh/h/l/ll/z), enough to read a trace line.</summary>
    private static string Printf(string format, params ulong[] values)
    {
        int i = 0;
        return IntegerConversion().Replace(format, m =>
        {
            var v = values[i++];
            var alt = m.Groups[1].Value.Contains('#');
            return m.Groups[3].Value switch
            {
                "d" or "i" => ((long)v).ToString(CultureInfo.InvariantCulture),
                "u" => v.ToString(CultureInfo.InvariantCulture),
                "x" => (alt && v != 0 ? "0x" : "") + v.ToString("x", CultureInfo.InvariantCulture),
                _ => throw new InvalidOperationException(m.Value),
            };
        });
    }

    [GeneratedRegex(@"%([-+ #0]*)(hh|h|ll|l|z)?([diux])")]
    private static partial Regex IntegerConversion();

    [Fact]
    public void The_trace_lines_have_seed_003s_shape()
    {
        var files = GenerateText("""
            { "name": "my_payload1", "functions": [
              { "name": "__kmalloc", "returns": "void *", "params": ["size_t size", "gfp_t flags"] },
              { "name": "kfree", "returns": "void", "params": ["const void *objp"], "mode": "pre" } ] }
            """);
        var trace = files["my_payload1_trace.h"];
        var (format, args) = Printk(trace, "__kmalloc");
        Assert.Equal(["__entry->size", "__entry->flags", "__entry->in_init", "__entry->result"], args);
        // Seed 003: "insmod-3588 [000] 5169.188503: called___kmalloc: __kmalloc(184, d0), in init: 1, result: da01e900".
        Assert.Equal("__kmalloc(184, d0), in init: 1, result: da01e900", Printf(format, 184, 0xd0, 1, 0xda01e900));
        // "rmmod-3633 [000] 5368.109579: called_kfree: kfree(db72a000)", and whether it is in init.
        (format, args) = Printk(trace, "kfree");
        Assert.Equal("kfree(db72a000), in init: 0", Printf(format, 0xdb72a000, 0));
        Assert.Contains("#define TRACE_SYSTEM my_payload1\n", trace, StringComparison.Ordinal);
    }

    [Fact]
    public void The_trace_header_can_be_read_again_by_define_trace_h_from_the_modules_folder()
    {
        var trace = Generate(TestSpec)["kedr_test_payload_trace.h"];
        // samples/trace_events: the guard yields to TRACE_HEADER_MULTI_READ; path and file are set outside it.
        Assert.Contains("#if !defined(_KEDR_TEST_PAYLOAD_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)\n", trace, StringComparison.Ordinal);
        var guardEnd = trace.IndexOf("#endif /* _KEDR_TEST_PAYLOAD_TRACE_H */", StringComparison.Ordinal);
        Assert.True(guardEnd > 0);
        var tail = trace[guardEnd..];
        Assert.Contains("#define TRACE_INCLUDE_PATH .\n", tail, StringComparison.Ordinal);
        Assert.Contains("#define TRACE_INCLUDE_FILE kedr_test_payload_trace\n", tail, StringComparison.Ordinal);
        Assert.EndsWith("#include <trace/define_trace.h>\n", trace, StringComparison.Ordinal);
        Assert.Contains("ccflags-y := -I$(src)\n", Generate(TestSpec)["Kbuild"], StringComparison.Ordinal);
    }

    [Fact]
    public void Every_function_gets_a_handler_a_replacement_entry_an_event_and_a_prototype_check()
    {
        var files = Generate(TestSpec);
        var main = files["kedr_test_payload_main.c"];
        var trace = files["kedr_test_payload_trace.h"];
        string[] functions = ["__kmalloc", "kfree", "kmemdup", "msleep", "kstrtoint", "debug_locks_off"];
        foreach (var fn in functions)
        {
            var h = Handler(main, fn);
            Assert.Contains("kedr_get_call_info((unsigned long)__builtin_return_address(0), &info);", h, StringComparison.Ordinal);
            Assert.Contains($"\t{{ \"{fn}\", kedr_repl_{fn} }},\n", main, StringComparison.Ordinal);
            Assert.Contains($"TRACE_EVENT(called_{fn},", trace, StringComparison.Ordinal);
            Assert.Single(Regex.Matches(h, $@"\btrace_called_{Regex.Escape(fn)}\("));
        }
        // and kasprintf, variadic: its own test below.
        Assert.Equal(functions.Length + 1, Regex.Matches(trace, @"^TRACE_EVENT\(", RegexOptions.Multiline).Count);
        // check_prototype: false: no static_assert against a header, the generated header declares it.
        foreach (var fn in functions.SkipLast(1))
            Assert.Contains($"__same_type(&{fn}, &kedr_repl_{fn})", main.Replace("\n\t\t\t  ", " "), StringComparison.Ordinal);
        Assert.DoesNotContain("__same_type(&debug_locks_off", main, StringComparison.Ordinal);
        Assert.Contains("int debug_locks_off(void);\n", files["kedr_test_payload.h"], StringComparison.Ordinal);
    }

    [Fact]
    public void Each_mode_orders_the_specs_code_the_event_and_the_original_call()
    {
        var main = Generate(TestSpec)["kedr_test_payload_main.c"];
        static int At(string h, string s) => h.IndexOf(s, StringComparison.Ordinal) is var i and >= 0 ? i
            : throw new Xunit.Sdk.XunitException($"'{s}' not in\n{h}");

        var pre = Handler(main, "kfree");
        Assert.True(At(pre, "kedr_test_count(&info);") < At(pre, "trace_called_kfree(") && At(pre, "trace_called_kfree(") < At(pre, "\tkfree(objp);"));

        var post = Handler(main, "kstrtoint");
        Assert.True(At(post, "ret = kstrtoint(s, base, res);") < At(post, "trace_called_kstrtoint("));
        Assert.EndsWith("\treturn ret;\n}", post, StringComparison.Ordinal);

        // replace with code: the spec's body calls the original; nothing else does.
        var replace = Handler(main, "kmemdup");
        Assert.Single(Regex.Matches(replace, @"\bkmemdup\(src, len, gfp\)"));
        Assert.True(At(replace, "\tif (ret)\n\t\tkedr_test_count(&info);") < At(replace, "trace_called_kmemdup("));

        // skip: the original is never called.
        var skip = Handler(main, "msleep");
        Assert.DoesNotMatch(@"[^_]msleep\(msecs\)", skip);

        // fault: the check decides; a failure returns the value and is recorded as injected.
        var fault = Handler(main, "__kmalloc");
        Assert.Contains("injected = kedr_test_should_fail(\"__kmalloc\", &info);\n\tif (injected)\n\t\tret = NULL;\n\telse\n\t\tret = __kmalloc(size, flags);", fault, StringComparison.Ordinal);
        Assert.Contains("injected);", fault, StringComparison.Ordinal);
        Assert.EndsWith(", injected: %d", Printk(Generate(TestSpec)["kedr_test_payload_trace.h"], "__kmalloc").Format, StringComparison.Ordinal);
    }

    /// <summary>
    /// A variadic function (kasprintf(gfp_t, const char *, ...)): C cannot pass a '...' on, so the handler is a
    /// trampoline that must leave the original exactly the call the target made. From the System V ABI: the
    /// six argument registers and %rax (vector registers used, for a variadic call) are saved and restored in
    /// reverse order, %rsp is back where it was, and the original is entered by a jmp, so the target's return
    /// address stays on top; the pre handler gets the named parameters in their own registers (%rdi, %rsi)
    /// and the return address, which is 7 * 8 bytes above %rsp after the seven pushes, in the next one (%rdx).
    /// </summary>
    [Fact]
    public void A_variadic_function_runs_its_pre_code_then_jumps_to_the_original_with_the_call_untouched()
    {
        var files = Generate(TestSpec);
        var main = files["kedr_test_payload_main.c"];
        var pre = Regex.Match(main, @"^static __used void kedr_pre_kasprintf\((?s:.*?)^\}$", RegexOptions.Multiline).Value;
        Assert.Matches(@"^static __used void kedr_pre_kasprintf\(gfp_t gfp, const char \*fmt,\s+unsigned long kedr_ret\)", pre);
        int info = pre.IndexOf("kedr_get_call_info(kedr_ret, &info);", StringComparison.Ordinal),
            code = pre.IndexOf("kedr_test_count(&info);", StringComparison.Ordinal),
            trace = pre.IndexOf("trace_called_kasprintf(", StringComparison.Ordinal);
        Assert.True(info > 0 && info < code && code < trace, pre);
        Assert.DoesNotMatch(@"[^_]kasprintf\(", pre.Replace("kedr_pre_kasprintf(", ""));

        var asm = Regex.Match(main, @"^asm \((?s:.*?)\);$", RegexOptions.Multiline).Value;
        var insns = Regex.Matches(asm, @"^""\t([a-z]+) ?([^\\""]*)\\n""$", RegexOptions.Multiline)
            .Select(m => (m.Groups[1].Value + " " + m.Groups[2].Value).Trim()).Where(i => !i.StartsWith('.')).ToList();
        string[] saved = ["%rdi", "%rsi", "%rdx", "%rcx", "%r8", "%r9", "%rax"];
        var expected = saved.Select(r => "pushq " + r)
            .Append("movq 56(%rsp), %rdx").Append("call kedr_pre_kasprintf")
            .Concat(saved.Reverse().Select(r => "popq " + r)).Append("jmp kasprintf").ToList();
        Assert.Equal(expected, insns);
        Assert.Contains("\t.type kedr_repl_kasprintf, @function\\n", asm, StringComparison.Ordinal);
        Assert.Contains("\t.size kedr_repl_kasprintf, .-kedr_repl_kasprintf\\n", asm, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^\tASM_ENDBR$", asm);
        // The spec's prototype, '...' included, checked against the kernel's; the table names the trampoline.
        Assert.Contains("char *kedr_repl_kasprintf(gfp_t gfp, const char *fmt, ...);\nasm (", main, StringComparison.Ordinal);
        Assert.Contains("static_assert(__same_type(&kasprintf, &kedr_repl_kasprintf));", main, StringComparison.Ordinal);
        Assert.Contains("\t{ \"kasprintf\", kedr_repl_kasprintf },\n", main, StringComparison.Ordinal);
        Assert.Equal("kasprintf(%x), in init: %d", Printk(files["kedr_test_payload_trace.h"], "kasprintf").Format);
    }

    [Fact]
    public void Init_sets_up_then_registers_and_exit_unregisters_then_tears_down()
    {
        var main = Generate(TestSpec)["kedr_test_payload_main.c"];
        var init = Regex.Match(main, @"static int __init kedr_test_payload_init\(void\)\n\{(?s:.*?)\n\}").Value;
        Assert.Matches(@"ret = kedr_test_setup\(\);\n\tif \(ret\)\n\t\treturn ret;\n\tret = kedr_payload_register\(&kedr_test_payload_payload\);\n\tif \(ret\)\n\t\tkedr_test_teardown\(\);\n\treturn ret;", init);
        var exit = Regex.Match(main, @"static void __exit kedr_test_payload_exit\(void\)\n\{(?s:.*?)\n\}").Value;
        Assert.Matches(@"kedr_payload_unregister\(&kedr_test_payload_payload\);\n\tkedr_test_teardown\(\);", exit);
        Assert.Contains("module_init(kedr_test_payload_init);", main, StringComparison.Ordinal);
        Assert.Contains("\t.target_loaded = kedr_test_target_hook,\n\t.target_unloading = kedr_test_target_hook,\n", main, StringComparison.Ordinal);
        Assert.Contains("MODULE_LICENSE(\"GPL\");", main, StringComparison.Ordinal);
    }

    [Fact]
    public void The_files_are_the_module_the_api_headers_of_kmod_and_the_specs_sources()
    {
        var files = Generate(TestSpec);
        Assert.Equal(new[] { "Kbuild", "kedr_test_payload_main.c", "kedr_test_payload_trace.h", "kedr_test_payload.h",
            "kedr_payload.h", "kedr_record.h", "kedr_types.h", "kedr_test_payload_extra.h", "kedr_test_payload_extra.c" }.Order(),
            files.Keys.Order());
        foreach (var h in new[] { "kedr_payload.h", "kedr_record.h", "kedr_types.h" })
            Assert.Equal(File.ReadAllText(Path.Combine(RepoPaths.Root, "kmod", h)), files[h]);
        var folder = Path.GetDirectoryName(TestSpec)!;
        Assert.Equal(File.ReadAllText(Path.Combine(folder, "kedr_test_payload_extra.c")), files["kedr_test_payload_extra.c"]);
        Assert.Matches(@"(?m)^obj-m := kedr_test_payload\.o\nkedr_test_payload-y := kedr_test_payload_main\.o kedr_test_payload_extra\.o$", files["Kbuild"]);
        Assert.Contains("#include \"kedr_test_payload_extra.h\"\n", files["kedr_test_payload_main.c"], StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BuiltInSpecs))]
    public void Generated_c_keeps_kernel_layout(string spec)
    {
        var payload = Path.GetFileNameWithoutExtension(spec);
        string[] generated = [$"{payload}_main.c", $"{payload}_trace.h", $"{payload}.h"];
        foreach (var (name, text) in Generate(spec).Where(f => generated.Contains(f.Key)))
        {
            var lines = text.Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                var line = lines[i];
                var where = $"{name}:{i + 1}: {line}";
                Assert.False(line.EndsWith(' ') || line.EndsWith('\t'), $"trailing white space: {where}");
                Assert.Matches(@"^\t* {0,7}(\S|$)", line);
                int width = CLineWidth(line);
                Assert.True(width <= 80 || (line.Contains('"') && width <= 100), $"{width} columns: {where}");
            }
            Assert.EndsWith("\n", text, StringComparison.Ordinal);
            Assert.False(text.EndsWith("\n\n", StringComparison.Ordinal), $"{name} ends in a blank line");
        }
    }

    private static int CLineWidth(string s)
    {
        int col = 0;
        foreach (var c in s) col = c == '\t' ? (col / 8 + 1) * 8 : col + 1;
        return col;
    }

    /// <summary>The built-in specs (kmod/payloads/NAME/NAME.json) and the tests' own.</summary>
    public static TheoryData<string> BuiltInSpecs()
    {
        var data = new TheoryData<string>();
        foreach (var s in SpecPaths()) data.Add(s);
        return data;
    }

    internal static IEnumerable<string> SpecPaths() =>
        Directory.GetDirectories(Path.Combine(RepoPaths.Root, "kmod", "payloads")).Order()
            .Select(d => Path.Combine(d, Path.GetFileName(d) + ".json")).Append(TestSpec);

    [Fact]
    public void The_built_in_payloads_are_there()
    {
        var names = SpecPaths().Select(Path.GetFileNameWithoutExtension).ToList();
        Assert.Equal(["kedr_alloc", "kedr_faults", "kedr_locks", "kedr_test_payload", "kedr_usercopy"], names.Order());
    }
}
