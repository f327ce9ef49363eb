using System.Text;
using System.Text.RegularExpressions;
using Kedr.Cli.Tests.Vm;
using Kedr.Cli.Vm;
using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Kernel.Vm;
using Kedr.Rewriter;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// One guest run for the patch-site tests: like <c>kedr vm</c> (instrument the target, boot the guest
/// with kedr_sample waiting for it, run the script), plus what these tests need: kedr_sample
/// parameters, a kernel command line, guest-kernel modules besides the target, and a run without
/// kedr_sample at all for reference.
/// </summary>
internal sealed record PatchSiteRequest(string Target, string Script)
{
    /// <summary>Load kedr_sample for the target (false: the same script on the plain module).</summary>
    public bool Instrument { get; init; } = true;
    /// <summary>Extra kedr_sample parameters, e.g. <c>entry_via_ftrace=0</c>.</summary>
    public string LoaderArgs { get; init; } = "";
    public string? KernelCommandLine { get; init; }
    /// <summary>Guest-kernel modules the script modprobes besides the target (e.g. nls modules, brd).</summary>
    public IReadOnlyList<string> GuestModules { get; init; } = [];
    /// <summary>Other files for the guest, put under <c>/lib/firmware/</c> at their destination.</summary>
    public IReadOnlyList<VmFirmwareFile> ExtraFirmware { get; init; } = [];
    /// <summary>More modules of kmod/ (directory names) put in the guest's /lib/modules/kedr, not instrumented.</summary>
    public IReadOnlyList<string> ExtraModules { get; init; } = [];
    /// <summary>Other host files put in the guest's /lib/modules/kedr (e.g. a static helper program).</summary>
    public IReadOnlyList<string> ExtraFiles { get; init; } = [];
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(150);
    public int MemoryMiB { get; init; } = 512;
    public int Cpus { get; init; } = 2;
    /// <summary>Probes for the target's blob (<c>kedr instrument --probe</c>), each FUNCTION+OFFSET.</summary>
    public IReadOnlyList<string> Probes { get; init; } = [];
}

internal sealed record PatchSiteResult(VmRunResult Vm, string Output, IReadOnlyList<OutputLine> Events)
{
    public string File(string name) => Vm.Files.TryGetValue(name, out var b) ? Encoding.UTF8.GetString(b) : "";

    /// <summary>Functions the copies reported an entry event for: proof the copies ran.</summary>
    public HashSet<string> Entered => Events.Where(e => e.Kind == "entry" && e.Function is not null).Select(e => e.Function!).ToHashSet();

    /// <summary>
    /// Did a copy of <paramref name="function"/> report an entry? GCC may have renamed it
    /// (<c>.constprop.0</c>, <c>.isra.0</c>, <c>.part.0</c>).
    /// </summary>
    public void AssertEntered(string function) =>
        Assert.True(Entered.Any(f => f == function || f.StartsWith(function + ".", StringComparison.Ordinal)),
            $"no entry event for {function}; entered: {string.Join(", ", Entered.Order())}");

    /// <summary>
    /// The guest's kernel messages: its dmesg, or the serial console's copy when the guest timed out
    /// before sending the dmesg (a loaded host can stretch a run past its timeout).
    /// </summary>
    public string KernelLog => Vm.Dmesg.Length > 0 ? Vm.Dmesg : Vm.Console;

    /// <summary>A function name without GCC's suffixes.</summary>
    public static string BaseName(string function) => function.Split('.')[0];

    /// <summary>
    /// The run for messages: status, problem lines, the script's output, the log from just before
    /// its first problem (a report that repeats, such as a soft lockup, is complete the first time
    /// and names every CPU) and its tail.
    /// </summary>
    public string Describe()
    {
        var log = KernelLog;
        var first = FirstProblem(log);
        return $"script status {Vm.ScriptExitCode}, completed {Vm.GuestCompleted}, timed out {Vm.TimedOut}\n" +
            $"problems:\n  {string.Join("\n  ", Vm.Problems)}\nscript output:\n{Tail(Vm.ScriptOutput, 3000)}\n" +
            // A guest `kedr record ... 2> /out/record.txt` that failed says why only there.
            (File("record.txt") is { Length: > 0 } record ? $"record.txt (tail):\n{Tail(record, 3000)}\n" : "") +
            (first is null ? "" : $"log from its first problem:\n{Head(first, 8000)}\n") +
            $"log (tail):\n{Tail(log, 6000)}";
    }

