using System.Diagnostics;
using Kedr.Kernel.Vm;

namespace Kedr.Kernel.Tests.Vm;

public class DmesgHealthTests
{
    // Real lines: from guests of the 6.1 cloud kernel that hit WARN_ON, a NULL dereference,
    // int3 and ud2 in a module, and from the kernel's own formats for the rest.
    private static readonly string[] Problems =
    [
        "[    1.449001] Oops: 0002 [#1] PREEMPT SMP NOPTI",
        "[    1.448436] BUG: kernel NULL pointer dereference, address: 0000000000000000",
        "[   22.123456] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [insmod:95]",
        "[    5.000000] kernel BUG at mm/slub.c:435!",
        "[    1.534324] WARNING: CPU: 1 PID: 96 at /tmp/badmod/badmod.c:7 badmod_init+0xf/0x1000 [badmod]",
        "[    3.100000] general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP NOPTI",
        "[    1.579934] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI",
        "[    1.445905] int3: 0000 [#1] PREEMPT SMP NOPTI",
        "[    4.000000] stack segment: 0000 [#2] PREEMPT SMP NOPTI",
        "[    1.445905] Kernel panic - not syncing: Fatal exception in interrupt",
        "[    1.536714] Call Trace:",
        "[  242.000000] INFO: task insmod:95 blocked for more than 120 seconds.",
        "[   60.000000] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
        "[   23.738628] rcu: INFO: rcu_preempt self-detected stall on CPU",
    ];

    public static TheoryData<string> ProblemLines => new(Problems);

    // Lines that look alarming but are not problems.
    private static readonly string[] Benign =
    [
        "[    1.610624] kedr_sample_target: loading out-of-tree module taints kernel.",
        "[    1.614392] kedr_sample_target: module verification failed: signature and/or required key missing - tainting kernel",
        "[    0.803731] PCI: Using host bridge windows from ACPI; if necessary, use \"pci=nocrs\" and report a bug",
        "[    2.000000] kedr_sample: cfake_open: original filled with int3 after the jump",
        // Under TCG on a busy host; a case-insensitive "oops" would match it.
        "[    0.326141] calibrate_delay_direct() failed to get a good estimate for loops_per_jiffy.",
        "[    0.204921] tsc: Marking TSC unstable due to TSCs unsynchronized",
        "clear_warn_once",
        "[    2.000000] traps: sh[97] trap int3 ip:4011a6 sp:7ffd6a1c2f10 error:0 in busybox[401000+1000]",
    ];

    public static TheoryData<string> BenignLines => new(Benign);

    [Theory]
    [InlineData("clean-boot-dmesg.txt")]
    [InlineData("clean-boot-sample-target-smp1-dmesg.txt")]
    [InlineData("clean-boot-console.log")]
    [InlineData("clean-boot-busy-host-smp4-dmesg.txt")]
    public void CleanBootIsHealthy(string resource)
    {
        var text = File.ReadAllText(RepoPaths.Resource(resource));
        Assert.Contains("Linux version 6.1.", text, StringComparison.Ordinal);
        Assert.Empty(DmesgHealth.FindProblems(text));
        Assert.True(DmesgHealth.IsHealthy(text));
    }

    [Theory]
    [MemberData(nameof(ProblemLines))]
    public void ProblemLineIsFlagged(string line)
    {
        Assert.Equal([line], DmesgHealth.FindProblems(line));
    }

    [Theory]
    [MemberData(nameof(BenignLines))]
    public void BenignLineIsNotFlagged(string line)
    {
        Assert.Empty(DmesgHealth.FindProblems(line));
    }

    [Fact]
    public void ProblemInCleanBootIsFoundAlone()
    {
        var clean = File.ReadAllLines(RepoPaths.Resource("clean-boot-dmesg.txt")).ToList();
        const string warning = "[    1.700000] WARNING: CPU: 0 PID: 1 at kernel/module/main.c:100 load_module+0x10/0x20";
        clean.Insert(clean.Count / 2, warning);
        var text = string.Join("\r\n", clean); // serial consoles end lines with CR LF

        Assert.Equal([warning], DmesgHealth.FindProblems(text));
        Assert.False(DmesgHealth.IsHealthy(text));
    }

    [Fact]
    public void EveryPatternIsExercised()
    {
        var samples = Problems;
        foreach (var pattern in DmesgHealth.Patterns)
            Assert.Contains(samples, s => System.Text.RegularExpressions.Regex.IsMatch(s, pattern));
    }

    [Fact]
    public void PatternsAreThoseOfRunSh()
    {
        var shell = File.ReadAllLines(Path.Combine(RepoPaths.ScriptsVm, "dmesg-problems.ere"));
        Assert.Equal(shell, DmesgHealth.Patterns);
    }

    [Fact]
    public void GrepAgreesWithDmesgHealth()
    {
        // run.sh checks with grep -E; the same lines must be flagged in both dialects.
        var lines = Problems.Concat(Benign).ToList();
        var input = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(input, lines);
            var psi = new ProcessStartInfo("grep") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { "-E", "-f", Path.Combine(RepoPaths.ScriptsVm, "dmesg-problems.ere"), input })
                psi.ArgumentList.Add(a);
            using var grep = Process.Start(psi)!;
            var flagged = grep.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            grep.WaitForExit();

            Assert.Equal(DmesgHealth.FindProblems(string.Join('\n', lines)), flagged);
            Assert.Equal(Problems, flagged);
        }
        finally
        {
            File.Delete(input);
        }
    }
}
