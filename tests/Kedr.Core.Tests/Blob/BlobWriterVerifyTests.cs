using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;
using Kedr.Tests.Shared;

namespace Kedr.Core.Tests.Blob;

/// <summary>
/// <see cref="BlobWriter.Write(KedrBlob)"/> refuses a blob the loader would refuse, before writing a byte: each
/// blob below breaks one rule, and the writer reports exactly what <see cref="BlobReader"/> (held equal to
/// kedr_blob.c by the conformance tests) says of the same blob written without the check — the rule's code,
/// its message, the table and offset — as an internal error (KEDR2903).
/// </summary>
public sealed class BlobWriterVerifyTests
{
    private static readonly Dictionary<string, Action<KedrBlob>> Breaks = new()
    {
        ["site of a function out of range"] = b => b.Sites[1] = b.Sites[1] with { Function = 9 },
        ["fixup to the null symbol"] = b => b.Fixups[0] = b.Fixups[0] with { Index = 0 },
        ["ORC entries unsorted"] = b => b.Orc[2] = b.Orc[2] with { CopyOffset = 1 },
        ["masks overlapping"] = b => b.Masks[1] = new BlobMask(2, 4),
        ["a part that owns itself"] = b => b.Functions[1] = b.Functions[1] with { Owner = 1 },
        ["BUG flags the kernel does not know"] = b => b.Bugs[0] = b.Bugs[0] with { Flags = 0x00f0 },
        ["exception handler type BPF"] = b => b.ExTable[0] = b.ExTable[0] with { Data = BlobFormat.ExTypeBpf },
        ["jump label target past the code"] = b => b.Patches[1] = b.Patches[1] with { TargetCopyOffset = 100_000 },
        ["function below 5 bytes"] = b => b.Functions[2] = b.Functions[2] with { Size = 4 },
    };

    public static TheoryData<string> SampleCases => new(Breaks.Keys);
    public static TheoryData<string> LandingPadCases => new(LandingPadBlobs.Cases.Keys);

    [Fact]
    public void Valid_blobs_are_written()
    {
        Assert.True(BlobReader.TryRead(BlobWriter.Write(SampleBlob.Create()), "sample.kedr", out _, out var error), error?.ToString());
        Assert.True(BlobReader.TryRead(BlobWriter.Write(LandingPadBlobs.Create()), "pads.kedr", out _, out error), error?.ToString());
    }

    [Theory, MemberData(nameof(SampleCases))]
    public void A_broken_record_is_refused_as_the_reader_refuses_it(string name)
    {
        var blob = SampleBlob.Create();
        Breaks[name](blob);
        AssertRefusedAsTheReaderDoes(blob, name);
    }

    [Theory, MemberData(nameof(LandingPadCases))]
    public void A_broken_landing_pad_is_refused_as_the_reader_refuses_it(string name) =>
        AssertRefusedAsTheReaderDoes(LandingPadBlobs.Broken(name), name);

    private static void AssertRefusedAsTheReaderDoes(KedrBlob blob, string name)
    {
        var bytes = BlobWriter.WriteUnverified(blob);
        Assert.False(BlobReader.TryRead(bytes, blob.Target.Name + ".kedr", out _, out var read), $"{name}: the reader takes it");

        var e = Assert.Throws<KedrException>(() => BlobWriter.Write(blob));
        Assert.Throws<KedrException>(() => BlobWriter.Write(blob, Stream.Null));
        var d = e.Diagnostic;
        Assert.Equal(DiagnosticCodes.RewriterBlobBreaksLoaderRule.Code, d.Code);
        Assert.Equal($"internal error: the blob breaks the loader's rule {read!.Code}: {read.Message}", d.Message);
        Assert.Equal((read.File, read.Section, read.Offset), (d.File, d.Section, d.Offset));
    }
}
