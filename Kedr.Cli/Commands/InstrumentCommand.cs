using System.CommandLine;
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
        var module = new Argument<FileInfo?>("module") { Description = "The target module (.ko).", Arity = ArgumentArity.ZeroOrOne };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Where to write the blob (default: NAME.kedr in the current folder)." };
        var install = new Option<bool>("--install") { Description = "Also install the blob as FIRMWARE_DIR/kedr/NAME.kedr for kedr_sample to find." };
        var firmwareDir = new Option<DirectoryInfo>("--firmware-dir") { Description = "Firmware search path for --install.", DefaultValueFactory = _ => new DirectoryInfo(DefaultFirmwareDir) };
        var all = new Option<DirectoryInfo?>("--all") { Description = "Instrument every .ko below this folder." };
        var outDir = new Option<DirectoryInfo?>("--out") { Description = "With --all: write NAME.kedr for each module here." };
        var json = new Option<FileInfo?>("--json") { Description = "Write the report as JSON to this file." };
        var jobs = new Option<int>("--jobs", "-j") { Description = "With --all: modules instrumented at once.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var verbose = CommonOptions.Verbose();
        var cmd = new Command("instrument", "Build the instrumented copies of a module's functions as a blob.")
        {
            module, output, install, firmwareDir, all, outDir, json, jobs, verbose,
        };
        cmd.SetAction(r =>
        {
            using var logging = CliLogging.Create(r.GetValue(verbose));
            var log = logging.CreateLogger("kedr");
            var dir = r.GetValue(all);
            if (dir is not null)
                return BatchInstrument.Run(dir, r.GetValue(outDir), r.GetValue(json), r.GetValue(jobs), log);
            var file = r.GetValue(module);
            if (file is null)
            {
                log.LogError("give a module (.ko) or --all DIR");
                return 2;
            }
            return InstrumentOne(file, r.GetValue(output), r.GetValue(install) ? r.GetValue(firmwareDir) : null, r.GetValue(json), log);
        });
        return cmd;
    }

    private static int InstrumentOne(FileInfo file, FileInfo? output, DirectoryInfo? installDir, FileInfo? json, ILogger log)
    {
        RewriteResult result;
        var sw = Stopwatch.StartNew();
        try
        {
            result = ModuleRewriter.Rewrite(ElfFile.Read(file.FullName));
        }
        catch (KedrException e)
        {
            log.LogError("{Diagnostic}", e.Diagnostic);
            return 2;
        }
        var bytes = BlobWriter.Write(result.Blob);
        var report = result.Report;
        var target = output?.FullName ?? Path.Combine(Environment.CurrentDirectory, report.Module + ".kedr");
        File.WriteAllBytes(target, bytes);
        if (installDir is not null)
        {
            var installed = Path.Combine(installDir.FullName, "kedr", report.Module + ".kedr");
            Directory.CreateDirectory(Path.GetDirectoryName(installed)!);
            File.WriteAllBytes(installed, bytes);
            log.LogInformation("installed {Path}", installed);
        }
        Console.WriteLine(ReportText.Summary(report, sw.Elapsed));
        Console.WriteLine($"  {report.ExceptionEntries} exception-table entries, {report.BugEntries} BUG/WARN entries, " +
                          $"{report.OrcEntries} ORC entries, {report.LandingPads} landing pads");
        foreach (var lo in report.LeftOut)
            Console.WriteLine($"  left out: {lo.Name} ({lo.Section}+0x{lo.Offset:x}, {lo.Size} bytes): {lo.Reason}");
        foreach (var ni in report.NotInstrumented)
            Console.WriteLine($"  not instrumented: {ni}");
        Console.WriteLine($"  wrote {target} ({bytes.Length} bytes)");
        if (json is not null)
            File.WriteAllText(json.FullName, JsonSerializer.Serialize(report, ReportText.JsonOptions));
        return 0;
    }
}
