using System.Text.Json;
using System.Text.RegularExpressions;
using Kedr.Cli.Tests.PatchSites;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Payloads;

/// <summary>
/// kedr_alloc on a module of the guest kernel: fat instrumented at load, a vfat workload (files and a
/// directory written, renamed and deleted, remounted, read back, unmounted, rmmod). The leak report says 0
/// leaks; every allocation the payload traced has its result, and every block is freed by a traced free. The
/// kernel's own kmem tracepoints are the independent count: each allocation or free the payload's handlers
/// make on fat's behalf is one kmem event whose call site is that handler, with the same pointer.
/// </summary>
public sealed partial class AllocVfatVmTests(ITestOutputHelper output)
{
    private static readonly string[] FatModules = ["brd", "vfat", "nls_ascii", "nls_cp437", "nls_utf8"];

    [Fact]
    public async Task Vfat_workload_on_fat_with_alloc_reports_no_leak_and_traces_every_allocation()
    {
        var work = Directory.CreateTempSubdirectory("kedr-alloc-vfat.").FullName;
        try
        {
            var spec = PayloadBuild.BuiltIn("kedr_alloc");
            var ko = await PayloadBuild.BuildAsync(spec, work, output);
            var r = await PatchSiteRun.RunAsync(new PatchSiteRequest("fat", """
                K=/lib/modules/kedr
                T=/sys/kernel/debug/tracing
                insmod $K/kedr_alloc.ko
                echo 8192 > $T/buffer_size_kb
                echo global > $T/trace_clock
                echo 0 > $T/options/hash-ptr
                echo 1 > $T/events/kedr_alloc/enable
                for e in kmalloc kmem_cache_alloc kfree kmem_cache_free; do echo 1 > $T/events/kmem/$e/enable; done
                modprobe brd rd_nr=1 rd_size=8192
                modprobe vfat
                mkdosfs /dev/ram0 > /dev/null
                mkdir -p /mnt/fat
                mount -t vfat /dev/ram0 /mnt/fat
                mkdir /mnt/fat/dir
                seq 1 3000 > /tmp/small.txt
                i=0
                while [ $i -lt 40 ]; do
                    cp /tmp/small.txt /mnt/fat/dir/a-long-file-name-$i.txt
                    i=$((i + 1))
                done
                dd if=/dev/urandom of=/mnt/fat/big.bin bs=64k count=16 2>/dev/null
                mv /mnt/fat/dir/a-long-file-name-1.txt /mnt/fat/moved.txt
                rm /mnt/fat/dir/a-long-file-name-2.txt
                ls -l /mnt/fat/dir > /dev/null
                umount /mnt/fat
                # iocharset= is an option fat copies with match_strdup() and kfree()s at umount
                mount -t vfat -o iocharset=ascii /dev/ram0 /mnt/fat
                md5sum /mnt/fat/moved.txt /tmp/small.txt > /out/md5.txt
                cat /mnt/fat/dir/* /mnt/fat/big.bin > /dev/null
                ls /mnt/fat/dir | wc -l > /out/count.txt
                umount /mnt/fat
                rmmod vfat
                rmmod fat
                echo 0 > $T/tracing_on
                cat $T/per_cpu/cpu*/stats > /out/trace-stats.txt
                cat $T/trace > /out/trace.txt
                cat /sys/kernel/debug/kedr_alloc/leaks > /out/leaks.txt
                rmmod kedr_alloc
                """)
            {
                GuestModules = FatModules,
                ExtraFiles = [ko],
                Timeout = TimeSpan.FromSeconds(300),
            }, output);
            Assert.True(r.Vm.Healthy, r.Describe());
            PatchSiteRun.AssertAttached(r, "fat");
            output.WriteLine(r.File("leaks.txt"));
            var md5 = r.File("md5.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).ToList();
            Assert.Equal(2, md5.Count);
            Assert.Equal(md5[0], md5[1]);
            Assert.Equal("38", r.File("count.txt").Trim()); // 40 written, one moved out, one removed
            Assert.DoesNotMatch(@"overrun: [1-9]|dropped events: [1-9]", r.File("trace-stats.txt"));
            var trace = r.File("trace.txt").Split('\n');

            // The payload's view: every call of an allocation function (the spec's functions with a result) has
            // its result; every block freed by a traced free was allocated by a traced call and not yet freed;
            // nothing is left at the end.
            var (allocating, freeing) = Functions(spec);
            var live = new HashSet<string>();
            var traced = new List<(string Op, string Ptr, string Fn)>();
            int calls = 0, allocations = 0, frees = 0;
            foreach (var line in trace)
            {
                var m = CalledLine().Match(line);
                if (!m.Success) continue;
                calls++;
                var fn = m.Groups["fn"].Value;
                if (allocating.Contains(fn))
                {
                    Assert.True(m.Groups["result"].Success, $"no result: {line}");
                    var ptr = m.Groups["result"].Value;
                    if (ptr == "0") continue;
                    Assert.True(live.Add(ptr), $"allocated twice without a free: {line}");
                    traced.Add(("alloc", ptr, fn));
                    allocations++;
                }
                else
                {
                    Assert.Contains(fn, freeing);
                    var ptr = m.Groups["args"].Value.Split(',')[0].Trim();
                    if (ptr == "0") continue;
                    Assert.True(live.Remove(ptr), $"freed a block no traced call allocated: {line}");
                    traced.Add(("free", ptr, fn));
                    frees++;
                }
            }
            Assert.True(calls > 100, $"{calls} calls traced");
            Assert.Empty(live);
            Assert.Contains(traced, t => t.Fn == "match_strdup");
            Assert.Matches($@"leak report of fat: {allocations} allocations, {frees} frees, 0 leaks \(0 bytes\), 0 not tracked", r.File("leaks.txt"));

            // The kernel's view (its kmem tracepoints, call_site = the caller of the allocator): the blocks the
            // handlers allocated and freed on fat's behalf are the traced ones; kedr_alloc's own bookkeeping
            // (kedr_alloc_track's kmalloc, the kfree of that block) is left out by its pointers. No allocator
            // was called from fat's own code or from its copies, around the stubs.
            var kmem = trace.Select(l => KmemLine().Match(l)).Where(m => m.Success).ToList();
            var byHandlers = new List<(string Op, string Ptr)>();
            var bookkeeping = new HashSet<string>();
            var tracks = 0;
            foreach (var m in kmem)
            {
                string site = m.Groups["site"].Value, ptr = m.Groups["ptr"].Value.TrimStart('0');
                var op = m.Groups["ev"].Value.Contains("free", StringComparison.Ordinal) ? "free" : "alloc";
                if (site.StartsWith("kedr_alloc_track+", StringComparison.Ordinal))
                {
                    tracks++;
                    bookkeeping.Add(ptr);
                }
                else if (op == "free" && bookkeeping.Remove(ptr)) { }
                else if (site.StartsWith("kedr_repl_", StringComparison.Ordinal) && ptr != ""
                    && !site.StartsWith("kedr_repl_match_strdup+", StringComparison.Ordinal))
                    byHandlers.Add((op, ptr));
            }
            Assert.Equal(allocations, tracks);
            // match_strdup allocates in kmemdup_nul, whose call site is match_strdup's (kernel code) or, after a tail
            // call, the handler's: its blocks are checked by pointer against every allocation event instead.
            var viaHandlers = traced.Where(t => t.Fn != "match_strdup").Select(t => (t.Op, t.Ptr)).ToList();
            Assert.Equal(viaHandlers.OrderBy(t => t.Ptr).ThenBy(t => t.Op), byHandlers.OrderBy(t => t.Ptr).ThenBy(t => t.Op));
            var allocated = kmem.Where(m => !m.Groups["ev"].Value.Contains("free", StringComparison.Ordinal))
                .Select(m => m.Groups["ptr"].Value.TrimStart('0')).ToHashSet();
            Assert.All(traced.Where(t => t.Fn == "match_strdup"), t => Assert.Contains(t.Ptr, allocated));
            Assert.DoesNotContain(kmem, m => m.Groups["site"].Value.EndsWith("[fat]", StringComparison.Ordinal)
                || m.Groups["site"].Value.Contains(".kedr+", StringComparison.Ordinal));
        }
        finally { Directory.Delete(work, true); }
    }

    /// <summary>The spec's functions: those that return something allocate, the others free.</summary>
    private static (HashSet<string> Allocating, HashSet<string> Freeing) Functions(string spec)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(spec));
        var fns = doc.RootElement.GetProperty("functions").EnumerateArray()
            .Select(f => (Name: f.GetProperty("name").GetString()!, Returns: f.GetProperty("returns").GetString()!)).ToList();
        return (fns.Where(f => f.Returns != "void").Select(f => f.Name).ToHashSet(),
            fns.Where(f => f.Returns == "void").Select(f => f.Name).ToHashSet());
    }

    [GeneratedRegex(@"\bcalled_(?<fn>\w+): \k<fn>\((?<args>[^)]*)\), in init: [01](, result: (?<result>[0-9a-f]+))?")]
    private static partial Regex CalledLine();

    [GeneratedRegex(@"\b(?<ev>kmalloc|kmem_cache_alloc|kfree|kmem_cache_free): call_site=(?<site>\S+(?: \[\w+\])?) ptr=(?<ptr>[0-9a-f]+)")]
    private static partial Regex KmemLine();
}
