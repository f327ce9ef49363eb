using System.Text;
using Kedr.Cli.Vm;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Vm;

/// <summary>
/// The demo scenario in the guest kernel, reported twice: by kedr_sample itself
/// (<c>/sys/kernel/debug/kedr_sample/output</c>, names from the blob) and by <c>kedr report</c> from the
/// binary trace (<c>.../trace</c>) with the .ko (names from its symbol table and the kernel's module
/// layout). The two must agree event for event.
/// </summary>
public sealed class ReportVmTests(ITestOutputHelper output)
{
    private const string Script = """
        insmod /lib/modules/kedr/kedr_sample_target.ko
        echo 123456789788 > /dev/cfake0
        dd if=/dev/cfake0 ibs=20 count=1 > /dev/null
        rmmod kedr_sample_target
        # Both streams consume: open both before reading either, so each has its own cursor from the start.
        exec 3</sys/kernel/debug/kedr_sample/trace 4</sys/kernel/debug/kedr_sample/output
        cat <&3 > /out/report-trace.bin
        cat <&4 > /out/report-output.txt
        """;

    [Fact]
    public async Task Kedr_report_of_the_binary_trace_agrees_with_the_guest_output_event_for_event()
    {
        var script = Path.GetTempFileName();
        var dir = Directory.CreateTempSubdirectory("kedr-report-vm-");
        File.WriteAllText(script, Script);
        try
        {
            var result = await InstrumentedRun.RunAsync(new InstrumentedRunRequest("kedr_sample_target", script), NullLogger.Instance, default);
            var vm = result.Vm;
            Assert.True(vm.Healthy, "guest unhealthy:\n" + string.Join('\n', vm.Problems));
            Assert.True(vm.ScriptExitCode == 0 && vm.Files.ContainsKey("report-trace.bin"),
                $"the guest script failed ({vm.ScriptExitCode}); does kedr_sample have /sys/kernel/debug/kedr_sample/trace?\n{vm.ScriptOutput}");
            var tracePath = Path.Combine(dir.FullName, "trace.bin");
            File.WriteAllBytes(tracePath, vm.Files["report-trace.bin"]);
            var guest = Encoding.UTF8.GetString(vm.Files["report-output.txt"]);
            var ko = Path.Combine(RepositoryPaths.Kmod, "kedr_sample_target", "kedr_sample_target.ko");

            var r = KedrProcess.Run(dir.FullName, "report", tracePath, "--ko", ko);
            output.WriteLine(r.ToString());
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.True(r.Stderr.Length == 0, "kedr report warned:\n" + r.Stderr);

            static List<string> Events(string text) =>
                text.Split('\n').Where(l => l.StartsWith("TID=", StringComparison.Ordinal)).ToList();
            var expected = Events(guest);
            var actual = Events(r.Stdout);
            Assert.NotEmpty(expected);
            Assert.Contains(expected, l => l.Contains(" entry: ") && l.Contains("(\"cfake_init_module\")"));
            Assert.Contains(expected, l => l.Contains(" write at ") && l.Contains("(cfake_write+"));
            for (int i = 0; i < Math.Min(expected.Count, actual.Count); i++)
                Assert.True(expected[i] == actual[i], $"event {i} differs:\n  guest:  {expected[i]}\n  report: {actual[i]}" +
                    (expected.Order().SequenceEqual(actual.Order()) ? "\n(the same events in another order)" : ""));
            Assert.Equal(expected.Count, actual.Count);
            Assert.True(SourceLineCheck.Check(r.Stdout, ko) > 0, "no memory event to check the source line of");
        }
        finally
        {
            File.Delete(script);
            dir.Delete(true);
        }
    }
}
