using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Kernel.Tests.Vm;
using Kedr.Kernel.Vm;
using Kedr.Tests.Shared;
using Xunit.Abstractions;

namespace Kedr.Kernel.Tests.Loader;

/// <summary>
/// 1,000 mutated blobs (tests/Shared/BlobMutator, most with their checksum written again) fed to the loader in
/// one boot: kedr_sample loaded with `blob=…` for each, by one finit_module(2) call (Resources/finit.c: busybox
/// insmod would load a refused blob twice, finit_module then init_module). No oops or WARN; each blob the loader
/// refuses is refused with one kedr_sample line per load attempt; the loader accepts exactly the blobs BlobReader
/// accepts; the target, loaded every 100 blobs and at the end with its real blob attached, keeps working.
/// </summary>
public sealed class LoaderFuzzVmTests(ITestOutputHelper output)
{
    private const int Mutants = 1000;
    private const string Target = "kedr_sample_target", Extable = "kedr_pt_uaccess";

    [Fact(Timeout = 40 * 60 * 1000)]
    public async Task The_loader_refuses_or_accepts_1000_mutated_blobs_as_BlobReader_does()
    {
        Build("kedr_sample", Target, Extable);
        string Ko(string m) => Path.Combine(RepoPaths.Root, "kmod", m, m + ".ko");
        byte[] Blob(string m) => BlobWriter.Write(Rewriter.ModuleRewriter.Rewrite(ElfFile.Read(Ko(m))).Blob);
        var seeds = new[] { (Target, Blob(Target)), (Extable, Blob(Extable)) };

        var dir = Directory.CreateTempSubdirectory("kedr-loader-fuzz-").FullName;
        try
        {
            // The mutants, and BlobReader's verdict on each (with the name the loader is given).
            var mutator = new BlobMutator(2026);
            var expected = new Dictionary<string, (string Target, string? Error)>();
            var list = new StringBuilder();
            var tar = Path.Combine(dir, "fuzz.tar");
            using (var stream = File.Create(tar))
            using (var writer = new TarWriter(stream, TarEntryFormat.Ustar))
            {
                for (int i = 0; i < Mutants; i++)
                {
                    var (target, seed) = seeds[i % 5 == 4 ? 1 : 0];
                    var (bytes, kind, _) = mutator.Mutate(seed);
                    string name = $"{i}.kedr";
                    BlobReader.TryRead(bytes, name, out var blob, out var error);
                    string? why = error?.ToString() ?? (blob!.Target.Name != target ? "another target name" : null);
                    expected[name] = (target, why);
                    var entry = new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(bytes) };
                    writer.WriteEntry(entry);
                    list.Append(name).Append(' ').Append(target).Append('\n');
                }
                writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "list.txt")
                { DataStream = new MemoryStream(Encoding.ASCII.GetBytes(list.ToString())) });
            }
            var good = Path.Combine(dir, "good.kedr");
            File.WriteAllBytes(good, seeds[0].Item2);
            var finit = Path.Combine(dir, "finit");
            Gcc(finit, Path.Combine(RepoPaths.Root, "tests", "Kedr.Kernel.Tests", "Loader", "Resources", "finit.c"));
            var script = Path.Combine(dir, "guest.sh");
            File.WriteAllText(script, GuestScript);

            var result = await VmRunner.RunAsync(new VmRunRequest
            {
                ScriptPath = script,
                ModuleFiles = [Ko("kedr_sample"), Ko(Target), finit],
                FirmwareFiles = [new VmFirmwareFile(tar, "kedr/fuzz.tar"), new VmFirmwareFile(good, "kedr/good.kedr")],
                Timeout = TimeSpan.FromMinutes(30),
                KernelCommandLine = "log_buf_len=4M",
            }, new TestOutputLogger(output));
            output.WriteLine($"guest: {result.Elapsed.TotalSeconds:F0} s; script output (tail):\n" +
                string.Join('\n', result.ScriptOutput.Split('\n').TakeLast(15)));

            // Every kernel line of the whole run (the script keeps what dmesg -c took away), cut at its markers.
            var log = Encoding.UTF8.GetString(result.Files.GetValueOrDefault("fuzz-dmesg.txt", [])) + result.Dmesg;
            var problems = DmesgHealth.FindProblems(log);
            var segments = new Dictionary<string, List<string>>();
            List<string>? current = null;
            foreach (var raw in log.Split('\n'))
            {
                var text = System.Text.RegularExpressions.Regex.Replace(raw, @"^\[[ 0-9.]*\] ", "");
                if (text.StartsWith("kedr-fuzz: ", StringComparison.Ordinal)) segments[text["kedr-fuzz: ".Length..].Trim()] = current = [];
                else current?.Add(text);
            }
            var mismatches = new List<string>();
            int accepted = 0, refused = 0;
            var verdicts = Encoding.ASCII.GetString(result.Files.GetValueOrDefault("verdicts.txt", [])).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var reasons = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (var v in verdicts)
            {
                // NAME ok|refused
                var f = v.Split(' ');
                var (target, why) = expected[f[0]];
                var seg = segments.GetValueOrDefault(f[0], []);
                if (f[1] == "ok")
                {
                    accepted++;
                    if (why is not null) mismatches.Add($"{f[0]}: the loader accepted it, BlobReader: {why}");
                    continue;
                }
                refused++;
                int loads = seg.Count(l => l.Contains($"firmware: direct-loading firmware kedr/fz/{f[0]}", StringComparison.Ordinal));
                var lines = seg.Where(l => l.StartsWith("kedr_sample: ", StringComparison.Ordinal)).ToList();
                var line = lines.FirstOrDefault() ?? "";
                var reason = System.Text.RegularExpressions.Regex.Match(line, @"(malformed|cannot load blob)[: ]*([a-z_.]*)").Groups[2].Value;
                reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
                if (why is null) mismatches.Add($"{f[0]}: the loader refused it ({line}), BlobReader accepted it");
                if (lines.Count == 0 || lines.Distinct().Count() != 1 || loads > 0 && lines.Count != loads)
                    mismatches.Add($"{f[0]}: {lines.Count} kedr_sample lines ({lines.Distinct().Count()} distinct) for {loads} loads of the blob: {line}");
            }
            output.WriteLine($"{verdicts.Length} blobs: {accepted} accepted, {refused} refused (by first word: " +
                string.Join(", ", reasons.Select(kv => $"{kv.Key} {kv.Value}")) + $"); {mismatches.Count} mismatches; {problems.Count} problem lines");
            foreach (var m in mismatches.Take(30)) output.WriteLine("  " + m);
            foreach (var p in problems.Take(10)) output.WriteLine("  problem: " + p);
            Assert.Equal(0, result.ScriptExitCode);
            Assert.Empty(problems);
            Assert.True(result.Healthy, "the guest is not healthy");
            Assert.Equal(Mutants, verdicts.Length);
            Assert.True(mismatches.Count == 0, string.Join('\n', mismatches.Take(30)));
            Assert.True(accepted > 0 && refused > 0, $"{accepted} accepted, {refused} refused");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The guest's side; fails (exit status) only if the target stops working.</summary>
    private const string GuestScript = """
        K=/lib/modules/kedr
        FW=/lib/firmware/kedr
        T=kedr_sample_target
        mkdir -p $FW/fz
        tar -xf $FW/fuzz.tar -C $FW/fz
        dmesg -c >>/out/fuzz-dmesg.txt
        check_io() {
            echo 123456789788 >/dev/cfake0
            got=$(dd if=/dev/cfake0 ibs=20 count=1 2>/dev/null)
            [ "$got" = 123456789788 ] || { echo "FAIL: $1: /dev/cfake0 gave '$got'"; exit 1; }
        }
        # Few processes per blob (each is slow under TCG): a marker, one load, and
        # rmmod if it loaded; the log is taken every 50 blobs and cut at the
        # markers on the host.
        chmod +x $K/finit
        n=0
        while read -r name target; do
            echo "kedr-fuzz: $name" >/dev/kmsg
            if $K/finit $K/kedr_sample.ko "target_name=$target blob=kedr/fz/$name" 2>/dev/null; then
                rmmod kedr_sample
                echo "$name ok" >>/out/verdicts.txt
            else
                echo "$name refused" >>/out/verdicts.txt
            fi
            n=$((n + 1))
            if [ $((n % 50)) -eq 0 ]; then
                echo "kedr-fuzz: after-$n" >/dev/kmsg
                dmesg -c >>/out/fuzz-dmesg.txt
            fi
            if [ $((n % 100)) -eq 0 ]; then
                insmod $K/$T.ko
                check_io "after $n blobs"
                rmmod $T
                echo "$n blobs"
            fi
        done <$FW/fz/list.txt
        echo "kedr-fuzz: end" >/dev/kmsg
        dmesg -c >>/out/fuzz-dmesg.txt
        insmod $K/kedr_sample.ko target_name=$T blob=kedr/good.kedr
        insmod $K/$T.ko
        dmesg | grep -q "kedr_sample: $T: attached" || { echo "FAIL: the real blob is not attached"; exit 1; }
        check_io "attached"
        rmmod $T
        rmmod kedr_sample
        echo "done: $n blobs"
        """;

    private static void Gcc(string output, string source) =>
        Run("gcc", "-static", "-O2", "-Wall", "-Werror", "-o", output, source);

    private static void Build(params string[] modules) =>
        Run("bash", [Path.Combine(RepoPaths.ScriptsVm, "build-kmod.sh"), .. modules]);

    /// <summary>Runs a host tool; a failure fails the test with the command and its output.</summary>
    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var log = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)}: {log}{err.Result}");
    }
}
