using System.Text.Json;
using System.Text.RegularExpressions;
using Kedr.Core.Diagnostics;

namespace Kedr.Kernel.Payloads;

/// <summary>
/// Reads a payload spec (JSON, docs/payloads.md) and checks everything the generator relies on: each
/// problem is one diagnostic (KEDR7xxx) naming the file and the JSON path of the value, e.g.
/// <c>alloc.json: $.functions[2].record[0]: KEDR7007: 'sz' is not a parameter of kfree</c>.
/// </summary>
public static partial class PayloadSpecReader
{
    /// <summary>Names the generated handler uses for its own locals and event fields.</summary>
    private static readonly HashSet<string> Reserved = ["info", "ret", "in_init", "injected", "result", "kedr_fault"];

    /// <summary>Named parameters a variadic function may have: the call's return address goes to its pre handler in the next of the six argument registers.</summary>
    public const int MaxVariadicFixed = 5;

    /// <summary>C words that are never a parameter's name (so <c>unsigned long</c> is a type without a name).</summary>
    private static readonly HashSet<string> TypeWords =
        ["void", "char", "short", "int", "long", "signed", "unsigned", "float", "double", "const", "volatile",
         "struct", "union", "enum", "bool", "_Bool", "__user", "__iomem", "__rcu", "__force"];

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"^[a-z][a-z0-9_]{0,54}$")]
    private static partial Regex ModuleName();

    [GeneratedRegex(@"^(?:[A-Za-z_][A-Za-z0-9_]*/)*[A-Za-z_][A-Za-z0-9_-]*\.h$")]
    private static partial Regex IncludeName();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_-]*\.[ch]$")]
    private static partial Regex SourceName();

    [GeneratedRegex(@"^(?:[A-Za-z_][A-Za-z0-9_]*|\*)(?:\s*(?:[A-Za-z_][A-Za-z0-9_]*|\*))*$")]
    private static partial Regex CType();

    [GeneratedRegex(@"^(.*?)([A-Za-z_][A-Za-z0-9_]*)$", RegexOptions.Singleline)]
    private static partial Regex TypeAndName();

    /// <summary>One printk integer conversion: flags, width, precision, length, conversion.</summary>
    [GeneratedRegex(@"^%[-+ #0]*[0-9]*(?:\.[0-9]+)?(hh|h|ll|l|z|t)?[diouxX]$")]
    private static partial Regex IntegerFormat();

    /// <summary>Field types the spec may leave without a format, with theirs, and the length a format for them must have.</summary>
    private static readonly Dictionary<string, (string Format, string Length)> KnownTypes = new()
    {
        ["size_t"] = ("%zu", "z"), ["ssize_t"] = ("%zd", "z"),
        ["int"] = ("%d", ""), ["unsigned int"] = ("%u", ""), ["unsigned"] = ("%u", ""), ["bool"] = ("%d", ""),
        ["long"] = ("%ld", "l"), ["unsigned long"] = ("%lu", "l"),
        ["long long"] = ("%lld", "ll"), ["unsigned long long"] = ("%llu", "ll"),
        ["u8"] = ("%u", ""), ["u16"] = ("%u", ""), ["u32"] = ("%u", ""), ["s32"] = ("%d", ""),
        ["u64"] = ("%llu", "ll"), ["s64"] = ("%lld", "ll"), ["loff_t"] = ("%lld", "ll"),
    };

    /// <summary>Reads and checks the spec at <paramref name="path"/>; on failure <paramref name="error"/> says what and where.</summary>
    public static bool TryRead(string path, out PayloadSpec? spec, out KedrDiagnostic? error)
    {
        spec = null;
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            error = new KedrDiagnostic(DiagnosticCodes.PayloadSpecCannotRead, $"cannot read the spec: {e.Message}", path);
            return false;
        }
        return TryParse(text, path, out spec, out error);
    }

    /// <summary>Checks spec text; <paramref name="path"/> names it in diagnostics and locates its sources.</summary>
    public static bool TryParse(string text, string path, out PayloadSpec? spec, out KedrDiagnostic? error)
    {
        spec = null;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text, new JsonDocumentOptions
            { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            error = new KedrDiagnostic(DiagnosticCodes.PayloadSpecNotJson,
                $"not JSON: {e.Message.Split(" LineNumber", 2)[0].TrimEnd('.', ' ')}", path,
                $"line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}");
            return false;
        }
        using (doc)
        {
            try
            {
                spec = new Reader(path).Spec(doc.RootElement);
                error = null;
                return true;
            }
            catch (SpecException e)
            {
                error = e.Diagnostic;
                return false;
            }
        }
    }

    private sealed class SpecException(KedrDiagnostic diagnostic) : Exception(diagnostic.Message)
    {
        public KedrDiagnostic Diagnostic { get; } = diagnostic;
    }

    /// <summary>Walks the document, keeping the JSON path of every value for the diagnostics.</summary>
    private sealed class Reader(string path)
    {
        private SpecException Fail(DiagnosticCode code, string at, string message) => new(new KedrDiagnostic(code, message, path, at));

        public PayloadSpec Spec(JsonElement root)
        {
            const string at = "$";
            var o = Object(root, at, ["name", "description", "includes", "sources", "hooks", "fault_check", "functions"]);
            var name = RequiredString(o, at, "name");
            if (!ModuleName().IsMatch(name))
                throw Fail(DiagnosticCodes.PayloadSpecBadName, $"{at}.name",
                    $"'{name}' is not a module name (a lower-case letter, then lower-case letters, digits or '_'; at most 55)");
            var description = OptionalString(o, at, "description") ?? $"KEDR payload {name}";
            if (description.Any(c => c is '"' or '\\' || char.IsControl(c)))
                throw Fail(DiagnosticCodes.PayloadSpecBadName, $"{at}.description", "holds a '\"', a '\\' or a control character");
            if (description.Length > 70)
                throw Fail(DiagnosticCodes.PayloadSpecBadName, $"{at}.description", $"is {description.Length} characters long; at most 70 (one line of MODULE_DESCRIPTION)");

            var includes = StringArray(o, at, "includes").Select((s, i) => IncludeName().IsMatch(s) ? s
                : throw Fail(DiagnosticCodes.PayloadSpecBadName, $"{at}.includes[{i}]",
                    $"'{s}' is not a header path like linux/slab.h")).ToList();

            var folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
            var sources = new List<string>();
            foreach (var (s, i) in StringArray(o, at, "sources").Select((s, i) => (s, i)))
            {
                var where = $"{at}.sources[{i}]";
                if (!SourceName().IsMatch(s))
                    throw Fail(DiagnosticCodes.PayloadSpecBadSource, where, $"'{s}' is not a .c or .h file name in the spec's folder");
                if (s.StartsWith(name + "_main.", StringComparison.Ordinal) || s == name + "_trace.h" || s == name + ".h"
                    || s.StartsWith("kedr_payload.", StringComparison.Ordinal) || s is "kedr_record.h" or "kedr_types.h")
                    throw Fail(DiagnosticCodes.PayloadSpecBadSource, where, $"'{s}' is the name of a generated file");
                if (!File.Exists(Path.Combine(folder, s)))
                    throw Fail(DiagnosticCodes.PayloadSpecBadSource, where, $"'{s}': no such file in {folder}");
                if (sources.Contains(s))
                    throw Fail(DiagnosticCodes.PayloadSpecBadSource, where, $"'{s}' is listed twice");
                sources.Add(s);
            }

            var hooks = new PayloadHooks(null, null, null, null);
            if (o.TryGetValue("hooks", out var h))
            {
                var ho = Object(h, $"{at}.hooks", ["setup", "teardown", "target_loaded", "target_unloading"]);
                hooks = new PayloadHooks(HookName(ho, "setup"), HookName(ho, "teardown"),
                    HookName(ho, "target_loaded"), HookName(ho, "target_unloading"));
            }
            var faultCheck = OptionalString(o, at, "fault_check");
            if (faultCheck is not null) Ident(faultCheck, $"{at}.fault_check");
            if ((faultCheck is not null || hooks != new PayloadHooks(null, null, null, null)) && !sources.Any(s => s.EndsWith(".c", StringComparison.Ordinal)))
                throw Fail(DiagnosticCodes.PayloadSpecBadSource, $"{at}.sources",
                    "hooks or fault_check name functions, but no .c file is listed to define them");

            if (!o.TryGetValue("functions", out var fs))
                throw Fail(DiagnosticCodes.PayloadSpecMissingField, at, "no 'functions'");
            if (fs.ValueKind != JsonValueKind.Array || fs.GetArrayLength() == 0)
                throw Fail(DiagnosticCodes.PayloadSpecWrongType, $"{at}.functions", "must be a non-empty array of functions");
            var functions = new List<PayloadFunction>();
            int n = 0;
            foreach (var f in fs.EnumerateArray())
            {
                var fn = Function(f, $"{at}.functions[{n++}]", faultCheck);
                if (functions.Any(g => g.Name == fn.Name))
                    throw Fail(DiagnosticCodes.PayloadSpecDuplicateFunction, $"{at}.functions[{n - 1}].name", $"{fn.Name} is listed twice");
                functions.Add(fn);
            }
            return new PayloadSpec(name, description, includes, sources, hooks, faultCheck, functions, Path.GetFullPath(path));

            string? HookName(Dictionary<string, JsonElement> ho, string key)
            {
                var v = OptionalString(ho, $"{at}.hooks", key);
                if (v is not null) Ident(v, $"{at}.hooks.{key}");
                return v;
            }
        }

        private PayloadFunction Function(JsonElement e, string at, string? faultCheck)
        {
            var o = Object(e, at, ["name", "returns", "params", "mode", "code", "behaviour", "value", "record", "result", "check_prototype"]);
            var name = Ident(RequiredString(o, at, "name"), $"{at}.name");
            var returns = Type(RequiredString(o, at, "returns"), $"{at}.returns");
            if (!o.TryGetValue("params", out var ps))
                throw Fail(DiagnosticCodes.PayloadSpecMissingField, at, $"no 'params' ([] for {name}(void))");
            if (ps.ValueKind != JsonValueKind.Array)
                throw Fail(DiagnosticCodes.PayloadSpecWrongType, $"{at}.params", "must be an array of \"type name\" strings");
            var parameters = new List<PayloadParameter>();
            int i = 0;
            bool variadic = false;
            foreach (var p in ps.EnumerateArray())
            {
                var where = $"{at}.params[{i++}]";
                if (p.ValueKind != JsonValueKind.String)
                    throw Fail(DiagnosticCodes.PayloadSpecWrongType, where, "must be a string \"type name\"");
                if (variadic)
                    throw Fail(DiagnosticCodes.PayloadSpecBadPrototype, where, "'...' must be the last parameter");
                if (p.GetString()!.Trim() == "...")
                {
                    if (parameters.Count == 0)
                        throw Fail(DiagnosticCodes.PayloadSpecBadPrototype, where, "'...' needs a named parameter before it");
                    if (parameters.Count > MaxVariadicFixed)
                        throw Fail(DiagnosticCodes.PayloadSpecBadPrototype, where,
                            $"at most {MaxVariadicFixed} parameters before '...' (the handler gets the call's return address in the next argument register)");
                    variadic = true;
                    continue;
                }
                var param = Parameter(p.GetString()!, where);
                if (parameters.Any(q => q.Name == param.Name))
                    throw Fail(DiagnosticCodes.PayloadSpecBadPrototype, where, $"a second parameter named '{param.Name}'");
                parameters.Add(param);
            }
            bool isVoid = returns == "void";

            var modeText = OptionalString(o, at, "mode") ?? "post";
            var mode = modeText switch
            {
                "pre" => PayloadMode.Pre, "post" => PayloadMode.Post, "replace" => PayloadMode.Replace,
                _ => throw Fail(DiagnosticCodes.PayloadSpecBadMode, $"{at}.mode", $"'{modeText}' is not pre, post or replace"),
            };
            var code = OptionalString(o, at, "code");
            var behaviourText = OptionalString(o, at, "behaviour");
            var behaviour = behaviourText switch
            {
                null => PayloadBehaviour.None, "skip" => PayloadBehaviour.Skip, "fault" => PayloadBehaviour.Fault,
                _ => throw Fail(DiagnosticCodes.PayloadSpecBadMode, $"{at}.behaviour", $"'{behaviourText}' is not skip or fault"),
            };
            var value = OptionalString(o, at, "value");
            if (behaviour != PayloadBehaviour.None && mode != PayloadMode.Replace)
                throw Fail(DiagnosticCodes.PayloadSpecBadMode, $"{at}.behaviour", $"a behaviour needs mode replace, not {modeText}");
            if (behaviour != PayloadBehaviour.None && code is not null)
                throw Fail(DiagnosticCodes.PayloadSpecBadMode, $"{at}.code", "give either code or a behaviour, not both");
            if (variadic && mode != PayloadMode.Pre)
                throw Fail(DiagnosticCodes.PayloadSpecBadMode, $"{at}.mode",
                    $"{name} is variadic: only mode pre, where the original gets the call as it was made ('...' cannot be passed on from C)");
            if (mode == PayloadMode.Replace && behaviour == PayloadBehaviour.None && code is null)
                throw Fail(DiagnosticCodes.PayloadSpecBadMode, at, "mode replace needs 'code' (the body; it sets ret) or 'behaviour'");
            if (behaviour == PayloadBehaviour.Fault && faultCheck is null)
                throw Fail(DiagnosticCodes.PayloadSpecBadMode, $"{at}.behaviour", "behaviour fault needs the spec's 'fault_check' function");
            if (behaviour != PayloadBehaviour.None && !isVoid && value is null)
                throw Fail(DiagnosticCodes.PayloadSpecBadMode, at, $"behaviour {behaviourText} of a non-void function needs 'value' (what it returns)");
            if (value is not null && (behaviour == PayloadBehaviour.None || isVoid))
                throw Fail(DiagnosticCodes.PayloadSpecBadMode, $"{at}.value", "'value' is only for behaviour skip or fault of a non-void function");
            if (code is not null && code.Contains("*/", StringComparison.Ordinal) && !code.Contains("/*", StringComparison.Ordinal))
                throw Fail(DiagnosticCodes.PayloadSpecBadMode, $"{at}.code", "holds '*/' without '/*'");

            var record = new List<PayloadRecordedValue>();
            if (o.TryGetValue("record", out var rs))
            {
                if (rs.ValueKind != JsonValueKind.Array)
                    throw Fail(DiagnosticCodes.PayloadSpecWrongType, $"{at}.record", "must be an array of parameter names or {\"name\", ...} objects");
                int k = 0;
                foreach (var r in rs.EnumerateArray())
                {
                    var where = $"{at}.record[{k++}]";
                    var rv = Recorded(r, where, name, parameters);
                    if (record.Any(x => x.Name == rv.Name))
                        throw Fail(DiagnosticCodes.PayloadSpecBadRecord, where, $"'{rv.Name}' is recorded twice");
                    record.Add(rv);
                }
            }
            else
            {
                foreach (var p in parameters)
                    record.Add(Recorded(JsonDocument.Parse($"\"{JsonEncodedText.Encode(p.Name)}\"").RootElement, $"{at}.params", name, parameters));
            }

            PayloadRecordedValue? result = null;
            bool wantResult = !isVoid && mode != PayloadMode.Pre;
            if (o.TryGetValue("result", out var re))
            {
                if (re.ValueKind == JsonValueKind.False) wantResult = false;
                else if (re.ValueKind is JsonValueKind.True or JsonValueKind.Object)
                {
                    if (isVoid)
                        throw Fail(DiagnosticCodes.PayloadSpecBadRecord, $"{at}.result", $"{name} returns void: there is no result to record");
                    if (mode == PayloadMode.Pre)
                        throw Fail(DiagnosticCodes.PayloadSpecBadRecord, $"{at}.result", "mode pre records before the call: there is no result yet");
                }
                else throw Fail(DiagnosticCodes.PayloadSpecWrongType, $"{at}.result", "must be true, false or {\"type\", \"format\"}");
            }
            if (wantResult)
            {
                string? type = null, format = null;
                if (re.ValueKind == JsonValueKind.Object)
                {
                    var ro = Object(re, $"{at}.result", ["type", "format"]);
                    type = OptionalString(ro, $"{at}.result", "type");
                    format = OptionalString(ro, $"{at}.result", "format");
                }
                result = Field("result", returns, "ret", type, format, $"{at}.result");
            }

            bool check = true;
            if (o.TryGetValue("check_prototype", out var cp))
            {
                if (cp.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    throw Fail(DiagnosticCodes.PayloadSpecWrongType, $"{at}.check_prototype", "must be true or false");
                check = cp.GetBoolean();
            }
            return new PayloadFunction(name, returns, parameters, mode, behaviour, code, value, record, result, check) { Variadic = variadic };
        }

        private PayloadRecordedValue Recorded(JsonElement r, string at, string function, List<PayloadParameter> parameters)
        {
            string name;
            string? value = null, type = null, format = null;
            if (r.ValueKind == JsonValueKind.String) name = r.GetString()!;
            else if (r.ValueKind == JsonValueKind.Object)
            {
                var o = Object(r, at, ["name", "value", "type", "format"]);
                name = RequiredString(o, at, "name");
                value = OptionalString(o, at, "value");
                type = OptionalString(o, at, "type");
                format = OptionalString(o, at, "format");
            }
            else throw Fail(DiagnosticCodes.PayloadSpecWrongType, at, "must be a parameter name or {\"name\", \"value\", \"type\", \"format\"}");
            Ident(name, at);
            if (Reserved.Contains(name))
                throw Fail(DiagnosticCodes.PayloadSpecBadRecord, at, $"'{name}' is a name the generated code uses itself ({string.Join(", ", Reserved.Order())})");
            var param = parameters.FirstOrDefault(p => p.Name == name);
            if (value is null && param is null)
                throw Fail(DiagnosticCodes.PayloadSpecBadRecord, at,
                    $"'{name}' is not a parameter of {function} ({string.Join(", ", parameters.Select(p => p.Name))}); give 'value' to record an expression");
            if (value is not null && type is null)
                throw Fail(DiagnosticCodes.PayloadSpecBadRecord, at, $"'{name}' has a 'value' expression: give its 'type' too");
            return Field(name, param?.Type ?? type!, value ?? name, type, format, at);
        }

        /// <summary>The trace field for a value of C type <paramref name="sourceType"/>: defaults for pointers, gfp_t and known integer types.</summary>
        private PayloadRecordedValue Field(string name, string sourceType, string value, string? type, string? format, string at)
        {
            if (type is not null) type = Type(type, $"{at}.type");
            string fieldType, expr;
            if (type is not null) { fieldType = type; expr = value; }
            else if (sourceType.Contains('*')) { fieldType = "unsigned long"; expr = $"(unsigned long){value}"; }
            else if (sourceType == "gfp_t") { fieldType = "unsigned int"; expr = $"(__force unsigned int){value}"; }
            else { fieldType = StripQualifiers(sourceType); expr = value; }
            if (fieldType.Contains('*'))
                throw Fail(DiagnosticCodes.PayloadSpecBadRecord, $"{at}.type", "a trace field here is an integer type (pointers are recorded as unsigned long)");
            var known = KnownTypes.TryGetValue(fieldType, out var k);
            if (format is null)
            {
                if (!known)
                    throw Fail(DiagnosticCodes.PayloadSpecBadRecord, at,
                        $"no default format for type '{fieldType}': give 'type' (one of {string.Join(", ", KnownTypes.Keys)}) or 'format'");
                // Addresses and flags read best in hex (seed 003's "__kmalloc(184, d0)").
                format = type is null && sourceType.Contains('*') ? "%lx" : type is null && sourceType == "gfp_t" ? "%x" : k.Format;
            }
            var m = IntegerFormat().Match(format);
            if (!m.Success)
                throw Fail(DiagnosticCodes.PayloadSpecBadRecord, $"{at}.format", $"'{format}' is not one printk integer conversion (e.g. %d, %zu, %lx)");
            if (known && m.Groups[1].Value is var length && length != k.Length && !(k.Length == "" && length is "h" or "hh"))
                throw Fail(DiagnosticCodes.PayloadSpecBadRecord, $"{at}.format",
                    $"'{format}' does not fit a {fieldType} field (its length modifier should be '{k.Length}')");
            return new PayloadRecordedValue(name, fieldType, expr, format);
        }

        private static string StripQualifiers(string type) =>
            string.Join(' ', type.Split(' ').Where(w => w is not ("const" or "volatile")));

        private PayloadParameter Parameter(string text, string at)
        {
            var t = Regex.Replace(text.Trim(), @"\s+", " ");
            var m = TypeAndName().Match(t);
            if (!m.Success || m.Groups[1].Value.Trim().Length == 0 || TypeWords.Contains(m.Groups[2].Value))
                throw Fail(DiagnosticCodes.PayloadSpecBadPrototype, at, $"'{text}' is not \"type name\" (e.g. \"const void *objp\"; function pointers need a typedef)");
            var name = m.Groups[2].Value;
            if (Reserved.Contains(name) || name.StartsWith("kedr_", StringComparison.Ordinal) || name.StartsWith("__", StringComparison.Ordinal))
                throw Fail(DiagnosticCodes.PayloadSpecBadPrototype, at, $"parameter name '{name}' is used by the generated code or reserved; rename it");
            return new PayloadParameter(Type(m.Groups[1].Value, at), name);
        }

        /// <summary>A C type of words and '*' (typedef function pointers), normalised to "const void *".</summary>
        private string Type(string text, string at)
        {
            var t = Regex.Replace(text.Trim(), @"\s+", " ");
            if (!CType().IsMatch(t) || !t.Any(char.IsLetter))
                throw Fail(DiagnosticCodes.PayloadSpecBadPrototype, at, $"'{text}' is not a C type of words and '*' (use a typedef for function pointers and arrays)");
            t = Regex.Replace(t, @"\s*\*\s*", "*");
            t = Regex.Replace(t, @"(?<=[A-Za-z0-9_])\*", " *");
            return t;
        }

        private string Ident(string s, string at) => Identifier().IsMatch(s) ? s
            : throw Fail(DiagnosticCodes.PayloadSpecBadName, at, $"'{s}' is not a C identifier");

        private Dictionary<string, JsonElement> Object(JsonElement e, string at, string[] known)
        {
            if (e.ValueKind != JsonValueKind.Object)
                throw Fail(DiagnosticCodes.PayloadSpecWrongType, at, $"must be an object, not {Kind(e)}");
            var d = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var p in e.EnumerateObject())
            {
                if (!known.Contains(p.Name))
                    throw Fail(DiagnosticCodes.PayloadSpecUnknownField, $"{at}.{p.Name}", $"unknown field '{p.Name}' (known here: {string.Join(", ", known)})");
                if (!d.TryAdd(p.Name, p.Value))
                    throw Fail(DiagnosticCodes.PayloadSpecUnknownField, $"{at}.{p.Name}", $"'{p.Name}' is given twice");
            }
            return d;
        }

        private string RequiredString(Dictionary<string, JsonElement> o, string at, string key) =>
            OptionalString(o, at, key) ?? throw Fail(DiagnosticCodes.PayloadSpecMissingField, at, $"no '{key}'");

        private string? OptionalString(Dictionary<string, JsonElement> o, string at, string key)
        {
            if (!o.TryGetValue(key, out var v)) return null;
            if (v.ValueKind != JsonValueKind.String)
                throw Fail(DiagnosticCodes.PayloadSpecWrongType, $"{at}.{key}", $"must be a string, not {Kind(v)}");
            var s = v.GetString()!;
            if (s.Length == 0)
                throw Fail(DiagnosticCodes.PayloadSpecWrongType, $"{at}.{key}", "is empty");
            return s;
        }

        private List<string> StringArray(Dictionary<string, JsonElement> o, string at, string key)
        {
            if (!o.TryGetValue(key, out var v)) return [];
            if (v.ValueKind != JsonValueKind.Array)
                throw Fail(DiagnosticCodes.PayloadSpecWrongType, $"{at}.{key}", $"must be an array of strings, not {Kind(v)}");
            var list = new List<string>();
            int i = 0;
            foreach (var x in v.EnumerateArray())
            {
                if (x.ValueKind != JsonValueKind.String || x.GetString()!.Length == 0)
                    throw Fail(DiagnosticCodes.PayloadSpecWrongType, $"{at}.{key}[{i}]", "must be a non-empty string");
                list.Add(x.GetString()!);
                i++;
            }
            return list;
        }

        private static string Kind(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.Object => "an object", JsonValueKind.Array => "an array", JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number", JsonValueKind.True or JsonValueKind.False => "a boolean", _ => "null",
        };
    }
}
