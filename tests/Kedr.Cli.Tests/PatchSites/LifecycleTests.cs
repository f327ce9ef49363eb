using System.Buffers.Binary;
using System.Text.RegularExpressions;
using Kedr.Cli.Vm;
using Kedr.Kernel.Vm;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// When kedr_sample may change what it installed: the copies retired only once async work the
/// target's init or exit scheduled is done, and no attaching while kedr_sample's own init runs.
/// </summary>
public sealed class LifecycleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Async_work_of_init_and_exit_runs_in_the_copies_before_they_are_retired()
    {
        const string script = """
            insmod $KEDR_MODULES/kedr_pt_async.ko
            cat /sys/module/kedr_pt_async/parameters/result > /out/result.txt
            rmmod kedr_pt_async
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_async", script), output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_async");
        Assert.True(r.Vm.Succeeded, r.Describe());
        // do_init_module() waits for the async work before init is over: 5 * 8 + 2.
        Assert.Equal("42\n", r.File("result.txt"));
        var dmesg = r.Vm.Dmesg;
        var asyncInit = dmesg.IndexOf("kedr_pt_async: async init done: 42", StringComparison.Ordinal);
        var dropped = Regex.Match(dmesg, @"kedr_sample: kedr_pt_async: init done: \d+ copies of init functions dropped");
        var asyncExit = dmesg.IndexOf("kedr_pt_async: async exit done: 43", StringComparison.Ordinal);
        var detached = dmesg.IndexOf("kedr_sample: kedr_pt_async: detached", StringComparison.Ordinal);
        Assert.True(asyncInit >= 0 && dropped.Success && asyncInit < dropped.Index,
            "the init copies were dropped before the async init work was done:\n" + r.Describe());
        Assert.True(asyncExit >= 0 && detached >= 0 && asyncExit < detached,
            "the copies were retired before the async exit work was done:\n" + r.Describe());
        foreach (var f in new[] { "kedr_pt_async_init_work", "kedr_pt_async_init_leaf", "kedr_pt_async_exit_work", "kedr_pt_async_exit_leaf" })
            r.AssertEntered(f);
    }

    [Fact]
    public async Task A_target_coming_while_kedr_sample_is_still_loading_is_refused_and_later_loads_attach()
    {
        // kedr_sample's init sleeps with its notifier registered; the target loads meanwhile.
        const string script = """
            insmod $KEDR_MODULES/kedr_sample.ko target_name=kedr_pt_init init_delay_ms=10000 &
            loader=$!
            i=0
            until dmesg | grep -q 'kedr_sample: waiting for kedr_pt_init'; do
                sleep 0.1; i=$((i + 1)); [ $i -lt 300 ]
            done
            insmod $KEDR_MODULES/kedr_pt_init.ko
            grep -q '^kedr_sample .* Loading' /proc/modules && echo loading > /out/early-state.txt
            wait $loader
            cat /sys/module/kedr_pt_init/parameters/result > /out/result-early.txt
            { grep '\[kedr_sample\]' /proc/kallsyms | grep '\.kedr' || true; } > /out/names-early.txt
            rmmod kedr_pt_init
            insmod $KEDR_MODULES/kedr_pt_init.ko
            { grep '\[kedr_sample\]' /proc/kallsyms | grep '\.kedr' || true; } > /out/names.txt
            rmmod kedr_pt_init
            grep '\[kedr_sample\]' /proc/kallsyms > /out/names-after.txt
            rmmod kedr_sample
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_init", script) { Instrument = false }, output);
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal("loading\n", r.File("early-state.txt"));
        Assert.Matches(@"kedr_sample: kedr_pt_init: not instrumented: it came while kedr_sample itself was still loading", r.Vm.Dmesg);
        Assert.Equal("42\n", r.File("result-early.txt"));
        Assert.Equal("", r.File("names-early.txt"));
        // The second load attaches: once, with the exit code's copies named after init.
        Assert.Single(Regex.Matches(r.Vm.Dmesg, @"kedr_sample: kedr_pt_init: attached: "));
        var names = Regex.Matches(r.File("names.txt"), @" t (\S+)\.kedr").Select(m => PatchSiteResult.BaseName(m.Groups[1].Value)).ToHashSet();
        Assert.Equal(new HashSet<string> { "kedr_pt_exit", "kedr_pt_exit_helper" }, names);
        // Detached: kedr_sample's own names again, and no copy's.
        var after = r.File("names-after.txt");
        Assert.Contains(" kedr_attach\t[kedr_sample]", after);
        Assert.DoesNotContain(".kedr", after);
    }

    [Fact]
    public async Task A_filter_parameter_written_while_kedr_sample_unloads_does_not_use_the_freed_filter()
    {
        // The set callbacks of process_sp_accesses and jump_left_out read the filter in effect under
        // kedr_filter_mutex, walking the blob's sites (fat's: thousands); their sysfs files stay until
        // after kedr_sample's exit has returned. The exit must not free that filter while such a write
        // is still reading it. Freed objects are poisoned (slub_debug=P): a read of the freed filter
        // follows a poisoned func_ok pointer and faults. The target never loads.
        const string script = """
            D=/sys/kernel/debug/kedr_sample
            P=/sys/module/kedr_sample/parameters
            # Until the parameter files are gone: each write changes the value, so each reads the filter.
            toggle() { while echo 1 > $P/$1 && echo 0 > $P/$1; do :; done; }
            i=0
            while [ $i -lt 10 ]; do
                [ $i -eq 0 ] || insmod /lib/modules/kedr/kedr_sample.ko target_name=fat
                echo 'functions fat_*' > $D/filter
                ( toggle process_sp_accesses ) 2>/dev/null &
                w1=$!
                ( toggle jump_left_out ) 2>/dev/null &
                w2=$!
                sleep 0.2
                rmmod kedr_sample
                wait $w1 $w2 || true
                i=$((i + 1))
            done
            echo $i > /out/cycles.txt
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("fat", script)
        {
            KernelCommandLine = "slub_debug=P",
            Cpus = 3,
        }, output);
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Empty(r.Vm.Problems);
        Assert.Equal("10\n", r.File("cycles.txt"));
    }

    [Fact]
    public async Task Kedr_sample_unloaded_while_its_work_attaches_to_the_running_target_refuses_or_holds()
    {
        // insmod kedr_sample with the target running: its work attaches once insmod has returned; an rmmod
        // right then finds no reference on kedr_sample (nothing attached yet) and its exit waits for the
        // work. The attach must not go on and take a reference on a module already being unloaded: that
        // attachment would outlive kedr_sample's code, and the target's next call go to freed text. Either
        // the rmmod comes first and the attach is refused, or the attach holds kedr_sample and the rmmod
        // fails until a detach. Each round waits a little longer before its rmmod to meet the attach.
        const string script = """
            K=/lib/modules/kedr
            C=/sys/kernel/debug/kedr_payload_target/ctl
            P=/sys/module/kedr_sample/parameters
            insmod $K/kedr_payload_target.ko
            i=0
            while [ $i -lt 20 ]; do
                insmod $K/kedr_sample.ko target_name=kedr_payload_target
                sleep 0.$(printf %02d $((i * 2)))
                n=0
                until rmmod kedr_sample 2>/dev/null; do
                    echo 1 > $P/detach 2>/dev/null || true
                    n=$((n + 1)); [ $n -lt 100 ] || exit 1
                    sleep 0.05
                done
                # The target's functions, once kedr_sample is gone.
                echo "keep 16" > $C
                i=$((i + 1))
            done
            echo $i > /out/rounds.txt
            dmesg > /out/kernel.txt
            """;
        var built = await KmodBuilder.BuildAsync(NullLogger.Instance, default);
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_payload_target", script)
        {
            Instrument = false,
            ExtraFirmware = [new VmFirmwareFile(built["kedr_payload_target"], "kedr/kedr_payload_target.ko")],
            Timeout = TimeSpan.FromSeconds(240),
        }, output);
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal("20\n", r.File("rounds.txt"));
        var dmesg = r.File("kernel.txt");
        Assert.DoesNotContain("unloaded while", dmesg, StringComparison.Ordinal);
        // Not vacuous: rounds whose work did attach (and were detached before the rmmod went through).
        Assert.Contains("kedr_payload_target: attached to the running module", dmesg, StringComparison.Ordinal);
        output.WriteLine($"refused as unloading: {Regex.Matches(dmesg, "not instrumented: kedr_sample is unloading").Count}, " +
            $"attached: {Regex.Matches(dmesg, "attached to the running module").Count} of 20 rounds");
    }

    [Fact]
    public async Task A_running_targets_ko_whose_string_table_has_no_bytes_is_refused()
    {
        // The .ko a live attach reads (firmware kedr/<target>.ko) with the symbol table's string table made
        // SHT_NOBITS at an offset far past the file: the reader range-checks only sections with bytes in the
        // file, so it must not take the names from there. Refused with one line; the target goes on.
        var ko = await TargetKoAsync();
        var symtab = Enumerable.Range(0, ko.Count).Single(i => ko.Type(i) == 2);
        var strtab = ko.Link(symtab);
        BinaryPrimitives.WriteUInt32LittleEndian(ko.Bytes.AsSpan(ko.Header(strtab) + 4), 8);                 // SHT_NOBITS
        BinaryPrimitives.WriteUInt64LittleEndian(ko.Bytes.AsSpan(ko.Header(strtab) + 24), 0x7fff_0000_0000); // sh_offset
        var r = await LiveAttachReadingAsync(ko.Bytes);
        Assert.Matches("kedr_sample: kedr_payload_target: not instrumented: kedr/kedr_payload_target.ko is not an x86-64 relocatable ELF file", r.Vm.Dmesg);
    }

    [Fact]
    public async Task A_running_targets_ko_whose_relocations_point_past_the_module_is_not_read_there()
    {
        // The .ko a live attach reads, claiming a .text as long as the rest of the file, with every relocation
        // of an import in .rela.text moved to the offset of the running module's core size (the guard page
        // after its allocation; the guest writes it in, /sys/module/.../coresize). The import values are read
        // back from the running module's relocated fields: only from inside it. The target goes on.
        const string moveRelocations = """
            F=/lib/firmware/kedr/kedr_payload_target.ko
            cs=$(cat /sys/module/kedr_payload_target/coresize)
            le64=""
            for i in 0 1 2 3 4 5 6 7; do le64="$le64$(printf '\\%03o' $(( (cs >> (8 * i)) & 255 )))"; done
            for off in $(cat /lib/firmware/kedr-test/offsets.txt); do
                printf "$le64" | dd of=$F bs=1 seek=$off conv=notrunc 2>/dev/null
            done
            """;
        var ko = await TargetKoAsync();
        var text = ko.Named(".text");
        var rela = Enumerable.Range(0, ko.Count).Single(i => ko.Type(i) == 4 && ko.Info(i) == text);
        var symtab = ko.Link(rela);
        BinaryPrimitives.WriteUInt64LittleEndian(ko.Bytes.AsSpan(ko.Header(text) + 32), (ulong)(ko.Bytes.Length - ko.Offset(text)));
        var offsets = new List<long>();
        for (long e = ko.Offset(rela); e < ko.Offset(rela) + ko.Size(rela); e += 24)
        {
            var sym = (int)(BinaryPrimitives.ReadUInt64LittleEndian(ko.Bytes.AsSpan((int)e + 8)) >> 32);
            var shndx = BinaryPrimitives.ReadUInt16LittleEndian(ko.Bytes.AsSpan((int)(ko.Offset(symtab) + sym * 24 + 6)));
            if (sym != 0 && shndx == 0)
                offsets.Add(e);
        }
        Assert.NotEmpty(offsets);
        var r = await LiveAttachReadingAsync(ko.Bytes, moveRelocations, ("kedr-test/offsets.txt", string.Join('\n', offsets) + "\n"));
        Assert.Matches("kedr_sample: kedr_payload_target: (not instrumented|attached)", r.Vm.Dmesg);
    }

    [Fact]
    public async Task A_running_targets_ko_whose_section_name_leaves_the_sections_directory_is_refused()
    {
        // The .ko a live attach reads with its .text named "../coresize" (a new section name string table
        // appended to the file): where the kernel placed a section is read from
        // /sys/module/<target>/sections/<name>, and this name reaches another file of the module's, which
        // holds a number too. Refused with one line naming it; the target goes on.
        var ko = await TargetKoAsync();
        var text = ko.Named(".text");
        var shstr = ko.ShStrNdx;
        var names = ko.Bytes.AsSpan((int)ko.Offset(shstr), (int)ko.Size(shstr)).ToArray();
        var bytes = ko.Bytes.Concat(names).Concat("../coresize\0"u8.ToArray()).ToArray();
        var patched = new KoSections(bytes);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(patched.Header(shstr) + 24), (ulong)ko.Bytes.Length);         // sh_offset
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(patched.Header(shstr) + 32), (ulong)(names.Length + 12));     // sh_size
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(patched.Header(text)), (uint)names.Length);                     // sh_name
        var r = await LiveAttachReadingAsync(bytes);
        Assert.Contains($"kedr_sample: kedr_payload_target: not instrumented: kedr/kedr_payload_target.ko: section {text} is named \"../coresize\", " +
            "not a name under /sys/module/kedr_payload_target/sections/", r.Vm.Dmesg, StringComparison.Ordinal);
        Assert.Single(Regex.Matches(r.Vm.Dmesg, "kedr_sample: kedr_payload_target: not instrumented"));
    }

    [Fact]
    public async Task A_running_targets_ko_whose_functions_lie_past_their_section_is_refused()
    {
        // The .ko a live attach reads with every function of .text 1 GiB further on (st_value; names, types
        // and sizes unchanged): a function's address is its section's base, which the kernel tells, plus
        // the st_value the .ko tells, and the digests are then read there. Refused with one line unless the
        // function lies in the running module's core text; the target goes on.
        var ko = await TargetKoAsync();
        var text = ko.Named(".text");
        int moved = ko.MoveSymbols(type: 2, section => section == text, value => value + 0x4000_0000).Count; // STT_FUNC in .text
        Assert.True(moved > 0);
        var r = await LiveAttachReadingAsync(ko.Bytes);
        Assert.Matches(@"kedr_sample: kedr_payload_target: not instrumented: kedr/kedr_payload_target\.ko: \w+ at 0x[0-9a-f]+ \(\+\d+\) is outside the module's core text", r.Vm.Dmesg);
        Assert.Single(Regex.Matches(r.Vm.Dmesg, "kedr_sample: kedr_payload_target: not instrumented"));
    }

    [Fact]
    public async Task A_running_targets_ko_whose_data_symbols_lie_past_their_section_is_refused()
    {
        // The .ko a live attach reads with the section symbols of .data and .bss 1 GiB on (st_value): the
        // copies' relocations are evaluated as the section's base, which the kernel tells, plus the st_value
        // the .ko tells, so kedr_pt_keep's copy would store to .bss + 1 GiB. Refused with one line unless the
        // value lies inside its section; the target goes on (its keep runs as it is).
        var ko = await TargetKoAsync();
        int data = ko.Named(".data"), bss = ko.Named(".bss");
        var moved = ko.MoveSymbols(type: 3, section => section == data || section == bss, _ => 0x4000_0000);  // STT_SECTION
        Assert.Equal(2, moved.Count);
        var r = await LiveAttachReadingAsync(ko.Bytes);
        var refused = Regex.Match(r.Vm.Dmesg, @"kedr_sample: kedr_payload_target: not instrumented: kedr/kedr_payload_target\.ko: symbol (\d+) lies 0x40000000 bytes into section \d+ of 0x[0-9a-f]+ bytes");
        Assert.True(refused.Success, r.Vm.Dmesg);
        Assert.Contains(int.Parse(refused.Groups[1].Value), moved);
        Assert.Single(Regex.Matches(r.Vm.Dmesg, "kedr_sample: kedr_payload_target: not instrumented"));
    }

    /// <summary>kedr_payload_target's .ko as built, to be damaged by a test.</summary>
    private static async Task<KoSections> TargetKoAsync()
    {
        var built = await KmodBuilder.BuildAsync(NullLogger.Instance, default);
        return new KoSections(File.ReadAllBytes(built["kedr_payload_target"]));
    }

    /// <summary>
    /// kedr_payload_target loaded, then kedr_sample attaching to it while it runs, reading <paramref name="ko"/> as
    /// its .ko (firmware kedr/kedr_payload_target.ko) and <paramref name="files"/> as further firmware files;
    /// <paramref name="beforeAttach"/> runs between the two loads. Then the target's keep (through its copy if it
    /// attached), a detach and both unloads. The guest must stay healthy whatever the .ko says.
    /// </summary>
    private async Task<PatchSiteResult> LiveAttachReadingAsync(byte[] ko, string beforeAttach = "", params (string Path, string Text)[] files)
    {
        var script = $"""
            K=/lib/modules/kedr
            C=/sys/kernel/debug/kedr_payload_target/ctl
            insmod $K/kedr_payload_target.ko
            {beforeAttach}
            insmod $K/kedr_sample.ko target_name=kedr_payload_target
            n=0
            until dmesg | grep -q 'kedr_sample: kedr_payload_target: \(not instrumented\|attached\)'; do
                n=$((n + 1)); [ $n -lt 100 ] || break; sleep 0.1
            done
            echo "keep 16" > $C
            echo 1 > /sys/module/kedr_sample/parameters/detach 2>/dev/null || true
            rmmod kedr_sample
            rmmod kedr_payload_target
            """;
        var work = Directory.CreateTempSubdirectory("kedr-bad-ko.").FullName;
        try
        {
            var firmware = new List<VmFirmwareFile> { new(Path.Combine(work, "kedr_payload_target.ko"), "kedr/kedr_payload_target.ko") };
            File.WriteAllBytes(firmware[0].Source, ko);
            foreach (var (path, text) in files)
            {
                var host = Path.Combine(work, Path.GetFileName(path));
                File.WriteAllText(host, text);
                firmware.Add(new VmFirmwareFile(host, path));
            }
            var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_payload_target", script)
            {
                Instrument = false,
                ExtraFirmware = [.. firmware],
            }, output);
            Assert.True(r.Vm.Succeeded, r.Describe());
            return r;
        }
        finally { Directory.Delete(work, true); }
    }

    [Fact]
    public async Task A_detach_while_ftrace_is_off_for_good_keeps_the_copies_its_ftrace_ops_still_enters()
    {
        // Attached to the running target (its functions with an fentry site entered through kedr_sample's
        // ftrace_ops), then ftrace turned off for good (kedr_pt_ftoff: ftrace_kill(), as ftrace_bug() leaves
        // it): unregistering the ops fails, so ftrace keeps sending those calls to the copies. Detach must
        // then refuse with one line and leave the copies in place; the target's functions go on working
        // (before, detach went ahead and put int3 over the copies: the next call met one, an oops).
        const string script = """
            K=/lib/modules/kedr
            C=/sys/kernel/debug/kedr_payload_target/ctl
            P=/sys/module/kedr_sample/parameters
            insmod $K/kedr_payload_target.ko
            insmod $K/kedr_sample.ko target_name=kedr_payload_target
            n=0
            until dmesg | grep -q 'kedr_sample: kedr_payload_target: \(not instrumented\|attached\)'; do
                n=$((n + 1)); [ $n -lt 100 ] || break; sleep 0.1
            done
            echo "keep 16" > $C
            insmod $K/kedr_pt_ftoff.ko
            if echo 1 > $P/detach; then echo detached > /out/detach.txt; else echo refused > /out/detach.txt; fi
            echo "keep 16" > $C && echo "keep 32" > $C && echo ok > /out/after.txt
            cat $P/detach > /out/attached.txt
            """;
        var built = await KmodBuilder.BuildAsync(NullLogger.Instance, default);
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_payload_target", script)
        {
            Instrument = false,
            ExtraModules = ["kedr_pt_ftoff"],
            ExtraFirmware = [new VmFirmwareFile(built["kedr_payload_target"], "kedr/kedr_payload_target.ko")],
        }, output);
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Contains("kedr_sample: kedr_payload_target: attached to the running module", r.Vm.Dmesg, StringComparison.Ordinal);
        Assert.Contains("kedr_pt_ftoff: ftrace is off for good", r.Vm.Dmesg, StringComparison.Ordinal);
        Assert.Equal("refused\n", r.File("detach.txt"));
        Assert.Matches(@"kedr_sample: kedr_payload_target: not detached: its ftrace_ops cannot be unregistered \(-19\)", r.Vm.Dmesg);
        Assert.DoesNotContain("the originals' bytes are back", r.Vm.Dmesg, StringComparison.Ordinal); // attached live: nothing was put back
        Assert.Equal("ok\n", r.File("after.txt"));
        Assert.Equal("0\n", r.File("attached.txt"));
    }

    [Fact]
    public async Task Once_ftrace_is_off_for_good_the_target_going_leaves_its_ftrace_ops_registered_and_kedr_sample_loaded()
    {
        // As above, detach refused while ftrace is off for good; then the target goes: its ftrace_ops still
        // cannot be unregistered and stays on ftrace's list, its handler (kedr_ftrace_handler) in kedr_sample's
        // text and its slots' destinations in kedr_area, kedr_sample's memory too. kedr_sample must then stay
        // loaded (before, the attachment's reference went with it and rmmod kedr_sample freed the code and
        // the area that registered ops points to).
        const string script = """
            K=/lib/modules/kedr
            C=/sys/kernel/debug/kedr_payload_target/ctl
            P=/sys/module/kedr_sample/parameters
            insmod $K/kedr_payload_target.ko
            insmod $K/kedr_sample.ko target_name=kedr_payload_target
            n=0
            until dmesg | grep -q 'kedr_sample: kedr_payload_target: \(not instrumented\|attached\)'; do
                n=$((n + 1)); [ $n -lt 100 ] || break; sleep 0.1
            done
            echo "keep 16" > $C
            insmod $K/kedr_pt_ftoff.ko
            if echo 1 > $P/detach; then echo detached > /out/detach.txt; else echo refused > /out/detach.txt; fi
            rmmod kedr_payload_target
            if rmmod kedr_sample; then echo unloaded > /out/rmmod.txt; else echo kept > /out/rmmod.txt; fi
            """;
        var built = await KmodBuilder.BuildAsync(NullLogger.Instance, default);
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_payload_target", script)
        {
            Instrument = false,
            ExtraModules = ["kedr_pt_ftoff"],
            ExtraFirmware = [new VmFirmwareFile(built["kedr_payload_target"], "kedr/kedr_payload_target.ko")],
        }, output);
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Contains("kedr_pt_ftoff: ftrace is off for good", r.Vm.Dmesg, StringComparison.Ordinal);
        Assert.Equal("refused\n", r.File("detach.txt"));
        Assert.Equal("kept\n", r.File("rmmod.txt"));
        Assert.Matches(@"kedr_sample: kedr_payload_target: its ftrace_ops cannot be unregistered \(-19\): left registered; kedr_sample stays loaded", r.Vm.Dmesg);
    }

    [Fact]
    public async Task A_detach_retried_while_ftrace_is_off_for_good_after_an_attach_at_coming_puts_the_originals_back_once()
    {
        // Attached at COMING (jmps written into the originals where ftrace does not enter), then ftrace turned
        // off for good: the first detach puts the originals back, then cannot unregister the ftrace_ops and
        // refuses. A second detach must refuse for the same reason, not try the originals again (their jmps
        // are gone: "not the jmp to its copy (a kprobe?)"), and the target keeps working throughout.
        const string script = """
            K=/lib/modules/kedr
            C=/sys/kernel/debug/kedr_payload_target/ctl
            P=/sys/module/kedr_sample/parameters
            insmod $K/kedr_sample.ko target_name=kedr_payload_target
            insmod $K/kedr_payload_target.ko
            echo "keep 16" > $C
            insmod $K/kedr_pt_ftoff.ko
            for i in 1 2; do
                if echo 1 > $P/detach; then echo detached >> /out/detach.txt; else echo refused >> /out/detach.txt; fi
            done
            echo "keep 16" > $C && echo "keep 32" > $C && echo ok > /out/after.txt
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_payload_target", script)
        {
            Instrument = false,
            ExtraModules = ["kedr_pt_ftoff"],
        }, output);
        Assert.True(r.Vm.Succeeded, r.Describe());
        PatchSiteRun.AssertAttached(r, "kedr_payload_target");
        Assert.Contains("kedr_pt_ftoff: ftrace is off for good", r.Vm.Dmesg, StringComparison.Ordinal);
        Assert.Equal("refused\nrefused\n", r.File("detach.txt"));
        Assert.DoesNotMatch("not the jmp to its copy", r.Vm.Dmesg);
        Assert.Single(Regex.Matches(r.Vm.Dmesg, "kedr_sample: kedr_payload_target: the originals put back while it runs"));
        Assert.Equal(2, Regex.Matches(r.Vm.Dmesg, @"kedr_sample: kedr_payload_target: not detached: its ftrace_ops cannot be unregistered \(-19\).* \(the originals' bytes are back: only ftrace's entries reach the copies\)").Count);
        Assert.Equal("ok\n", r.File("after.txt"));
    }

    /// <summary>The section headers of a .ko (ELF64, little-endian), read where they lie in its bytes.</summary>
    private sealed class KoSections(byte[] bytes)
    {
        public byte[] Bytes { get; } = bytes;
        public int Count => BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(0x3c));
        public int ShStrNdx => BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(0x3e));
        public int Header(int i) => (int)BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan(0x28)) + i * 64;
        public uint Type(int i) => BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(Header(i) + 4));
        public long Offset(int i) => (long)BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan(Header(i) + 24));
        public long Size(int i) => (long)BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan(Header(i) + 32));
        public int Link(int i) => (int)BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(Header(i) + 40));
        public int Info(int i) => (int)BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(Header(i) + 44));

        /// <summary>The index of the section named <paramref name="name"/> (exactly one).</summary>
        public int Named(string name)
        {
            var names = Bytes.AsMemory((int)Offset(ShStrNdx), (int)Size(ShStrNdx));
            return Enumerable.Range(0, Count).Single(i =>
            {
                var rest = names.Span[(int)BinaryPrimitives.ReadUInt32LittleEndian(Bytes.AsSpan(Header(i)))..];
                return System.Text.Encoding.ASCII.GetString(rest[..rest.IndexOf((byte)0)]) == name;
            });
        }

        /// <summary>
        /// Gives every symbol of ELF type <paramref name="type"/> in a section <paramref name="inSection"/> accepts the
        /// value <paramref name="move"/> makes of its own; returns their indices in the symbol table.
        /// </summary>
        public List<int> MoveSymbols(int type, Func<int, bool> inSection, Func<ulong, ulong> move)
        {
            var symtab = Enumerable.Range(0, Count).Single(i => Type(i) == 2);
            var moved = new List<int>();
            for (long e = Offset(symtab); e < Offset(symtab) + Size(symtab); e += 24)
            {
                var at = (int)e;
                if ((Bytes[at + 4] & 0xf) != type || !inSection(BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(at + 6))))
                    continue;
                var value = BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan(at + 8));
                BinaryPrimitives.WriteUInt64LittleEndian(Bytes.AsSpan(at + 8), move(value));
                moved.Add((int)((e - Offset(symtab)) / 24));
            }
            return moved;
        }
    }
}
