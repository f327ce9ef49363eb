using System.Diagnostics;
using System.Text;
using Kedr.Core.Diagnostics;
using Xunit.Abstractions;

namespace Kedr.Tests.MutationFuzzing;

/// <summary>
/// What a fuzz run saw: inputs, accepted, rejections by diagnostic code, and every failure (an exception, or a
/// rejection that is not a numbered diagnostic of the catalog naming the file and an offset). Printed to the
/// test's output and to stdout, so the figures show in the <c>dotnet test</c> log.
/// </summary>
internal sealed class FuzzTally(string parser, string codePrefix)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly SortedDictionary<string, int> _byCode = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, int> _byMutation = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, int> _warnings = new(StringComparer.Ordinal);
    private readonly List<string> _failures = [];
    private static readonly HashSet<string> s_catalog = DiagnosticCodes.All.Select(c => c.Code).ToHashSet();

    public int Inputs { get; private set; }
    public int Accepted { get; private set; }
    public int Failures => _failureCount;
    private int _failureCount;
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>One input's outcome: <paramref name="error"/> null for accepted.</summary>
    public void Record(string mutation, string file, KedrDiagnostic? error, string context)
    {
        Inputs++;
        _byMutation[mutation] = _byMutation.GetValueOrDefault(mutation) + 1;
        if (error is null) { Accepted++; return; }
        _byCode[error.Code] = _byCode.GetValueOrDefault(error.Code) + 1;
        string? problem = null;
        if (!s_catalog.Contains(error.Code)) problem = $"code {error.Code} is not in the catalog";
        else if (!error.Code.StartsWith(codePrefix, StringComparison.Ordinal)) problem = $"code {error.Code} is not a {codePrefix}xxx code";
        else if (error.File != file) problem = $"names {error.File ?? "no file"}, not {file}";
        else if (error.Offset is null) problem = "names no offset";
        else if (error.ToString().Contains('\n')) problem = "is not one line";
        if (problem is not null) Fail($"{context}: the rejection {problem}: {error}");
    }

    /// <summary>A warning on an accepted input: counted by code, and held to the same rules as a rejection.</summary>
    public void Warned(string file, Kedr.Core.Diagnostics.KedrDiagnostic warning, string context)
    {
        _warnings[warning.Code] = _warnings.GetValueOrDefault(warning.Code) + 1;
        if (!s_catalog.Contains(warning.Code) || !warning.Code.StartsWith(codePrefix, StringComparison.Ordinal)
            || warning.File != file || warning.Offset is null)
            Fail($"{context}: the warning is not a {codePrefix}xxx catalog code naming the file and an offset: {warning}");
    }

    public void Threw(string mutation, Exception e, string context)
    {
        Inputs++;
        _byMutation[mutation] = _byMutation.GetValueOrDefault(mutation) + 1;
        _byCode["(exception)"] = _byCode.GetValueOrDefault("(exception)") + 1;
        Fail($"{context}: threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
    }

    public void Fail(string message)
    {
        _failureCount++;
        if (_failures.Count < 10) _failures.Add(message);
    }

    public string Figures(string? note = null)
    {
        var b = new StringBuilder();
        b.Append($"fuzz {parser}: {Inputs} inputs in {Elapsed.TotalSeconds:F1} s ({Inputs / Math.Max(Elapsed.TotalSeconds, 1e-9):F0}/s), " +
                 $"{Accepted} accepted, {Inputs - Accepted} rejected, {_failureCount} failures");
        if (note is not null) b.Append($"; {note}");
        b.Append('\n');
        foreach (var (code, n) in _byCode) b.Append($"  {code} {n,8}\n");
        if (_warnings.Count > 0)
            b.Append("  warnings on accepted inputs:").Append(string.Concat(_warnings.Select(w => $" {w.Key} {w.Value};"))).Append('\n');
        b.Append("  by mutation:");
        foreach (var (m, n) in _byMutation) b.Append($" {m} {n};");
        b.Append('\n');
        foreach (var f in _failures) b.Append($"  FAILURE {f}\n");
        return b.ToString();
    }

    /// <summary>Prints the figures (test output and stdout) and fails the test on any failure.</summary>
    public void Report(ITestOutputHelper output, string? note = null)
    {
        var text = Figures(note);
        output.WriteLine(text);
        Console.WriteLine(text);
        Assert.True(_failureCount == 0, text);
    }
}
