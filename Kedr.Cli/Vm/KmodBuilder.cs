using System.Diagnostics;
using Kedr.Core.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Kedr.Cli.Vm;

/// <summary>Builds kmod/ against the guest kernel's headers through <c>scripts/vm/build-kmod.sh</c>.</summary>
/// <remarks>
/// Once per process: kbuild's pass over every kmod/ directory costs about 16 CPU seconds even when nothing
/// changed, and a test run asks for it before each of its guests (about 60 of them). A failed build is not
/// kept: the next call tries again.
/// </remarks>
internal static class KmodBuilder
{
    private static readonly Lock Gate = new();
    private static Task<Dictionary<string, string>>? s_build;

    /// <returns>The built .ko files by module name (the caller's own copy).</returns>
    public static async Task<Dictionary<string, string>> BuildAsync(ILogger log, CancellationToken ct)
    {
        Task<Dictionary<string, string>> build;
        lock (Gate)
        {
            if (s_build is null || s_build.IsFaulted || s_build.IsCanceled)
                s_build = RunAsync(log);
            build = s_build;
        }
        return new Dictionary<string, string>(await build.WaitAsync(ct));
    }

    /// <summary>Not cancelled by one caller's token: other callers may be waiting for the same build.</summary>
    private static async Task<Dictionary<string, string>> RunAsync(ILogger log)
    {
        var script = Path.Combine(RepositoryPaths.VmScripts, "build-kmod.sh");
        var psi = new ProcessStartInfo("bash", [script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        log.LogInformation("building kmod/ against the guest kernel headers");
        using var p = Process.Start(psi) ?? throw new KedrException(new(DiagnosticCodes.VmKmodBuildFailed, "cannot start build-kmod.sh", script));
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
            throw new KedrException(new(DiagnosticCodes.VmKmodBuildFailed, $"kmod build failed (status {p.ExitCode}):\n{await stderr}", script));
        return (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.EndsWith(".ko", StringComparison.Ordinal))
            .ToDictionary(l => Path.GetFileNameWithoutExtension(l).Replace('-', '_'), l => l);
    }
}
