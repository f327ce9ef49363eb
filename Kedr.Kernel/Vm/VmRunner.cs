using System.Diagnostics;
using System.Globalization;
using Kedr.Core.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Kedr.Kernel.Vm;

/// <summary>
/// Runs the test guest through <c>scripts/vm/run.sh</c> (QEMU TCG, <c>-cpu max</c>, the newest
/// <c>*-cloud-amd64</c> kernel, a busybox initramfs) and reads back what it produced.
/// </summary>
/// <remarks>
/// Diagnostics: KEDR4901 bad request, KEDR4902 <c>run.sh</c> not found, KEDR4903 the harness
/// failed (setup, arguments, QEMU; its message is <c>run.sh</c>'s), KEDR4904 results missing or
/// unreadable.
/// </remarks>
public static class VmRunner
{
    // Names run.sh writes into the output directory next to the guest's files.
    private static readonly string[] Reserved = ["dmesg.txt", "console.log", "script.log", "run.txt"];

    // Beyond the guest's own time limit: setup, initramfs, decoding.
    private static readonly TimeSpan HarnessSlack = TimeSpan.FromMinutes(5);
    /// <summary>How long run.sh may wait for a guest slot before the harness gives up on it.</summary>
    private static readonly TimeSpan SlotWait = TimeSpan.FromMinutes(30);
    private const string GuestStartingLine = "run.sh: guest starting";

    public static async Task<VmRunResult> RunAsync(VmRunRequest request, ILogger logger, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(logger);
        Validate(request);
        var runSh = Path.Combine(request.ScriptsDirectory ?? FindScriptsDirectory(), "run.sh");
        if (!File.Exists(runSh))
            throw Error(DiagnosticCodes.VmRunnerMissing, "run.sh not found; set VmRunRequest.ScriptsDirectory to the repository's scripts/vm", runSh);

        bool keep = request.OutputDirectory is not null;
        var outDir = keep
            ? Path.GetFullPath(request.OutputDirectory!)
            : Directory.CreateTempSubdirectory("kedr-vm.").FullName;
        try
        {
            var stopwatch = Stopwatch.StartNew();
            var (exitCode, stderr) = await RunScriptAsync(runSh, Arguments(request, outDir), request.Timeout + HarnessSlack, logger, cancellationToken)
                .ConfigureAwait(false);
            stopwatch.Stop();
            if (exitCode is not (0 or 1 or 3))
                throw Error(DiagnosticCodes.VmRunFailed, $"run.sh failed with status {exitCode}: {LastLines(stderr, 10)}", runSh);
            var (result, shellProblems) = ReadResults(outDir, stopwatch.Elapsed, keep ? outDir : null);

            // run.sh judged the same log with the same patterns; say so if it disagrees.
            if (shellProblems != result.Problems.Count)
                logger.LogWarning("run.sh found {ShellCount} problem line(s) in {Dir}, DmesgHealth {Count}; check scripts/vm/dmesg-problems.ere",
                    shellProblems, outDir, result.Problems.Count);

            Report(result, logger);
            return result;
        }
        finally
        {
            if (!keep)
            {
                try { Directory.Delete(outDir, recursive: true); }
                catch (IOException e) { logger.LogWarning("Could not remove {Dir}: {Error}", outDir, e.Message); }
            }
        }
    }

    private static void Validate(VmRunRequest r)
    {
        if (!File.Exists(r.ScriptPath))
            throw Error(DiagnosticCodes.VmInputMissing, "guest script not found", r.ScriptPath);
        foreach (var ko in r.ModuleFiles)
            if (!File.Exists(ko)) throw Error(DiagnosticCodes.VmInputMissing, "module file not found", ko);
        foreach (var fw in r.FirmwareFiles)
        {
            if (!File.Exists(fw.Source)) throw Error(DiagnosticCodes.VmInputMissing, "firmware source not found", fw.Source);
            if (string.IsNullOrEmpty(fw.Destination) || fw.Destination.Contains(':'))
                throw Error(DiagnosticCodes.VmRequestSetting, $"firmware destination '{fw.Destination}' is empty or has a ':'", fw.Source);
        }
        foreach (var m in r.GuestModules)
            if (string.IsNullOrWhiteSpace(m) || m.Any(char.IsWhiteSpace))
                throw Error(DiagnosticCodes.VmRequestSetting, $"guest module name '{m}' is empty or has spaces");
        if (r.Timeout < TimeSpan.FromSeconds(10))
            throw Error(DiagnosticCodes.VmRequestSetting, $"timeout {r.Timeout} is shorter than 10 s");
        if (r.Cpus is < 1 or > 64)
            throw Error(DiagnosticCodes.VmRequestSetting, $"{r.Cpus} vCPUs: expected 1..64");
        if (r.MemoryMiB < 128)
            throw Error(DiagnosticCodes.VmRequestSetting, $"{r.MemoryMiB} MiB of guest memory: expected at least 128");
    }

