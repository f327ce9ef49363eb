using System.CommandLine;
using Kedr.Cli.Record;
using Kedr.Core.Diagnostics;

namespace Kedr.Cli.Commands;

/// <summary>
/// <c>kedr record [-o FILE] [--debugfs DIR] [--read]</c>: on the machine under test, with kedr_sample loaded, drains every
/// CPU's event stream into FILE until the target has come and gone (or Ctrl-C), with progress on stderr;
/// <c>kedr report FILE</c> decodes it.
/// </summary>
internal static class RecordCommand
{
    public const string DefaultDebugfs = "/sys/kernel/debug/kedr_sample";

    public static Command Create()
    {
        var output = new Option<string>("--output", "-o") { Description = "The file to write.", DefaultValueFactory = _ => "kedr.trace" };
        var debugfs = new Option<string>("--debugfs") { Description = "kedr_sample's debugfs folder.", DefaultValueFactory = _ => DefaultDebugfs };
        var interval = new Option<int>("--progress-ms") { Description = "Progress on stderr every this many ms.", DefaultValueFactory = _ => 1000 };
        var read = new Option<bool>("--read")
        {
            Description = "Read the per-CPU streams with read(2), not through the mapping of their rings (a kedr_sample without the mapping is read so anyway).",
        };
        var cmd = new Command("record", "Record every event of the instrumented target (all CPUs, in parallel) into one file, until the target is unloaded or Ctrl-C; then `kedr report FILE`.")
        {
            output, debugfs, interval, read,
        };
        cmd.SetAction(r =>
        {
            if (!CliInput.TryOutputFile(r.GetValue(output), "--output", out var path, out var error))
                return Program.Error(error!);
            var dir = r.GetValue(debugfs)!;
            int ms = r.GetValue(interval);
            if (ms is < 10 or > 3_600_000)
                return Program.Error(new KedrDiagnostic(DiagnosticCodes.CliNumberOutOfRange, $"--progress-ms {ms}: expected 10..3600000"));
            using var stop = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
            Console.CancelKeyPress += onCancel;
            RecordResult result;
            try
            {
                result = Recorder.Run(dir, path, Console.Error, TimeSpan.FromMilliseconds(ms), stop.Token, map: !r.GetValue(read));
            }
            catch (IOException e)
            {
                return Program.Error(new KedrDiagnostic(DiagnosticCodes.CliCannotWrite, $"cannot write: {e.Message}", path));
            }
            finally { Console.CancelKeyPress -= onCancel; }
            var c = result.Counts;
            Console.Error.WriteLine($"kedr record: {result.MappedStreams} of {result.Streams} CPU streams read through the mapping of their rings"
                + (result.MappedStreams < result.Streams ? ", the others with read(2)" : ""));
            Console.Error.WriteLine($"kedr record: {path}: {c.Written} events recorded, {c.Dropped} dropped (target {result.Target}"
                + (c.Interrupted ? ", stopped by the user" : "") + ")");
            if (LocksVfsStatus.TryRead(dir, result.Target, out var vfs) && (vfs!.Missed > 0 || vfs.NotKept > 0))
                Console.Error.WriteLine($"kedr record: warning: kedr_locks' VFS probes missed {vfs.Missed} probe hits and did not keep {vfs.NotKept} inodes "
                    + $"while {vfs.Target} was loaded: records of its inodes may be lost, and a race reported on them false (docs/races.md)");
            if (result.WaitedMs > 0)
                Console.Error.WriteLine($"kedr record: the recorded code waited {result.WaitedMs} ms in all for the rings to be read (kedr_sample's wait_ms)");
            foreach (var cpu in c.Cpus.Where(x => x.Dropped > 0))
                Console.Error.WriteLine($"kedr record: cpu {cpu.Cpu}: {cpu.Dropped} dropped");
            foreach (var fn in c.Functions.Take(20))
                Console.Error.WriteLine($"kedr record: {fn.Name}: {fn.Dropped} dropped");
            if (c.Written != c.Recorded)
                Console.Error.WriteLine($"kedr record: warning: kedr_sample recorded {c.Recorded} events, {c.Written} were read"
                    + (c.Ended ? " (another reader of per_cpu/*/raw took the rest?)" : " (stopped before the end)"));
            return 0;
        });
        return cmd;
    }
}
