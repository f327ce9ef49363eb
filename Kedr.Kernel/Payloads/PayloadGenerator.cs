using System.Text;

namespace Kedr.Kernel.Payloads;

/// <summary>
/// Turns a checked <see cref="PayloadSpec"/> into a payload module's source (docs/payloads.md): the
/// handlers and registration (<c>NAME_main.c</c>), one TRACE_EVENT per function (<c>NAME_trace.h</c>), the
/// declarations the spec's own sources share with it (<c>NAME.h</c>), a Kbuild file, kedr_sample's payload
/// API headers and the spec's sources. All C text comes from the templates in Payloads/Templates.
/// </summary>
public static class PayloadGenerator
{
    /// <summary>kmod/ headers a payload builds with, embedded from the checkout (kedr_payload.h is the API).</summary>
    public static readonly IReadOnlyList<string> ApiHeaders = ["kedr_payload.h", "kedr_record.h", "kedr_types.h"];

    /// <summary>The files of the payload module: name (no folder) and text.</summary>
    public static IReadOnlyList<(string Name, string Text)> Generate(PayloadSpec spec)
    {
        var files = new List<(string, string)>
        {
            ("Kbuild", Kbuild(spec)),
            ($"{spec.Name}_main.c", CLineWrapper.Wrap(Main(spec))),
            ($"{spec.Name}_trace.h", CLineWrapper.Wrap(Trace(spec))),
            ($"{spec.Name}.h", CLineWrapper.Wrap(Header(spec))),
        };
        foreach (var h in ApiHeaders) files.Add((h, PayloadTemplate.Resource($"kmod/{h}")));
        var folder = Path.GetDirectoryName(spec.SpecPath)!;
        foreach (var s in spec.Sources) files.Add((s, File.ReadAllText(Path.Combine(folder, s))));
        return files;
    }

    /// <summary>Writes <see cref="Generate"/>'s files into <paramref name="outDir"/> (created if needed).</summary>
    public static IReadOnlyList<string> Write(PayloadSpec spec, string outDir)
    {
        Directory.CreateDirectory(outDir);
        var written = new List<string>();
        foreach (var (name, text) in Generate(spec))
        {
            var path = Path.Combine(outDir, name);
            File.WriteAllText(path, text, new UTF8Encoding(false));
            written.Add(path);
        }
        return written;
    }

    private static string SpecFile(PayloadSpec spec) => Path.GetFileName(spec.SpecPath);

    private static string Kbuild(PayloadSpec spec)
    {
        var objects = new[] { $"{spec.Name}_main.o" }
            .Concat(spec.Sources.Where(s => s.EndsWith(".c", StringComparison.Ordinal)).Select(s => s[..^2] + ".o"));
        return PayloadTemplate.Load("Kbuild.tmpl").Render("", new Dictionary<string, string>
        {
            ["name"] = spec.Name, ["spec_file"] = SpecFile(spec), ["objects"] = string.Join(' ', objects),
        });
    }

    private static string Main(PayloadSpec spec)
    {
        var t = PayloadTemplate.Load("handlers.c.tmpl");
        var handlers = new StringBuilder();
        foreach (var f in spec.Functions) handlers.Append(Handler(t, spec, f));
        var hooks = new StringBuilder();
        foreach (var (field, function) in new[] { ("target_loaded", spec.Hooks.TargetLoaded), ("target_unloading", spec.Hooks.TargetUnloading) })
            if (function is not null) hooks.Append(t.Render("hook_field", V(("field", field), ("function", function))));
        return PayloadTemplate.Load("main.c.tmpl").Render("", new Dictionary<string, string>
        {
            ["name"] = spec.Name,
            ["spec_file"] = SpecFile(spec),
            ["description"] = spec.Description,
            ["description_comment"] = CommentLines(spec.Description),
            ["includes"] = string.Concat(spec.Includes.Select(i => t.Render("include", V(("path", i))))),
            ["spec_headers"] = string.Concat(spec.Sources.Where(s => s.EndsWith(".h", StringComparison.Ordinal))
                .Select(s => t.Render("local_include", V(("path", s))))),
            ["handlers"] = handlers.ToString(),
            ["replacements"] = string.Concat(spec.Functions.Select(f => t.Render("replacement", V(("fn", f.Name))))),
            ["hook_fields"] = hooks.ToString(),
            ["setup_call"] = spec.Hooks.Setup is { } s ? t.Render("setup_call", V(("setup", s))) : "",
            ["teardown_on_error"] = spec.Hooks.Teardown is { } d ? t.Render("teardown_on_error", V(("teardown", d))) : "",
            ["teardown_call"] = spec.Hooks.Teardown is { } d2 ? t.Render("teardown_call", V(("teardown", d2))) : "",
        });
    }

