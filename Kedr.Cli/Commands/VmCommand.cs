using System.CommandLine;
using Kedr.Cli.Vm;
using Kedr.Core.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Kedr.Cli.Commands;

/// <summary><c>kedr vm</c> and <c>kedr demo</c>: run an instrumented target in the test guest.</summary>
internal static class VmCommand
{
    public static Command Create()
    {
        var target = new Option<string>("--target") { Description = "Module to instrument: a guest-kernel module, one given with --ko, or one built from kmod/.", Required = true };
        var script = new Option<string>("--script") { Description = "Guest shell script that drives the target (run with sh -e).", Required = true };
        var kos = new Option<string[]>("--ko") { Description = "Extra module files to put in the guest's /lib/modules/kedr/.", AllowMultipleArgumentsPerToken = true };
        var sp = new Option<bool>("--sp-accesses") { Description = "Load kedr_sample with process_sp_accesses=1 (record %rsp-based accesses)." };
        var manual = new Option<bool>("--manual-load") { Description = "Do not load kedr_sample before the script; the script runs $KEDR_LOAD when it wants to (it also starts kedr record)." };
        var noRecord = new Option<bool>("--no-record") { Description = "Do not run kedr record in the guest: print what the output stream has after the script (what the rings kept)." };
        var smp = new Option<int>("--smp") { Description = "Guest vCPUs (1..64).", DefaultValueFactory = _ => 2 };
        var mem = new Option<int>("--mem") { Description = "Guest memory in MiB (128..65536); kedr_sample's rings take 1/16 of it.", DefaultValueFactory = _ => 512 };
        var timeout = new Option<int>("--timeout") { Description = "Seconds for the whole guest run (10..86400).", DefaultValueFactory = _ => 120 };
        var outDir = new Option<string?>("--out") { Description = "Keep the results (output, dmesg, console) in this folder." };
        var verbose = CommonOptions.Verbose();
        var cmd = new Command("vm", "Instrument a module and run a script against it in the test guest (QEMU, Debian 6.1 cloud kernel). " +
            "The guest has busybox and every module of the guest kernel (/lib/modules/RELEASE, so the script can modprobe any of them, " +
            "e.g. vfat for --target fat); modules given with --ko and those built from kmod/ are in /lib/modules/kedr/ (insmod them); " +
            "files the script leaves in /out come back with --out. kedr record runs in the guest from the load of kedr_sample until the target " +
            "is gone (the script should leave kedr_sample loaded), so every event is printed, however many the rings hold; " +
            "the recording is /out/kedr.trace (kedr report it).")
        {
            target, script, kos, sp, manual, noRecord, smp, mem, timeout, outDir, verbose,
        };
        cmd.SetAction((r, ct) =>
        {
            var error = Check(r.GetValue(target), r.GetValue(script), r.GetValue(kos) ?? [], r.GetValue(smp), r.GetValue(timeout),
                r.GetResult(outDir) is { Implicit: false }, r.GetValue(outDir), out var scriptPath, out var koPaths, out var outPath);
            if (error is null) CliInput.InRange(r.GetValue(mem), 128, 65536, "--mem", out error);
            if (error is not null) return Task.FromResult(Program.Error(error));
            return Run(new InstrumentedRunRequest(r.GetValue(target)!, scriptPath)
            {
                ExtraModules = koPaths,
                ProcessSpAccesses = r.GetValue(sp),
                Instrument = !r.GetValue(manual),
                Record = !r.GetValue(noRecord),
                Cpus = r.GetValue(smp),
                MemoryMiB = r.GetValue(mem),
                Timeout = TimeSpan.FromSeconds(r.GetValue(timeout)),
                OutputDirectory = outPath,
            }, r.GetValue(verbose), ct);
        });
        return cmd;
    }

    /// <summary>Every argument checked before kmod/ is built or a guest started: the first problem, or null.</summary>
    private static KedrDiagnostic? Check(string? target, string? script, string[] kos, int smp, int timeout, bool outGiven, string? outDir,
        out string scriptPath, out List<string> koPaths, out string? outPath)
    {
        koPaths = [];
        outPath = null;
        scriptPath = "";
        if (!CliInput.TryName(target, "--target", out var error)) return error;
        if (!CliInput.TryInputFile(script, "--script", mustExist: true, out scriptPath, out error)) return error;
        foreach (var ko in kos)
        {
            if (!CliInput.TryInputFile(ko, "--ko", mustExist: true, out var p, out error)) return error;
            koPaths.Add(p);
        }
        if (!CliInput.InRange(smp, 1, 64, "--smp", out error)) return error;
        if (!CliInput.InRange(timeout, 10, 86400, "--timeout", out error)) return error;
        if (outGiven && !CliInput.TryFolder(outDir, "--out", create: true, out outPath, out error)) return error;
        return null;
    }

    public static Command CreateDemo()
    {
        var verbose = CommonOptions.Verbose();
        var cmd = new Command("demo", "Instrument the bundled sample target, load the built-in kedr_alloc payload, drive /dev/cfake0 in the test guest, " +
            "print what was recorded, the allocation trace events and the leak report.") { verbose };
        cmd.SetAction(async (r, ct) =>
        {
            using var logging = CliLogging.Create(r.GetValue(verbose));
            var log = logging.CreateLogger("kedr");
            DemoResult demo;
            try
            {
                demo = await DemoRun.RunAsync(DemoRun.Scenario, log, ct);
            }
            catch (KedrException e)
            {
                return Program.Error(e.Diagnostic);
            }
            return Print(demo.Run, log, () =>
            {
                Console.WriteLine("=== /sys/kernel/debug/tracing/trace (kedr_alloc events) ===");
                Console.Write(demo.AllocTrace);
                Console.WriteLine("=== /sys/kernel/debug/kedr_alloc/leaks ===");
                Console.Write(demo.Leaks);
            });
        });
        return cmd;
    }

    private static async Task<int> Run(InstrumentedRunRequest req, bool verbose, CancellationToken ct)
    {
        using var logging = CliLogging.Create(verbose);
        var log = logging.CreateLogger("kedr");
        InstrumentedRunResult result;
        try
        {
            result = await InstrumentedRun.RunAsync(req, log, ct);
        }
        catch (KedrException e)
        {
            return Program.Error(e.Diagnostic);
        }
        return Print(result, log, () => { });
    }

    /// <summary>The recorded events, then <paramref name="more"/>, the script's output and the guest's dmesg; the exit status.</summary>
    private static int Print(InstrumentedRunResult result, ILogger log, Action more)
    {
        var vm = result.Vm;
        Console.WriteLine(result.Recording is { Recording: { } c }
            ? $"=== kedr record: every event ({c.Written} recorded, {c.Dropped} dropped; /out/{InstrumentedRun.RecordingFile}) ==="
            : "=== /sys/kernel/debug/kedr_sample/output ===");
        Console.Write(result.Output);
        more();
        Console.WriteLine("=== guest script output ===");
        Console.Write(vm.ScriptOutput);
        Console.WriteLine("=== guest dmesg ===");
        Console.Write(vm.Dmesg);
        foreach (var p in vm.Problems) log.LogError("guest dmesg: {Line}", p);
        if (vm.TimedOut) log.LogError("the guest timed out");
        if (!vm.Healthy) { log.LogError("the guest did not stay healthy"); return 1; }
        if (vm.ScriptExitCode != 0) { log.LogError("the guest script exited with status {Status}", vm.ScriptExitCode); return 1; }
        log.LogInformation("guest healthy; {Elapsed:F1} s", vm.Elapsed.TotalSeconds);
        return 0;
    }
}