    private static List<string> Arguments(VmRunRequest r, string outDir)
    {
        var args = new List<string> { "--script", Path.GetFullPath(r.ScriptPath), "--out", outDir,
            "--timeout", ((int)Math.Ceiling(r.Timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
            "--smp", r.Cpus.ToString(CultureInfo.InvariantCulture),
            "--mem", r.MemoryMiB.ToString(CultureInfo.InvariantCulture) };
        foreach (var ko in r.ModuleFiles) args.AddRange(["--ko", Path.GetFullPath(ko)]);
        foreach (var fw in r.FirmwareFiles) args.AddRange(["--firmware", $"{Path.GetFullPath(fw.Source)}:{fw.Destination}"]);
        foreach (var m in r.GuestModules) args.AddRange(["--guest-module", m]);
        if (r.AllGuestModules) args.Add("--all-guest-modules");
        if (!string.IsNullOrWhiteSpace(r.KernelCommandLine)) args.AddRange(["--append", r.KernelCommandLine]);
        return args;
    }

    private static async Task<(int ExitCode, string Stderr)> RunScriptAsync(string runSh, List<string> args, TimeSpan limit,
        ILogger logger, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(runSh);
        foreach (var a in args) psi.ArgumentList.Add(a);
        logger.LogInformation("Starting guest: {Command}", string.Join(' ', psi.ArgumentList));

        using var process = new Process { StartInfo = psi };
        var stderr = new System.Text.StringBuilder();
        // run.sh may first wait for a free guest slot (scripts/vm/lib.sh); the limit counts from the guest's start.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit + SlotWait);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) logger.LogDebug("run.sh: {Line}", e.Data); };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
            if (e.Data.StartsWith(GuestStartingLine, StringComparison.Ordinal))
            {
                try { timeout.CancelAfter(limit); }
                catch (ObjectDisposedException) { /* the run is over */ }
            }
            // run.sh and the scripts it calls prefix their own messages with "<name>: ".
            if (e.Data.Contains(": error: ", StringComparison.Ordinal)) logger.LogError("{Line}", e.Data);
            else if (e.Data.Contains(": warning: ", StringComparison.Ordinal)) logger.LogWarning("{Line}", e.Data);
            else logger.LogDebug("{Line}", e.Data);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { /* already gone */ }
            cancellationToken.ThrowIfCancellationRequested();
            throw Error(DiagnosticCodes.VmTimedOut, $"run.sh did not finish within {limit} of the guest's start ({SlotWait} for a guest slot); killed", runSh);
        }
        process.WaitForExit(); // drains the output events
        lock (stderr) return (process.ExitCode, stderr.ToString());
    }

    private static (VmRunResult Result, int ShellProblems) ReadResults(string outDir, TimeSpan elapsed, string? keptDir)
    {
        var runTxt = Path.Combine(outDir, "run.txt");
        if (!File.Exists(runTxt))
            throw Error(DiagnosticCodes.VmResultMalformed, "run.sh left no run.txt", runTxt);
        var info = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(runTxt))
        {
            int eq = line.IndexOf('=');
            if (eq > 0) info[line[..eq]] = line[(eq + 1)..];
        }
        string Get(string key) => info.TryGetValue(key, out var v)
            ? v : throw Error(DiagnosticCodes.VmResultMalformed, $"no '{key}=' line", runTxt);

        var status = Get("script_status");
        int? exitCode = int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out int s) ? s : null;
        bool completed = Get("guest_completed") == "yes";
        bool timedOut = Get("timed_out") == "yes";

        string ReadText(string name) => File.Exists(Path.Combine(outDir, name)) ? File.ReadAllText(Path.Combine(outDir, name)) : "";
        var dmesg = ReadText("dmesg.txt");
        var console = ReadText("console.log");
        var problems = DmesgHealth.FindProblems(completed && dmesg.Length > 0 ? dmesg : console);

        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(outDir, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(outDir, path).Replace(Path.DirectorySeparatorChar, '/');
            if (Array.IndexOf(Reserved, rel) < 0) files[rel] = File.ReadAllBytes(path);
        }

        if (!int.TryParse(Get("problems"), NumberStyles.None, CultureInfo.InvariantCulture, out int shellProblems))
            throw Error(DiagnosticCodes.VmResultMalformed, $"problems={Get("problems")}: not a count", runTxt);
        return (new VmRunResult
        {
            Problems = problems,
            GuestCompleted = completed,
            ScriptExitCode = exitCode,
            TimedOut = timedOut,
            Dmesg = dmesg,
            Console = console,
            ScriptOutput = ReadText("script.log"),
            Files = files,
            KernelRelease = Get("kernel"),
            Elapsed = elapsed,
            OutputDirectory = keptDir,
        }, shellProblems);
    }

    private static void Report(VmRunResult r, ILogger logger)
    {
        foreach (var p in r.Problems) logger.LogWarning("Guest kernel problem: {Line}", p);
        if (r.TimedOut) logger.LogWarning("Guest timed out");
        else if (!r.GuestCompleted) logger.LogWarning("Guest stopped without sending its results (panic or reboot?)");
        if (r.ScriptExitCode is { } code and not 0) logger.LogWarning("Guest script exited with status {Status}", code);
        logger.LogInformation("Guest run on {Kernel}: {Verdict}, script status {Status}, {Files} file(s), {Elapsed:F1} s",
            r.KernelRelease, r.Healthy ? "healthy" : "unhealthy", r.ScriptExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none",
            r.Files.Count, r.Elapsed.TotalSeconds);
    }

    /// <summary><c>scripts/vm</c> of the repository above the application's or the current directory.</summary>
    private static string FindScriptsDirectory()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "scripts", "vm");
                if (File.Exists(Path.Combine(candidate, "run.sh"))) return candidate;
            }
        }
        throw Error(DiagnosticCodes.VmRunnerMissing, $"no scripts/vm/run.sh above {AppContext.BaseDirectory} or {Directory.GetCurrentDirectory()}; set VmRunRequest.ScriptsDirectory");
    }

    private static string LastLines(string text, int count)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" | ", lines.Skip(Math.Max(0, lines.Length - count)));
    }

    private static KedrException Error(DiagnosticCode code, string message, string? file = null) =>
        new(new KedrDiagnostic(code, message, file));
}
