namespace Kedr.Cli.Vm;

/// <summary>Where the checkout's scripts and kernel sources are.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();
    public static string VmScripts => Path.Combine(Root, "scripts", "vm");
    public static string Kmod => Path.Combine(Root, "kmod");

    private static string FindRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Kedr.sln")) && Directory.Exists(Path.Combine(d.FullName, "kmod")))
                    return d.FullName;
        throw new Kedr.Core.Diagnostics.KedrException(new(Kedr.Core.Diagnostics.DiagnosticCodes.VmNoCheckout,
            "cannot find the kedr checkout (Kedr.sln with kmod/) above the tool or the current folder"));
    }
}
