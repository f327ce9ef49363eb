using System.Diagnostics;
using System.Text;
using Kedr.Core.Diagnostics;
using Kedr.Kernel.Payloads;
using Kedr.Kernel.Vm;
using Microsoft.Extensions.Logging;

namespace Kedr.Cli.Vm;

/// <summary>
/// Generates a payload module from its spec into <c>.build/payloads/NAME/</c> of the checkout and builds it
/// against the guest kernel with kedr_sample's Module.symvers (kmod/ must be built first). Cached like kmod/:
/// only files whose text changed are rewritten, so make rebuilds nothing when neither the spec nor kedr_sample did.
/// </summary>
internal static class PayloadBuilder
{
    /// <returns>The built .ko.</returns>
    public static async Task<string> BuildAsync(string specPath, ILogger log, CancellationToken ct)
    {
        if (!PayloadSpecReader.TryRead(specPath, out var spec, out var error)) throw new KedrException(error!);
        var dir = Path.Combine(RepositoryPaths.Root, ".build", "payloads", spec!.Name);
        Directory.CreateDirectory(dir);
        foreach (var (name, text) in PayloadGenerator.Generate(spec))
        {
            var path = Path.Combine(dir, name);
            if (!File.Exists(path) || File.ReadAllText(path) != text) File.WriteAllText(path, text, new UTF8Encoding(false));
        }
        var kernel = GuestKernel.FindOrInstall(RepositoryPaths.VmScripts);
        var symvers = Path.Combine(RepositoryPaths.Kmod, "kedr_sample", "Module.symvers");
        // Under kmod/'s build lock: the payload links against the kedr_sample another build may be rewriting.
        var psi = new ProcessStartInfo("flock", [Path.Combine(RepositoryPaths.Kmod, ".build.lock"),
            "make", "-C", $"/lib/modules/{kernel.Release}/build", $"M={dir}", $"KBUILD_EXTRA_SYMBOLS={symvers}", "modules"])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        log.LogInformation("building payload {Name} against the guest kernel headers", spec.Name);
        using var p = Process.Start(psi) ?? throw new KedrException(new(DiagnosticCodes.VmKmodBuildFailed, "cannot start make", dir));
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        if (p.ExitCode != 0)
            throw new KedrException(new(DiagnosticCodes.VmKmodBuildFailed,
                $"building payload {spec.Name} failed (status {p.ExitCode}):\n{await stdout}{await stderr}", dir));
        return Path.Combine(dir, spec.Name + ".ko");
    }
}
