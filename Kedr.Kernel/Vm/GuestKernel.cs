using System.Diagnostics;
using Kedr.Core.Diagnostics;

namespace Kedr.Kernel.Vm;

/// <summary>
/// The kernel the guest boots: the newest <c>/lib/modules/*-cloud-amd64</c> with a <c>build/</c>
/// directory (as <c>scripts/vm/lib.sh</c> chooses it), and its modules.
/// </summary>
public sealed record GuestKernel(string Release)
{
    public string ModulesDirectory => $"/lib/modules/{Release}/kernel";

    public static GuestKernel? TryFind()
    {
        var env = Environment.GetEnvironmentVariable("KEDR_VM_KVER");
        if (!string.IsNullOrEmpty(env)) return Directory.Exists($"/lib/modules/{env}") ? new GuestKernel(env) : null;
        if (!Directory.Exists("/lib/modules")) return null;
        var best = Directory.EnumerateDirectories("/lib/modules", "*-cloud-amd64")
            .Where(d => Directory.Exists(Path.Combine(d, "build")))
            .Select(Path.GetFileName)
            .OrderBy(n => n, Comparer<string?>.Create(CompareVersions))
            .LastOrDefault();
        return best is null ? null : new GuestKernel(best);
    }

    /// <summary>Finds the guest kernel, running <c>scripts/vm/setup.sh</c> (idempotent) if it is not installed.</summary>
    public static GuestKernel FindOrInstall(string scriptsDirectory)
    {
        var k = TryFind();
        if (k is not null) return k;
        var setup = Path.Combine(scriptsDirectory, "setup.sh");
        using var p = Process.Start(new ProcessStartInfo("bash", [setup]) { RedirectStandardOutput = false })
            ?? throw new KedrException(new KedrDiagnostic(DiagnosticCodes.VmNoGuestKernel, "cannot start setup.sh", setup));
        p.WaitForExit();
        return TryFind() ?? throw new KedrException(new KedrDiagnostic(DiagnosticCodes.VmNoGuestKernel,
            $"no /lib/modules/*-cloud-amd64 with build/ after setup.sh (status {p.ExitCode})", setup));
    }

    /// <summary>The guest kernel's own module called <paramref name="name"/> ('-' and '_' alike), or null.</summary>
    public string? FindModule(string name)
    {
        var wanted = name.Replace('-', '_');
        return Directory.EnumerateFiles(ModulesDirectory, "*.ko", SearchOption.AllDirectories)
            .FirstOrDefault(p => Path.GetFileNameWithoutExtension(p).Replace('-', '_') == wanted);
    }

    private static int CompareVersions(string? a, string? b)
    {
        var pa = (a ?? "").Split('.', '-');
        var pb = (b ?? "").Split('.', '-');
        for (int i = 0; i < Math.Min(pa.Length, pb.Length); i++)
        {
            int c = int.TryParse(pa[i], out var x) && int.TryParse(pb[i], out var y) ? x.CompareTo(y) : string.CompareOrdinal(pa[i], pb[i]);
            if (c != 0) return c;
        }
        return pa.Length.CompareTo(pb.Length);
    }
}
