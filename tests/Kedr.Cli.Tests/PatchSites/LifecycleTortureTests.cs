using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using Kedr.Cli.Vm;
using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Kernel.Vm;
using Kedr.Rewriter;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// kedr_sample's lifecycle in one boot: the target reloaded 50 times, a target whose init fails,
/// kedr_sample itself removed and reloaded between target loads, a second instance (the same module
/// again, and a second loader under another module name for the same target), a blob whose code
/// does not fit the code area. The guest kernel has no kmemleak: kedr_sample counts the objects it
/// keeps for an attachment (parameter live_objects), which must come back to 0 each time.
/// </summary>
public sealed class LifecycleTortureTests(ITestOutputHelper output)
{
    private const string Target = "kedr_sample_target";

    /// <summary>The code area's size (kmod/kedr_sample/kedr_area.h, KEDR_AREA_SIZE).</summary>
    private const int AreaSize = 16 << 20;

    [Fact]
    public async Task Reloads_failed_init_second_instances_and_a_huge_blob_leave_nothing_behind()
    {
        const string script = """
            K=$KEDR_MODULES
            T=kedr_sample_target
            live() { cat /sys/module/$1/parameters/live_objects; }
            io() {
                echo 123456789788 > /dev/cfake0
                got=$(dd if=/dev/cfake0 ibs=20 count=1 2>/dev/null)
                [ "$got" = 123456789788 ] || { echo "$1: /dev/cfake0 gave '$got'"; exit 1; }
            }
            mark() { echo "kedr-test: $1" > /dev/kmsg; }

            insmod $K/kedr_sample.ko target_name=$T
            live kedr_sample > /out/live-base.txt
            i=0
            while [ $i -lt 50 ]; do
                insmod $K/$T.ko
                io "reload $i"
                live kedr_sample >> /out/live-attached.txt
                rmmod $T
                live kedr_sample >> /out/live-detached.txt
                i=$((i + 1))
            done

            mark "failed init"
            if insmod $K/$T.ko cfake_ndevices=0 2>/dev/null; then echo "init did not fail"; exit 1; fi
            live kedr_sample > /out/live-failed-init.txt

            mark "same module again"
            if insmod $K/kedr_sample.ko target_name=$T 2> /out/second-insmod.txt; then echo "second insmod loaded"; exit 1; fi

            mark "second loader"
            if insmod $K/kedr_sampl2.ko target_name=$T 2>/dev/null; then echo "second loader loaded"; exit 1; fi
            insmod $K/$T.ko
            io "second loader"
            rmmod $T
            live kedr_sample > /out/live-two-loaders.txt

            for j in 1 2 3; do
                mark "kedr_sample reload $j"
                rmmod kedr_sample
                insmod $K/kedr_sample.ko target_name=$T
                insmod $K/$T.ko
                io "kedr_sample reload $j"
                live kedr_sample >> /out/live-reloaded-attached.txt
                rmmod $T
                live kedr_sample >> /out/live-reloaded.txt
            done
            rmmod kedr_sample

            mark "huge"
            if insmod $K/kedr_sample.ko target_name=$T blob=kedr/huge.kedr 2>/dev/null; then echo "huge blob accepted"; exit 1; fi
            insmod $K/$T.ko
            io "after huge"
            rmmod $T
            """;
        var built = await KmodBuilder.BuildAsync(NullLogger.Instance, default);
        var work = Directory.CreateTempSubdirectory("kedr-torture.").FullName;
        try
        {
            var second = Path.Combine(work, "kedr_sampl2.ko");
            File.WriteAllBytes(second, Renamed(File.ReadAllBytes(built["kedr_sample"]), "kedr_sample", "kedr_sampl2"));
            var huge = Path.Combine(work, "huge.kedr");
            var target = ModuleRewriter.Rewrite(ElfFile.Read(built[Target])).Blob.Target;
            File.WriteAllBytes(huge, BlobWriter.WriteUnverified(new KedrBlob { Target = target, Code = new byte[AreaSize + 4096] }));

            var r = await PatchSiteRun.RunAsync(new PatchSiteRequest(Target, script)
            {
                Instrument = false,
                ExtraFiles = [second],
                ExtraFirmware = [new VmFirmwareFile(huge, "kedr/huge.kedr")],
                Timeout = TimeSpan.FromSeconds(400),
            }, output);
            Assert.True(r.Vm.Succeeded, r.Describe());
            var dmesg = r.Vm.Dmesg;

            // 50 reloads: attached each time, the same objects kept while attached, none after.
            Assert.Equal(50, Regex.Matches(Section(dmesg, null, "failed init"), $@"kedr_sample: {Target}: attached: ").Count);
            Assert.Equal(50, Regex.Matches(Section(dmesg, null, "failed init"), $@"kedr_sample: {Target}: detached").Count);
            Assert.Equal("0", r.File("live-base.txt").Trim());
            var attached = Lines(r.File("live-attached.txt"));
            Assert.Equal(50, attached.Count);
            // The attachment, its tables, the kallsyms copy left after init, the ftrace_ops, the
            // import slots of the interception (kedr_import_stubs.c: the sample target calls kernel functions),
            // and the event calls the filter may jump over (kedr_jumps.c).
            Assert.All(attached, n => Assert.Equal("6", n));
            Assert.Equal(Enumerable.Repeat("0", 50), Lines(r.File("live-detached.txt")));

            // Its init fails: attached at COMING, detached at GOING, nothing kept.
            var failed = Section(dmesg, "failed init", "same module again");
            Assert.Contains($"kedr_sample: {Target}: attached: ", failed);
            Assert.Contains($"kedr_sample: {Target}: detached", failed);
            Assert.Equal("0", r.File("live-failed-init.txt").Trim());

            // The same module twice: the kernel refuses it before its init runs.
            Assert.Contains("exists", r.File("second-insmod.txt"));
            Assert.DoesNotContain("kedr_sample: ", Section(dmesg, "same module again", "second loader"));

            // A second loader (kedr_sample renamed): since kedr_sample exports the payload API
            // (kmod/kedr_payload.h), the kernel refuses a second copy before its init runs; the first
            // instruments the target as before.
            var two = Section(dmesg, "second loader", "kedr_sample reload 1");
            Assert.Matches(@"kedr_sampl2: exports duplicate symbol kedr_\w+ \(owned by kedr_sample\)", two);
            Assert.Single(Regex.Matches(two, $@"kedr_sample: {Target}: attached: "));
            Assert.Equal("0", r.File("live-two-loaders.txt").Trim());

            // kedr_sample reloaded between target loads.
            Assert.Equal(["6", "6", "6"], Lines(r.File("live-reloaded-attached.txt")));
            Assert.Equal(["0", "0", "0"], Lines(r.File("live-reloaded.txt")));

            // A blob whose code does not fit the area: refused with one line, the target runs as it is.
            var hugeLog = Section(dmesg, "huge", null);
            Assert.Matches($@"kedr_sample: .*table code: {AreaSize + 4096} bytes, the code area holds {AreaSize}", hugeLog);
            Assert.DoesNotContain("attached", hugeLog);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static List<string> Lines(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).ToList();

    /// <summary>The log between the marks "kedr-test: FROM" and "kedr-test: TO" (the start or the end if null).</summary>
    private static string Section(string log, string? from, string? to)
    {
        var start = from is null ? 0 : log.IndexOf($"kedr-test: {from}\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no mark {from}");
        var end = to is null ? log.Length : log.IndexOf($"kedr-test: {to}\n", start, StringComparison.Ordinal);
        Assert.True(end >= 0, $"no mark {to}");
        return log[start..end];
    }

    /// <summary>
    /// The module renamed to <paramref name="to"/> (as long as <paramref name="from"/>): the name in
    /// .gnu.linkonce.this_module (struct module) and in .modinfo, the two places the kernel reads it.
    /// </summary>
    private static byte[] Renamed(byte[] ko, string from, string to)
    {
        Assert.Equal(from.Length, to.Length);
        var name = Encoding.ASCII.GetBytes(from + "\0");
        var (off, size) = Section(ko, ".gnu.linkonce.this_module");
        var at = ko.AsSpan(off, size).IndexOf(name);
        Assert.True(at >= 0, "no module name in .gnu.linkonce.this_module");
        Encoding.ASCII.GetBytes(to).CopyTo(ko, off + at);
        (off, size) = Section(ko, ".modinfo");
        at = ko.AsSpan(off, size).IndexOf(Encoding.ASCII.GetBytes("name=" + from + "\0"));
        Assert.True(at >= 0, "no name= in .modinfo");
        Encoding.ASCII.GetBytes(to).CopyTo(ko, off + at + 5);
        return ko;
    }

    /// <summary>File offset and size of an ELF64 section by name.</summary>
    private static (int Offset, int Size) Section(byte[] elf, string name)
    {
        var shoff = (int)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(0x28));
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3A));
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3C));
        int shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3E));
        var strOff = (int)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(shoff + shstrndx * shentsize + 0x18));
        for (var i = 0; i < shnum; i++)
        {
            var sh = elf.AsSpan(shoff + i * shentsize);
            var n = strOff + (int)BinaryPrimitives.ReadUInt32LittleEndian(sh);
            var len = elf.AsSpan(n).IndexOf((byte)0);
            if (Encoding.ASCII.GetString(elf, n, len) == name)
                return ((int)BinaryPrimitives.ReadUInt64LittleEndian(sh[0x18..]), (int)BinaryPrimitives.ReadUInt64LittleEndian(sh[0x20..]));
        }
        throw new InvalidOperationException($"no section {name}");
    }
}
