namespace Kedr.Core.Diagnostics;

/// <summary>A stable diagnostic code (<c>KEDRnnnn</c>) and the one condition it stands for.</summary>
public sealed record DiagnosticCode(string Code, string Condition)
{
    public override string ToString() => Code;
}
