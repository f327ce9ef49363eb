using System.Security.Cryptography;
using Kedr.Core.Elf;
using Kedr.Core.Tests.Support;
using Kedr.Tests.MutationFuzzing;
using Xunit.Abstractions;

namespace Kedr.Core.Tests.Elf;

/// <summary>
/// Mutation fuzzing of the ELF reader from real modules of the installed kernel (four small, one medium and
/// one large): truncation, bit flips, and fields a reader trusts set to out-of-range offsets and huge counts
/// (<see cref="ElfMutator"/>). At least 100,000 inputs in one run, from a fixed seed: no exception, and every
/// rejection a KEDR1xxx diagnostic of the catalog naming the file and an offset. An accepted input is used
/// as the rewriter would (symbol names, relocations, .modinfo), since names are decoded lazily.
/// The figures (inputs, time, rejections by code) are printed.
/// </summary>
public sealed class ElfFileFuzzTests(ITestOutputHelper output)
{
    /// <summary>Inputs per module: 100,000 in all, most on small modules, where an input costs microseconds.</summary>
    private static readonly (string Module, int Inputs)[] Seeds =
    [
        ("lib/crc7.ko", 25_000), ("lib/crc-itu-t.ko", 20_000), ("fs/nls/nls_ascii.ko", 20_000), ("drivers/net/dummy.ko", 25_000),
        ("fs/fat/fat.ko", 9_000), ("fs/xfs/xfs.ko", 1_000),
    ];

    /// <summary>Wall-time bound for the whole run (it takes a fraction of this on two idle cores).</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public void Mutated_modules_are_read_or_rejected_with_a_numbered_diagnostic_naming_the_offset()
    {
        var tally = new FuzzTally("ELF reader (ElfFile.TryRead)", "KEDR1");
        foreach (var (module, inputs) in Seeds)
        {
            var path = TestEnvironment.Module(module);
            var seed = File.ReadAllBytes(path);
            var digest = SHA256.HashData(seed);
            var m = new ElfMutator(seed);
            var rng = new Random(1300 + Array.FindIndex(Seeds, s => s.Module == module));
            for (int i = 0; i < inputs; i++)
            {
                var (name, length) = m.Mutate(rng);
                var context = $"{module} input {i} ({name}, {length} bytes)";
                try
                {
                    ElfFile.TryRead(m.Bytes.AsMemory(0, length), path, out var elf, out var error);
                    if ((elf is null) == (error is null)) tally.Fail($"{context}: TryRead gave {(elf is null ? "neither a file nor an error" : "both a file and an error")}");
                    else if (elf is not null) Use(elf);
                    tally.Record(name, path, error, context);
                }
                catch (Exception e)
                {
                    tally.Threw(name, e, context);
                }
                m.Undo();
            }
            Assert.True(SHA256.HashData(seed).AsSpan().SequenceEqual(digest), $"{module}: the mutator did not restore the seed");
        }
        tally.Report(output, $"bound {Bound.TotalSeconds:F0} s");
        Assert.True(tally.Inputs >= 100_000, $"{tally.Inputs} inputs");
        Assert.True(tally.Elapsed < Bound, $"took {tally.Elapsed.TotalSeconds:F1} s, bound {Bound.TotalSeconds} s");
    }

    /// <summary>What the rewriter reads of an accepted file.</summary>
    private static void Use(ElfFile elf)
    {
        foreach (var sym in elf.Symbols) _ = sym.Name;
        foreach (var sec in elf.Sections)
            if (sec.Index > 0) _ = elf.GetRelocations(sec).Count;
        _ = elf.ModuleName;
        _ = elf.BuildId.Length;
    }
}
