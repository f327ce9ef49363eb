namespace Kedr.Kernel.Tests.Vm;

/// <summary>Paths in the repository, found by walking up from the test assembly to Kedr.sln.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string ScriptsVm => Path.Combine(Root, "scripts", "vm");

    public static string Resource(string name) => Path.Combine(Root, "tests", "Kedr.Kernel.Tests", "Vm", "Resources", name);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Kedr.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Kedr.sln above {AppContext.BaseDirectory}");
    }
}
