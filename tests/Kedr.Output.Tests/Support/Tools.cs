using System.ComponentModel;
using System.Diagnostics;

namespace Kedr.Output.Tests.Support;

/// <summary>The repository and host tools the tests use.</summary>
internal static class Tools
{
    private static readonly Lazy<string> s_repoRoot = new(() =>
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Kedr.sln"))) return d.FullName;
        throw new InvalidOperationException($"no Kedr.sln above {AppContext.BaseDirectory}");
    });

    public static string RepoRoot => s_repoRoot.Value;

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>Runs a tool; a tool that cannot be started fails the test saying why it is needed.</summary>
    public static Result Run(string tool, string why, IEnumerable<string> args, int timeoutMs = 120_000)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (Win32Exception e)
        {
            throw new Xunit.Sdk.XunitException($"'{tool}' is needed {why} but cannot be run ({e.Message})");
        }
        using (p)
        {
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(timeoutMs))
            {
                p.Kill(true);
                throw new Xunit.Sdk.XunitException($"{tool} {string.Join(' ', args)} did not finish in {timeoutMs / 1000} s");
            }
            return new Result(p.ExitCode, stdout.Result, stderr.Result);
        }
    }

    /// <summary>Runs a tool that must succeed; returns its stdout.</summary>
    public static string Check(string tool, string why, params string[] args)
    {
        var r = Run(tool, why, args);
        if (r.ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"{tool} {string.Join(' ', args)} exited with {r.ExitCode}: {r.Stderr}");
        return r.Stdout;
    }
}
