using System.Diagnostics;
using Kedr.Kernel.Tests.Vm;
using Xunit.Abstractions;

namespace Kedr.Kernel.Tests.Loader;

/// <summary>
/// kedr_sample in the guest, through kmod/kedr_sample/tests/run-vm.sh: refuses missing, malformed
/// and mismatched blobs with one dmesg line each (the target then runs uninstrumented), survives
/// reloads and concurrent reading, and runs the full scenario with the rewriter's own blob.
/// </summary>
public sealed class LoaderVmTests(ITestOutputHelper output)
{
    [Fact]
    public void Loader_refuses_bad_blobs_and_runs_the_rewriters_blob()
    {
        var target = Path.Combine(RepoPaths.Root, "kmod", "kedr_sample_target", "kedr_sample_target.ko");
        Run("bash", [Path.Combine(RepoPaths.ScriptsVm, "build-kmod.sh"), "kedr_sample_target"], out _);
        var blob = Path.Combine(Path.GetTempPath(), $"kedr-loader-test-{Environment.ProcessId}.kedr");
        try
        {
            Assert.Equal(0, Run(Path.Combine(RepoPaths.Root, "kedr"), ["instrument", target, "-o", blob], out var log));
            int status = Run("bash", [Path.Combine(RepoPaths.Root, "kmod", "kedr_sample", "tests", "run-vm.sh"), "--blob", blob], out log);
            Assert.True(status == 0, $"run-vm.sh exited {status}:\n{log}");
        }
        finally
        {
            File.Delete(blob);
        }
    }

    private int Run(string file, string[] args, out string log)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        log = stdout + stderr.Result;
        output.WriteLine($"$ {file} {string.Join(' ', args)}\n{log}");
        return p.ExitCode;
    }
}
