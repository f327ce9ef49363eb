using System.CommandLine;
using System.Text;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Output;
using Kedr.Output.Source;
using Microsoft.Extensions.Logging;

namespace Kedr.Cli.Commands;

/// <summary><c>kedr report TRACE [--ko foo.ko [--debug-dir DIR]] [--format text|csv|json|html] [-o FILE]</c>.</summary>
internal static class ReportCommand
{
    public enum Format { Text, Csv, Json, Html }

    public static Command Create()
    {
        var traceArg = new Argument<string>("trace") { Description = "A binary trace: a copy of /sys/kernel/debug/kedr_sample/trace." };
        var ko = new Option<string?>("--ko") { Description = "The target's .ko, to name the functions the addresses are in." };
        var format = new Option<Format>("--format", "-f") { Description = "text (kedr_sample's output format), csv (one row per event), json or html.", DefaultValueFactory = _ => Format.Text };
        var output = new Option<string?>("--output", "-o") { Description = "Write here instead of to stdout." };
        var debugDir = new Option<string[]>("--debug-dir")
        {
            Description = "Where to look for the .ko's separate debug file (DIR/.build-id/xx/yyyy.debug, DIR/<path of the .ko>) before /usr/lib/debug; repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var summary = new Option<bool>("--summary") { Description = "text: per-function and per-address tables after the events." };
        var races = new Option<bool>("--races") { Description = "html: a data-races section (as kedr races finds them)." };
        var verbose = CommonOptions.Verbose();
        var cmd = new Command("report", "Decode a binary trace: the events with their functions, summaries, CSV/JSON export, an HTML report.")
        {
            traceArg, ko, format, output, summary, races, debugDir, verbose,
        };
        cmd.SetAction(r =>
        {
            using var loggers = CliLogging.Create(r.GetValue(verbose));
            var log = loggers.CreateLogger("kedr");
            if (!CliInput.TryInputFile(r.GetValue(traceArg), "trace", mustExist: false, out var tracePath, out var error))
                return Program.Error(error!);
            if (r.GetValue(summary) && r.GetValue(format) != Format.Text)
                return Program.Error(new KedrDiagnostic(DiagnosticCodes.CliArgumentCombination, $"--summary is for --format text, not {r.GetValue(format).ToString().ToLowerInvariant()}"));
            if (r.GetValue(races) && r.GetValue(format) != Format.Html)
                return Program.Error(new KedrDiagnostic(DiagnosticCodes.CliArgumentCombination, $"--races is for --format html, not {r.GetValue(format).ToString().ToLowerInvariant()}"));
            string? koPath = null, path = null;
            if (r.GetResult(ko) is { Implicit: false } && !CliInput.TryInputFile(r.GetValue(ko), "--ko", mustExist: false, out koPath, out error))
                return Program.Error(error!);
            if (r.GetResult(output) is { Implicit: false } && !CliInput.TryOutputFile(r.GetValue(output), "--output", out path, out error))
                return Program.Error(error!);
            TraceReport report;
            string? debugFrom = null, racesSection = null;
            try
            {
                var trace = TraceReader.Read(tracePath);
                var elf = koPath is not null ? ElfFile.Read(koPath) : null;
                var dirs = r.GetValue(debugDir);
                report = TraceReport.Build(trace, elf, (e, w) => ModuleSources.Load(e, dirs, w, out debugFrom));
                if (r.GetValue(races))
                {
                    var init = elf is not null && report.Symbols is not null ? Kedr.Output.Races.ModuleInit.Find(elf, report.Symbols, trace) : null;
                    var exit = elf is not null && report.Symbols is not null
                        ? Kedr.Output.Races.ModuleInit.FindExit(elf, report.Symbols, trace.Events.Where(e => e.Kind == TraceEventKind.Entry).Select(e => e.Pc)) : null;
                    var found = Kedr.Output.Races.RaceDetector.Run(trace, new Kedr.Output.Races.RaceDetectorOptions { InitFunction = init, ExitFunction = exit });
                    racesSection = Kedr.Output.Races.RaceHtmlRenderer.Section(found, new Kedr.Output.Races.RaceNames(report.Symbols is { } sy ? sy.Resolve : null));
                }
            }
            catch (KedrException e)
            {
                return Program.Error(e.Diagnostic);
            }
            foreach (var w in report.Warnings) log.LogWarning("{Diagnostic}", w);
            if (report.Symbols is { } s)
                log.LogDebug("core text at {Core}, init text at {Init}; source lines from {Debug}", s.CoreBase is { } c ? $"0x{c:x}" : "?",
                    s.InitBase is { } i ? $"0x{i:x}" : "?", report.HasSources ? debugFrom : "nowhere");

            try
            {
                using var stream = path is null ? Console.OpenStandardOutput() : File.Create(path);
                Write(report, r.GetValue(format), r.GetValue(summary), stream, racesSection);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Program.Error(new KedrDiagnostic(DiagnosticCodes.CliCannotWrite, $"cannot write: {e.Message}", path));
            }
            if (path is not null)
                log.LogInformation("{Path}: {Events} events, {Dropped} dropped, {Functions} functions", path, report.Events.Count,
                    report.Trace.DroppedCount, report.Functions.Count);
            return 0;
        });
        return cmd;
    }

    internal static void Write(TraceReport report, Format format, bool summary, Stream stream, string? racesSection = null)
    {
        switch (format)
        {
            case Format.Json:
                JsonRenderer.Render(report, stream);
                break;
            case Format.Html:
                stream.Write(Encoding.UTF8.GetBytes(HtmlRenderer.Render(report, racesSection)));
                break;
            default:
                using (var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true))
                {
                    if (format == Format.Csv) CsvRenderer.Render(report, w);
                    else TextRenderer.Render(report, w, summary);
                }
                break;
        }
    }
}
