using System.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Kernel.Payloads;
using Kedr.Kernel.Tests.Vm;
using Xunit.Abstractions;

namespace Kedr.Kernel.Tests.Payloads;

/// <summary>
/// Every built-in spec (kmod/payloads) and the tests' own, generated and built as a user would: make
/// against the guest kernel's headers with W=1, which must say nothing (no compiler or modpost warning),
/// the module must import each intercepted function and define a tracepoint per function, and checkpatch
/// must pass every C file of the module. modpost takes the payload API's symbols from kedr_sample's own
/// Module.symvers (scripts/vm/build-kmod.sh kedr_sample, built once per run).
/// </summary>
public sealed class PayloadBuildTests(ITestOutputHelper output, PayloadBuildTests.KedrSample sample) : IClassFixture<PayloadBuildTests.KedrSample>
{
    /// <summary>kedr_sample built once per run: its Module.symvers exports the payload API.</summary>
    public sealed class KedrSample
    {
        private readonly Lazy<string> _built = new(Build);

        public string EnsureBuilt() => _built.Value;

        private static string Build()
        {
            var script = Path.Combine(RepoPaths.Root, "scripts", "vm", "build-kmod.sh");
            var r = Run(script, ["kedr_sample"]);
            var symvers = Path.Combine(RepoPaths.Root, "kmod", "kedr_sample", "Module.symvers");
            Assert.True(r.Status == 0 && File.Exists(symvers), $"kedr_sample did not build:\n{r.Output}");
            Assert.Contains("kedr_payload_register", File.ReadAllText(symvers));
            return symvers;
        }
    }

    internal static string KernelBuildDir()
    {
        var builds = Directory.GetDirectories("/lib/modules", "*-cloud-amd64")
            .Where(d => File.Exists(Path.Combine(d, "build", "Makefile"))).Order(StringComparer.Ordinal).ToList();
        Assert.True(builds.Count > 0, "no /lib/modules/*-cloud-amd64/build: run scripts/vm/setup.sh");
        return Path.Combine(builds[^1], "build");
    }

    private static (int Status, string Output) Make(string dir, params string[] extra)
    {
        var args = new List<string> { "-C", KernelBuildDir(), $"M={dir}", "W=1" };
        args.AddRange(extra);
        args.Add("modules");
        return Run("make", args);
    }

    private static (int Status, string Output) Run(string tool, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, text + err.Result);
    }

    /// <summary>checkpatch.pl of the 6.1 source (linux-source-6.1: unpacked, or its tarball's three files).</summary>
    private static string Checkpatch()
    {
        const string unpacked = "/usr/src/linux-source-6.1/scripts/checkpatch.pl";
        if (File.Exists(unpacked)) return unpacked;
        const string tarball = "/usr/src/linux-source-6.1.tar.xz";
        Assert.True(File.Exists(tarball), "checkpatch.pl: install linux-source-6.1 (scripts/vm/setup.sh does)");
        var dir = Path.Combine(Path.GetTempPath(), "kedr-checkpatch-6.1");
        var script = Path.Combine(dir, "linux-source-6.1", "scripts", "checkpatch.pl");
        if (!File.Exists(script))
        {
            Directory.CreateDirectory(dir);
            var r = Run("tar", ["-xJf", tarball, "-C", dir, "linux-source-6.1/scripts/checkpatch.pl",
                "linux-source-6.1/scripts/spelling.txt", "linux-source-6.1/scripts/const_structs.checkpatch"]);
            Assert.True(r.Status == 0, r.Output);
        }
        return script;
    }

    public static TheoryData<string> Specs() => PayloadGeneratorTests.BuiltInSpecs();

    [Theory]
    [MemberData(nameof(Specs))]
    public void Generated_payload_builds_without_a_warning_and_passes_checkpatch(string specPath)
    {
        Assert.True(PayloadSpecReader.TryRead(specPath, out var spec, out var error), error?.ToString());
        var symvers = sample.EnsureBuilt();
        var dir = Directory.CreateTempSubdirectory($"kedr-payload-{spec!.Name}.").FullName;
        try
        {
            PayloadGenerator.Write(spec, dir);
            var (status, text) = Make(dir, $"KBUILD_EXTRA_SYMBOLS={symvers}");
            output.WriteLine(text);
            Assert.True(status == 0, $"make failed ({status}):\n{text}");
            var warnings = text.Split('\n').Where(l => l.Contains("warning", StringComparison.OrdinalIgnoreCase)).ToList();
            Assert.True(warnings.Count == 0, string.Join('\n', warnings));

            var ko = ElfFile.Read(Path.Combine(dir, spec.Name + ".ko"));
            var undefined = ko.Symbols.Where(s => s.IsUndefined).Select(s => s.Name).ToHashSet();
            var defined = ko.Symbols.Where(s => s.IsDefinedInSection).Select(s => s.Name).ToHashSet();
            foreach (var f in spec.Functions)
            {
                // The handler calls the original, except behaviour skip, which never does.
                if (f.Behaviour == PayloadBehaviour.Skip) Assert.DoesNotContain(f.Name, undefined);
                else Assert.Contains(f.Name, undefined);
                Assert.Contains($"__tracepoint_called_{f.Name}", defined);
            }
            Assert.Contains("kedr_payload_register", undefined);
            Assert.Contains("kedr_get_call_info", undefined);

            var checkpatch = Checkpatch();
            var sources = Directory.GetFiles(dir).Where(f => (f.EndsWith(".c", StringComparison.Ordinal) || f.EndsWith(".h", StringComparison.Ordinal))
                && !f.EndsWith(".mod.c", StringComparison.Ordinal)).Order().ToList();
            Assert.True(sources.Count >= 6, string.Join(", ", sources));
            foreach (var f in sources)
            {
                var r = Run("perl", [checkpatch, "--no-tree", "--terse", "-q", "-f", f]);
                Assert.True(r.Output.Trim().EndsWith("total: 0 errors, 0 warnings, " + File.ReadAllLines(f).Length + " lines checked", StringComparison.Ordinal)
                    || (r.Status == 0 && !r.Output.Contains("WARNING", StringComparison.Ordinal) && !r.Output.Contains("ERROR", StringComparison.Ordinal)),
                    $"checkpatch {Path.GetFileName(f)}:\n{r.Output}");
            }
            output.WriteLine($"{spec.Name}: {spec.Functions.Count} functions, {sources.Count} C files, built and checked");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
