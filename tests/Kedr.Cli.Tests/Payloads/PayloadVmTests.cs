using System.Text.RegularExpressions;
using Kedr.Cli.Tests.PatchSites;
using Kedr.Cli.Vm;
using Kedr.Kernel.Vm;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Payloads;

/// <summary>
/// The built-in payloads in the guest, on instrumented targets: kedr_alloc's trace lines (seed 003's
/// shape) on the sample target and its leak report on kmod/kedr_payload_target, kedr_faults failing the
/// sample target's open with -ENOMEM exactly at the chosen call, and a spec of the tests' own loaded. Each payload
/// is generated from its spec and built against the guest kernel with kedr_sample's Module.symvers.
/// </summary>
public sealed partial class PayloadVmTests(ITestOutputHelper output)
{
    private Task<string> BuildPayloadAsync(string spec, string work) => PayloadBuild.BuildAsync(spec, work, output);

    private static string BuiltIn(string name) => PayloadBuild.BuiltIn(name);

    /// <summary>tracefs lines of one event: "called_kfree: kfree(ffff...), in init: 0" → the part after the event name.</summary>
    private static List<string> Events(string trace, string ev) =>
        trace.Split('\n').Select(l => Regex.Match(l, $@"\b{Regex.Escape(ev)}: (.*)$")).Where(m => m.Success)
            .Select(m => m.Groups[1].Value.Trim()).ToList();

