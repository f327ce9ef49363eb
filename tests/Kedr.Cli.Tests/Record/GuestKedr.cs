using System.Diagnostics;
using Kedr.Cli.Vm;

namespace Kedr.Cli.Tests.Record;

/// <summary>
/// The guest's <c>kedr</c> for the record tests: scripts/vm/guest-kedr.sh (<c>kedr_guest_stage</c>) stages the
/// checkout's NativeAOT binary (built by the ./kedr wrapper, rebuilt whenever a source differs from the ones it was
/// built from, so never stale) with exactly the shared libraries it loads, once per test process. The staged files go
/// flat into the guest's /lib/modules/kedr (PatchSiteRequest.ExtraFiles); <see cref="Setup"/> is the guest shell that
/// makes <c>kedr</c> a command there (the binary run by the dynamic loader it came with).
/// </summary>
internal static class GuestKedr
{
    private static readonly Lazy<IReadOnlyList<string>> s_files = new(Stage);

    /// <summary>The binary and its libraries (host paths; distinct file names).</summary>
    public static IReadOnlyList<string> Files => s_files.Value;

    /// <summary>Guest shell: defines `kedr` (the binary run by the dynamic loader it came with).</summary>
    public const string Setup = """
        K=/lib/modules/kedr
        chmod +x $K/ld-linux-x86-64.so.2
        kedr() { $K/ld-linux-x86-64.so.2 --library-path $K $K/kedr "$@"; }
        mount | grep -q debugfs || mount -t debugfs none /sys/kernel/debug

        """;

    private static IReadOnlyList<string> Stage()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"kedr-guest-kedr-{Environment.ProcessId}");
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(dir, true); }
            catch (IOException) { }
        };
        var script = Path.Combine(RepositoryPaths.VmScripts, "guest-kedr.sh");
        Run("bash", "-c", $"source '{script}' && kedr_guest_stage '{dir}'");
        var files = Directory.GetFiles(dir, "*", SearchOption.AllDirectories);
        Assert.Contains(files, f => Path.GetFileName(f) == "kedr");
        Assert.Contains(files, f => Path.GetFileName(f) == "ld-linux-x86-64.so.2");
        Assert.Equal(files.Length, files.Select(Path.GetFileName).Distinct().Count());
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
