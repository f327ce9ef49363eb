using System.Diagnostics;
using Kedr.Core.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Kedr.Cli.Vm;

/// <summary>Builds kmod/ against the guest kernel's headers through <c>scripts/vm/build-kmod.sh</c>.</summary>
internal static class KmodBuilder
{
    /// <returns>The built .ko files by module name.</returns>
    public static async Task<Dictionary<string, string>> BuildAsync(ILogger log, CancellationToken ct)
    {
        var script = Path.Combine(RepositoryPaths.VmScripts, "build-kmod.sh");
        var psi = new ProcessStartInfo("bash", [script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        log.LogInformation("building kmod/ against the guest kernel headers");
        using var p = Process.Start(psi) ?? throw new KedrException(new(DiagnosticCodes.VmKmodBuildFailed, "cannot start build-kmod.sh", script));
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        if (p.ExitCode != 0)
            throw new KedrException(new(DiagnosticCodes.VmKmodBuildFailed, $"kmod build failed (status {p.ExitCode}):\n{await stderr}", script));
        return (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.EndsWith(".ko", StringComparison.Ordinal))
            .ToDictionary(l => Path.GetFileNameWithoutExtension(l).Replace('-', '_'), l => l);
    }
}
