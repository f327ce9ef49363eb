using System.Diagnostics;
using Kedr.Cli.Vm;

namespace Kedr.Cli.Tests.Record;

/// <summary>
/// TEMPORARY (h17-lossless), to be replaced at merge by h14-speed's script that builds `kedr` as a NativeAOT
/// binary and puts it with its shared libraries into the initramfs. Until then this, and only this, gives the
/// record tests a `kedr` that runs in the guest: `dotnet publish -p:PublishAot=true` of Kedr.Cli into a temporary
/// folder once per test process (trim/AOT warnings not treated as errors, which h14-speed addresses), plus the
/// libraries `ldd` lists. They go into the guest's /lib/modules/kedr (PatchSiteRequest.ExtraFiles); <see cref="Setup"/>
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
        Run("dotnet", "publish", Path.Combine(RepositoryPaths.Root, "Kedr.Cli"), "-c", "Release", "-r", "linux-x64",
            "-p:PublishAot=true", "-p:TreatWarningsAsErrors=false", "-o", dir);
        var binary = Path.Combine(dir, "kedr");
        var files = new List<string> { binary };
        foreach (var line in Run("ldd", binary).Split('\n'))
        {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
            var words = line.Trim().Split(' ');
            var path = words.Length >= 3 && words[1] == "=>" ? words[2] : words[0];
            if (!path.StartsWith('/') || !File.Exists(path)) continue;
            // Under the name the binary asks for (ldd's left side), not its real file's name.
            var dest = Path.Combine(dir, Path.GetFileName(path));
            File.Copy(new FileInfo(path).ResolveLinkTarget(true)?.FullName ?? path, dest, overwrite: true);
            files.Add(dest);
        }
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
