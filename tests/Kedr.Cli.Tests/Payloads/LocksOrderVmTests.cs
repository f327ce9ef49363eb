using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Kedr.Cli.Vm;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Payloads;

/// <summary>
/// kedr_locks' ACQUIRE/RELEASE in kedr_sample's own stream, in order with the memory events of the same
/// thread, on 4 vCPUs: writers and readers of the sample target's devices at once, each read and write under
/// the device's mutex (mutex_lock_killable ... mutex_unlock, claimed by kedr_locks). For each thread, every
/// access the source places inside a critical section (a line between a function's mutex_lock_killable and
/// mutex_unlock in kedr_sample_target.c, found by reading the source; the access's line from addr2line on
/// the .ko, not from kedr) lies between that thread's ACQUIRE and RELEASE of one lock, and acquires and
/// releases pair up.
/// </summary>
public sealed partial class LocksOrderVmTests(ITestOutputHelper output)
{
    private static string TargetDir => Path.Combine(RepositoryPaths.Kmod, "kedr_sample_target");

    [Fact]
    public async Task Lock_events_enclose_the_critical_sections_accesses_of_each_thread_on_4_vcpus()
    {
        var work = Directory.CreateTempSubdirectory("kedr-locks-order.").FullName;
        try
        {
            var locks = await PayloadBuild.BuildAsync(PayloadBuild.BuiltIn("kedr_locks"), work, output);
            var script = Path.Combine(work, "guest.sh");
            File.WriteAllText(script, """
                insmod /lib/modules/kedr/kedr_locks.ko
                insmod /lib/modules/kedr/kedr_sample_target.ko
                echo start > /dev/cfake0
                w() { i=0; while [ $i -lt 10 ]; do echo "w$1-$i" >> /dev/cfake$(($1 % 2)); i=$((i + 1)); done; }
                r() { i=0; while [ $i -lt 10 ]; do cat /dev/cfake$(($1 % 2)) > /dev/null; i=$((i + 1)); done; }
                w 0 & w 1 & w 2 & r 0 & r 1 &
                wait
                cat /dev/cfake0 > /out/cfake0.txt
                rmmod kedr_sample_target
                cat /sys/kernel/debug/kedr_sample/output > /out/events.txt
                cat /sys/kernel/debug/kedr_sample/stats > /out/events-stats.txt
                rmmod kedr_locks
                """);
            var r = await InstrumentedRun.RunAsync(new InstrumentedRunRequest("kedr_sample_target", script)
            {
                Cpus = 4,
                ExtraModules = [locks],
                Timeout = TimeSpan.FromSeconds(240),
            }, NullLogger.Instance, default);
            Assert.True(r.Vm.Healthy, "guest unhealthy:\n" + string.Join('\n', r.Vm.Problems) + "\n" + r.Vm.ScriptOutput);
            Assert.True(r.Vm.ScriptExitCode == 0, r.Vm.ScriptOutput);
            Assert.Equal(21, Text(r, "cfake0.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // start + w0 + w2
            output.WriteLine(Text(r, "events-stats.txt"));
            var events = Text(r, "events.txt").Split('\n');

            var ko = Path.Combine(TargetDir, "kedr_sample_target.ko");
            var sections = CriticalSections(Path.Combine(TargetDir, "kedr_sample_target.c"));
            var lines = new LineOf(ko);
            int inside = 0, acquires = 0;
            var threads = new HashSet<string>();
            var held = new Dictionary<string, List<ulong>>();
            // Each thread's last lines, for the message of a failure.
            var recent = new Dictionary<string, Queue<string>>();
            string Recent(string tid) => recent.TryGetValue(tid, out var q) ? string.Join('\n', q) : "";
            foreach (var l in events)
            {
                var tidOf = Regex.Match(l, "^TID=(0x[0-9a-f]+) ");
                if (tidOf.Success)
                {
                    var q = recent.TryGetValue(tidOf.Groups[1].Value, out var rq) ? rq : recent[tidOf.Groups[1].Value] = new();
                    q.Enqueue(l);
                    if (q.Count > 30) q.Dequeue();
                }
                var sync = SyncEvent().Match(l);
                if (sync.Success)
                {
                    var tid = sync.Groups["tid"].Value;
                    var lockAddr = Hex(sync.Groups["addr"].Value);
                    var h = held.TryGetValue(tid, out var hl) ? hl : held[tid] = [];
                    if (sync.Groups["kind"].Value == "acquire")
                    {
                        Assert.DoesNotContain(lockAddr, h);
                        h.Add(lockAddr);
                        acquires++;
                    }
                    else Assert.True(h.Remove(lockAddr), $"release of a lock the thread does not hold: {l}\n{Recent(tid)}");
                    continue;
                }
                var m = MemoryEvent().Match(l);
                if (!m.Success) continue;
                var fn = m.Groups["fn"].Value;
                if (!sections.TryGetValue(fn, out var ranges)) continue;
                var line = lines.Line(fn, Hex(m.Groups["off"].Value));
                if (!ranges.Any(s => line > s.Lock && line < s.Unlock)) continue;
                var t = m.Groups["tid"].Value;
                Assert.True(held.TryGetValue(t, out var locked) && locked.Count == 1,
                    $"line {line} of {fn} is in a critical section, but the thread holds {(locked is null ? 0 : locked.Count)} locks: {l}\n" +
                    $"the thread's lines up to it:\n{Recent(t)}\nkedr_sample's stats:\n{Text(r, "events-stats.txt")}");
                inside++;
                threads.Add(t);
            }
            Assert.All(held, kv => Assert.Empty(kv.Value));
            output.WriteLine($"{acquires} acquires, {inside} accesses inside critical sections from {threads.Count} threads");
            // 60 writes and 40 reads (each under the lock), plus the first echo and the last cat.
            Assert.True(acquires >= 50, $"{acquires} acquires"); // 30 writes and 20 reads, at least one acquire each
            Assert.True(threads.Count >= 5, $"{threads.Count} threads");
            Assert.True(inside >= acquires, $"{inside} accesses inside for {acquires} acquires");
        }
        finally { Directory.Delete(work, true); }
    }

    private static string Text(InstrumentedRunResult r, string name) =>
        r.Vm.Files.TryGetValue(name, out var b) ? System.Text.Encoding.UTF8.GetString(b) : "";

    /// <summary>
    /// For each function of the source: the lines of its mutex_lock_killable(...) and the mutex_unlock(...)
    /// that follows, found in the text (a function runs from its "static noinline" line to the next "}").
    /// </summary>
    private static Dictionary<string, List<(int Lock, int Unlock)>> CriticalSections(string source)
    {
        var text = File.ReadAllLines(source);
        var result = new Dictionary<string, List<(int, int)>>();
        string? fn = null;
        int open = 0;
        for (int i = 0; i < text.Length; i++)
        {
            var start = Regex.Match(text[i], @"^static noinline \w.*?\b(cfake_\w+)\(");
            if (start.Success) fn = start.Groups[1].Value;
            else if (text[i] == "}") fn = null;
            if (fn is null) continue;
            if (text[i].Contains("mutex_lock_killable(&dev->cfake_mutex)", StringComparison.Ordinal)) open = i + 1;
            if (text[i].Contains("mutex_unlock(&dev->cfake_mutex)", StringComparison.Ordinal) && open > 0)
            {
                (result.TryGetValue(fn, out var l) ? l : result[fn] = []).Add((open, i + 1));
                open = 0;
            }
        }
        Assert.Contains("cfake_read", result.Keys);
        Assert.Contains("cfake_write", result.Keys);
        return result;
    }

    private static ulong Hex(string s) => ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>Function+offset of the .ko to a line of kedr_sample_target.c with addr2line (binutils).</summary>
    private sealed class LineOf(string ko)
    {
        private readonly Dictionary<(string, ulong), int> _cache = [];
        private readonly Dictionary<string, ulong> _functions = Functions(ko);

        public int Line(string fn, ulong offset)
        {
            if (_cache.TryGetValue((fn, offset), out var line)) return line;
            var at = Run("addr2line", "-e", ko, "-j", ".text", $"0x{_functions[fn] + offset:x}").Trim();
            at = Regex.Replace(at, @" \(discriminator \d+\)$", "");
            // An access inlined from a header (copy_from_user) is not one of the source's lines.
            line = at.Contains("kedr_sample_target.c:", StringComparison.Ordinal)
                ? int.Parse(at[(at.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture) : -1;
            return _cache[(fn, offset)] = line;
        }

        private static Dictionary<string, ulong> Functions(string ko)
        {
            var d = new Dictionary<string, ulong>();
            foreach (var l in Run("readelf", "-s", "-W", ko).Split('\n'))
            {
                var f = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length >= 8 && f[3] == "FUNC") d.TryAdd(f[7], Hex(f[1]));
            }
            return d;
        }

        private static string Run(string file, params string[] args)
        {
            using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true })!;
            var text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"{file} failed");
            return text;
        }
    }

    [GeneratedRegex(@"^TID=(?<tid>0x[0-9a-f]+) (?<kind>acquire|release) at 0x[0-9a-f]+: addr=0x(?<addr>[0-9a-f]+), size=\d+$")]
    private static partial Regex SyncEvent();

    [GeneratedRegex(@"^TID=(?<tid>0x[0-9a-f]+) (?:read|write|locked update) at 0x[0-9a-f]+ \((?<fn>[^+]+)\+0x(?<off>[0-9a-f]+)/0x[0-9a-f]+ \[kedr_sample_target\]\): addr=0x[0-9a-f]+, size=\d+$")]
    private static partial Regex MemoryEvent();
}
