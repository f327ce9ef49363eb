using System.Text;
using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Kernel.Vm;
using Kedr.Rewriter;
using Microsoft.Extensions.Logging;

namespace Kedr.Cli.Vm;

/// <summary>What to run: a target module, a guest script driving it, and our extra modules.</summary>
internal sealed record InstrumentedRunRequest(string Target, string ScriptPath)
{
    public IReadOnlyList<string> ExtraModules { get; init; } = [];
    public bool ProcessSpAccesses { get; init; }
    public int Cpus { get; init; } = 2;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);
    public string? OutputDirectory { get; init; }
    /// <summary>
    /// Load kedr_sample before the script (false: the script may do it itself with <c>$KEDR_LOAD</c>,
    /// e.g. to run the same workload without and then with instrumentation in one boot).
    /// </summary>
    public bool Instrument { get; init; } = true;
    /// <summary>
    /// Run <c>kedr record</c> in the guest from the load of kedr_sample until the target is gone, while the script
    /// runs: <see cref="InstrumentedRunResult.Output"/> is then the report of that recording (every event, however
    /// many the rings hold) and the recording comes back as <c>kedr.trace</c>. False: the output stream is read
    /// after the script, and has what the rings kept.
    /// </summary>
    public bool Record { get; init; }
    public int MemoryMiB { get; init; } = 512;
}

/// <summary>The VM's result plus what kedr_sample recorded (<see cref="Recording"/>: the recording, if there was one).</summary>
internal sealed record InstrumentedRunResult(VmRunResult Vm, string Output, RewriteReport Report)
{
    public Kedr.Output.Trace? Recording { get; init; }
}

