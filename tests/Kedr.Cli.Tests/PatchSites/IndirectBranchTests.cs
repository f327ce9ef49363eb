using System.Globalization;
using System.Text.RegularExpressions;
using Kedr.Cli.Vm;
using Kedr.Core.Elf;
using Xunit.Abstractions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// Indirect branches of the copies are events (KEDR_REC_INDIRECT): the sample target's write calls its device's
/// store function through a pointer (cfake_ops_table: cfake_store_plain for even minors, cfake_store_upper for
/// odd). Each write must give one "indirect" event whose pc is the original indirect call (the .retpoline_sites
/// entry of the .ko, placed with the target's kallsyms) and whose destination is the function the device's
/// pointer names (its symbol's live address), and the destination's copy must run.
/// </summary>
public sealed partial class IndirectBranchTests(ITestOutputHelper output)
{
    private const string Target = "kedr_sample_target";

    [Fact]
    public async Task Indirect_calls_are_events_naming_the_targets_own_function_pointers()
    {
        const string script = """
            insmod $KEDR_MODULES/kedr_sample_target.ko
            grep '\[kedr_sample_target\]' /proc/kallsyms > /out/kallsyms.txt
            echo hello > /dev/cfake0
            echo hello > /dev/cfake1
            cat /dev/cfake1 > /out/read.txt
            rmmod kedr_sample_target
            """;
        var r = await PatchSiteRun.RunAsync(new PatchSiteRequest(Target, script), output);
        PatchSiteRun.AssertAttached(r, Target);
        Assert.True(r.Vm.Succeeded, r.Describe());
        Assert.Equal("HELLO\n", r.File("read.txt"));

        var kallsyms = KallsymsLine().Matches(r.File("kallsyms.txt"))
            .ToDictionary(m => m.Groups[2].Value, m => ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber));
        var (function, offset) = RetpolineSite(Path.Combine(RepositoryPaths.Root, "kmod", Target, Target + ".ko"), "cfake_write");
        ulong pc = kallsyms[function] + offset;
        var events = IndirectEvent().Matches(r.Output)
            .Select(m => (Pc: ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber), Dest: ulong.Parse(m.Groups[2].Value, NumberStyles.HexNumber)))
            .ToList();
        Assert.True(events.Count == 2, r.Output);
        Assert.All(events, e => Assert.Equal(pc, e.Pc));
        Assert.Equal([kallsyms["cfake_store_plain"], kallsyms["cfake_store_upper"]], events.Select(e => e.Dest).ToArray());
        r.AssertEntered("cfake_store_upper");
        r.AssertEntered("cfake_store_plain");
    }

    /// <summary>The one .retpoline_sites entry inside <paramref name="function"/>: (function, offset of the call).</summary>
    internal static (string Function, ulong Offset) RetpolineSite(string ko, string function)
    {
        var elf = ElfFile.Read(ko);
        var table = elf.FindSection(".retpoline_sites") ?? throw new InvalidOperationException("no .retpoline_sites");
        var f = elf.Symbols.Single(s => s.IsFunction && s.Name == function);
        var inside = elf.GetRelocations(table)
            .Select(r => (Section: elf.Symbol(r.SymbolIndex).SectionIndex, Offset: (long)elf.Symbol(r.SymbolIndex).Value + r.Addend))
            .Where(s => s.Section == f.SectionIndex && s.Offset >= (long)f.Value && s.Offset < (long)(f.Value + f.Size))
            .ToList();
        Assert.Single(inside);
        return (function, (ulong)(inside[0].Offset - (long)f.Value));
    }

    [GeneratedRegex(@"^TID=0x[0-9a-f]+ indirect at 0x([0-9a-f]+): addr=0x([0-9a-f]+), size=0$", RegexOptions.Multiline)]
    private static partial Regex IndirectEvent();

    [GeneratedRegex(@"^([0-9a-f]+) [tT] (\S+)\s+\[kedr_sample_target\]", RegexOptions.Multiline)]
    private static partial Regex KallsymsLine();
}
