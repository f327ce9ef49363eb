using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>Unmodified modules of the guest kernel under a real workload.</summary>
public sealed class RealModuleTests(ITestOutputHelper output)
{
    /// <summary>A FAT file system on a ram disk: create, write, read back, delete, unmount, unload.</summary>
    internal const string FatWorkload = """
        modprobe brd rd_nr=1 rd_size=16384
        modprobe vfat
        modprobe nls_ascii
        modprobe nls_cp437
        mkdosfs /dev/ram0 > /dev/null
        mkdir -p /mnt/fat
        mount -t vfat /dev/ram0 /mnt/fat
        seq 1 20000 > /tmp/data.txt
        for i in 1 2 3 4 5; do cp /tmp/data.txt /mnt/fat/file$i.txt; done
        mkdir /mnt/fat/Sub_Dir
        echo hello > "/mnt/fat/Sub_Dir/Long File Name.txt"
        sync
        umount /mnt/fat
        mount -t vfat /dev/ram0 /mnt/fat
        for i in 1 2 3 4 5; do cmp /tmp/data.txt /mnt/fat/file$i.txt; done
        cat "/mnt/fat/Sub_Dir/Long File Name.txt" > /out/long.txt
        ls /mnt/fat > /out/ls.txt
        rm /mnt/fat/file3.txt
        rm -r /mnt/fat/Sub_Dir
        ls /mnt/fat > /out/ls2.txt
        umount /mnt/fat
        rmmod vfat
        rmmod fat
        echo done > /out/done.txt
        """;

    [Theory]
    [InlineData("fat")]
    [InlineData("vfat")]
    public async Task Fat_file_system_workload_on_instrumented_module(string target)
    {
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest(target, FatWorkload)
        {
            GuestModules = ["brd", "vfat", "nls_ascii", "nls_cp437", "nls_utf8"],
        }, output);
        PatchSiteRun.AssertAttached(r, target);
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal("done\n", r.File("done.txt"));
        Assert.Equal("hello\n", r.File("long.txt"));
        Assert.Equal("Sub_Dir\nfile1.txt\nfile2.txt\nfile3.txt\nfile4.txt\nfile5.txt\n", r.File("ls.txt"));
        Assert.Equal("file1.txt\nfile2.txt\nfile4.txt\nfile5.txt\n", r.File("ls2.txt"));
        Assert.Matches($@"kedr_sample: {target}: detached", r.Vm.Dmesg);
        Assert.True(r.Entered.Count >= 10, "functions entered: " + string.Join(", ", r.Entered));
    }

    /// <summary>
    /// brd has jump labels (hugetlb_optimize_vmemmap_key) and static calls (preempt_schedule,
    /// cond_resched): the preemption model and the key are switched while it is attached and in use.
    /// </summary>
    [Fact]
    public async Task Brd_with_static_calls_and_a_jump_label_switched_while_attached()
    {
        const string script = """
            modprobe brd rd_nr=1 rd_size=8192
            seq 1 100000 > /tmp/data.txt
            P=/sys/kernel/debug/sched/preempt
            cat $P > /out/preempt-before.txt
            for m in none voluntary full none full; do
                echo $m > $P
                dd if=/tmp/data.txt of=/dev/ram0 bs=4096 2>/dev/null
                dd if=/dev/ram0 of=/tmp/back.txt bs=4096 count=$(( ($(wc -c < /tmp/data.txt) + 4095) / 4096 )) 2>/dev/null
                head -c $(wc -c < /tmp/data.txt) /tmp/back.txt | cmp - /tmp/data.txt
            done
            echo 1 > /proc/sys/vm/hugetlb_optimize_vmemmap || true
            echo 4 > /proc/sys/vm/nr_hugepages || true
            cat /proc/sys/vm/nr_hugepages > /out/huge.txt
            dd if=/tmp/data.txt of=/dev/ram0 bs=4096 2>/dev/null
            echo 0 > /proc/sys/vm/nr_hugepages || true
            dd if=/tmp/data.txt of=/dev/ram0 bs=4096 2>/dev/null
            rmmod brd
            echo done > /out/done.txt
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("brd", script), output);
        PatchSiteRun.AssertAttached(r, "brd");
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal("done\n", r.File("done.txt"));
        r.AssertEntered("brd_submit_bio");
    }
}
