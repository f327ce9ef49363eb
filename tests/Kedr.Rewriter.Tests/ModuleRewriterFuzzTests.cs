using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Rewriter.Tests.Validation;
using Kedr.Tests.MutationFuzzing;
using Xunit.Abstractions;

namespace Kedr.Rewriter.Tests;

/// <summary>
/// The rewriter over mutated modules (<see cref="ElfMutator"/>: truncation, bit flips, out-of-range offsets,
/// huge counts): every input the ELF reader accepts goes through <see cref="ModuleRewriter.TryRewrite(ElfFile, BlobBuffers?, out RewriteResult?, out KedrDiagnostic?)"/>,
/// which must neither throw nor report an internal error (KEDR2900, its net for bugs): what it refuses is a
/// numbered diagnostic of the input (KEDR1xxx) naming the file and an offset; a blob it writes must be read
/// back by the blob reader. 10,000 inputs from a fixed seed; the figures are printed.
/// </summary>
public sealed class ModuleRewriterFuzzTests(ITestOutputHelper output)
{
    private static readonly (string Module, int Inputs)[] Seeds =
        [("lib/crc7.ko", 3_000), ("drivers/net/dummy.ko", 3_000), ("fs/nls/nls_ascii.ko", 2_000), ("lib/crc-itu-t.ko", 2_000)];

    [Fact]
    public void Mutated_modules_never_make_TryRewrite_throw_or_fail_internally()
    {
        var tally = new FuzzTally("rewriter (ModuleRewriter.TryRewrite over accepted mutated ELF)", "KEDR1");
        int rewritten = 0, readerRejected = 0;
        var buffers = new BlobBuffers();
        foreach (var (module, inputs) in Seeds)
        {
            var path = KernelCorpus.Module(module);
            var m = new ElfMutator(File.ReadAllBytes(path));
            var rng = new Random(1400 + Array.FindIndex(Seeds, s => s.Module == module));
            for (int i = 0; i < inputs; i++)
            {
                var (name, length) = m.Mutate(rng);
                var context = $"{module} input {i} ({name}, {length} bytes)";
                try
                {
                    if (!ElfFile.TryRead(m.Bytes.AsMemory(0, length), path, out var elf, out var readError))
                    {
                        readerRejected++;
                        tally.Record(name, path, readError, context);
                    }
                    else if (ModuleRewriter.TryRewrite(elf!, buffers, out var result, out var error))
                    {
                        rewritten++;
                        var blob = BlobWriter.Write(result!.Blob);
                        if (!BlobReader.TryRead(blob, "fuzz.kedr", out _, out var blobError))
                            tally.Fail($"{context}: the blob written is refused by the blob reader: {blobError}");
                        tally.Record(name, path, null, context);
                    }
                    else
                    {
                        if (error!.Code == DiagnosticCodes.RewriterInternalError.Code) tally.Fail($"{context}: {error}");
                        tally.Record(name, path, error, context);
                    }
                }
                catch (Exception e)
                {
                    tally.Threw(name, e, context);
                }
                m.Undo();
            }
        }
        tally.Report(output, $"{readerRejected} refused by the ELF reader, {rewritten} rewritten");
        Assert.True(tally.Inputs >= 10_000, $"{tally.Inputs} inputs");
    }
}
