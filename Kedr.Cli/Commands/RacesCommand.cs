using System.CommandLine;
using System.Text;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Output;
using Kedr.Output.Races;
using Kedr.Output.Source;
using Microsoft.Extensions.Logging;

namespace Kedr.Cli.Commands;

/// <summary><c>kedr races TRACE [--ko foo.ko [--debug-dir DIR]] [--format text|json|html] [-o FILE] [--shadow-cells N]</c>.</summary>
internal static class RacesCommand
{
    public enum Format { Text, Json, Html }

    public static Command Create()
    {
        var traceArg = new Argument<string>("trace") { Description = "A `kedr record` file or a copy of /sys/kernel/debug/kedr_sample/trace; read as a stream, never held in memory." };
        var ko = new Option<string?>("--ko") { Description = "The target's .ko: function names, source lines, and the init and exit rules (everything after init returns is ordered after it; a task's return from the module, before exit)." };
        var format = new Option<Format>("--format", "-f") { Description = "text (KCSAN-style blocks), json or html.", DefaultValueFactory = _ => Format.Text };
        var output = new Option<string?>("--output", "-o") { Description = "Write here instead of to stdout." };
        var debugDir = new Option<string[]>("--debug-dir") { Description = "Where to look for the .ko's separate debug file before /usr/lib/debug; repeatable.", AllowMultipleArgumentsPerToken = false };
        var cells = new Option<int>("--shadow-cells") { Description = "Shadow cells (8 bytes of data each) kept at most; older ones are forgotten.", DefaultValueFactory = _ => 1 << 21 };
        var after = new Option<string[]>("--after")
        {
            Description = "A setup function of the module (e.g. fat_fill_super): each return of it happens before every thread first seen later, as init's does; repeatable (needs --ko).",
            AllowMultipleArgumentsPerToken = false,
        };
        var verbose = CommonOptions.Verbose();
        var cmd = new Command("races", "Find data races in a binary trace (happens-before, docs/races.md): each racy pair of instructions once.")
        {
            traceArg, ko, format, output, debugDir, cells, after, verbose,
        };
        cmd.SetAction(r =>
        {
            using var loggers = CliLogging.Create(r.GetValue(verbose));
            var log = loggers.CreateLogger("kedr");
            if (!CliInput.TryInputFile(r.GetValue(traceArg), "trace", mustExist: false, out var tracePath, out var error))
                return Program.Error(error!);
            string? koPath = null, path = null;
            if (r.GetResult(ko) is { Implicit: false } && !CliInput.TryInputFile(r.GetValue(ko), "--ko", mustExist: false, out koPath, out error))
                return Program.Error(error!);
            if (r.GetResult(output) is { Implicit: false } && !CliInput.TryOutputFile(r.GetValue(output), "--output", out path, out error))
                return Program.Error(error!);
            if (!CliInput.InRange(r.GetValue(cells), 2, 1 << 28, "--shadow-cells", out error))
                return Program.Error(error!);
            var afterNames = r.GetValue(after) ?? [];
            if (afterNames.Length > 0 && koPath is null)
                return Program.Error(new KedrDiagnostic(DiagnosticCodes.CliArgumentCombination, "--after names a function of the module: it needs --ko"));
            StreamedTrace trace;
            int openWarnings = 0;
            var setup = new HashSet<ulong>();
            TraceSymbolizer? symbols = null;
            ulong? init = null, exit = null;
            var warnings = new List<KedrDiagnostic>();
            try
            {
                // Streamed: the trace is read twice (a pass at Open, one for the detector), never held.
                trace = StreamedTrace.Open(tracePath);
                warnings.AddRange(trace.Warnings);
                openWarnings = trace.Warnings.Count;
                if (koPath is not null)
                {
                    var elf = ElfFile.Read(koPath);
                    var map = ModuleSources.Load(elf, r.GetValue(debugDir), warnings, out _);
                    symbols = TraceSymbolizer.Create(elf, trace, warnings, map);
                    init = ModuleInit.Find(elf, symbols, trace.EntryPcs);
                    exit = ModuleInit.FindExit(elf, symbols, trace.EntryPcs);
                    setup = ModuleInit.FindEntered(symbols, trace.EntryPcs, afterNames, out var missing);
                    foreach (var m in missing) log.LogWarning("--after {Function}: the trace never enters a function of that name", m);
                }
            }
            catch (KedrException e)
            {
                return Program.Error(e.Diagnostic);
            }
            if (koPath is not null && init is null)
                log.LogWarning("no entry of the module's init function in the trace: threads are not ordered after init");
            RaceResult result;
            try
            {
                result = RaceDetector.Run(trace, new RaceDetectorOptions { InitFunction = init, ExitFunction = exit, SetupFunctions = setup, ShadowCells = r.GetValue(cells) });
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Program.Error(new KedrDiagnostic(DiagnosticCodes.TraceCannotRead, $"cannot read: {e.Message}", tracePath));
            }
            warnings.AddRange(trace.Warnings.Skip(openWarnings));   // what only the full read finds (sequence going back)
            foreach (var w in warnings) log.LogWarning("{Diagnostic}", w);
            var names = new RaceNames(symbols is null ? null : symbols.Resolve);
            string module = symbols?.Module ?? trace.Target;
            try
            {
                using var stream = path is null ? Console.OpenStandardOutput() : File.Create(path);
                switch (r.GetValue(format))
                {
                    case Format.Json:
                        RaceJsonRenderer.Render(result, names, module, trace.Path, stream);
                        break;
                    case Format.Html:
                        stream.Write(Encoding.UTF8.GetBytes(RaceHtmlRenderer.Page(result, names, module)));
                        break;
                    default:
                        using (var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true))
                            RaceTextRenderer.Render(result, names, w);
                        break;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Program.Error(new KedrDiagnostic(DiagnosticCodes.CliCannotWrite, $"cannot write: {e.Message}", path));
            }
            log.LogInformation("{Races} racy pair(s) in {Events} events", result.Races.Count, result.Events);
            return 0;
        });
        return cmd;
    }
}
