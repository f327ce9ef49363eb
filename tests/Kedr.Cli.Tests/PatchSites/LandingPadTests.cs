using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Kedr.Cli.Vm;
using Kedr.Core.Elf;
using Kedr.Kernel.Vm;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// Landing pads: where the module's data points into the middle of a function (an asm jump table, a
/// computed goto), the loader writes a jmp to the copy into the original, so an indirect branch
/// through that data continues in the copy.
/// </summary>
public sealed class LandingPadTests(ITestOutputHelper output)
{
    /// <summary>
    /// crc32c_intel's crc_pcl branches through a table of 129 code addresses (crc_0 .. crc_128). Its
    /// crypto self-test runs at load; then AF_ALG hashes (a static guest program) make crc_pcl take
    /// every table entry one page-sized update can reach (8 to 127 chunks of 24 bytes), each digest
    /// compared with a bitwise CRC-32C.
    /// </summary>
    [Fact]
    public async Task Crc32c_intel_jump_table_runs_in_the_copy()
    {
        var ko = GuestKernel.FindOrInstall(RepositoryPaths.VmScripts).FindModule("crc32c_intel")
            ?? throw new InvalidOperationException("the guest kernel has no crc32c_intel");
        var labels = JumpTableTargets(ko, "crc_pcl");
        Assert.Equal(129, labels.Count); // jump_table: .quad crc_0 .. crc_128

        var work = Directory.CreateTempSubdirectory("kedr-lp.").FullName;
        try
        {
            var prog = Path.Combine(work, "crc32c_alg");
            var src = Path.Combine(RepositoryPaths.Root, "tests", "Kedr.Cli.Tests", "PatchSites", "crc32c_alg.c");
            Assert.Equal(0, Run("gcc", ["-static", "-O2", "-Wall", "-o", prog, src]));
            const string script = """
                modprobe algif_hash
                modprobe crc32c_intel
                grep -B2 -A6 'driver *: crc32c-intel' /proc/crypto > /out/crypto.txt
                cp /lib/firmware/kedr-test/crc32c_alg /tmp/crc32c_alg
                chmod +x /tmp/crc32c_alg
                /tmp/crc32c_alg > /out/alg.txt
                rmmod crc32c_intel
                echo done > /out/done.txt
                """;
            var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("crc32c_intel", script)
            {
                GuestModules = ["algif_hash"],
                ExtraFirmware = [new VmFirmwareFile(prog, "kedr-test/crc32c_alg")],
                LoaderArgs = "nr_records=262144",
                MemoryMiB = 768,
                Timeout = TimeSpan.FromSeconds(240),
            }, output);
            PatchSiteRun.AssertAttached(r, "crc32c_intel");
            Assert.True(r.Vm.Succeeded, r.Describe());
            Assert.Equal("done\n", r.File("done.txt"));
            Assert.Matches(@"module\s*: crc32c_intel", r.File("crypto.txt"));
            Assert.Matches(@"selftest\s*: passed", r.File("crypto.txt"));
            Assert.Matches(@"^checked 240 mismatches 0\n$", r.File("alg.txt"));
            r.AssertEntered("crc_pcl");
            r.AssertEntered("crc32c_pcl_intel_update");
            // The code at each reachable table entry reported its first read: it ran in the copy.
            var readAt = r.Events.Where(e => e.Kind == "read" && e.PcFunction == "crc_pcl").Select(e => (long)e.PcOffset).ToHashSet();
            var missing = Enumerable.Range(8, 120).Where(c => !readAt.Contains(labels[c])).ToList();
            Assert.True(missing.Count == 0, "no read event at crc_" + string.Join(", crc_", missing));
            Assert.Matches(@"kedr_sample: crc32c_intel: detached", r.Vm.Dmesg);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// kedr_pt_goto: an interpreter dispatching with a computed goto through a table of label
    /// addresses. Two programs use every op; the results and the per-op counters must be those of
    /// the C semantics, and each op's code reported its counter update from the copy. Its noinstr
    /// and NOKPROBE_SYMBOL functions are not copied (5 of its 7 functions are).
    /// </summary>
    [Fact]
    public async Task Computed_goto_reaches_every_label_in_the_copy()
    {
        string[] programs = ["7 a3 s1 m5 x6 l2 n a9", "-4 n n m3 l1 x5 s9 a0 l3 n"];
        var script = "insmod $KEDR_MODULES/kedr_pt_goto.ko\nC=/sys/kernel/debug/kedr_pt_goto/ctl\n" +
            string.Concat(programs.Select((p, i) => $"echo '{p}' > $C\ncat $C > /out/r{i}.txt\n")) +
            "grep ' kedr_pt_hits' /proc/kallsyms > /out/hits.txt\nrmmod kedr_pt_goto\n";
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("kedr_pt_goto", script), output);
        PatchSiteRun.AssertAttached(r, "kedr_pt_goto");
        Assert.True(r.Vm.Succeeded, r.Describe());

        var hits = new long[7];
        for (int i = 0; i < programs.Length; i++)
        {
            long acc = Interpret(programs[i], hits);
            Assert.Equal($"{acc} {acc * 3 + 1} {acc * 5 + 2} {string.Join(' ', hits)}\n", r.File($"r{i}.txt"));
        }
        r.AssertEntered("kedr_pt_goto_run");
        // Its noinstr and NOKPROBE_SYMBOL functions ran (the results above) in the original: not copied.
        Assert.DoesNotContain(r.Entered, f => PatchSiteResult.BaseName(f) is "kedr_pt_goto_noinstr" or "kedr_pt_goto_nokprobe");
        Assert.Matches(@"kedr_sample: kedr_pt_goto: attached: 5 functions", r.Vm.Dmesg);
        var m = Regex.Match(r.File("hits.txt"), @"^([0-9a-f]+) ");
        Assert.True(m.Success, "kedr_pt_hits not in /proc/kallsyms: " + r.File("hits.txt"));
        ulong counters = ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        for (int op = 0; op < hits.Length; op++)
        {
            ulong addr = counters + 4 * (ulong)op; // unsigned int kedr_pt_hits[]
            int writes = r.Events.Count(e => e.Kind == "write" && e.Addr == addr && e.PcFunction == "kedr_pt_goto_run");
            Assert.True(writes == hits[op], $"op {op}: {writes} write events at 0x{addr:x}, {hits[op]} runs");
        }
    }

