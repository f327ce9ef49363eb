using System.Diagnostics;
using System.Text;
using Kedr.Core.Diagnostics;
using Kedr.Kernel.Vm;
using Xunit.Abstractions;

namespace Kedr.Kernel.Tests.Vm;

/// <summary>
/// Boots the real guest (QEMU TCG). Needs the packages scripts/vm/setup.sh installs; it is run
/// first, so a machine without them fails here instead of skipping.
/// </summary>
public class VmRunnerTests(ITestOutputHelper output)
{
    private const int TestTimeoutMs = 10 * 60 * 1000;

    [Fact(Timeout = TestTimeoutMs)]
    public async Task SampleTargetScenarioRunsHealthy()
    {
        Shell(Path.Combine(RepoPaths.ScriptsVm, "setup.sh"));
        var built = Shell(Path.Combine(RepoPaths.ScriptsVm, "build-kmod.sh"), "kedr_sample_target");
        var ko = Path.Combine(RepoPaths.Root, "kmod", "kedr_sample_target", "kedr_sample_target.ko");
        Assert.Contains(ko, built, StringComparison.Ordinal);

        // The seed's scenario, without instrumentation.
        using var script = new TempScript("""
            insmod /lib/modules/kedr/kedr_sample_target.ko
            test -c /dev/cfake0
            echo 123456789788 > /dev/cfake0
            dd if=/dev/cfake0 ibs=20 count=1 > /out/cfake0.txt
            lsmod > /out/lsmod-loaded.txt
            rmmod kedr_sample_target
            lsmod > /out/lsmod-unloaded.txt
            test ! -e /dev/cfake0
            """);
        var logger = new TestOutputLogger(output);
        var result = await VmRunner.RunAsync(new VmRunRequest { ScriptPath = script.Path, ModuleFiles = [ko] }, logger);

        output.WriteLine($"elapsed {result.Elapsed.TotalSeconds:F1} s; script output:\n{result.ScriptOutput}");
        Assert.Empty(result.Problems);
        Assert.True(result.GuestCompleted);
        Assert.False(result.TimedOut);
        Assert.Equal(0, result.ScriptExitCode);
        Assert.True(result.Healthy);
        Assert.True(result.Succeeded);
        Assert.StartsWith("6.1.", result.KernelRelease, StringComparison.Ordinal);
        Assert.Equal("123456789788\n", Encoding.ASCII.GetString(result.Files["cfake0.txt"]));
        Assert.Contains("kedr_sample_target", Encoding.ASCII.GetString(result.Files["lsmod-loaded.txt"]), StringComparison.Ordinal);
        Assert.DoesNotContain("kedr_sample_target", Encoding.ASCII.GetString(result.Files["lsmod-unloaded.txt"]), StringComparison.Ordinal);
        Assert.Contains("kedr_sample_target: 2 device(s)", result.Dmesg, StringComparison.Ordinal);
        Assert.Contains("kedr-vm: guest script status: 0", result.Console, StringComparison.Ordinal);
        Assert.Contains(logger.Lines, l => l.Contains("healthy", StringComparison.Ordinal));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task PanicIsUnhealthy()
    {
        using var script = new TempScript("echo c > /proc/sysrq-trigger\n");
        var result = await VmRunner.RunAsync(new VmRunRequest { ScriptPath = script.Path }, new TestOutputLogger(output));

        Assert.False(result.GuestCompleted);
        Assert.False(result.Healthy);
        Assert.Null(result.ScriptExitCode);
        Assert.Contains(result.Problems, p => p.Contains("Kernel panic - not syncing", StringComparison.Ordinal));
    }

    [Fact(Timeout = TestTimeoutMs)]
    public async Task FailingScriptKeepsItsFilesAndStatus()
    {
        using var script = new TempScript("""
            mkdir -p /out/sub
            printf 'a\0b' > /out/sub/bytes.bin
            echo to-stdout
            exit 3
            echo not reached > /out/never.txt
            """);
        var outDir = Path.Combine(Path.GetTempPath(), $"kedr-vm-test-{Guid.NewGuid():N}");
        try
        {
            var result = await VmRunner.RunAsync(new VmRunRequest { ScriptPath = script.Path, OutputDirectory = outDir, Cpus = 1 },
                new TestOutputLogger(output));

            Assert.True(result.Healthy);
            Assert.False(result.Succeeded);
            Assert.Equal(3, result.ScriptExitCode);
            Assert.Equal(["sub/bytes.bin"], result.Files.Keys);
            Assert.Equal("a\0b"u8.ToArray(), result.Files["sub/bytes.bin"]);
            Assert.Equal("to-stdout\n", result.ScriptOutput);
            Assert.Equal(outDir, result.OutputDirectory);
            Assert.True(File.Exists(Path.Combine(outDir, "dmesg.txt")));
        }
        finally
        {
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        }
    }

    [Fact]
    public async Task MissingScriptIsReportedByName()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-script-{Guid.NewGuid():N}.sh");
        var e = await Assert.ThrowsAsync<KedrException>(() =>
            VmRunner.RunAsync(new VmRunRequest { ScriptPath = missing }, new TestOutputLogger(output)));
        Assert.Equal("KEDR4901", e.Diagnostic.Code);
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
    }

    /// <summary>Runs a script of the repository; fails the test with its output if it fails.</summary>
    private string Shell(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        output.WriteLine($"{Path.GetFileName(script)}: status {p.ExitCode}\n{stdout}{stderr.Result}");
        Assert.True(p.ExitCode == 0, $"{script} {string.Join(' ', args)} failed with status {p.ExitCode}:\n{stderr.Result}");
        return stdout;
    }

    private sealed class TempScript : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"kedr-guest-{Guid.NewGuid():N}.sh");

        public TempScript(string text) => File.WriteAllText(Path, text.ReplaceLineEndings("\n") + "\n");

        public void Dispose() => File.Delete(Path);
    }
}
