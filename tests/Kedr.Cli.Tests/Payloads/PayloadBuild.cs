using System.Diagnostics;
using Kedr.Cli.Vm;
using Kedr.Kernel.Payloads;
using Kedr.Kernel.Vm;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Payloads;

/// <summary>
/// A payload module for the guest, as a user makes one: its spec through the generator (what
/// <c>kedr payload generate</c> writes), built against the guest kernel with kedr_sample's Module.symvers.
/// </summary>
internal static class PayloadBuild
{
    /// <summary>The spec of a built-in payload (kmod/payloads/NAME/NAME.json).</summary>
    public static string BuiltIn(string name) => Path.Combine(RepositoryPaths.Kmod, "payloads", name, name + ".json");

    /// <summary>Generates the spec's module under <paramref name="work"/> and builds it; returns the .ko.</summary>
    public static async Task<string> BuildAsync(string spec, string work, ITestOutputHelper output)
    {
        await KmodBuilder.BuildAsync(NullLogger.Instance, default);
        Assert.True(PayloadSpecReader.TryRead(spec, out var parsed, out var error), error?.ToString());
        var dir = Path.Combine(work, parsed!.Name);
        PayloadGenerator.Write(parsed, dir);
        var kernel = GuestKernel.FindOrInstall(RepositoryPaths.VmScripts);
        var psi = new ProcessStartInfo("make", ["-C", $"/lib/modules/{kernel.Release}/build", $"M={dir}",
            $"KBUILD_EXTRA_SYMBOLS={Path.Combine(RepositoryPaths.Kmod, "kedr_sample", "Module.symvers")}", "modules"])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var text = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        output.WriteLine(text + await err);
        Assert.True(p.ExitCode == 0, $"building {parsed.Name} failed:\n{text}\n{await err}");
        return Path.Combine(dir, parsed.Name + ".ko");
    }
}
