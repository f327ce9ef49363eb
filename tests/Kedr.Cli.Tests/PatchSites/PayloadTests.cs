using System.Globalization;
using System.Text.RegularExpressions;
using Kedr.Core.Elf;
using Kedr.Cli.Vm;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// Payloads (kmod/kedr_payload.h) on the sample target: the test payload kmod/kedr_pt_payload claims
/// __kmalloc and kfree, which the target's kzalloc/kcalloc/kfree compile to on 6.1. Each call it sees
/// must be one of the target's call sites as its ELF relocations give them (calls to the symbol, found
/// here independently of the rewriter), with the original pc (checked against the target's kallsyms),
/// in_init true exactly during init, every allocation's pointer freed at unload, and the hooks around
/// init and exit in order.
/// </summary>
public sealed partial class PayloadTests(ITestOutputHelper output)
{
    private const string Target = "kedr_sample_target";

    [Fact]
    public async Task A_payload_sees_the_targets_allocation_calls_with_call_info_and_hooks_around_init_and_exit()
    {
        const string script = """
            insmod $KEDR_MODULES/kedr_pt_payload.ko
            insmod $KEDR_MODULES/kedr_sample_target.ko cfake_buffer_size=1234
            grep '\[kedr_sample_target\]' /proc/kallsyms > /out/kallsyms.txt
            echo hello > /dev/cfake0
            cat /dev/cfake0 > /out/read.txt
            if rmmod kedr_pt_payload 2>/dev/null; then echo unloaded > /out/rmmod.txt; else echo refused > /out/rmmod.txt; fi
            rmmod kedr_sample_target
            rmmod kedr_pt_payload
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest(Target, script) { ExtraModules = ["kedr_pt_payload"] }, output);
        PatchSiteRun.AssertAttached(r, Target);
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal("hello\n", r.File("read.txt"));
        // While the target is attached, kedr_sample holds the payload's module.
        Assert.Equal("refused\n", r.File("rmmod.txt"));

        var sites = CallSites(KmodPath(Target));
        var calls = PayloadCalls().Matches(r.Vm.Dmesg).Select(Call.From).ToList();
        var mallocs = calls.Where(c => c.Function == "__kmalloc").ToList();
        var frees = calls.Where(c => c.Function == "kfree").ToList();

        // Init: kcalloc of the device array, then kzalloc(cfake_buffer_size) for each of 2 devices.
        Assert.Equal(3, mallocs.Count);
        Assert.All(mallocs, c => Assert.True(c.InInit, c.Line));
        Assert.Equal(2, mallocs.Count(c => c.Size == 1234));
        var mallocCalls = sites["__kmalloc"].Where(s => s.IsCall).ToList();
        Assert.All(mallocs, c => Assert.Contains(mallocCalls, s => s.Names.Contains(c.Caller)));
        Assert.All(mallocCalls, s => Assert.Contains(mallocs, c => s.Names.Contains(c.Caller)));

        // Each close frees the open file's state (allocated by kmalloc_trace, which this payload does not claim):
        // cfake_release, before the exit; the script opens the device twice.
        int exitStart = r.Vm.Dmesg.IndexOf("kedr_pt_payload: exit hook: before kedr_sample_target", StringComparison.Ordinal);
        var closes = frees.Where(c => c.At < exitStart).ToList();
        Assert.Equal(2, closes.Count);
        Assert.All(closes, c => Assert.Equal("cfake_release", c.CallerFunction));
        frees = frees.Where(c => c.At > exitStart).ToList();

        // Exit: every pointer allocated is freed, from kfree's call sites (a tail call has no call info).
        Assert.All(frees, c => Assert.False(c.InInit, c.Line));
        Assert.Equal(mallocs.Select(c => c.Pointer).ToHashSet(), frees.Select(c => c.Pointer).Where(p => p != 0).ToHashSet());
        var freeCalls = sites["kfree"].Where(s => s.IsCall).ToList();
        Assert.All(frees.Where(c => c.Pc != 0), c => Assert.Contains(freeCalls, s => s.Names.Contains(c.Caller)));
        Assert.Equal(sites["kfree"].Any(s => !s.IsCall), frees.Any(c => c.Pc == 0));

        // pc is the original call instruction: the live function's address (kallsyms) + its offset.
        var kallsyms = KallsymsLine().Matches(r.File("kallsyms.txt"))
            .ToDictionary(m => m.Groups[2].Value, m => ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber));
        var placed = calls.Where(c => c.Pc != 0 && kallsyms.ContainsKey(c.CallerFunction)).ToList(); // init text is gone
        Assert.True(placed.Count >= 4, r.Describe());
        foreach (var c in placed)
            Assert.Equal(kallsyms[c.CallerFunction] + c.CallerOffset, c.Pc);

        // The hooks run around the target's own init and exit, and the payload is told of load and unload.
        var log = r.Vm.Dmesg;
        int loaded = log.IndexOf("kedr_pt_payload: target loaded: kedr_sample_target", StringComparison.Ordinal);
        int initBefore = log.IndexOf("kedr_pt_payload: init hook: before kedr_sample_target", StringComparison.Ordinal);
        int initAfter = log.IndexOf("kedr_pt_payload: init hook: after 0", StringComparison.Ordinal);
        int exitBefore = log.IndexOf("kedr_pt_payload: exit hook: before kedr_sample_target", StringComparison.Ordinal);
        int exitAfter = log.IndexOf("kedr_pt_payload: exit hook: after", StringComparison.Ordinal);
        int unloading = log.IndexOf("kedr_pt_payload: target unloading: kedr_sample_target", StringComparison.Ordinal);
        Assert.True(loaded >= 0 && loaded < initBefore && initBefore < mallocs[0].At && mallocs[^1].At < initAfter, r.Describe());
        Assert.True(initAfter < exitBefore && exitBefore < frees[0].At && frees[^1].At < exitAfter && exitAfter < unloading, r.Describe());

        // The payload's ALLOC and FREE events are in kedr_sample's stream, with the original pc.
        foreach (var c in mallocs)
            Assert.Contains($"alloc at 0x{c.Pc:x}: addr=0x{c.Pointer:x}, size={c.Size}", r.Output);
        foreach (var c in frees.Where(c => c.Pointer != 0))
            Assert.Contains($"free at 0x{c.Pc:x}: addr=0x{c.Pointer:x}, size=0", r.Output);
    }

    /// <summary>
    /// The target attaches while the payload's module is going: rmmod has passed try_stop_module() (state GOING,
    /// no reference can be taken) and the module's exit has not unregistered the payload yet (exit_delay_ms
    /// widens that window to 3 s). kedr_sample must leave the payload out of the attachment instead of taking a
    /// reference on the going module and keeping its list node, inside the module about to be freed, until the
    /// target's unload (which then walked freed memory: a page fault at rmmod of the target).
    /// </summary>
    [Fact]
    public async Task A_target_that_attaches_while_the_payload_s_module_is_going_leaves_the_payload_out()
    {
        const string script = """
            insmod $KEDR_MODULES/kedr_pt_payload.ko exit_delay_ms=3000
            rmmod kedr_pt_payload &
            unloader=$!
            i=0
            until dmesg | grep -q 'kedr_pt_payload: exit: unregistering in'; do
                sleep 0.1; i=$((i + 1)); [ $i -lt 300 ]
            done
            insmod $KEDR_MODULES/kedr_sample_target.ko
            wait $unloader
            { grep -c '^kedr_pt_payload ' /proc/modules || true; } > /out/payload-left.txt
            echo hello > /dev/cfake0
            cat /dev/cfake0 > /out/read.txt
            rmmod kedr_sample_target
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest(Target, script) { ExtraModules = ["kedr_pt_payload"] }, output);
        Assert.True(r.Vm.Succeeded, r.Describe());
        PatchSiteRun.AssertAttached(r, Target);
        // Not vacuous: the target attached inside the window, after the payload's exit began and before it unregistered.
        var log = r.Vm.Dmesg;
        int exitBegan = log.IndexOf("kedr_pt_payload: exit: unregistering in", StringComparison.Ordinal);
        var attached = Regex.Match(log, $@"kedr_sample: {Target}: attached: ");
        int unregistered = log.IndexOf("kedr_sample: payload kedr_pt_payload unregistered", StringComparison.Ordinal);
        Assert.True(exitBegan >= 0 && attached.Success && exitBegan < attached.Index && attached.Index < unregistered,
            "the target did not attach while the payload's exit waited:\n" + r.Describe());
        Assert.Contains("kedr_sample: payload kedr_pt_payload: its module is going: left out of kedr_sample_target", log);
        Assert.Equal("0\n", r.File("payload-left.txt"));
        Assert.Empty(PayloadCalls().Matches(log));
        Assert.DoesNotContain("kedr_pt_payload: target loaded", log);
        r.AssertEntered("cfake_cleanup_module");
    }

    [Fact]
    public async Task A_payload_that_unregisters_while_the_target_runs_sees_no_more_calls_and_can_then_be_unloaded()
    {
        const string script = """
            insmod $KEDR_MODULES/kedr_pt_payload.ko
            insmod $KEDR_MODULES/kedr_sample_target.ko
            cat /sys/kernel/debug/kedr_sample/imports > /out/imports-claimed.txt
            echo 1 > /sys/module/kedr_pt_payload/parameters/unclaim
            cat /sys/kernel/debug/kedr_sample/imports > /out/imports-given-back.txt
            for f in $(cut -d' ' -f1 /out/imports-given-back.txt); do grep " $f\$" /proc/kallsyms; done > /out/import-syms.txt
            echo hello > /dev/cfake1
            cat /dev/cfake1 > /out/read.txt
            rmmod kedr_sample_target
            rmmod kedr_pt_payload
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest(Target, script) { ExtraModules = ["kedr_pt_payload"] }, output);
        PatchSiteRun.AssertAttached(r, Target);
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal("HELLO\n", r.File("read.txt"));
        var calls = PayloadCalls().Matches(r.Vm.Dmesg).Select(Call.From).ToList();
        Assert.Equal(3, calls.Count(c => c.Function == "__kmalloc"));
        Assert.DoesNotContain(calls, c => c.Function == "kfree");
        Assert.Contains("kedr_sample: payload kedr_pt_payload unregistered", r.Vm.Dmesg);
        Assert.DoesNotContain("exit hook", r.Vm.Dmesg);
        // The target still ran its copies to the end.
        r.AssertEntered("cfake_cleanup_module");

        // The import stubs, as kedr_sample's debugfs "imports" reads them from the live code: each is one of
        // the kernel functions the .ko branches to directly (its relocations), and its first jmp goes straight
        // to that function (kallsyms) unless a payload claimed it; a claimed one goes through its slot to the
        // payload's handler, and straight to the function again once the payload has given it back.
        var called = DirectBranchTargets(KmodPath(Target));
        var kernel = KernelSymbol().Matches(r.File("import-syms.txt"))
            .Select(m => (Name: m.Groups[2].Value, Addr: ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber)))
            .ToLookup(s => s.Name, s => s.Addr);
        var claimed = Imports(r.File("imports-claimed.txt"));
        var givenBack = Imports(r.File("imports-given-back.txt"));
        Assert.Equal(claimed.Select(i => i.Name), givenBack.Select(i => i.Name));
        Assert.Contains(claimed, i => i.Name == "__kmalloc");
        Assert.Contains(claimed, i => i.Name == "kfree");
        foreach (var i in claimed)
        {
            Assert.Contains(i.Name, called);
            if (i.Name is "__kmalloc" or "kfree")
            {
                Assert.Equal(("slot", "kedr_pt_payload", "kedr_pt_payload"), (i.Via, i.Module, i.ClaimedBy));
                Assert.StartsWith("kpt_", i.Symbol);
            }
            else
            {
                Assert.Equal(("direct", "", ""), (i.Via, i.Module, i.ClaimedBy));
                Assert.Contains(i.To, kernel[i.Name]);
            }
        }
        foreach (var i in givenBack)
        {
            Assert.Equal(("direct", "", ""), (i.Via, i.Module, i.ClaimedBy));
            Assert.Contains(i.To, kernel[i.Name]);
        }
    }

    /// <summary>
    /// A payload that unregisters while the target runs (kept on kedr_sample's retired list until the target goes)
    /// and then registers again: it is back, claiming its functions and hooking the exit, and the target's unload
    /// and the payload's are clean. Before, the second registration linked the payload's list node, still on the
    /// retired list, into the registered list as well: the target's unload then walked a broken list (a hang or
    /// an oops).
    /// </summary>
    [Fact]
    public async Task A_payload_that_unregisters_and_registers_again_while_the_target_runs_is_back_and_unloads_cleanly()
    {
        const string script = """
            P=/sys/module/kedr_pt_payload/parameters
            insmod $KEDR_MODULES/kedr_pt_payload.ko
            insmod $KEDR_MODULES/kedr_sample_target.ko
            echo 1 > $P/unclaim
            echo 1 > $P/reclaim
            cat $P/reclaim_err > /out/reclaim.txt
            echo again > $P/reclaim
            cat $P/reclaim_err >> /out/reclaim.txt
            echo hello > /dev/cfake1
            cat /dev/cfake1 > /out/read.txt
            rmmod kedr_sample_target
            rmmod kedr_pt_payload
            { grep -c '^kedr_pt_payload ' /proc/modules || true; } > /out/payload-left.txt
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest(Target, script)
        {
            ExtraModules = ["kedr_pt_payload"],
            Timeout = TimeSpan.FromSeconds(120),
        }, output);
        PatchSiteRun.AssertAttached(r, Target);
        Assert.True(r.Vm.Succeeded, r.Describe());
        // Registered again; a third registration of the registered payload is refused (-EBUSY).
        Assert.Equal("0\n-16\n", r.File("reclaim.txt"));
        Assert.Equal("HELLO\n", r.File("read.txt"));
        Assert.Equal("0\n", r.File("payload-left.txt"));
        // Back: the target's frees at unload reach it, and its exit hook runs.
        var calls = PayloadCalls().Matches(r.Vm.Dmesg).Select(Call.From).ToList();
        Assert.Contains(calls, c => c.Function == "kfree");
        Assert.Contains("kedr_pt_payload: exit hook: before kedr_sample_target", r.Vm.Dmesg);
    }

    /// <summary>
    /// A payload module that unregisters a payload it never registered (its struct all zeroes: a module that
    /// registers only under some condition and unregisters in its exit all the same) gets one warning and
    /// nothing else: the registered payload still has its functions. Before, the zeroed list node did not
    /// look empty, so kedr_sample moved it between lists: a NULL dereference (oops).
    /// </summary>
    [Fact]
    public async Task Unregistering_a_payload_never_registered_is_a_warning_and_nothing_else()
    {
        const string script = """
            P=/sys/module/kedr_pt_payload/parameters
            insmod $KEDR_MODULES/kedr_pt_payload.ko
            insmod $KEDR_MODULES/kedr_sample_target.ko
            echo 1 > $P/unregister_stray
            echo hello > /dev/cfake1
            cat /dev/cfake1 > /out/read.txt
            rmmod kedr_sample_target
            rmmod kedr_pt_payload
            { grep -c '^kedr_pt_payload ' /proc/modules || true; } > /out/payload-left.txt
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest(Target, script)
        {
            ExtraModules = ["kedr_pt_payload"],
            Timeout = TimeSpan.FromSeconds(120),
        }, output);
        PatchSiteRun.AssertAttached(r, Target);
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Contains("kedr_sample: payload kedr_pt_stray: unregistered but not registered", r.Vm.Dmesg);
        Assert.DoesNotContain("payload kedr_pt_stray unregistered", r.Vm.Dmesg);
        Assert.Equal("HELLO\n", r.File("read.txt"));
        Assert.Equal("0\n", r.File("payload-left.txt"));
        // The registered payload kept its claims: the target's frees reach it.
        var calls = PayloadCalls().Matches(r.Vm.Dmesg).Select(Call.From).ToList();
        Assert.Contains(calls, c => c.Function == "kfree");
    }

    private sealed record Import(string Name, string Via, ulong To, string Symbol, string Module, string ClaimedBy);

    private static List<Import> Imports(string text)
    {
        var imports = ImportLine().Matches(text)
            .Select(m => new Import(m.Groups["name"].Value, m.Groups["via"].Value,
                ulong.Parse(m.Groups["to"].Value, NumberStyles.HexNumber), m.Groups["sym"].Value,
                m.Groups["module"].Value, m.Groups["owner"].Value))
            .ToList();
        Assert.Equal(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, imports.Count); // no "?" line
        return imports;
    }

    /// <summary>The undefined symbols the .ko calls or jumps to with a rel32 (e8/e9 before a PC32/PLT32 field, addend -4).</summary>
    private static HashSet<string> DirectBranchTargets(string ko)
    {
        var elf = ElfFile.Read(ko);
        var names = new HashSet<string>();
        foreach (var sec in elf.Sections.Where(s => s.IsExecutable && s.IsInFile))
        {
            var bytes = sec.Data.Span;
            foreach (var rel in elf.RelocationSpan(sec))
            {
                var sym = elf.Symbol(rel.SymbolIndex);
                if (sym.IsUndefined && rel.IsPcRelative && rel.Addend == -4 && rel.Offset > 0 && bytes[(int)rel.Offset - 1] is 0xe8 or 0xe9)
                    names.Add(sym.Name);
            }
        }
        return names;
    }

    private static string KmodPath(string module) => Path.Combine(RepositoryPaths.Root, "kmod", module, module + ".ko");

    /// <summary>
    /// A call or tail call (jmp) to a kernel function, from the .ko's relocations: "function+0xoffset" of the
    /// instruction, for each function symbol there (an alias such as init_module names it too).
    /// </summary>
    private sealed record Site(HashSet<string> Names, bool IsCall);

    /// <summary>Per undefined symbol, the rel32 calls and jumps to it (an e8/e9 opcode before a PC32/PLT32 field with addend -4).</summary>
    private static Dictionary<string, List<Site>> CallSites(string ko)
    {
        var elf = ElfFile.Read(ko);
        var sites = new Dictionary<string, List<Site>> { ["__kmalloc"] = [], ["kfree"] = [] };
        foreach (var sec in elf.Sections.Where(s => s.IsExecutable && s.IsInFile))
        {
            var bytes = sec.Data.Span;
            var functions = elf.Symbols.Where(s => s.IsFunction && s.SectionIndex == sec.Index).ToList();
            foreach (var rel in elf.RelocationSpan(sec))
            {
                var sym = elf.Symbol(rel.SymbolIndex);
                if (!sym.IsUndefined || !sites.TryGetValue(sym.Name, out var list) || !rel.IsPcRelative || rel.Addend != -4) continue;
                long insn = (long)rel.Offset - 1;
                byte opcode = bytes[(int)insn];
                if (opcode is not (0xe8 or 0xe9)) continue;
                var names = functions.Where(s => (long)s.Value <= insn && insn < (long)(s.Value + s.Size))
                    .Select(f => $"{f.Name}+0x{insn - (long)f.Value:x}").ToHashSet();
                Assert.NotEmpty(names);
                list.Add(new Site(names, opcode == 0xe8));
            }
        }
        return sites;
    }

    private sealed record Call(string Line, int At, string Function, ulong Size, ulong Pointer, string Caller, ulong Pc, bool InInit)
    {
        public string CallerFunction => Caller[..Caller.LastIndexOf('+')];
        public ulong CallerOffset => ulong.Parse(Caller[(Caller.LastIndexOf('+') + 3)..], NumberStyles.HexNumber);

        public static Call From(Match m) => new(m.Value, m.Index, m.Groups["fn"].Value,
            m.Groups["size"].Success ? ulong.Parse(m.Groups["size"].Value, CultureInfo.InvariantCulture) : 0,
            ulong.Parse(m.Groups["ptr"].Value, NumberStyles.HexNumber), m.Groups["caller"].Value,
            ulong.Parse(m.Groups["pc"].Value, NumberStyles.HexNumber), m.Groups["init"].Value == "1");
    }

    [GeneratedRegex(@"kedr_pt_payload: (?<fn>__kmalloc|kfree) (?:size=(?<size>\d+) ret=|ptr=)(?<ptr>[0-9a-f]+) caller=(?<caller>\S+) pc=(?<pc>[0-9a-f]+) in_init=(?<init>[01])")]
    private static partial Regex PayloadCalls();

    [GeneratedRegex(@"^([0-9a-f]+) [tT] (\S+)\s+\[kedr_sample_target\]", RegexOptions.Multiline)]
    private static partial Regex KallsymsLine();

    [GeneratedRegex(@"^(?<name>\S+) (?<via>direct|slot) (?<to>[0-9a-f]+) (?<sym>\S+)(?: \[(?<module>[^\]]+)\])?(?: claimed by (?<owner>\S+))?$", RegexOptions.Multiline)]
    private static partial Regex ImportLine();

    [GeneratedRegex(@"^([0-9a-f]+) [tTwW] (\S+)$", RegexOptions.Multiline)]
    private static partial Regex KernelSymbol();
}
