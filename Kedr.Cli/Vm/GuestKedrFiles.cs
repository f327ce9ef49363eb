using System.Diagnostics;
using Kedr.Core.Diagnostics;

namespace Kedr.Cli.Vm;

/// <summary>
/// The guest's <c>kedr</c> for <c>kedr vm</c>'s recording: scripts/vm/guest-kedr.sh (<c>kedr_guest_stage</c>) stages the
/// checkout's NativeAOT binary (./kedr --print-binary: built, or found up to date) with exactly the shared libraries it
/// loads. The files go flat into the guest's /lib/modules/kedr; <see cref="Command"/> runs the binary there through
/// the dynamic loader it came with.
/// </summary>
internal static class GuestKedrFiles
{
    /// <summary>The dynamic loader's file name (ldd's /lib64/ld-linux-x86-64.so.2).</summary>
    public const string Loader = "ld-linux-x86-64.so.2";

    /// <summary>Guest shell: the command that runs the staged kedr (arguments follow).</summary>
    public const string Command = "/lib/modules/kedr/" + Loader + " --library-path /lib/modules/kedr /lib/modules/kedr/kedr";

    /// <summary>Stages the files into <paramref name="dir"/> (created); their host paths, distinct file names.</summary>
    public static IReadOnlyList<string> Stage(string dir)
    {
        var script = Path.Combine(RepositoryPaths.VmScripts, "guest-kedr.sh");
        var psi = new ProcessStartInfo("bash", ["-c", "source \"$1\" && kedr_guest_stage \"$2\"", "bash", script, dir])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi) ?? throw Fail("cannot start bash");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        _ = stdout.Result;
        if (p.ExitCode != 0) throw Fail($"{script}: kedr_guest_stage failed ({p.ExitCode}): {stderr.Trim()}");
        var files = Directory.GetFiles(dir, "*", SearchOption.AllDirectories);
        if (!files.Any(f => Path.GetFileName(f) == "kedr") || !files.Any(f => Path.GetFileName(f) == Loader))
            throw Fail($"{script} staged no kedr binary or no {Loader} in {dir}");
        if (files.Select(Path.GetFileName).Distinct().Count() != files.Length)
            throw Fail($"{script} staged two files of the same name in {dir}");
        return files;
    }

    private static KedrException Fail(string message) => new(new KedrDiagnostic(DiagnosticCodes.VmGuestKedr, message));
}
