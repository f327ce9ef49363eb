using System.ComponentModel;
using System.Diagnostics;

namespace Kedr.Core.Tests.Support;

/// <summary>Where the test inputs are: the repository, the installed Debian cloud kernel's modules, host tools.</summary>
internal static class TestEnvironment
{
    /// <summary>The kernel the project targets; another *-cloud-amd64 is used only if this one is absent.</summary>
    public const string PreferredRelease = "6.1.0-56-cloud-amd64";

    private static readonly Lazy<string> s_repoRoot = new(() =>
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Kedr.sln"))) return d.FullName;
        throw new InvalidOperationException($"no Kedr.sln above {AppContext.BaseDirectory}");
    });

    private static readonly Lazy<(string? Release, string? Dir)> s_modules = new(() =>
    {
        var candidates = Directory.Exists("/lib/modules")
            ? Directory.GetDirectories("/lib/modules", "*-cloud-amd64")
                .Where(d => Directory.Exists(Path.Combine(d, "kernel"))).Order(StringComparer.Ordinal).ToList()
            : [];
        if (candidates.Count == 0) return (null, null);
        var pick = candidates.FirstOrDefault(d => Path.GetFileName(d) == PreferredRelease) ?? candidates[^1];
        return (Path.GetFileName(pick), Path.Combine(pick, "kernel"));
    });

    public static string RepoRoot => s_repoRoot.Value;

    /// <summary>/lib/modules/RELEASE/kernel; fails the test with what to install when it is missing.</summary>
    public static string ModulesDir => s_modules.Value.Dir ?? throw MissingModules();

    /// <summary>The kernel release, e.g. 6.1.0-56-cloud-amd64.</summary>
    public static string KernelRelease => s_modules.Value.Release ?? throw MissingModules();

    /// <summary>A module by its path below kernel/, e.g. <c>lib/crc7.ko</c>.</summary>
    public static string Module(string relativePath)
    {
        var p = Path.Combine(ModulesDir, relativePath);
        if (!File.Exists(p))
            Assert.Fail($"test module {p} is missing: these tests expect the modules of Debian's {PreferredRelease} " +
                        "(apt-get install linux-image-cloud-amd64, or scripts/vm/setup.sh)");
        return p;
    }

    private static Exception MissingModules() => new Xunit.Sdk.XunitException(
        "no kernel modules under /lib/modules/*-cloud-amd64/kernel: the ELF tests read the real modules of Debian's " +
        $"{PreferredRelease} kernel. Install them with scripts/vm/setup.sh (or apt-get install linux-image-cloud-amd64); CI does.");

    /// <summary>Runs a host tool and returns its stdout; a missing tool or a failure fails the test with the reason.</summary>
    public static string Run(string tool, string why, params string[] args)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (Win32Exception e)
        {
            throw new Xunit.Sdk.XunitException($"'{tool}' is needed {why} but cannot be run ({e.Message}); install it (Debian: binutils / gcc)");
        }
        using (p)
        {
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new Xunit.Sdk.XunitException($"{tool} {string.Join(' ', args)} exited with {p.ExitCode}: {stderr.Result}");
            return stdout;
        }
    }
}
