using System.Diagnostics;
using Kedr.Rewriter;

namespace Kedr.Rewriter.Tests.Validation;

/// <summary>
/// The installed Debian cloud kernel's modules, <c>/lib/modules/*-cloud-amd64/kernel</c>.
/// If none is installed, <c>scripts/vm/setup.sh</c> (what CI runs) is tried once; if there
/// still is none, the tests that need it fail with a message saying so — they never skip.
/// </summary>
internal static class KernelCorpus
{
    private static readonly Lazy<(List<string> Dirs, string Why)> Found = new(Find);

    /// <summary>Every <c>kernel</c> directory of an installed cloud kernel; fails the test if there is none.</summary>
    public static List<string> Directories
    {
        get
        {
            var (dirs, why) = Found.Value;
            if (dirs.Count == 0)
                Assert.Fail($"no /lib/modules/*-cloud-amd64/kernel directory: the corpus of installed cloud-kernel modules is missing. " +
                    $"Install it with scripts/vm/setup.sh (package linux-image-cloud-amd64). {why}");
            return dirs;
        }
    }

    /// <summary>Every <c>*.ko</c> of the corpus, sorted.</summary>
    public static List<string> Modules() =>
        Directories.SelectMany(BatchRewriter.FindModules).Order(StringComparer.Ordinal).ToList();

    /// <summary>A module by its path below <c>kernel/</c>, e.g. <c>fs/fat/fat.ko</c>.</summary>
    public static string Module(string relative)
    {
        foreach (var d in Directories)
        {
            var p = Path.Combine(d, relative);
            if (File.Exists(p)) return p;
        }
        Assert.Fail($"{relative} is not in the installed cloud kernel ({string.Join(", ", Directories)})");
        return "";
    }

    private static List<string> Scan() =>
        Directory.Exists("/lib/modules")
            ? Directory.GetDirectories("/lib/modules", "*-cloud-amd64").Select(d => Path.Combine(d, "kernel"))
                .Where(Directory.Exists).Order(StringComparer.Ordinal).ToList()
            : [];

    private static (List<string>, string) Find()
    {
        var dirs = Scan();
        if (dirs.Count > 0) return (dirs, "");
        string why;
        try
        {
            var root = RepoRoot();
            var psi = new ProcessStartInfo("bash", [Path.Combine(root, "scripts", "vm", "setup.sh")])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = root,
            };
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(20)))
            {
                p.Kill(entireProcessTree: true);
                why = "scripts/vm/setup.sh timed out after 20 minutes.";
            }
            else
                why = $"scripts/vm/setup.sh exited with {p.ExitCode}: {err.Result.Trim()} {output.Result.Trim()}";
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
        {
            why = $"running scripts/vm/setup.sh failed: {e.Message}";
        }
        return (Scan(), why);
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Kedr.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Kedr.sln above {AppContext.BaseDirectory}");
    }
}