    /// <summary><paramref name="log"/> from three lines before its first problem line; null if it has none.</summary>
    private static string? FirstProblem(string log)
    {
        var lines = log.Split('\n');
        for (var i = 0; i < lines.Length; i++)
            if (!DmesgHealth.IsHealthy(lines[i]))
                return string.Join('\n', lines[Math.Max(0, i - 3)..]);
        return null;
    }

    private static string Head(string s, int n) => s.Length <= n ? s : s[..n];
    private static string Tail(string s, int n) => s.Length <= n ? s : s[^n..];
}

internal static partial class PatchSiteRun
{
    public static async Task<PatchSiteResult> RunAsync(PatchSiteRequest req, ITestOutputHelper? output = null)
    {
        var log = NullLogger.Instance;
        var kernel = GuestKernel.FindOrInstall(RepositoryPaths.VmScripts);
        var built = await KmodBuilder.BuildAsync(log, default);
        var target = req.Target.Replace('-', '_');
        var modules = new List<string> { built["kedr_sample"] };
        modules.AddRange(req.ExtraModules.Select(m => built[m]));
        modules.AddRange(req.ExtraFiles);
        var guestModules = new List<string>(req.GuestModules);
        string targetKo;
        if (built.TryGetValue(target, out var ours))
        {
            targetKo = ours;
            modules.Add(ours);
        }
        else
        {
            targetKo = kernel.FindModule(target) ?? throw new InvalidOperationException($"no module {target}");
            guestModules.Insert(0, target);
        }

        if (!ModuleRewriter.TryRewrite(ElfFile.Read(targetKo), null, new RewriteOptions { Probes = req.Probes }, out var rewritten, out var rewriteError))
            throw new InvalidOperationException(rewriteError!.ToString());
        var work = Directory.CreateTempSubdirectory("kedr-pt.").FullName;
        try
        {
            var blob = Path.Combine(work, target + ".kedr");
            File.WriteAllBytes(blob, BlobWriter.Write(rewritten!.Blob));
            var script = Path.Combine(work, "guest.sh");
            var load = req.Instrument
                ? $"insmod /lib/modules/kedr/kedr_sample.ko target_name={target} {req.LoaderArgs}"
                : "true";
            File.WriteAllText(script, $"""
                # generated by PatchSiteRun
                {load}
                set +e
                (
                set -e
                {req.Script}
                )
                status=$?
                set -e
                if [ -e /sys/kernel/debug/kedr_sample/output ]; then
                    # A target that never came, or is still attached (a script that
                    # stopped before its rmmod): the stream would wait for it to go.
                    if ! grep -q '^# streams: target gone' /sys/kernel/debug/kedr_sample/stats; then
                        timeout 5 cat /sys/kernel/debug/kedr_sample/output > /out/output.txt || true
                    else
                        cat /sys/kernel/debug/kedr_sample/output > /out/output.txt
                    fi
                fi
                exit $status

                """);
            var vm = await VmRunner.RunAsync(new VmRunRequest
            {
                ScriptPath = script,
                ModuleFiles = modules,
                FirmwareFiles = [new VmFirmwareFile(blob, $"kedr/{target}.kedr"), .. req.ExtraFirmware],
                GuestModules = guestModules,
                Timeout = req.Timeout,
                MemoryMiB = req.MemoryMiB,
                Cpus = req.Cpus,
                KernelCommandLine = req.KernelCommandLine,
            }, log, default);
            var text = vm.Files.TryGetValue("output.txt", out var o) ? Encoding.UTF8.GetString(o) : "";
            var events = text.Split('\n').Select(OutputLine.Parse).Where(e => e is not null).Select(e => e!).ToList();
            var result = new PatchSiteResult(vm, text, events);
            output?.WriteLine(result.Describe());
            return result;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Shell for the guest: runs "$@", records "ok" or the error message in /out/NAME.</summary>
    public const string Try = """
        try() { name=$1; shift; if ( "$@" ) 2>/tmp/err.txt; then echo ok > /out/$name; else echo "fail: $(cat /tmp/err.txt)" > /out/$name; fi; }
        """;

    /// <summary>The problem lines of a run that are not <paramref name="expected"/> ones.</summary>
    public static IReadOnlyList<string> UnexpectedProblems(VmRunResult vm, params Regex[] expected) =>
        vm.Problems.Where(p => !expected.Any(r => r.IsMatch(p))).ToList();

    /// <summary>kedr_sample's "attached" line: the target was instrumented.</summary>
    public static void AssertAttached(PatchSiteResult r, string target) =>
        Assert.True(Regex.IsMatch(r.KernelLog, $@"kedr_sample: {Regex.Escape(target)}: attached: "), "not attached:\n" + r.Describe());
}
