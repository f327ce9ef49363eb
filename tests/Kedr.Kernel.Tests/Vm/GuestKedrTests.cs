using System.Diagnostics;
using Xunit.Abstractions;

namespace Kedr.Kernel.Tests.Vm;

/// <summary>
/// scripts/vm/guest-kedr.sh: the NativeAOT kedr and the shared libraries it needs, carried into the test guest.
/// The host's <c>./kedr --print-binary</c> builds the binary if it is not up to date (a minute or two once).
/// </summary>
public class GuestKedrTests(ITestOutputHelper output)
{
    /// <summary>
    /// Independently of ldd: the binary's program interpreter (PT_INTERP) and every DT_NEEDED library, as
    /// readelf reads them from the ELF, are among the files staged, at the interpreter's path and under the
    /// library names; and nothing else is staged but the binary.
    /// </summary>
    [Fact]
    public void Staged_files_are_the_binary_its_interpreter_and_its_needed_libraries()
    {
        var stage = Directory.CreateTempSubdirectory("kedr-guest-stage-");
        try
        {
            Bash($"source scripts/vm/guest-kedr.sh && kedr_guest_stage '{stage.FullName}'");
            var bin = Bash("./kedr --print-binary").Trim();
            var headers = Run("readelf", "-l", "-d", "-W", bin);
            var interp = headers.Split('\n').Select(l => l.Trim())
                .Single(l => l.StartsWith("[Requesting program interpreter: ", StringComparison.Ordinal))
                ["[Requesting program interpreter: ".Length..].TrimEnd(']');
            var needed = headers.Split('\n').Where(l => l.Contains("(NEEDED)", StringComparison.Ordinal))
                .Select(l => l[(l.IndexOf('[') + 1)..l.IndexOf(']')]).ToList();
            Assert.NotEmpty(needed);

            var staged = Directory.EnumerateFiles(stage.FullName, "*", SearchOption.AllDirectories)
                .Select(f => "/" + Path.GetRelativePath(stage.FullName, f)).Order(StringComparer.Ordinal).ToList();
            output.WriteLine(string.Join("\n", staged));
            Assert.Contains("/usr/bin/kedr", staged);
            Assert.Contains(interp, staged);
            foreach (var lib in needed)
                Assert.Single(staged, s => Path.GetFileName(s) == lib);
            // The binary, the interpreter and each needed library (the interpreter may be one of them too).
            Assert.Equal(needed.Append(Path.GetFileName(interp)).Distinct().Count() + 1, staged.Count);
            Assert.Equal(File.ReadAllBytes(bin), File.ReadAllBytes(Path.Combine(stage.FullName, "usr/bin/kedr")));
        }
        finally
        {
            stage.Delete(true);
        }
    }

    /// <summary>
    /// In the guest (busybox, no libc of its own): <c>kedr --version</c> says what the host's says, and the blob
    /// the guest's kedr makes of the guest kernel's fat.ko is byte for byte the host's of the same file.
    /// </summary>
    [Fact]
    public void Kedr_runs_in_the_guest_and_writes_the_hosts_blob()
    {
        var dir = Directory.CreateTempSubdirectory("kedr-guest-tool-");
        try
        {
            Bash("scripts/vm/setup.sh");
            var script = Path.Combine(dir.FullName, "guest.sh");
            File.WriteAllText(script, Bash("source scripts/vm/guest-kedr.sh && printf '%s\\n' \"$KEDR_GUEST_INSTALL\"") + """
                kedr --version > /out/version.txt
                ko=$(find /lib/modules/$(uname -r)/kernel/fs/fat -name 'fat.ko*' | head -n 1)
                echo "$ko" > /out/ko.txt
                kedr instrument "$ko" -o /out/fat.kedr > /out/instrument.txt
                """);
            var results = Path.Combine(dir.FullName, "results");
            Bash("source scripts/vm/guest-kedr.sh && mapfile -t fw < <(kedr_guest_firmware_args) && " +
                 $"scripts/vm/run.sh --script '{script}' \"${{fw[@]}}\" --guest-module fat --out '{results}' --timeout 300");
            output.WriteLine(File.ReadAllText(Path.Combine(results, "instrument.txt")));

            Assert.Equal(Bash("./kedr --version"), File.ReadAllText(Path.Combine(results, "version.txt")));
            var ko = File.ReadAllText(Path.Combine(results, "ko.txt")).Trim();
            Assert.StartsWith("/lib/modules/6.1.", ko, StringComparison.Ordinal);
            var hostBlob = Path.Combine(dir.FullName, "host-fat.kedr");
            Bash($"./kedr instrument '{ko}' -o '{hostBlob}' > /dev/null");
            Assert.Equal(File.ReadAllBytes(hostBlob), File.ReadAllBytes(Path.Combine(results, "fat.kedr")));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private string Bash(string command) => Run("bash", "-c", command);

    private string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        // run.sh's own --timeout bounds the guest; this bounds a hung host command.
        if (!p.WaitForExit(TimeSpan.FromMinutes(15))) { p.Kill(true); Assert.Fail($"{file} {string.Join(' ', args)}: no end in 15 min"); }
        output.WriteLine(stderr.Result);
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)}: exit {p.ExitCode}\n{stdout}\n{stderr.Result}");
        return stdout;
    }
}
