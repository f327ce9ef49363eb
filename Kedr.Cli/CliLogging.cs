using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Kedr.Cli;

/// <summary>Diagnostics go to stderr as single lines prefixed "kedr:", so stdout stays for results.</summary>
internal static class CliLogging
{
    public static ILoggerFactory Create(bool verbose) => LoggerFactory.Create(b =>
    {
        b.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information);
        b.AddConsole(o => { o.LogToStandardErrorThreshold = LogLevel.Trace; o.FormatterName = KedrLogFormatter.Name; });
        // AddConsoleFormatter<,> would also bind ConsoleFormatterOptions to configuration (reflection, not
        // NativeAOT-safe); the formatter has no options, so it is registered the way that method does, without that.
        b.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ConsoleFormatter, KedrLogFormatter>());
    });
}

internal sealed class KedrLogFormatter() : ConsoleFormatter(Name)
{
    public new const string Name = "kedr";

    public override void Write<TState>(in Microsoft.Extensions.Logging.Abstractions.LogEntry<TState> entry,
        Microsoft.Extensions.Logging.IExternalScopeProvider? scopeProvider, TextWriter writer)
    {
        var message = entry.Formatter(entry.State, entry.Exception);
        var level = entry.LogLevel switch
        {
            LogLevel.Warning => "warning: ",
            LogLevel.Error or LogLevel.Critical => "error: ",
            LogLevel.Debug or LogLevel.Trace => "debug: ",
            _ => "",
        };
        writer.WriteLine($"kedr: {level}{message}");
        if (entry.Exception is { } e && entry.LogLevel >= LogLevel.Error) writer.WriteLine(e.ToString());
    }
}
