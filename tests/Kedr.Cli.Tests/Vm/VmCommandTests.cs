using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Vm;

/// <summary>
/// <c>kedr vm</c> as a user runs it (the built kedr as a process): a guest-kernel target whose workload
/// needs other modules of the guest kernel, loaded with plain <c>modprobe</c> from the script.
/// </summary>
public sealed class VmCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-vm-command-tests-");

    public void Dispose() => _dir.Delete(true);

    /// <summary>
    /// vfat (which needs fat, the target), the ram disk and the code pages come from the guest kernel's module
    /// tree: nothing but the target is named on the command line. A file written on a fresh FAT file system
    /// must read back after a remount.
    /// </summary>
    private const string FatScript = """
        modprobe vfat
        modprobe brd rd_nr=1 rd_size=4096
        modprobe nls_cp437
        modprobe nls_ascii
        mkdosfs /dev/ram0 > /dev/null
        mkdir -p /mnt/fat
        mount -t vfat /dev/ram0 /mnt/fat
        echo kedr-vm-fat > /mnt/fat/hello.txt
        umount /mnt/fat
        mount -t vfat /dev/ram0 /mnt/fat
        cat /mnt/fat/hello.txt > /out/hello.txt
        umount /mnt/fat
        rmmod vfat
        """;

    [Fact]
    public void Vm_fat_target_with_a_script_that_modprobes_vfat()
    {
        var script = Path.Combine(_dir.FullName, "fat.sh");
        File.WriteAllText(script, FatScript);
        var results = Path.Combine(_dir.FullName, "results");
        var r = KedrProcess.Run(_dir.FullName, TimeSpan.FromMinutes(15),
            "vm", "--target", "fat", "--script", script, "--timeout", "400", "--out", results);
        output.WriteLine(r.Stderr);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("kedr-vm-fat\n", File.ReadAllText(Path.Combine(results, "hello.txt")));
        // vfat_fill_super calls fat's fat_fill_super (fs/fat/namei_vfat.c): mounting runs the target.
        Assert.Contains("entry: addr=", r.Stdout);
        Assert.Contains("(\"fat_fill_super\")", r.Stdout);
    }

    [Fact]
    public void Vm_help_says_the_guest_has_the_guest_kernels_modules()
    {
        var r = KedrProcess.Run(_dir.FullName, "vm", "--help");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("every module of the guest kernel", r.Stdout);
        Assert.Contains("modprobe", r.Stdout);
    }
}
