using System.CommandLine;
using System.CommandLine.Help;
using Kedr.Cli.Commands;
using Kedr.Core.Diagnostics;

namespace Kedr.Cli;

public static class Program
{
    /// <summary>
    /// Exit status: 0 success, 1 the work ran but failed (e.g. an unhealthy guest), 2 bad input (one
    /// <c>kedr: error:</c> line on stderr naming it), 70 an internal error (a bug).
    /// </summary>
    public static int Main(string[] args)
    {
        var root = new RootCommand("KEDR: record what a Linux kernel module does, without rebuilding it.");
        root.Subcommands.Add(InstrumentCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(VmCommand.Create());
        root.Subcommands.Add(VmCommand.CreateDemo());
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(RacesCommand.Create());
        root.Subcommands.Add(PayloadCommand.Create());
        root.Subcommands.Add(RecordCommand.Create());
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0 && parsed.Action is not HelpAction)
        {
            var command = string.Join(' ', parsed.CommandResult.Command == root ? ["kedr"] :
                new[] { "kedr", parsed.CommandResult.Command.Name });
            // "Required command was not provided" says nothing more when a word was not understood.
            var messages = parsed.Errors.Select(e => e.Message.TrimEnd('.')).ToList();
            var missing = parsed.CommandResult.Command.Arguments.Where(a => a.Arity.MinimumNumberOfValues > 0
                && parsed.GetResult(a) is not { Tokens.Count: > 0 }).Select(a => a.Name).ToList();
            if (missing.Count > 0)
                messages = messages.Select(m => m.StartsWith("Required argument missing", StringComparison.Ordinal)
                    ? $"{m} ({string.Join(", ", missing)})" : m).ToList();
            if (messages.Count > 1) messages.RemoveAll(m => m.StartsWith("Required command", StringComparison.Ordinal));
            return Error(new KedrDiagnostic(DiagnosticCodes.CliSyntax, $"{string.Join("; ", messages)} (see {command} --help)"));
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (KedrException e)
        {
            return Error(e.Diagnostic);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"kedr: error: internal error (a bug of kedr; please report it): {e.GetType().Name}: {e.Message}");
            Console.Error.WriteLine(e.StackTrace);
            return 70;
        }
    }

    /// <summary>Writes the one line for bad input and gives its exit status, 2.</summary>
    internal static int Error(KedrDiagnostic diagnostic)
    {
        Console.Error.WriteLine($"kedr: error: {diagnostic}");
        return 2;
    }
}
