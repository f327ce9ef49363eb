using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Kedr.Kernel.Tests.Vm;

/// <summary>Writes log messages to the test's output, and keeps them for assertions.</summary>
internal sealed class TestOutputLogger(ITestOutputHelper output) : ILogger
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines { get { lock (_lines) return [.. _lines]; } }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var line = $"{logLevel}: {formatter(state, exception)}";
        lock (_lines) _lines.Add(line);
        try { output.WriteLine(line); }
        catch (InvalidOperationException) { /* the test is over */ }
    }
}