    private static string Handler(PayloadTemplate t, PayloadSpec spec, PayloadFunction f)
    {
        var args = string.Join(", ", f.Parameters.Select(p => p.Name));
        var v = new Dictionary<string, string>
        {
            ["fn"] = f.Name,
            ["ret_type"] = TypePrefix(f.Returns),
            ["params"] = Parameters(f),
            ["args"] = args,
            ["value"] = f.Value ?? "",
            ["fault_check"] = spec.FaultCheck ?? "",
        };
        v["ret_type_alone"] = f.Returns;
        // A name too long for "static type name(first parameter," in 80 columns: the type on a line of its own.
        var first = $"static {v["ret_type"]}kedr_repl_{f.Name}({(f.Parameters.Count > 0 ? TypePrefix(f.Parameters[0].Type) + f.Parameters[0].Name : "void")},";
        v["signature"] = t.Render(CLineWrapper.Width(first) > CLineWrapper.Limit ? "signature_split" : "signature", v);
        bool fault = f.Behaviour == PayloadBehaviour.Fault;
        v["injected_decl"] = fault ? t.Render("injected_decl", v) : "";
        v["ret_decl"] = f.IsVoid ? "" : t.Render("ret_decl", v);
        v["return"] = f.IsVoid ? "" : t.Render("return", v);
        v["prototype_check"] = f.CheckPrototype ? t.Render("prototype_check", v) : "";
        v["trace_args"] = string.Join(", ", TraceArguments(f));

        if (f.Variadic) return Trampoline(t, f, v);
        var call = t.Render(f.IsVoid ? "call_void" : "call_value", v);
        var code = f.Code is null ? "" : Indent(f.Code);
        var trace = t.Render("trace", v);
        var body = (f.Mode, f.Behaviour) switch
        {
            (PayloadMode.Pre, _) => code + trace + call,
            (PayloadMode.Post, _) => call + code + trace,
            (PayloadMode.Replace, PayloadBehaviour.Skip) => (f.IsVoid ? "" : t.Render("skip_value", v)) + trace,
            (PayloadMode.Replace, PayloadBehaviour.Fault) => t.Render(f.IsVoid ? "fault_void" : "fault_value", v) + trace,
            _ => code + trace,
        };
        return t.Render("head", v) + body + t.Render("tail", v);
    }

    /// <summary>The System V argument registers, in order (the kernel passes no floating-point arguments).</summary>
    private static readonly string[] ArgumentRegisters = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"];

    /// <summary>
    /// A variadic function (mode pre): C cannot pass a '...' on, so the handler is a trampoline. It saves the
    /// argument registers and %rax (the count of vector registers a variadic call passes), calls kedr_pre_F with
    /// the named parameters where they are and the call's return address in the next argument register,
    /// restores them and jumps to F: F runs with the registers and stack the target's call left, its return
    /// address included. kedr_pre_F is the pre handler's body (spec code, event).
    /// </summary>
    private static string Trampoline(PayloadTemplate t, PayloadFunction f, Dictionary<string, string> v)
    {
        v["pre_params"] = Parameters(f) + ", unsigned long kedr_ret";
        var first = $"static __used void kedr_pre_{f.Name}({TypePrefix(f.Parameters[0].Type)}{f.Parameters[0].Name},";
        v["pre_signature"] = t.Render(CLineWrapper.Width(first) > CLineWrapper.Limit ? "pre_signature_split" : "pre_signature", v);
        var decl = $"kedr_repl_{f.Name}({Parameters(f)}, ...);";
        var declFirst = $"{TypePrefix(f.Returns)}kedr_repl_{f.Name}({TypePrefix(f.Parameters[0].Type)}{f.Parameters[0].Name},";
        v["trampoline_decl"] = CLineWrapper.Width(declFirst) > CLineWrapper.Limit ? $"{f.Returns}\n{decl}" : TypePrefix(f.Returns) + decl;
        v["ret_reg"] = ArgumentRegisters[f.Parameters.Count];
        v["size_checks"] = string.Concat(f.Parameters.Select(p => t.Render("vararg_size_check", V(("param", p.Name)))));
        var code = f.Code is null ? "" : Indent(f.Code);
        return t.Render("vararg_head", v) + code + t.Render("trace", v) + t.Render("vararg_tail", v);
    }

    /// <summary>The values the trace event gets, in TP_PROTO order: recorded values, in_init, result, injected.</summary>
    private static IEnumerable<string> TraceArguments(PayloadFunction f)
    {
        foreach (var r in f.Record) yield return r.Value;
        yield return "info.in_init";
        if (f.Result is { } res) yield return res.Value;
        if (f.Behaviour == PayloadBehaviour.Fault) yield return "injected";
    }

