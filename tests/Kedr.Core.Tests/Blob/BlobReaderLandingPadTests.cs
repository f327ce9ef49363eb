using Kedr.Core.Blob;
using Kedr.Tests.Shared;

namespace Kedr.Core.Tests.Blob;

/// <summary>
/// <see cref="BlobReader"/> applies the loader's landing-pad rules (kedr_blob.c's kedr_read_landing() and
/// kedr_check_landing_pads()): each broken on its own in <see cref="LandingPadBlobs"/> is refused with its code,
/// naming the patch entry. BlobConformanceTests runs the same blobs through the loader's parser.
/// </summary>
public sealed class BlobReaderLandingPadTests
{
    public static TheoryData<string> CaseNames => new(LandingPadBlobs.Cases.Keys);

    [Fact]
    public void A_blob_with_landing_pads_into_a_walkable_copy_is_accepted()
    {
        var bytes = BlobWriter.Write(LandingPadBlobs.Create());
        Assert.True(BlobReader.TryRead(bytes, "pads.kedr", out var blob, out var error), error?.ToString());
        Assert.Equal(2, blob!.Patches.Count(p => p.Kind == BlobPatchKind.Landing));
    }

    [Theory, MemberData(nameof(CaseNames))]
    public void Each_landing_pad_rule_is_checked(string name)
    {
        var c = LandingPadBlobs.Cases[name];
        var bytes = BlobWriter.WriteUnverified(LandingPadBlobs.Broken(name));
        Assert.False(BlobReader.TryRead(bytes, "pads.kedr", out _, out var error), $"{name}: accepted");
        int patches = (int)BitConverter.ToUInt32(bytes, BlobLayout.Header.TableAt(BlobTableId.Patches) + BlobLayout.Table.Offset);
        Assert.Equal((c.Code.Code, "Patches", (long)patches + c.Patch * BlobFormat.PatchSize + c.Field), (error!.Code, error.Section, error.Offset));
    }
}
