using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Kedr.Cli.Vm;
using Kedr.Core.Elf;
using Kedr.Kernel.Payloads;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Vm;

/// <summary>
/// The demo scenario in the real guest kernel: kedr_sample attached to the sample target,
/// /dev/cfake0 written and read, the target unloaded. Expectations come from the guest's
/// own /proc/kallsyms and from the seed's output grammar, not from the recorder. The demo's kedr_alloc
/// payload: its trace lines checked against the target's ELF (which allocation functions it calls)
/// and against each other (every kfree frees a block allocated before), its leak report against the trace.
/// </summary>
public sealed partial class DemoTests(ITestOutputHelper output)
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
            var demo = await DemoRun.RunAsync(script, NullLogger.Instance, default);
            var result = demo.Run;
            var vm = result.Vm;
            output.WriteLine(demo.AllocTrace);
            output.WriteLine(demo.Leaks);
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
            CheckAllocTrace(demo);
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>
    /// kedr_alloc's lines: one per call the target makes to an allocation function of the spec that its ELF
    /// calls, and to no other. Per the relocations, the target allocates from init (and what only init
    /// calls), whose allocations are "in init: 1" in insmod and freed by rmmod, and from cfake_open (the open
    /// file's state), whose allocations are "in init: 0" and freed when the same task closes the file. Each
    /// kfree frees a block allocated earlier, once, and every block is freed; the leak report agrees.
    /// </summary>
    private static void CheckAllocTrace(DemoResult demo)
    {
        Assert.True(PayloadSpecReader.TryRead(DemoRun.AllocSpec, out var spec, out var error), error?.ToString());
        // The spec's allocation functions: those returning the block (the frees return void).
        var allocators = spec!.Functions.Where(f => !f.IsVoid).Select(f => f.Name).ToHashSet();
        var elf = ElfFile.Read(Path.Combine(RepositoryPaths.Kmod, DemoRun.Target, DemoRun.Target + ".ko"));
        var frees = spec.Functions.Where(f => f.IsVoid).Select(f => f.Name).ToHashSet();
        var called = new HashSet<string>();
        var freesCalled = new HashSet<string>();
        var callers = new HashSet<string>();
        var callersOf = new Dictionary<string, HashSet<string>>();
        foreach (var section in elf.Sections.Where(s => s.IsAlloc && (s.Flags & ElfConstants.ShfExecInstr) != 0))
            foreach (var rel in elf.GetRelocations(section))
            {
                var name = elf.Symbol(rel.SymbolIndex).Name;
                if (frees.Contains(name)) freesCalled.Add(name);
                if (!allocators.Contains(name)) continue;
                called.Add(name);
                var caller = elf.Symbols.First(f => f.IsFunction && f.SectionIndex == section.Index
                    && f.Value <= rel.Offset && rel.Offset < f.Value + f.Size).Name;
                callers.Add(caller);
                (callersOf.TryGetValue(name, out var c) ? c : callersOf[name] = []).Add(caller);
            }
        Assert.NotEmpty(called);
        // Those callers are init and the device constructor, which only init calls, and the open.
        var initCallers = new HashSet<string> { "cfake_init_module", "cfake_construct_device" };
        Assert.Subset(new HashSet<string>(initCallers) { "cfake_open" }, callers);
        Assert.Contains("cfake_open", callers);
        // Each allocation function is called from init only or from the open only: its lines tell which.
        Assert.All(callersOf.Values, c => Assert.True(c.IsSubsetOf(initCallers) || c.SetEquals(["cfake_open"]), string.Join(", ", c)));
        bool FromInit(Match m) => callersOf[m.Groups["fn"].Value].IsSubsetOf(initCallers);

        var lines = demo.AllocTrace.Split('\n').Select(l => TraceLine().Match(l)).Where(m => m.Success).ToList();
        Assert.All(lines, m => Assert.Equal("called_" + m.Groups["fn"].Value, m.Groups["event"].Value));
        var allocs = lines.Where(m => allocators.Contains(m.Groups["fn"].Value)).ToList();
        Assert.Equal(called, allocs.Select(m => m.Groups["fn"].Value).ToHashSet());
        Assert.Equal(new HashSet<string> { "kfree" }, freesCalled);
        Assert.Equal(freesCalled, lines.Except(allocs).Select(m => m.Groups["fn"].Value).ToHashSet());
        Assert.All(allocs.Where(FromInit), m => Assert.Equal(("insmod", "1"), (m.Groups["task"].Value, m.Groups["init"].Value)));
        Assert.All(allocs.Where(m => !FromInit(m)), m => Assert.Equal("0", m.Groups["init"].Value));
        Assert.All(allocs, m => Assert.Matches(@"^, result: [1-9a-f][0-9a-f]*$", m.Groups["rest"].Value));
        // kcalloc(2 devices) and kzalloc(cfake_buffer_size = 4000) per device, GFP_KERNEL | __GFP_ZERO (0xcc0 | 0x100).
        Assert.Equal(3, allocs.Count(FromInit));
        Assert.Equal(2, allocs.Count(m => m.Groups["args"].Value == "4000, dc0"));
        Assert.All(allocs, m => Assert.EndsWith(", dc0", m.Groups["args"].Value));
        // One open per command of the scenario that names the device (the demo writes it, then reads it).
        var opens = File.ReadAllLines(DemoRun.Scenario).Count(l => !l.TrimStart().StartsWith('#') && l.Contains("/dev/cfake", StringComparison.Ordinal));
        Assert.Equal(opens, allocs.Count(m => !FromInit(m)));

        var live = new Dictionary<string, string>();
        foreach (var m in lines)
        {
            if (allocators.Contains(m.Groups["fn"].Value))
            {
                Assert.True(live.TryAdd(Regex.Match(m.Groups["rest"].Value, "result: ([0-9a-f]+)").Groups[1].Value,
                    FromInit(m) ? "rmmod" : m.Groups["task"].Value), m.Value);
                continue;
            }
            Assert.Equal("0", m.Groups["init"].Value);
            Assert.True(live.Remove(m.Groups["args"].Value, out var freer), $"kfree of a block not allocated before: {m.Value}");
            Assert.Equal(freer, m.Groups["task"].Value);
        }
        Assert.Empty(live);
        Assert.Matches($@"leak report of {DemoRun.Target}: {allocs.Count} allocations, {lines.Count - allocs.Count} frees, 0 leaks \(0 bytes\), 0 not tracked", demo.Leaks);
        Assert.DoesNotMatch(@"(?m)^leak: ", demo.Leaks);
        Assert.Contains($"kedr_alloc: leak report of {DemoRun.Target}: ", demo.Run.Vm.Dmesg, StringComparison.Ordinal);
    }

    /// <summary>Seed 003's line: "insmod-3588 [000] 5169.188503: called___kmalloc: __kmalloc(184, d0), in init: 1, result: da01e900".</summary>
    [GeneratedRegex(@"^\s*(?<task>\S+)-\d+\s+\[\d+\]\s.*?(?<event>called_\w+): (?<fn>\w+)\((?<args>[^)]*)\), in init: (?<init>[01])(?<rest>.*)$")]
    private static partial Regex TraceLine();

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
