namespace Kedr.Kernel.Payloads;

/// <summary>
/// A payload as its spec describes it (docs/payloads.md): a module named <see cref="Name"/> that claims
/// <see cref="Functions"/>, with one trace event per function. Built by <see cref="PayloadSpecReader"/>,
/// which has checked every name and type; turned into C by <see cref="PayloadGenerator"/>.
/// </summary>
public sealed record PayloadSpec(
    string Name,
    string Description,
    IReadOnlyList<string> Includes,
    IReadOnlyList<string> Sources,
    PayloadHooks Hooks,
    string? FaultCheck,
    IReadOnlyList<PayloadFunction> Functions,
    string SpecPath);

/// <summary>Functions of the spec's extra sources that the generated module calls (null: none).</summary>
public sealed record PayloadHooks(string? Setup, string? Teardown, string? TargetLoaded, string? TargetUnloading);

/// <summary>How a handler treats the original: runs its code before it, after it, or instead of it.</summary>
public enum PayloadMode { Pre, Post, Replace }

/// <summary>The built-in behaviours of a <see cref="PayloadMode.Replace"/> handler without a body.</summary>
public enum PayloadBehaviour
{
    /// <summary>The spec gives the body (<see cref="PayloadFunction.Code"/>).</summary>
    None,
    /// <summary>Returns <see cref="PayloadFunction.Value"/> without calling the original.</summary>
    Skip,
    /// <summary>Returns <see cref="PayloadFunction.Value"/> when the spec's fault check says so, else calls the original.</summary>
    Fault,
}

/// <summary>One intercepted kernel function.</summary>
public sealed record PayloadFunction(
    string Name,
    string Returns,
    IReadOnlyList<PayloadParameter> Parameters,
    PayloadMode Mode,
    PayloadBehaviour Behaviour,
    string? Code,
    string? Value,
    IReadOnlyList<PayloadRecordedValue> Record,
    PayloadRecordedValue? Result,
    bool CheckPrototype)
{
    public bool IsVoid => Returns == "void";
    /// <summary>
    /// The prototype ends in <c>...</c> (not in <see cref="Parameters"/>): mode pre only; the handler is an assembly
    /// trampoline that runs the pre code with the named parameters and jumps to the original with the call untouched.
    /// </summary>
    public bool Variadic { get; init; }
}

/// <summary>A parameter of the function's C prototype: <c>const void *objp</c> is type <c>const void *</c>, name <c>objp</c>.</summary>
public sealed record PayloadParameter(string Type, string Name);

/// <summary>
/// A value the trace event records: a trace field <see cref="Name"/> of C type <see cref="FieldType"/>, set
/// from the C expression <see cref="Value"/>, printed with the printk conversion <see cref="Format"/>.
/// </summary>
public sealed record PayloadRecordedValue(string Name, string FieldType, string Value, string Format);
