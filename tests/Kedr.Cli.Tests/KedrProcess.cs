using System.Diagnostics;

namespace Kedr.Cli.Tests;

/// <summary>Runs the built <c>kedr</c> (kedr.dll, copied next to the tests by the project reference) as a process.</summary>
internal static class KedrProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    private static string Dll
    {
        get
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "kedr.dll");
            Assert.True(File.Exists(dll), $"{dll} is missing: the test project references Kedr.Cli, which should copy it");
            return dll;
        }
    }

    public static Result Run(string workingDirectory, params string[] args) => Run(workingDirectory, TimeSpan.FromSeconds(60), args);

    public static Result Run(string workingDirectory, TimeSpan limit, params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(limit))
        {
            p.Kill(true);
            Assert.Fail($"kedr {string.Join(' ', args)} did not finish in {limit.TotalSeconds} s");
        }
        return new Result(p.ExitCode, stdout, stderr.Result);
    }
}
