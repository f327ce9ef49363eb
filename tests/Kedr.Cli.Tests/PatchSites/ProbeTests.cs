using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using Iced.Intel;
using Kedr.Cli.Vm;
using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Kernel.Vm;
using Kedr.Rewriter;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// Probes (issue 16 item 3; kmod/kedr_sample/kedr_probes.c, kmod/kedr_probe.h) on kedr_sample_target, 4 vCPUs,
/// one boot. The probed instruction is found here in the .ko: the first instruction of cfake_write that copies
/// %rdx (the write's count, the third argument in the SysV ABI) to another register; %rdx holds there the
/// length the workload passed to write(2). Probes 0 and 1 are both at it, probe 2 at the next instruction and
/// disabled through debugfs before any write. Expectations: each chosen length appears as rdx in one hit of
/// probe 0 and one of probe 1, in order; probe 2 never fires; the hit's address is kallsyms' cfake_write plus
/// the offset; the flags have bit 1 (always set) and IF (a write from a task); debugfs refuses malformed
/// commands; probe 1, disabled later, stops counting; a handler module registered by place while two writers
/// run sees exactly the writes made meanwhile (its %rdx sum is 77 per chosen write plus 5 per background
/// write) and is removed while they keep running.
/// </summary>
public sealed partial class ProbeTests(ITestOutputHelper output)
{
    private static readonly int[] Lengths = [1, 7, 100, 333, 1000];

    /// <summary>Offsets in cfake_write of the instruction copying %rdx, and of the one after it.</summary>
    private static (int Offset, int Next, int Size) FindProbedInstruction()
    {
        var elf = ElfFile.Read(Path.Combine(RepositoryPaths.Kmod, "kedr_sample_target", "kedr_sample_target.ko"));
        var sym = elf.Symbols.Single(s => s.Name == "cfake_write" && s.IsFunction);
        var sec = elf.Section(sym.SectionIndex);
        var bytes = elf.Data.Slice((int)(sec.FileOffset + sym.Value), (int)sym.Size).ToArray();
        var decoder = Decoder.Create(64, bytes);
        decoder.IP = 0;
        while (decoder.IP < (ulong)bytes.Length)
        {
            var insn = decoder.Decode();
            if (insn.Mnemonic == Mnemonic.Mov && insn.OpCount == 2 && insn.Op1Kind == OpKind.Register && insn.Op1Register == Register.RDX
                && insn.Op0Kind == OpKind.Register)
                return ((int)insn.IP, (int)insn.NextIP, (int)sym.Size);
        }
        throw new InvalidOperationException("cfake_write has no mov %rdx, %reg");
    }

