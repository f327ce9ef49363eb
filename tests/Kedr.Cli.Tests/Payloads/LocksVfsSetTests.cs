using System.Diagnostics;
using System.Globalization;

namespace Kedr.Cli.Tests.Payloads;

/// <summary>
/// kedr_locks' set of the target's i_rwsems (kmod/payloads/kedr_locks/kedr_locks_vfs_set.h), built for user
/// space by the host's <c>cc</c> with <c>Payloads/userspace/vfs_set_harness.c</c>, which counts the slots each
/// call reads. Every rwsem operation of the kernel looks its address up there (kedr_locks_vfs.c's kprobes on
/// down_*/up_*), so a lookup must read a few cache lines at most whatever the workload did before; and a
/// target that made and destroyed many inodes must still have its new ones kept.
/// </summary>
public sealed class LocksVfsSetTests
{
    /// <summary>Slots a lookup may read: a few 64-byte cache lines of 8-byte slots.</summary>
    private const int MaxSlotsRead = 64;

    private static readonly Lazy<Dictionary<string, long>> Figures = new(Run);

    private static long Figure(string name) =>
        Figures.Value.TryGetValue(name, out var v) ? v : throw new InvalidOperationException($"the harness printed no {name}");

    [Fact]
    public void After_40000_inodes_made_and_destroyed_new_inodes_are_kept_and_found()
    {
        Assert.Equal(0, Figure("churn_full"));
        Assert.Equal(1000, Figure("churn_live"));
        Assert.Equal(0, Figure("churn_wrong"));
    }

    [Fact]
    public void After_40000_inodes_made_and_destroyed_a_lookup_reads_a_few_slots()
    {
        Assert.InRange(Figure("churn_max_steps_live"), 1, MaxSlotsRead);
        Assert.InRange(Figure("churn_max_steps_other"), 1, MaxSlotsRead);
    }

    [Fact]
    public void With_more_live_inodes_than_slots_every_add_is_kept_or_counted_and_lookups_stay_short()
    {
        Assert.Equal(2 * Figure("slots"), Figure("over_kept_plus_full"));
        Assert.Equal(0, Figure("over_wrong"));
        Assert.InRange(Figure("over_max_steps_other"), 1, MaxSlotsRead);
    }

    [Fact]
    public void An_inode_never_forgotten_then_one_at_its_address_made_and_destroyed_leaves_nothing_known()
    {
        // alloc_inode() frees an inode whose inode_init_always() failed without __destroy_inode() (fs/inode.c):
        // the address is added twice, forgotten once.
        Assert.Equal(0, Figure("again_known"));
        Assert.Equal(0, Figure("again_live"));
    }

    [Fact]
    public void Null_is_never_known()
    {
        // iput(NULL) does nothing (fs/inode.c), and kedr_locks_vfs.c's iput probe looks its argument up.
        Assert.Equal(0, Figure("null_known"));
    }

    private static Dictionary<string, long> Run()
    {
        var root = Kedr.Cli.Vm.RepositoryPaths.Root;
        var dir = Directory.CreateTempSubdirectory("kedr-vfs-set-").FullName;
        try
        {
            var exe = Path.Combine(dir, "vfs_set");
            var harness = Path.Combine(root, "tests", "Kedr.Cli.Tests", "Payloads", "userspace", "vfs_set_harness.c");
            var cc = Exec("cc", ["-std=gnu11", "-O2", "-Wall", "-Werror", "-I", Path.Combine(root, "kmod", "payloads", "kedr_locks"),
                "-o", exe, harness]);
            Assert.True(cc.Code == 0, $"cc could not build the harness:\n{cc.Text}");
            var run = Exec(exe, []);
            Assert.True(run.Code == 0, $"the harness failed:\n{run.Text}");
            return run.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' '))
                .ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (int Code, string Text) Exec(string file, string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var err = p.StandardError.ReadToEndAsync();
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, text + err.Result);
    }
}
