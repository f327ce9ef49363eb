namespace Kedr.Core.Diagnostics;

/// <summary>
/// One problem found in an input, with a stable code and the place it was found.
/// Codes: KEDR1xxx ELF, KEDR2xxx rewriter, KEDR3xxx blob, KEDR4xxx kernel and VM.
/// </summary>
public sealed record KedrDiagnostic(string Code, string Message, string? File = null, string? Section = null, long? Offset = null)
{
    /// <summary>A diagnostic with a code of the catalog (<see cref="DiagnosticCodes"/>).</summary>
    public KedrDiagnostic(DiagnosticCode code, string message, string? file = null, string? section = null, long? offset = null)
        : this(code.Code, message, file, section, offset) { }

    /// <summary>
    /// One line, like a compiler's: <c>file: section+0xoff: KEDR1003: message</c>. Names quoted from a
    /// damaged input may hold any byte: control characters are shown as <c>\xNN</c>, so the line stays one line.
    /// </summary>
    public override string ToString()
    {
        var where = new List<string>(3);
        if (File is not null) where.Add(File);
        if (Section is not null) where.Add(Offset is { } o ? $"{Section}+0x{o:x}" : Section);
        else if (Offset is { } off) where.Add($"offset 0x{off:x}");
        return OneLine(where.Count == 0 ? $"{Code}: {Message}" : $"{string.Join(": ", where)}: {Code}: {Message}");
    }

    private static string OneLine(string s)
    {
        if (!s.Any(char.IsControl)) return s;
        var b = new System.Text.StringBuilder(s.Length + 8);
        foreach (var c in s)
        {
            if (char.IsControl(c)) b.Append($"\\x{(int)c:x2}");
            else b.Append(c);
        }
        return b.ToString();
    }
}

/// <summary>Thrown where a <see cref="KedrDiagnostic"/> cannot be returned.</summary>
public sealed class KedrException(KedrDiagnostic diagnostic) : Exception(diagnostic.ToString())
{
    public KedrDiagnostic Diagnostic { get; } = diagnostic;
}