    [Fact]
    public async Task Probes_report_the_registers_the_workload_chose()
    {
        var (off, next, size) = FindProbedInstruction();
        string at = $"cfake_write+0x{off:x}", after = $"cfake_write+0x{next:x}";
        var script = $$"""
            K=/lib/modules/kedr
            D=/sys/kernel/debug/kedr_sample
            insmod $K/kedr_sample_target.ko
            awk '$3 == "cfake_write" && $4 == "[kedr_sample_target]" { print $1 }' /proc/kallsyms > /out/kallsyms.txt
            echo "disable 2" > $D/probes
            for bad in "enable" "enable 3" "enable x" "bogus 1" "enable 1 2" "enable -1" "enable 0x1" "disable  1" "enable 1x"; do
                if printf '%s\n' "$bad" > $D/probes 2>/dev/null; then echo "accepted $bad"; else echo "refused $bad"; fi
            done > /out/bad.txt
            for n in {{string.Join(' ', Lengths)}}; do dd if=/dev/zero of=/dev/cfake0 bs=$n count=1 2>/dev/null; done
            cat $D/probes > /out/probes1.txt
            echo "disable 1" > $D/probes
            rm -f /tmp/stop
            for w in 1 2; do ( while [ ! -e /tmp/stop ]; do dd if=/dev/zero of=/dev/cfake0 bs=5 count=1 2>/dev/null; done ) & done
            sleep 1
            insmod $K/kedr_probe_handler.ko func=cfake_write offset={{off}}
            for i in 1 2 3 4 5 6 7 8 9 10; do dd if=/dev/zero of=/dev/cfake1 bs=77 count=1 2>/dev/null; done
            # The hits and the sum together: read while the writers keep going, so stop them first.
            touch /tmp/stop
            wait
            P=/sys/module/kedr_probe_handler/parameters
            echo "$(cat $P/hits) $(cat $P/rdx_sum)" > /out/handler.txt
            for w in 1 2; do ( while [ ! -e /tmp/stop2 ]; do dd if=/dev/zero of=/dev/cfake0 bs=5 count=1 2>/dev/null; done ) & done
            sleep 1
            rmmod kedr_probe_handler
            sleep 1
            touch /tmp/stop2
            wait
            cat $D/probes > /out/probes2.txt
            rmmod kedr_sample_target
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_sample_target", script)
        {
            ExtraModules = ["kedr_probe_handler"],
            Probes = [at, at, after],
            Cpus = 4,
            Timeout = TimeSpan.FromSeconds(240),
        }, output);
        PatchSiteRun.AssertAttached(r, "kedr_sample_target");
        Assert.True(r.Vm.Succeeded, r.Describe());

        // Only the two well-formed commands of the list would be taken; none is.
        var bad = r.File("bad.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(9, bad.Length);
        Assert.All(bad, l => Assert.StartsWith("refused ", l));

        ulong func = ulong.Parse(r.File("kallsyms.txt").Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        ulong addr = func + (ulong)off;
        // id place address state hits, after the chosen writes.
        var rows = Rows(r.File("probes1.txt"));
        Assert.Equal(3, rows.Count);
        Assert.Equal(($"{at}/0x{size:x}", addr, "enabled", (long)Lengths.Length), rows[0]);
        Assert.Equal(($"{at}/0x{size:x}", addr, "enabled", (long)Lengths.Length), rows[1]);
        Assert.Equal(($"{after}/0x{size:x}", func + (ulong)next, "disabled", 0L), rows[2]);

        // The hits of the output stream, each with its registers.
        var hits = Hits(r.Output);
        Assert.DoesNotContain(hits, h => h.Id == 2);
        Assert.All(hits, h => Assert.Equal(addr, h.Pc));
        Assert.All(hits, h => Assert.Contains($"(cfake_write+0x{off:x}/0x{size:x} [kedr_sample_target])", h.Line));
        Assert.All(hits, h => Assert.True((h.Regs["flags"] & 0x202) == 0x202, $"flags 0x{h.Regs["flags"]:x}"));
        // The first hits: the chosen writes, probe 0 then probe 1 for each.
        var first = hits.Take(2 * Lengths.Length).Select(h => (h.Id, h.Regs["rdx"])).ToList();
        Assert.Equal(Lengths.SelectMany(n => new[] { (0, (ulong)n), (1, (ulong)n) }), first);
        // Probe 1 was disabled before the rest: none of its hits after them.
        Assert.DoesNotContain(hits.Skip(2 * Lengths.Length), h => h.Id == 1);

        // The handler saw the ten 77-byte writes and the background's 5-byte ones made meanwhile, nothing else.
        var handler = r.File("handler.txt").Split(' ', StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        Assert.True(handler[0] >= 10, r.File("handler.txt"));
        Assert.Equal(77 * 10 + 5 * (handler[0] - 10), handler[1]);
        Assert.Contains("kedr_probe_handler: removed after", r.Vm.Dmesg);

        var rows2 = Rows(r.File("probes2.txt"));
        Assert.Equal((long)Lengths.Length, rows2[1].Hits);
        Assert.Equal(0L, rows2[2].Hits);
        Assert.True(rows2[0].Hits >= Lengths.Length + 10 + handler[0] - 10, r.File("probes2.txt"));
        // Every hit of probe 0 is in the stream.
        Assert.Equal(rows2[0].Hits, hits.Count(h => h.Id == 0));
    }

    /// <summary>KEDR_PB_LOOP of kmod/kedr_probe_bench/kedr_pb_target.c: hits of the loop's probe per call of kedr_pb_work.</summary>
    private const int PbLoop = 64;

    /// <summary>
    /// Offsets in kedr_pb_work (kmod/kedr_probe_bench) of its loop's head (the target of the backward jump: 64
    /// hits a call) and of the instruction after the loop (one hit a call).
    /// </summary>
    private static (int Loop, int After) FindPbOffsets()
    {
        var elf = ElfFile.Read(Path.Combine(RepositoryPaths.Kmod, "kedr_probe_bench", "kedr_pb_target.ko"));
        var sym = elf.Symbols.Single(s => s.Name == "kedr_pb_work" && s.IsFunction);
        var sec = elf.Section(sym.SectionIndex);
        var bytes = elf.Data.Slice((int)(sec.FileOffset + sym.Value), (int)sym.Size).ToArray();
        var decoder = Decoder.Create(64, bytes);
        decoder.IP = 0;
        while (decoder.IP < (ulong)bytes.Length)
        {
            var insn = decoder.Decode();
            if (insn.FlowControl == FlowControl.ConditionalBranch && insn.NearBranchTarget < insn.IP)
                return ((int)insn.NearBranchTarget, (int)insn.NextIP);
        }
        throw new InvalidOperationException("kedr_pb_work has no loop");
    }

    /// <summary>
    /// Hits dropped because the CPU is already in a probe's handlers (kedr_on_probe()'s nesting check) are counted,
    /// per probe, in the "dropped" column of debugfs "probes": nothing is lost silently. Deterministic: the handler
    /// (kedr_probe_handler nest=1) calls kedr_pb_work once per hit of the probe at the head of its loop, and each of
    /// those calls runs the loop, so every outer hit comes with KEDR_PB_LOOP nested ones, all dropped.
    /// </summary>
    [Fact]
    public async Task Probe_hits_nested_in_a_handler_are_counted_as_dropped()
    {
        var (loop, _) = FindPbOffsets();
        const int Calls = 3;
        var script = $$"""
            K=/lib/modules/kedr
            D=/sys/kernel/debug/kedr_sample
            insmod $K/kedr_pb_target.ko
            insmod $K/kedr_pb_drive.ko
            insmod $K/kedr_probe_handler.ko func=kedr_pb_work offset={{loop}} nest=1
            echo {{Calls}} > /sys/module/kedr_pb_drive/parameters/run
            cat /sys/module/kedr_probe_handler/parameters/hits > /out/handler.txt
            cat $D/probes > /out/probes.txt
            rmmod kedr_probe_handler
            rmmod kedr_pb_drive
            rmmod kedr_pb_target
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pb_target", script)
        {
            ExtraModules = ["kedr_probe_handler", "kedr_pb_drive"],
            Probes = [$"kedr_pb_work+0x{loop:x}"],
            LoaderArgs = "probe_records=0",
            Timeout = TimeSpan.FromSeconds(240),
        }, output);
        PatchSiteRun.AssertAttached(r, "kedr_pb_target");
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal($"{Calls * PbLoop}\n", r.File("handler.txt"));
        var probes = r.File("probes.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("# id place original_address state hits dropped", probes[0]);
        var row = probes[1].Split(' ');
        Assert.Equal(6, row.Length);
        Assert.Equal(((long)Calls * PbLoop, (long)Calls * PbLoop * PbLoop),
            (long.Parse(row[4], CultureInfo.InvariantCulture), long.Parse(row[5], CultureInfo.InvariantCulture)));
    }

