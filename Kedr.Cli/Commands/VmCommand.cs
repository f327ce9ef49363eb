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
        var script = new Option<FileInfo>("--script") { Description = "Guest shell script that drives the target (run with sh -e).", Required = true };
        var kos = new Option<FileInfo[]>("--ko") { Description = "Extra module files to put in the guest's /lib/modules/kedr/.", AllowMultipleArgumentsPerToken = true };
        var sp = new Option<bool>("--sp-accesses") { Description = "Load kedr_sample with process_sp_accesses=1 (record %rsp-based accesses)." };
        var manual = new Option<bool>("--manual-load") { Description = "Do not load kedr_sample before the script; the script runs $KEDR_LOAD when it wants to." };
        var smp = new Option<int>("--smp") { Description = "Guest vCPUs.", DefaultValueFactory = _ => 2 };
        var timeout = new Option<int>("--timeout") { Description = "Seconds for the whole guest run.", DefaultValueFactory = _ => 120 };
        var outDir = new Option<DirectoryInfo?>("--out") { Description = "Keep the results (output, dmesg, console) in this folder." };
        var verbose = CommonOptions.Verbose();
        var cmd = new Command("vm", "Instrument a module and run a script against it in the test guest (QEMU, Debian 6.1 cloud kernel). " +
            "The guest has busybox and every module of the guest kernel (/lib/modules/RELEASE, so the script can modprobe any of them, " +
            "e.g. vfat for --target fat); modules given with --ko and those built from kmod/ are in /lib/modules/kedr/ (insmod them); " +
            "files the script leaves in /out come back with --out.")
        {
            target, script, kos, sp, manual, smp, timeout, outDir, verbose,
        };
        cmd.SetAction((r, ct) => Run(new InstrumentedRunRequest(r.GetValue(target)!, r.GetValue(script)!.FullName)
        {
            ExtraModules = (r.GetValue(kos) ?? []).Select(f => f.FullName).ToList(),
            ProcessSpAccesses = r.GetValue(sp),
            Instrument = !r.GetValue(manual),
            Cpus = r.GetValue(smp),
            Timeout = TimeSpan.FromSeconds(r.GetValue(timeout)),
            OutputDirectory = r.GetValue(outDir)?.FullName,
        }, r.GetValue(verbose), ct));
        return cmd;
    }

    public static Command CreateDemo()
    {
        var verbose = CommonOptions.Verbose();
        var cmd = new Command("demo", "Instrument the bundled sample target, drive /dev/cfake0 in the test guest, print what was recorded.") { verbose };
        cmd.SetAction((r, ct) => Run(new InstrumentedRunRequest("kedr_sample_target",
            Path.Combine(RepositoryPaths.Root, "scripts", "demo", "cfake.sh")), r.GetValue(verbose), ct));
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
            log.LogError("{Diagnostic}", e.Diagnostic);
            return 2;
        }
        var vm = result.Vm;
        Console.WriteLine("=== /sys/kernel/debug/kedr_sample/output ===");
        Console.Write(result.Output);
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
