using System.Diagnostics;
using Kedr.Cli.Vm;

namespace Kedr.Cli.Tests.Record;

/// <summary>
/// TEMPORARY (h17-lossless), to be switched at merge to h14-speed's script that builds `kedr` as a NativeAOT
/// binary and puts it with its shared libraries into the initramfs. Until then scripts/vm/h17-guest-kedr.sh (the
/// one temporary helper) publishes it with its libraries, once per test process. They go into the guest's /lib/modules/kedr (PatchSiteRequest.ExtraFiles); <see cref="Setup"/>
/// is the guest shell that makes `kedr` a command there.
/// </summary>
internal static class GuestKedr
{
    private static readonly Lazy<IReadOnlyList<string>> s_files = new(Publish);

    /// <summary>The binary and its libraries (host paths).</summary>
    public static IReadOnlyList<string> Files => s_files.Value;

    /// <summary>Guest shell: defines `kedr` (the binary run by the dynamic loader it came with).</summary>
    public const string Setup = """
        K=/lib/modules/kedr
        chmod +x $K/ld-linux-x86-64.so.2
        kedr() { $K/ld-linux-x86-64.so.2 --library-path $K $K/kedr "$@"; }
        mount | grep -q debugfs || mount -t debugfs none /sys/kernel/debug

        """;

    private static IReadOnlyList<string> Publish()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"kedr-h17-guest-kedr-{Environment.ProcessId}");
        var files = Run(Path.Combine(RepositoryPaths.VmScripts, "h17-guest-kedr.sh"), dir)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        Assert.Contains(files, f => Path.GetFileName(f) == "ld-linux-x86-64.so.2");
        return files;
    }

    private static string Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} {string.Join(' ', args)} failed:\n{stdout.Result}\n{stderr}");
        return stdout.Result;
    }
}
