namespace Kedr.Cli.Tests.Record;

/// <summary>
/// <see cref="Kedr.Cli.Record.Recorder"/>'s end: the streams' threads end while its progress loop is looking at them (the target
/// unloaded). Stand-in streams that have ended (regular files, as in <see cref="RecordCommandTests"/>), many CPUs and a
/// 1 ms progress interval, so the loop wakes as threads end, many times over.
/// </summary>
public sealed class RecorderEndTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-recorder-end-");

    public void Dispose() => _dir.Delete(true);

    [Fact]
    public void Streams_that_end_while_the_progress_loop_looks_never_fail_the_recording()
    {
        const int Cpus = 16, Runs = 400;
        var d = _dir.FullName;
        File.WriteAllBytes(Path.Combine(d, "header"), RecordCommandTests.Header());
        File.WriteAllText(Path.Combine(d, "stats"), "0 1 0 4096\nall 1 0 4096 0 0\n");
        for (int cpu = 0; cpu < Cpus; cpu++)
        {
            var c = Directory.CreateDirectory(Path.Combine(d, "per_cpu", $"cpu{cpu}")).FullName;
            File.WriteAllBytes(Path.Combine(c, "raw"), RecordCommandTests.Rec(10, 0, (byte)cpu, 1));
        }
        for (int run = 0; run < Runs; run++)
        {
            var r = Kedr.Cli.Record.Recorder.Run(d, Path.Combine(d, "rec.trace"), TextWriter.Null, TimeSpan.FromMilliseconds(1), CancellationToken.None);
            Assert.Equal((ulong)Cpus, r.Counts.Written);
        }
    }
}
