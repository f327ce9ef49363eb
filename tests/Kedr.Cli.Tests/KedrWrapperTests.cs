using System.Diagnostics;

namespace Kedr.Cli.Tests;

/// <summary>
/// The checkout's <c>./kedr</c> wrapper: it runs the build it made only while the build's inputs are the
/// ones it was made from. Run on a copy of the wrapper in a scratch tree whose <c>dotnet</c> is a stand-in
/// (first on PATH) that counts its builds and publishes a <c>kedr</c> printing the build's number, so a
/// stale binary shows as an old number.
/// </summary>
public sealed class KedrWrapperTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-wrapper-tests-");

    public KedrWrapperTests()
    {
        File.Copy(Path.Combine(RepositoryRoot(), "kedr"), Tmp("kedr"));
        Write("Directory.Build.props", "<Project />");
        Write("Directory.Packages.props", "<Project />");
        Write("Kedr.Cli/Kedr.Cli.csproj", "<Project />");
        Write("Kedr.Cli/Program.cs", "class P { }\n");
        // The stand-in: `dotnet publish|build ... -o DIR` writes DIR/kedr, which prints "build N".
        Write("fakebin/dotnet", """
            #!/bin/bash
            count="$(dirname "$0")/count"
            n=$(( $(cat "$count" 2>/dev/null || echo 0) + 1 ))
            echo "$n" >"$count"
            while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done
            mkdir -p "$out"
            printf '#!/bin/sh\necho build %s\n' "$n" >"$out/kedr"
            chmod +x "$out/kedr"
            """);
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(Tmp("fakebin/dotnet"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public void Dispose() => _dir.Delete(true);

    private string Tmp(string name) => Path.Combine(_dir.FullName, name);

    private void Write(string name, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Tmp(name))!);
        File.WriteAllText(Tmp(name), text);
    }

    [Fact]
    public void Runs_the_build_while_nothing_changed()
    {
        Assert.Equal("build 1", Kedr());
        Assert.Equal("build 1", Kedr());
    }

    [Fact]
    public void An_edited_added_or_deleted_source_rebuilds()
    {
        Assert.Equal("build 1", Kedr());
        File.AppendAllText(Tmp("Kedr.Cli/Program.cs"), "\n");
        Assert.Equal("build 2", Kedr());
        Write("Kedr.Cli/New.cs", "class N { }");
        Assert.Equal("build 3", Kedr());
        File.Delete(Tmp("Kedr.Cli/New.cs"));
        Assert.Equal("build 4", Kedr());
    }

    /// <summary>MSBuild reads these at the root too: Directory.Build.targets, global.json (the SDK), NuGet.config (the packages).</summary>
    [Theory]
    [InlineData("Directory.Build.targets")]
    [InlineData("global.json")]
    [InlineData("NuGet.config")]
    public void A_build_file_added_at_the_root_rebuilds(string name)
    {
        Assert.Equal("build 1", Kedr());
        Write(name, "<Project />");
        Assert.Equal("build 2", Kedr());
    }

    [Fact]
    public void A_build_file_deleted_at_the_root_rebuilds()
    {
        Assert.Equal("build 1", Kedr());
        File.Delete(Tmp("Directory.Build.props"));
        Assert.Equal("build 2", Kedr());
    }

    /// <summary>cp -p, touch -r, tar and rsync -t keep a file's modification time; its change time they cannot keep.</summary>
    [Fact]
    public void An_edit_that_keeps_size_and_modification_time_rebuilds()
    {
        Assert.Equal("build 1", Kedr());
        // touch -r: to the nanosecond (.NET's times stop at 100 ns).
        Bash("cp -p Kedr.Cli/Program.cs time.ref && echo 'class Q { }' >Kedr.Cli/Program.cs && touch -r time.ref Kedr.Cli/Program.cs && " +
            "[ \"$(stat -c '%s %y' time.ref)\" = \"$(stat -c '%s %y' Kedr.Cli/Program.cs)\" ]");
        Assert.Equal("build 2", Kedr());
    }

    [Fact]
    public void A_deleted_binary_is_built_again()
    {
        Assert.Equal("build 1", Kedr());
        File.Delete(Tmp(".build/kedr-aot/kedr"));
        Assert.Equal("build 2", Kedr());
    }

    private string Kedr() => Bash(Tmp("kedr"));

    private string Bash(string command)
    {
        var psi = new ProcessStartInfo("bash", ["-c", command])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _dir.FullName,
        };
        psi.Environment["PATH"] = Tmp("fakebin") + ":" + Environment.GetEnvironmentVariable("PATH");
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)), $"{command} did not finish");
        Assert.True(p.ExitCode == 0, $"{command}: exit {p.ExitCode}\n{stdout}\n{stderr.Result}");
        return stdout.Trim();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Kedr.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Kedr.sln above {AppContext.BaseDirectory}");
    }
}