    /// <summary>The programs' meaning, as kedr_pt_goto.c documents it; counts each op in <paramref name="hits"/>.</summary>
    private static long Interpret(string program, long[] hits)
    {
        var parts = program.Split(' ');
        long acc = long.Parse(parts[0], CultureInfo.InvariantCulture);
        foreach (var op in parts.Skip(1))
        {
            long n = op.Length > 1 ? op[1] - '0' : 0;
            int index = "asmxln".IndexOf(op[0]);
            hits[index]++;
            acc = op[0] switch
            {
                'a' => acc + n,
                's' => acc - n,
                'm' => acc * n,
                'x' => acc ^ n,
                'l' => acc << (int)n,
                _ => -acc,
            };
        }
        hits[6]++; // the end op
        return acc;
    }

    /// <summary>
    /// Offsets in <paramref name="function"/> of the 64-bit code addresses data sections hold, in table
    /// order: from the ELF's relocations, independently of the rewriter.
    /// </summary>
    private static List<long> JumpTableTargets(string ko, string function)
    {
        var elf = ElfFile.Read(ko);
        var f = elf.Symbols.Single(s => s.Name == function && s.IsFunction);
        var entries = new List<(ulong At, long Target)>();
        foreach (var sec in elf.Sections)
        {
            if (!sec.IsAlloc || sec.IsExecutable) continue;
            foreach (var rel in elf.GetRelocations(sec))
            {
                if (rel.Type != RelocationType.Abs64) continue; // .quad label; not the kernel's PC32 tables
                var s = elf.Symbol(rel.SymbolIndex);
                long target = (long)s.Value + rel.Addend;
                if (s.SectionIndex == f.SectionIndex && target > (long)f.Value && target < (long)(f.Value + f.Size))
                    entries.Add((rel.Offset, target - (long)f.Value));
            }
        }
        return entries.OrderBy(e => e.At).Select(e => e.Target).ToList();
    }

    private int Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        output.WriteLine(p.StandardOutput.ReadToEnd() + err.Result);
        p.WaitForExit();
        return p.ExitCode;
    }
}