    /// <summary>The event's fields: name, C type and format, in TP_PROTO order.</summary>
    private static IEnumerable<(string Name, string Type, string Format)> TraceFields(PayloadFunction f)
    {
        foreach (var r in f.Record) yield return (r.Name, r.FieldType, r.Format);
        yield return ("in_init", "int", "%d");
        if (f.Result is { } res) yield return ("result", res.FieldType, res.Format);
        if (f.Behaviour == PayloadBehaviour.Fault) yield return ("injected", "int", "%d");
    }

    private const string ArgPrefix = "v_";

    private static string Trace(PayloadSpec spec)
    {
        var t = PayloadTemplate.Load("trace.h.tmpl");
        var events = new StringBuilder();
        foreach (var f in spec.Functions)
        {
            var fields = TraceFields(f).ToList();
            // Seed 003's shape: "__kmalloc(184, d0), in init: 1, result: da01e900".
            var format = $"{f.Name}({string.Join(", ", f.Record.Select(r => r.Format))}), in init: %d"
                + (f.Result is { } res ? $", result: {res.Format}" : "")
                + (f.Behaviour == PayloadBehaviour.Fault ? ", injected: %d" : "");
            var printk = new[] { $"\"{format}\"" }.Concat(fields.Select(x => $"__entry->{x.Name}"));
            events.Append(t.Render("event", new Dictionary<string, string>
            {
                ["fn"] = f.Name,
                // The trace macros declare locals of their own (head, entry, ...): the arguments get a prefix.
                ["proto"] = string.Join(", ", fields.Select(x => $"{TypePrefix(x.Type)}{ArgPrefix}{x.Name}")),
                ["args"] = string.Join(", ", fields.Select(x => ArgPrefix + x.Name)),
                ["fields"] = string.Concat(fields.Select(x => t.Render("field", V(("type", x.Type), ("name", x.Name))))),
                ["assigns"] = string.Concat(fields.Select(x => t.Render("assign", V(("name", x.Name), ("arg", ArgPrefix + x.Name))))),
                ["printk"] = string.Join(", ", printk),
            }));
        }
        return t.Render("", new Dictionary<string, string>
        {
            ["name"] = spec.Name, ["spec_file"] = SpecFile(spec), ["guard"] = spec.Name.ToUpperInvariant(),
            ["events"] = events.ToString(),
        });
    }

    private static string Header(PayloadSpec spec)
    {
        var t = PayloadTemplate.Load("payload.h.tmpl");
        var d = new StringBuilder();
        if (spec.Hooks.Setup is { } s) d.Append(t.Render("setup", V(("function", s))));
        if (spec.Hooks.Teardown is { } td) d.Append(t.Render("teardown", V(("function", td))));
        foreach (var h in new[] { spec.Hooks.TargetLoaded, spec.Hooks.TargetUnloading }.Distinct())
            if (h is not null) d.Append(t.Render("target_hook", V(("function", h))));
        if (spec.FaultCheck is { } fc) d.Append(t.Render("fault_check", V(("function", fc))));
        foreach (var f in spec.Functions.Where(f => !f.CheckPrototype))
            d.Append(t.Render("original", V(("declaration", $"{TypePrefix(f.Returns)}{f.Name}({Parameters(f)}{(f.Variadic ? ", ..." : "")})"))));
        if (d.Length > 0) d.Append('\n');
        return t.Render("", new Dictionary<string, string>
        {
            ["name"] = spec.Name, ["spec_file"] = SpecFile(spec), ["guard"] = spec.Name.ToUpperInvariant(),
            ["declarations"] = d.ToString(),
        });
    }

    /// <summary>The parameter list of the prototype ("void" for none).</summary>
    private static string Parameters(PayloadFunction f) =>
        f.Parameters.Count == 0 ? "void" : string.Join(", ", f.Parameters.Select(p => $"{TypePrefix(p.Type)}{p.Name}"));

    /// <summary>A type written before a name: "void *" stays "void *", "int" becomes "int ".</summary>
    private static string TypePrefix(string type) => type.EndsWith('*') ? type : type + " ";

    /// <summary>The spec's C statements, one tab deeper than the handler's braces.</summary>
    private static string Indent(string code)
    {
        var b = new StringBuilder();
        foreach (var line in code.Replace("\r\n", "\n").TrimEnd('\n').Split('\n'))
            b.Append(line.Trim().Length == 0 ? "" : "\t" + line.TrimEnd()).Append('\n');
        return b.ToString();
    }

    /// <summary>Text as lines of a block comment (" * ..."), words wrapped at 80 columns.</summary>
    private static string CommentLines(string text)
    {
        var b = new StringBuilder();
        var line = new StringBuilder(" *");
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 2 && line.Length + 1 + word.Length > CLineWrapper.Limit)
            {
                b.Append(line).Append('\n');
                line.Clear().Append(" *");
            }
            line.Append(' ').Append(word);
        }
        return b.Append(line).Append('\n').ToString();
    }

    private static Dictionary<string, string> V(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value);
}
