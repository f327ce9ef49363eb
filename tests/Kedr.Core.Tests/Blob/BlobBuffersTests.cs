using Kedr.Core.Blob;

namespace Kedr.Core.Tests.Blob;

public sealed class BlobBuffersTests
{
    private static BlobTarget Target(string name) => new(name, "", 1, []);

    [Fact]
    public void A_new_blob_starts_empty_on_the_same_tables_and_retires_the_previous_one()
    {
        var buffers = new BlobBuffers();
        var first = buffers.NewBlob(Target("first"));
        first.Orc.Add(new BlobOrc(0, 1));
        first.Sites.Add(new BlobSite(0, 0, BlobEventKind.Read, BlobSiteFlags.None, 8));
        first.Code = [0xcc];
        var bytes = BlobWriter.WriteUnverified(first);

        var second = buffers.NewBlob(Target("second"));

        Assert.Same(first.Orc, second.Orc); // reused, not reallocated
        Assert.Empty(second.Orc);
        Assert.Empty(second.Sites);
        Assert.Equal("second", second.Target.Name);
        Assert.True(first.IsRetired);
        Assert.False(second.IsRetired);
        var e = Assert.Throws<InvalidOperationException>(() => BlobWriter.Write(first));
        Assert.Contains("first", e.Message);
        Assert.Throws<InvalidOperationException>(() => BlobWriter.Write(first, Stream.Null));
        Assert.NotEmpty(bytes);
    }
}
