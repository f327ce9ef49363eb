using System.Globalization;
using System.Text;
using Kedr.Cli.Vm;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Vm;

/// <summary>
/// The demo scenario in the real guest kernel: kedr_sample attached to the sample target,
/// /dev/cfake0 written and read, the target unloaded. Expectations come from the guest's
/// own /proc/kallsyms and from the seed's output grammar, not from the recorder.
/// </summary>
public sealed class DemoTests(ITestOutputHelper output)
{
    private const string Script = """
        insmod /lib/modules/kedr/kedr_sample_target.ko
        grep '\[kedr_sample_target\]' /proc/kallsyms > /out/kallsyms.txt
        echo 123456789788 > /dev/cfake0
        dd if=/dev/cfake0 ibs=20 count=1 > /out/dd.txt
        rmmod kedr_sample_target
        """;

    private static readonly string[] Required =
        ["cfake_init_module", "cfake_open", "cfake_write", "cfake_read", "cfake_release", "cfake_exit_module"];

    [Fact]
    public async Task Demo_records_nested_function_events_and_memory_events_and_the_guest_stays_healthy()
    {
        var script = Path.GetTempFileName();
        File.WriteAllText(script, Script);
        try
        {
            var result = await InstrumentedRun.RunAsync(new InstrumentedRunRequest("kedr_sample_target", script), NullLogger.Instance, default);
            var vm = result.Vm;
            output.WriteLine(result.Output);
            Assert.True(vm.Healthy, "guest unhealthy:\n" + string.Join('\n', vm.Problems) + "\n" + vm.Console[^Math.Min(3000, vm.Console.Length)..]);
            Assert.Equal(0, vm.ScriptExitCode);
            Assert.Contains("123456789788", Encoding.UTF8.GetString(vm.Files["dd.txt"]));

            var kallsyms = ParseKallsyms(Encoding.UTF8.GetString(vm.Files["kallsyms.txt"]));
            var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var events = lines.Select(OutputLine.Parse).Where(e => e is not null).Select(e => e!).ToList();
            Assert.NotEmpty(events);

            // Every function event names a function of the target at its real address. Init code is
            // gone from kallsyms once init returns: its events must at least agree with each other.
            var initAddr = new Dictionary<string, ulong>();
            foreach (var e in events.Where(e => e.Function is not null))
            {
                if (kallsyms.TryGetValue(e.Function!, out var addr)) Assert.Equal(addr, e.Addr);
                else
                {
                    Assert.Equal(initAddr.TryGetValue(e.Function!, out var seen) ? seen : initAddr[e.Function!] = e.Addr, e.Addr);
                    Assert.False(kallsyms.ContainsValue(e.Addr), $"{e.Function} at {e.Addr:x} shares its address with {string.Join(",", kallsyms.Where(k => k.Value == e.Addr).Select(k => k.Key))}");
                }
            }
            foreach (var name in Required)
            {
                Assert.Contains(events, e => e.Kind == "entry" && e.Function == name);
                Assert.Contains(events, e => e.Kind == "exit" && e.Function == name);
            }

            // Entries and exits nest per thread, and every entered function is left.
            var stacks = new Dictionary<string, Stack<string>>();
            foreach (var e in events.Where(e => e.Function is not null))
            {
                var stack = stacks.TryGetValue(e.Tid, out var s) ? s : stacks[e.Tid] = new Stack<string>();
                if (e.Kind == "entry") stack.Push(e.Function!);
                else
                {
                    Assert.True(stack.Count > 0, $"exit from {e.Function} on {e.Tid} without an entry");
                    Assert.Equal(stack.Pop(), e.Function);
                }
            }
            Assert.All(stacks, kv => Assert.Empty(kv.Value));

            // Memory events: pcs inside the named function, reads and writes in cfake_write/cfake_read,
            // locked updates from the open counter's atomics.
            foreach (var e in events.Where(e => e.PcFunction is not null))
            {
                ulong start = kallsyms.TryGetValue(e.PcFunction!, out var s) ? s
                    : initAddr.TryGetValue(e.PcFunction!, out var i) ? i : throw new Xunit.Sdk.XunitException($"pc in unknown function {e.PcFunction}");
                Assert.Equal(start + e.PcOffset, e.Pc);
                Assert.InRange(e.Size, 1, 64);
            }
            Assert.Contains(events, e => e.PcFunction == "cfake_write" && e.Kind == "read");
            Assert.Contains(events, e => e.PcFunction == "cfake_write" && e.Kind == "write");
            Assert.Contains(events, e => e.PcFunction == "cfake_read" && e.Kind == "read");
            Assert.Contains(events, e => e.PcFunction == "cfake_open" && e.Kind == "locked update" && e.Size == 4);
            Assert.Contains(events, e => e.PcFunction == "cfake_release" && e.Kind == "locked update" && e.Size == 4);
            Assert.Matches(@"recorded", lines[^1]);
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static Dictionary<string, ulong> ParseKallsyms(string text)
    {
        var map = new Dictionary<string, ulong>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 3 && parts[1] is "t" or "T")
                map.TryAdd(parts[2], ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        }
        return map;
    }
}