/// <summary>
/// <c>kedr vm</c>: instrument the target, build kmod/, boot the guest with kedr_sample loaded
/// for the target, run the script, bring back <c>/sys/kernel/debug/kedr_sample/output</c>, or with
/// <see cref="InstrumentedRunRequest.Record"/> what <c>kedr record</c> drained while the script ran.
/// </summary>
internal static class InstrumentedRun
{
    public static async Task<InstrumentedRunResult> RunAsync(InstrumentedRunRequest req, ILogger log, CancellationToken ct)
    {
        var target = req.Target.Replace('-', '_');
        // The --ko files first: one that is not a module is reported before setup and the kmod build.
        var extraNames = req.ExtraModules.Select(k => (Path: k, Name: ElfFile.Read(k).ModuleName)).ToList();
        var kernel = GuestKernel.FindOrInstall(RepositoryPaths.VmScripts);
        var built = await KmodBuilder.BuildAsync(log, ct);
        if (!built.TryGetValue("kedr_sample", out var loader))
            throw new KedrException(new(DiagnosticCodes.VmNoLoader, "kmod build did not produce kedr_sample.ko", RepositoryPaths.Kmod));

        var modules = new List<string> { loader };
        var guestModules = new List<string>();
        string? targetKo = extraNames.FirstOrDefault(k => k.Name == target).Path
            ?? (built.TryGetValue(target, out var ours) ? ours : null);
        if (targetKo is not null) modules.Add(targetKo);
        else
        {
            targetKo = kernel.FindModule(target) ?? throw new KedrException(new(DiagnosticCodes.VmNoSuchTarget,
                $"no module '{target}': not given with --ko, not built from kmod/, not in {kernel.ModulesDirectory}"));
            guestModules.Add(target);
        }
        modules.AddRange(req.ExtraModules.Where(k => !modules.Contains(k)));

        var result = ModuleRewriter.Rewrite(ElfFile.Read(targetKo));
        log.LogInformation("{Summary}", Commands.ReportText.Summary(result.Report, TimeSpan.Zero));
        var work = Directory.CreateTempSubdirectory("kedr-run.").FullName;
        try
        {
            if (req.Record) modules.AddRange(GuestKedrFiles.Stage(Path.Combine(work, "guest-kedr")));
            var blobPath = Path.Combine(work, target + ".kedr");
            File.WriteAllBytes(blobPath, BlobWriter.Write(result.Blob));
            var scriptPath = Path.Combine(work, "guest.sh");
            File.WriteAllText(scriptPath, GuestScript(target, File.ReadAllText(req.ScriptPath), req));
            var vm = await VmRunner.RunAsync(new VmRunRequest
            {
                ScriptPath = scriptPath,
                ModuleFiles = modules,
                FirmwareFiles = [new VmFirmwareFile(blobPath, $"kedr/{target}.kedr")],
                GuestModules = guestModules,
                // The script may modprobe anything (vfat for a fat target, a ram disk, nls tables).
                AllGuestModules = true,
                Cpus = req.Cpus,
                Timeout = req.Timeout,
                MemoryMiB = req.MemoryMiB,
                OutputDirectory = req.OutputDirectory,
            }, log, ct);
            Kedr.Core.Diagnostics.KedrDiagnostic? bad = null;
            if (vm.Files.TryGetValue(RecordingFile, out var rec) && Kedr.Output.TraceReader.TryRead(rec, RecordingFile, out var trace, out bad))
            {
                var report = Kedr.Output.TraceReport.Build(trace!, ElfFile.Read(targetKo));
                foreach (var w in report.Warnings) log.LogWarning("{Diagnostic}", w);
                var text = new StringWriter();
                Kedr.Output.TextRenderer.Render(report, text);
                return new InstrumentedRunResult(vm, text.ToString(), result.Report) { Recording = trace };
            }
            if (rec is not null) log.LogWarning("the guest's recording cannot be read: {Diagnostic}", bad);
            var output = vm.Files.TryGetValue("output.txt", out var o) ? Encoding.UTF8.GetString(o) : "";
            return new InstrumentedRunResult(vm, output, result.Report);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The recording's name in the guest's /out (and in <see cref="VmRunResult.Files"/>).</summary>
    public const string RecordingFile = "kedr.trace";

    /// <summary>
    /// The user's script between loading kedr_sample and collecting its output: output.txt (text),
    /// trace.bin (binary, kmod/kedr_record.h) and stats.txt (per-CPU counts) in /out. The user's
    /// script runs in a subshell with <c>set -e</c>; its status is the run's. With
    /// <see cref="InstrumentedRunRequest.Record"/>, loading kedr_sample also starts <c>kedr record</c>
    /// (/out/kedr.trace, progress in /out/kedr-record.txt); once the script is done and the target is
    /// gone the recording ends by itself and is waited for; if the target is still loaded, or never
    /// came, the recorder is stopped and the streams are read as without it.
    /// </summary>
    private static string GuestScript(string target, string userScript, InstrumentedRunRequest req)
    {
        var insmod = $"insmod /lib/modules/kedr/kedr_sample.ko target_name={target}{(req.ProcessSpAccesses ? " process_sp_accesses=1" : "")}";
        var loadCommand = req.Record ? "sh -e /tmp/kedr-load.sh" : insmod;
        var load = req.Instrument ? loadCommand : "true";
        var recorder = req.Record ? $$"""
            chmod +x /lib/modules/kedr/{{GuestKedrFiles.Loader}}
            mount | grep -q debugfs || mount -t debugfs none /sys/kernel/debug
            cat > /tmp/kedr-load.sh <<'KEDR_LOAD'
            {{insmod}}
            {{GuestKedrFiles.Command}} record -o /out/{{RecordingFile}} --progress-ms 5000 2> /out/kedr-record.txt &
            echo $! > /tmp/kedr-record.pid
            KEDR_LOAD
            # A recorder started by $KEDR_LOAD is not this shell's child: alive until it exits (a zombie counts as gone).
            kedr_alive() { [ -e /proc/$1/stat ] && ! grep -q ') Z ' /proc/$1/stat; }

            """ : "";
        var collect = req.Record ? $$"""
                rec=$(cat /tmp/kedr-record.pid 2>/dev/null || true)
                if [ -n "$rec" ] && ! [ -e /sys/module/{{target}} ] && ! grep -q '^# streams: waiting' $d/stats; then
                    # The target came and went: the recording ends by itself, with every event.
                    while kedr_alive $rec; do sleep 0.2; done
                    recorded=1
                else
                    # Still loaded (in use), or never loaded: the recording would not end.
                    [ -z "$rec" ] || kill -9 $rec 2>/dev/null || true
                    rm -f /out/{{RecordingFile}}
                fi

            """ : "";
        return $"""
            # generated by kedr vm
            recorded=0
            {recorder}
            export KEDR_LOAD="{loadCommand}"
            {load}
            set +e
            (
            set -e
            {userScript}
            )
            status=$?
            set -e
            d=/sys/kernel/debug/kedr_sample
            if [ -e $d/output ]; then
                # The streams (consuming) end once the target is gone and they are read to
                # the end: unload the target if the script left it loaded.
                if [ -e /sys/module/{target} ]; then rmmod {target} 2>/dev/null || true; fi
            {collect}
                # Open the binary stream before the text one is read: each then gets every event.
                exec 3<$d/trace
                if [ $recorded = 1 ]; then
                    # What kedr record drained is in /out/{RecordingFile}.
                    true
                elif [ -e /sys/module/{target} ] || grep -q '^# streams: waiting' $d/stats; then
                    # Still loaded (in use), or never loaded (the streams would wait for it):
                    # what there is now, without waiting for the end.
                    timeout 5 cat $d/output > /out/output.txt || true
                    timeout 5 cat <&3 > /out/trace.bin || true
                else
                    cat $d/output > /out/output.txt
                    cat <&3 > /out/trace.bin
                fi
                exec 3<&-
                cat $d/stats > /out/stats.txt
            fi
            if [ -e /sys/module/kedr_sample ] && ! [ -e /sys/module/{target} ]; then
                rmmod kedr_sample
            fi
            exit $status

            """;
    }
}
