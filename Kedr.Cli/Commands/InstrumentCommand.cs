using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Text.Json;
using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Rewriter;
using Microsoft.Extensions.Logging;

namespace Kedr.Cli.Commands;

/// <summary><c>kedr instrument</c>: build the blob for one module, or for every module below a folder.</summary>
internal static class InstrumentCommand
{
    /// <summary>Where <c>request_firmware("kedr/NAME.kedr")</c> finds blobs.</summary>
    public const string DefaultFirmwareDir = "/lib/firmware";

    public static Command Create()
    {
        var module = new Argument<string?>("module") { Description = "The target module (.ko).", Arity = ArgumentArity.ZeroOrOne };
        var output = new Option<string?>("--output", "-o") { Description = "Where to write the blob (default: NAME.kedr in the current folder)." };
        var install = new Option<bool>("--install") { Description = "Also install the blob as FIRMWARE_DIR/kedr/NAME.kedr for kedr_sample to find." };
        var firmwareDir = new Option<string>("--firmware-dir") { Description = "Firmware search path for --install.", DefaultValueFactory = _ => DefaultFirmwareDir };
        var all = new Option<string?>("--all") { Description = "Instrument every .ko below this folder." };
        var outDir = new Option<string?>("--out") { Description = "With --all: write NAME.kedr for each module here." };
        var json = new Option<string?>("--json") { Description = "Write the report as JSON to this file." };
        var jobs = new Option<int>("--jobs", "-j") { Description = "With --all: modules instrumented at once (1..1024).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var probe = new Option<string[]>("--probe") { Description = "Put a probe at FUNCTION+OFFSET (an instruction start of a copied function; repeatable; ids in this order).", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };
        var noIntercept = new Option<bool>("--no-intercept")
        {
            Description = "Leave the copies' calls to kernel functions direct, with no import stubs: no payload sees them (to measure what the stubs cost).",
        };
        var verbose = CommonOptions.Verbose();
        var cmd = new Command("instrument", "Build the instrumented copies of a module's functions as a blob.")
        {
            module, output, install, firmwareDir, all, outDir, json, jobs, probe, noIntercept, verbose,
        };
        cmd.SetAction(r =>
        {
            using var logging = CliLogging.Create(r.GetValue(verbose));
            var log = logging.CreateLogger("kedr");
            var error = Check(r, module, output, install, firmwareDir, all, outDir, json, jobs, out var paths);
            if (error is not null) return Program.Error(error);
            var probes = r.GetValue(probe) ?? [];
            if (paths.All is not null && r.GetValue(noIntercept))
                return Program.Error(new KedrDiagnostic(DiagnosticCodes.CliArgumentCombination, "--no-intercept is for one module"));
            if (paths.All is not null)
            {
                if (probes.Length > 0) return Program.Error(new KedrDiagnostic(DiagnosticCodes.CliArgumentCombination, "--probe is for one module"));
                return BatchInstrument.Run(paths.All, paths.OutDir, paths.Json, r.GetValue(jobs), log);
            }
            var options = new RewriteOptions { Intercept = !r.GetValue(noIntercept), Probes = probes };
            return InstrumentOne(paths.Module!, paths.Output, paths.FirmwareDir, paths.Json, options, log);
        });
        return cmd;
    }

    private sealed record Paths(string? Module, string? Output, string? FirmwareDir, string? All, string? OutDir, string? Json);

    /// <summary>Every argument checked before any work: the first problem, or null.</summary>
    private static KedrDiagnostic? Check(ParseResult r, Argument<string?> module, Option<string?> output, Option<bool> install,
        Option<string> firmwareDir, Option<string?> all, Option<string?> outDir, Option<string?> json, Option<int> jobs, out Paths paths)
    {
        paths = new Paths(null, null, null, null, null, null);
        bool Given(Symbol s) => r.GetResult(s) switch { OptionResult o => !o.Implicit, ArgumentResult a => a.Tokens.Count > 0, _ => false };
        KedrDiagnostic Combination(string message) => new(DiagnosticCodes.CliArgumentCombination, message);
        KedrDiagnostic? error;
        string? jsonPath = null;
        if (Given(json) && !CliInput.TryOutputFile(r.GetValue(json), "--json", out jsonPath, out error)) return error;
        if (Given(all))
        {
            if (Given(module)) return Combination($"give a module ('{r.GetValue(module)}') or --all '{r.GetValue(all)}', not both");
            if (Given(output)) return Combination("--output is for one module; with --all, --out DIR");
            if (r.GetValue(install)) return Combination("--install is for one module");
            if (Given(firmwareDir)) return Combination("--firmware-dir is for --install, which is for one module");
            if (!CliInput.TryFolder(r.GetValue(all), "--all", create: false, out var dir, out error)) return error;
            string? outPath = null;
            if (Given(outDir) && !CliInput.TryFolder(r.GetValue(outDir), "--out", create: true, out outPath, out error)) return error;
            if (!CliInput.InRange(r.GetValue(jobs), 1, 1024, "--jobs", out error)) return error;
            paths = new Paths(null, null, null, dir, outPath, jsonPath);
            return null;
        }
        if (!Given(module)) return Combination("give a module (.ko) or --all DIR");
        if (Given(outDir)) return Combination("--out is for --all; for one module, --output FILE");
        if (Given(jobs)) return Combination("--jobs is for --all");
        if (Given(firmwareDir) && !r.GetValue(install)) return Combination("--firmware-dir is for --install");
        // An unknown option is taken for the optional module argument: say what it is.
        if (r.GetValue(module) is ['-', ..] word && !File.Exists(word))
            return new KedrDiagnostic(DiagnosticCodes.CliSyntax, $"Unrecognized command or argument '{word}' (see kedr instrument --help)");
        if (!CliInput.TryInputFile(r.GetValue(module), "module", mustExist: false, out var ko, out error)) return error;
        string? outFile = null;
        if (Given(output) && !CliInput.TryOutputFile(r.GetValue(output), "--output", out outFile, out error)) return error;
        string? fw = null;
        if (r.GetValue(install) && !CliInput.TryFolder(r.GetValue(firmwareDir), "--firmware-dir", create: true, out fw, out error)) return error;
        paths = new Paths(ko, outFile, fw, null, null, jsonPath);
        return null;
    }

    private static int InstrumentOne(string file, string? output, string? installDir, string? json, RewriteOptions options, ILogger log)
    {
        var sw = Stopwatch.StartNew();
        // The batch's own path for one module: the same diagnostic for the same bad module either way.
        var item = BatchRewriter.RunOne(file, keepBlob: true, options: options);
        if (item.Error is not null) return Program.Error(item.Error);
        var bytes = BlobWriter.Write(item.Blob!);
        var report = item.Report!;
        var target = output ?? Path.Combine(Environment.CurrentDirectory, report.Module + ".kedr");
        if (!TryWrite(target, w => w.Write(bytes), out var error)) return Program.Error(error!);
        if (installDir is not null)
        {
            var installed = Path.Combine(installDir, "kedr", report.Module + ".kedr");
            if (!TryWrite(installed, w => w.Write(bytes), out error)) return Program.Error(error!);
            log.LogInformation("installed {Path}", installed);
        }
        Console.WriteLine(ReportText.Summary(report, sw.Elapsed));
        Console.WriteLine($"  {report.ExceptionEntries} exception-table entries, {report.BugEntries} BUG/WARN entries, " +
                          $"{report.OrcEntries} ORC entries, {report.LandingPads} landing pads");
        foreach (var lo in report.LeftOut)
            Console.WriteLine($"  left out: {lo.Name} ({lo.Section}+0x{lo.Offset:x}, {lo.Size} bytes): {lo.Reason}");
        foreach (var ni in report.NotInstrumented)
            Console.WriteLine($"  not instrumented: {ni}");
        var blob = item.Blob!;
        for (int i = 0; i < blob.Probes.Count; i++)
        {
            var p = blob.Probes[i];
            var f = blob.Functions[(int)p.Function];
            Console.WriteLine($"  probe {i}: {f.Name}+0x{p.Offset:x}/0x{f.Size:x} ({p.Length}-byte instruction), site {p.Site}");
        }
        Console.WriteLine($"  wrote {target} ({bytes.Length} bytes)");
        if (json is not null && !TryWrite(json, w => w.Write(System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(report, CliJsonContext.Default.RewriteReport))), out error))
            return Program.Error(error!);
        return 0;
    }

    /// <summary>Writes a file (creating its folder), or says why it could not in one KEDR6004 diagnostic.</summary>
    internal static bool TryWrite(string path, Action<Stream> write, out KedrDiagnostic? error)
    {
        error = null;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var f = File.Create(path);
            write(f);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = new KedrDiagnostic(DiagnosticCodes.CliCannotWrite, $"cannot write: {e.Message}", path);
            return false;
        }
    }
}
