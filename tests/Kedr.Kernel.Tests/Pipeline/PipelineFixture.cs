using System.Diagnostics;
using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Kernel.Tests.Vm;
using Kedr.Kernel.Vm;
using Kedr.Rewriter;

namespace Kedr.Kernel.Tests.Pipeline;

/// <summary>
/// Built once for the pipeline tests: kedr_sample and the stress modules (kmod/, against the guest
/// kernel), the stress target's blob (the rewriter, in process) and nbread (a static helper for the
/// guest, whose busybox cannot read with O_NONBLOCK).
/// </summary>
public sealed class PipelineFixture : IDisposable
{
    public const string Target = "kedr_stress_target";

    public string Work { get; } = Directory.CreateTempSubdirectory("kedr-pipeline.").FullName;
    public string SampleKo { get; }
    public string TargetKo { get; }
    public string DriverKo { get; }
    public string BlobPath { get; }
    public KedrBlob Blob { get; }
    public string NbRead { get; }

    public PipelineFixture()
    {
        Run("bash", Path.Combine(RepoPaths.ScriptsVm, "setup.sh"));
        var built = Run("bash", Path.Combine(RepoPaths.ScriptsVm, "build-kmod.sh"), "kedr_sample", Target)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string Ko(string name) => built.Single(l => Path.GetFileName(l) == name + ".ko");
        SampleKo = Ko("kedr_sample");
        TargetKo = Ko(Target);
        DriverKo = Ko("kedr_stress_driver");

        Blob = ModuleRewriter.Rewrite(ElfFile.Read(TargetKo)).Blob;
        BlobPath = Path.Combine(Work, Target + ".kedr");
        File.WriteAllBytes(BlobPath, BlobWriter.Write(Blob));

        NbRead = Path.Combine(Work, "nbread");
        Run("gcc", "-static", "-O2", "-Wall", "-Werror", "-o", NbRead, Resource("nbread.c"));
    }

    public static string Resource(string name) =>
        Path.Combine(RepoPaths.Root, "tests", "Kedr.Kernel.Tests", "Pipeline", "Resources", name);

    /// <summary>A VM run of a guest script from Resources/, with everything above in the guest.</summary>
    public VmRunRequest Request(string script, string outDir, string prelude = "") => new()
    {
        ScriptPath = WriteScript(script, prelude),
        ModuleFiles = [SampleKo, TargetKo, DriverKo, NbRead],
        FirmwareFiles = [new VmFirmwareFile(BlobPath, $"kedr/{Target}.kedr")],
        Cpus = 4,
        Timeout = TimeSpan.FromSeconds(120),
        OutputDirectory = outDir,
    };

    private string WriteScript(string name, string prelude)
    {
        var path = Path.Combine(Work, Path.GetFileNameWithoutExtension(name) + $".{Guid.NewGuid():N}.sh");
        File.WriteAllText(path, prelude + File.ReadAllText(Resource(name)).ReplaceLineEndings("\n"));
        return path;
    }

    private static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)}: status {p.ExitCode}\n{stdout}{stderr.Result}");
        return stdout;
    }

    public void Dispose() => Directory.Delete(Work, recursive: true);
}