    [Fact]
    public async Task Alloc_traces_the_sample_targets_allocations_and_frees_and_reports_no_leak()
    {
        var work = Directory.CreateTempSubdirectory("kedr-payload-vm.").FullName;
        try
        {
            var ko = await BuildPayloadAsync(BuiltIn("kedr_alloc"), work);
            var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_sample_target", """
                K=/lib/modules/kedr
                T=/sys/kernel/debug/tracing
                insmod $K/kedr_alloc.ko
                ls $T/events/kedr_alloc > /out/events.txt
                echo 1 > $T/events/kedr_alloc/enable
                insmod $K/kedr_sample_target.ko
                echo 123456789788 > /dev/cfake0
                dd if=/dev/cfake0 ibs=20 count=1 2>/dev/null
                rmmod kedr_sample_target
                cat $T/trace > /out/trace.txt
                cat /sys/kernel/debug/kedr_alloc/leaks > /out/leaks.txt
                rmmod kedr_alloc
                """) { ExtraFiles = [ko] }, output);
            Assert.True(r.Vm.Healthy, r.Describe());
            PatchSiteRun.AssertAttached(r, "kedr_sample_target");
            var events = r.File("events.txt");
            foreach (var e in new[] { "called___kmalloc", "called_kmalloc_trace", "called_kfree", "enable", "filter" })
                Assert.Contains(e, events, StringComparison.Ordinal);
            var trace = r.File("trace.txt");

            // The sample target's init: kcalloc(cfake_ndevices = 2, ...) and kzalloc(cfake_buffer_size = 4000)
            // per device, all __kmalloc (sizes not constant) with GFP_KERNEL | __GFP_ZERO = 0xcc0 | 0x100.
            var allocs = Events(trace, "called___kmalloc").Select(l => AllocLine().Match(l)).ToList();
            Assert.All(allocs, m => Assert.True(m.Success, trace));
            var buffers = allocs.Where(m => m.Groups["size"].Value == "4000").ToList();
            Assert.Equal(2, buffers.Count);
            Assert.All(allocs, m => Assert.Equal(("dc0", "1"), (m.Groups["flags"].Value, m.Groups["init"].Value)));
            Assert.Equal(3, allocs.Count);

            // Each open allocates the file's state (kzalloc of 16 bytes, constant: kmalloc_trace), out of init.
            var opens = Events(trace, "called_kmalloc_trace").Select(l => Regex.Match(l, @"^kmalloc_trace\(16, dc0\), in init: 0, result: ([0-9a-f]+)$")).ToList();
            Assert.Equal(2, opens.Count); // echo, dd
            Assert.All(opens, m => Assert.True(m.Success, trace));

            // release and rmmod free the same blocks: one kfree per pointer allocated, out of init.
            var freed = Events(trace, "called_kfree").Select(l => Regex.Match(l, @"^kfree\(([0-9a-f]+)\), in init: 0$"))
                .Where(m => m.Success).Select(m => m.Groups[1].Value).ToHashSet();
            Assert.Equal(allocs.Select(m => m.Groups["result"].Value).Concat(opens.Select(m => m.Groups[1].Value)).ToHashSet(), freed);
            Assert.Matches(@"leak report of kedr_sample_target: \d+ allocations, \d+ frees, 0 leaks \(0 bytes\), 0 not tracked", r.File("leaks.txt"));
        }
        finally { Directory.Delete(work, true); }
    }

    [GeneratedRegex(@"^__kmalloc\((?<size>\d+), (?<flags>[0-9a-f]+)\), in init: (?<init>[01]), result: (?<result>[0-9a-f]+)$")]
    private static partial Regex AllocLine();

    /// <summary>
    /// kedr_alloc's leak report on kmod/kedr_payload_target: one kmalloc lost in kedr_pt_leak (a direct call, through
    /// the import stub), and one vmalloc lost in kedr_pt_vleak, called through the module's own function pointer
    /// (kedr_pt_heap in its data, blob 1.6's address-taken imports: the loader routes the copy's indirect call to
    /// the payload). The vmalloc'd blocks "vkeep" allocates are freed in the next "vkeep" through a static call of the
    /// module's own whose trampoline jumps to vfree (blob 1.6's static call stubs), and at exit through the table's
    /// vfree pointer: reported as leaks unless those frees reach the payload too. The pointer leak's caller is the
    /// original indirect call, whose offset the module's .retpoline_sites gives.
    /// </summary>
    [Fact]
    public async Task Alloc_reports_the_payload_targets_leaks_with_size_and_caller_also_through_its_own_pointers()
    {
        var work = Directory.CreateTempSubdirectory("kedr-payload-vm.").FullName;
        try
        {
            var ko = await BuildPayloadAsync(BuiltIn("kedr_alloc"), work);
            var built = await KmodBuilder.BuildAsync(NullLogger.Instance, default);
            var (_, vleakCall) = IndirectBranchTests.RetpolineSite(built["kedr_payload_target"], "kedr_pt_vleak");
            var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_payload_target", """
                K=/lib/modules/kedr
                C=/sys/kernel/debug/kedr_payload_target/ctl
                insmod $K/kedr_alloc.ko
                insmod $K/kedr_payload_target.ko
                echo "keep 300" > $C
                echo "leak 173" > $C
                echo "keep 500" > $C
                echo "vkeep 4100" > $C
                echo "vleak 8200" > $C
                echo "vkeep 4200" > $C
                rmmod kedr_payload_target
                cat /sys/kernel/debug/kedr_alloc/leaks > /out/leaks.txt
                rmmod kedr_alloc
                """) { ExtraFiles = [ko] }, output);
            Assert.True(r.Vm.Healthy, r.Describe());
            var leaks = r.File("leaks.txt");
            // Two blocks: 173 bytes from kedr_pt_leak (original address, so the target's symbol), and its stack.
            Assert.Equal(2, Regex.Matches(leaks, @"^leak: ", RegexOptions.Multiline).Count);
            Assert.Matches(@"leak: 173 bytes at \S+ allocated at kedr_pt_leak\+0x[0-9a-f]+/0x[0-9a-f]+ \[kedr_payload_target\]", leaks);
            // The stack from the target's copies on: kedr_sample names a copy "function.kedr".
            Assert.Matches(@"\n    kedr_pt_leak(\.kedr)?\+0x[0-9a-f]+/0x[0-9a-f]+ \[kedr_sample\]\n    kedr_pt_write(\.kedr)?\+", leaks);
            // And 8200 bytes from the call through the pointer, at the original indirect call.
            Assert.Matches($@"leak: 8200 bytes at \S+ allocated at kedr_pt_vleak\+0x{vleakCall:x}/0x[0-9a-f]+ \[kedr_payload_target\]", leaks);
            Assert.Matches(@"leak report of kedr_payload_target: \d+ allocations, \d+ frees, 2 leaks \(8373 bytes\), 0 not tracked", leaks);
            Assert.Contains("kedr_alloc: leak: 173 bytes", r.Vm.Dmesg, StringComparison.Ordinal);
        }
        finally { Directory.Delete(work, true); }
    }

    /// <summary>
    /// kedr_faults on the sample target: its open allocates the file's state (kzalloc of struct cfake_file,
    /// 16 bytes: a pointer and a size_t, constant, so kmalloc_trace with GFP_KERNEL | __GFP_ZERO = dc0), the
    /// only allocation of an open, a write or a close. The 2nd call from the write to nth is the second open:
    /// it fails with -ENOMEM and nothing else does; then every call from cfake_open while the function is
    /// set. The target recovers: the data written before is intact, later opens, writes and reads work, and
    /// it unloads cleanly.
    /// </summary>
    [Fact]
    public async Task Faults_fail_the_sample_targets_open_with_ENOMEM_at_the_chosen_call_and_the_target_recovers()
    {
        var work = Directory.CreateTempSubdirectory("kedr-payload-vm.").FullName;
        try
        {
            var ko = await BuildPayloadAsync(BuiltIn("kedr_faults"), work);
            var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_sample_target", """
                K=/lib/modules/kedr
                F=/sys/kernel/debug/kedr_faults
                T=/sys/kernel/debug/tracing
                insmod $K/kedr_faults.ko
                echo 1 > $T/events/kedr_faults/enable
                insmod $K/kedr_sample_target.ko
                # (2> before > /dev/cfake0: a failing open of the device then reports into the file.)
                echo 2 > $F/nth
                echo first 2>/out/first.txt > /dev/cfake0 && echo ok >> /out/first.txt
                echo second 2>/out/second.txt >> /dev/cfake0 || echo "failed $?" >> /out/second.txt
                echo third 2>/out/third.txt >> /dev/cfake0 && echo ok >> /out/third.txt
                cat $F/calls > /out/calls.txt
                echo 0 > $F/nth
                # every call from cfake_open fails until the function is cleared
                echo cfake_open > $F/function
                cat /dev/cfake0 2>/out/by-name.txt > /out/by-name-data.txt || echo "failed $?" >> /out/by-name.txt
                echo > $F/function
                cat /dev/cfake0 > /out/after.txt
                echo fourth >> /dev/cfake1 && cat /dev/cfake1 >> /out/after.txt
                cat $F/injected > /out/injected.txt
                rmmod kedr_sample_target
                cat $T/trace > /out/trace.txt
                rmmod kedr_faults
                """) { ExtraFiles = [ko] }, output);
            Assert.True(r.Vm.Healthy, r.Describe());
            PatchSiteRun.AssertAttached(r, "kedr_sample_target");
            Assert.Equal("ok", r.File("first.txt").Trim());
            Assert.Matches(@"(?i)cannot allocate memory", r.File("second.txt"));
            Assert.Contains("failed", r.File("second.txt"), StringComparison.Ordinal);
            Assert.Equal("ok", r.File("third.txt").Trim());
            Assert.Equal("3", r.File("calls.txt").Trim());
            Assert.Matches(@"(?i)cannot allocate memory", r.File("by-name.txt"));
            Assert.Equal("", r.File("by-name-data.txt"));
            // cfake1 stores upper-cased; the failed open left cfake0's data as the two good writes made it.
            Assert.Equal("first\nthird\nFOURTH\n", r.File("after.txt"));
            Assert.Equal("2", r.File("injected.txt").Trim());
            // The trace, in order: every open's allocation after insmod (init's are __kmalloc), the 2nd and the
            // by-name one failed (result 0, injected), the others not.
            var opens = Events(r.File("trace.txt"), "called_kmalloc_trace");
            Assert.All(opens, l => Assert.Matches(@"^kmalloc_trace\(16, dc0\), in init: 0, result: [0-9a-f]+, injected: [01]$", l));
            Assert.Equal([false, true, false, true, false, false, false],
                opens.Select(l => l.EndsWith("result: 0, injected: 1", StringComparison.Ordinal)).ToArray());
            Assert.Equal(2, opens.Count(l => l.EndsWith("injected: 1", StringComparison.Ordinal)));
        }
        finally { Directory.Delete(work, true); }
    }

    /// <summary>
    /// A payload on a target attached while it runs (kedr_live_syms.c resolves the imports from the target's
    /// .ko): the open's allocation goes through the import stub to kedr_faults, which fails it; the payload
    /// cannot be unloaded while attached (kedr_sample holds its module); detach puts the target's own code
    /// back, so the open works again, and the payload can go. Then the target unloads while attached with the
    /// payload loaded: detached at its GOING, the payload free again.
    /// </summary>
    [Fact]
    public async Task Faults_on_a_target_attached_while_running_then_detach_and_unload_with_the_payload_loaded()
    {
        var work = Directory.CreateTempSubdirectory("kedr-payload-vm.").FullName;
        try
        {
            var ko = await BuildPayloadAsync(BuiltIn("kedr_faults"), work);
            var built = await KmodBuilder.BuildAsync(NullLogger.Instance, default);
            var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_payload_target", """
                K=/lib/modules/kedr
                F=/sys/kernel/debug/kedr_faults
                C=/sys/kernel/debug/kedr_payload_target/ctl
                P=/sys/module/kedr_sample/parameters
                # attach N: the Nth attach (the target is held while kedr_sample's work attaches)
                attach() {
                    insmod $K/kedr_sample.ko target_name=kedr_payload_target
                    n=0
                    until [ "$(dmesg | grep -c "kedr_payload_target: attached to the running module")" -ge $1 ]; do
                        n=$((n + 1)); [ $n -lt 200 ] || break; sleep 0.1
                    done
                }
                insmod $K/kedr_payload_target.ko
                attach 1
                insmod $K/kedr_faults.ko
                echo kedr_pt_open > $F/function
                echo "keep 10" 2>/out/attached.txt > $C || echo "failed $?" >> /out/attached.txt
                rmmod kedr_faults 2>/out/busy.txt && echo unloaded >> /out/busy.txt
                n=0
                until echo 1 > $P/detach 2>/dev/null; do n=$((n + 1)); [ $n -lt 20 ] || break; done
                echo "keep 10" 2>/out/detached.txt > $C && echo ok >> /out/detached.txt
                cat $F/injected > /out/injected.txt
                rmmod kedr_faults 2>/out/rmmod.txt && echo ok >> /out/rmmod.txt
                rmmod kedr_sample
                dmesg > /out/dmesg1.txt
                attach 2
                insmod $K/kedr_faults.ko
                rmmod kedr_payload_target
                rmmod kedr_faults 2>/out/rmmod2.txt && echo ok >> /out/rmmod2.txt
                rmmod kedr_sample
                dmesg > /out/dmesg2.txt
                """)
            {
                Instrument = false,
                ExtraFiles = [ko],
                ExtraFirmware = [new VmFirmwareFile(built["kedr_payload_target"], "kedr/kedr_payload_target.ko")],
                Timeout = TimeSpan.FromSeconds(240),
            }, output);
            Assert.True(r.Vm.Healthy, r.Describe());
            string first = r.File("dmesg1.txt"), second = r.File("dmesg2.txt");
            Assert.Contains("kedr_sample: kedr_payload_target: attached to the running module", first, StringComparison.Ordinal);
            Assert.Matches(@"(?i)cannot allocate memory", r.File("attached.txt"));
            Assert.DoesNotContain("unloaded", r.File("busy.txt"), StringComparison.Ordinal);
            Assert.NotEqual("", r.File("busy.txt").Trim());
            Assert.Contains("kedr_sample: kedr_payload_target: original code restored", first, StringComparison.Ordinal);
            Assert.Equal("ok", r.File("detached.txt").Trim());
            Assert.Equal("1", r.File("injected.txt").Trim());
            Assert.Equal("ok", r.File("rmmod.txt").Trim());
            Assert.Equal(2, Regex.Matches(second, "kedr_sample: kedr_payload_target: attached to the running module").Count);
            Assert.Equal(2, Regex.Matches(second, @"kedr_sample: kedr_payload_target: detached\b").Count);
            Assert.Equal("ok", r.File("rmmod2.txt").Trim());
        }
        finally { Directory.Delete(work, true); }
    }

    [Fact]
    public async Task A_spec_of_the_tests_own_is_generated_built_and_loaded()
    {
        var work = Directory.CreateTempSubdirectory("kedr-payload-vm.").FullName;
        try
        {
            var spec = Path.Combine(RepositoryPaths.Root, "tests", "Kedr.Kernel.Tests", "Payloads", "Resources",
                "kedr_test_payload", "kedr_test_payload.json");
            // The spec as it is: every function it names (debug_locks_off among them) is a real export.
            var copy = Path.Combine(work, "spec");
            Directory.CreateDirectory(copy);
            foreach (var f in Directory.GetFiles(Path.GetDirectoryName(spec)!)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
            var ko = await BuildPayloadAsync(Path.Combine(copy, "kedr_test_payload.json"), work);
            var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_payload_target", """
                K=/lib/modules/kedr
                T=/sys/kernel/debug/tracing
                insmod $K/kedr_test_payload.ko
                echo 1 > $T/events/kedr_test_payload/enable
                insmod $K/kedr_payload_target.ko
                echo "keep 64" > /sys/kernel/debug/kedr_payload_target/ctl
                rmmod kedr_payload_target
                cat $T/trace > /out/trace.txt
                rmmod kedr_test_payload
                """) { ExtraFiles = [ko] }, output);
            Assert.True(r.Vm.Healthy, r.Describe());
            var trace = r.File("trace.txt");
            Assert.Matches(@"called___kmalloc: __kmalloc\(64, cc0\), in init: 0, result: [0-9a-f]+, injected: 0", trace);
            Assert.Matches(@"called_kfree: kfree\([0-9a-f]+\), in init: 0", trace);
            Assert.Matches(@"kedr_test_payload: target kedr_payload_target", r.Vm.Dmesg);
        }
        finally { Directory.Delete(work, true); }
    }
}