    /// <summary>
    /// Registering a handler that is registered already is refused (-EBUSY) and leaves it as it was: still called
    /// for its probe (the loop's head of kedr_pb_work, KEDR_PB_LOOP hits a call), not for the one the second
    /// registration named (after the loop, one hit a call).
    /// </summary>
    [Fact]
    public async Task Registering_a_registered_handler_again_leaves_it_on_its_probe()
    {
        var (loop, after) = FindPbOffsets();
        const int Calls = 2;
        var script = $$"""
            K=/lib/modules/kedr
            P=/sys/module/kedr_probe_handler/parameters
            insmod $K/kedr_pb_target.ko
            insmod $K/kedr_pb_drive.ko
            insmod $K/kedr_probe_handler.ko func=kedr_pb_work offset={{loop}} again_offset={{after}}
            echo {{Calls}} > /sys/module/kedr_pb_drive/parameters/run
            echo "$(cat $P/again_err) $(cat $P/hits)" > /out/handler.txt
            rmmod kedr_probe_handler
            rmmod kedr_pb_drive
            rmmod kedr_pb_target
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pb_target", script)
        {
            ExtraModules = ["kedr_probe_handler", "kedr_pb_drive"],
            Probes = [$"kedr_pb_work+0x{loop:x}", $"kedr_pb_work+0x{after:x}"],
            LoaderArgs = "probe_records=0",
            Timeout = TimeSpan.FromSeconds(240),
        }, output);
        PatchSiteRun.AssertAttached(r, "kedr_pb_target");
        Assert.True(r.Vm.Succeeded, r.Describe());
        // -EBUSY, and the hits of the loop's probe only.
        Assert.Equal($"-16 {Calls * PbLoop}\n", r.File("handler.txt"));
    }

    /// <summary>
    /// Unregistering a handler that is not registered (any more) does nothing: the handler module unregisters
    /// through its "unregister" parameter, sees no hit after that, and its exit unregisters again. Before, the
    /// second kedr_probe_unregister() deleted the list node again (a list_del corruption BUG).
    /// </summary>
    [Fact]
    public async Task Unregistering_a_handler_twice_is_harmless()
    {
        var (loop, _) = FindPbOffsets();
        const int Calls = 2;
        var script = $$"""
            K=/lib/modules/kedr
            P=/sys/module/kedr_probe_handler/parameters
            insmod $K/kedr_pb_target.ko
            insmod $K/kedr_pb_drive.ko
            insmod $K/kedr_probe_handler.ko func=kedr_pb_work offset={{loop}}
            echo {{Calls}} > /sys/module/kedr_pb_drive/parameters/run
            echo 1 > $P/unregister
            echo {{Calls}} > /sys/module/kedr_pb_drive/parameters/run
            cat $P/hits > /out/handler.txt
            rmmod kedr_probe_handler
            echo {{Calls}} > /sys/module/kedr_pb_drive/parameters/run
            grep -v '^#' /sys/kernel/debug/kedr_sample/probes > /out/probes.txt
            rmmod kedr_pb_drive
            rmmod kedr_pb_target
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pb_target", script)
        {
            ExtraModules = ["kedr_probe_handler", "kedr_pb_drive"],
            Probes = [$"kedr_pb_work+0x{loop:x}"],
            LoaderArgs = "probe_records=0",
            Timeout = TimeSpan.FromSeconds(120),
        }, output);
        PatchSiteRun.AssertAttached(r, "kedr_pb_target");
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal($"{Calls * PbLoop}\n", r.File("handler.txt"));
        Assert.Contains($"kedr_probe_handler: removed after {Calls * PbLoop} hits", r.Vm.Dmesg);
        Assert.Equal(((long)3 * Calls * PbLoop).ToString(CultureInfo.InvariantCulture), r.File("probes.txt").Split(' ')[4]);
    }

    /// <summary>
    /// A probe helper call whose site is in no probe of the table (a blob the tool did not make: its one probe
    /// dropped from the table, the call's <c>push $site</c> made 0xfffffff0): kedr_helper_probe would index
    /// kedr_probe_armed[] with it, 4 GiB past it. kedr_sample must refuse the blob at load, one line.
    /// </summary>
    [Fact]
    public async Task A_probe_call_for_a_site_not_in_the_probe_table_is_refused_at_load()
    {
        var (off, _, _) = FindProbedInstruction();
        var script = """
            K=/lib/modules/kedr
            if insmod $K/kedr_sample.ko target_name=kedr_sample_target blob=kedr/bad.kedr; then
                echo accepted > /out/load.txt
            else
                echo refused > /out/load.txt
            fi
            insmod $K/kedr_sample_target.ko
            dd if=/dev/zero of=/dev/cfake0 bs=5 count=1 2>/dev/null
            rmmod kedr_sample_target
            """;
        var built = await KmodBuilder.BuildAsync(NullLogger.Instance, default);
        var work = Directory.CreateTempSubdirectory("kedr-probe-bad.").FullName;
        try
        {
            Assert.True(ModuleRewriter.TryRewrite(ElfFile.Read(built["kedr_sample_target"]), null,
                new RewriteOptions { Probes = [$"cfake_write+0x{off:x}"] }, out var rewritten, out var error), error?.ToString());
            var blob = rewritten!.Blob;
            var probe = Assert.Single(blob.Probes);
            Assert.Equal(0x68, blob.Code[probe.CopyOffset]);
            BinaryPrimitives.WriteUInt32LittleEndian(blob.Code.AsSpan((int)probe.CopyOffset + 1), 0xfffffff0);
            blob.Probes.Clear();
            var bad = Path.Combine(work, "bad.kedr");
            File.WriteAllBytes(bad, BlobWriter.WriteUnverified(blob));
            var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_sample_target", script)
            {
                Instrument = false,
                ExtraFirmware = [new VmFirmwareFile(bad, "kedr/bad.kedr")],
            }, output);
            Assert.True(r.Vm.Succeeded, r.Describe());
            Assert.Equal("refused\n", r.File("load.txt"));
            Assert.Matches(@"kedr_sample: .*probe helper call .* site 4294967280", r.Vm.Dmesg);
        }
        finally { Directory.Delete(work, true); }
    }

    private static List<(string Place, ulong Address, string State, long Hits)> Rows(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')).Select(l => l.Split(' '))
            .Select(f => (f[1], Convert.ToUInt64(f[2], 16), f[3], long.Parse(f[4], CultureInfo.InvariantCulture))).ToList();

    private sealed record Hit(int Id, ulong Pc, string Line, Dictionary<string, ulong> Regs);

    /// <summary>kedr_sample's output: a probe line, then its register lines (same TID, indented).</summary>
    private static List<Hit> Hits(string text)
    {
        var lines = text.Split('\n');
        var hits = new List<Hit>();
        for (int i = 0; i < lines.Length; i++)
        {
            var m = ProbeLine().Match(lines[i]);
            if (!m.Success) continue;
            var regs = new Dictionary<string, ulong>();
            string tid = m.Groups[1].Value;
            for (int k = i + 1; k < lines.Length && regs.Count < 17; k++)
            {
                if (!lines[k].StartsWith($"TID={tid}   ", StringComparison.Ordinal)) continue;
                foreach (Match x in RegPair().Matches(lines[k]))
                    regs[x.Groups[1].Value] = Convert.ToUInt64(x.Groups[2].Value, 16);
            }
            hits.Add(new Hit(int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), Convert.ToUInt64(m.Groups[3].Value, 16), lines[i], regs));
        }
        return hits;
    }

    [GeneratedRegex(@"^TID=(0x[0-9a-f]+) probe (\d+) at 0x([0-9a-f]+) ")]
    private static partial Regex ProbeLine();

    [GeneratedRegex(@"([a-z0-9]+)=0x([0-9a-f]+)")]
    private static partial Regex RegPair();
}
