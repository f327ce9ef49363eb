using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Rewriter.Tests.Validation;

namespace Kedr.Rewriter.Tests;

/// <summary>
/// The rewriter keeps working memory per thread (planned instructions, the decoder) from one
/// module to the next: nothing of one module may show in another's blob.
/// </summary>
public sealed class ModuleRewriterReuseTests
{
    private static byte[] Rewrite(string path) => BlobWriter.Write(ModuleRewriter.Rewrite(ElfFile.Read(path)).Blob);

    private static T OnNewThread<T>(Func<T> work)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { result = work(); }
            catch (Exception e) { failure = e; }
        });
        thread.Start();
        thread.Join();
        if (failure is not null) throw new InvalidOperationException("rewrite failed", failure);
        return result;
    }

    [Fact]
    public void Modules_rewritten_after_others_on_one_thread_give_the_blobs_of_a_fresh_thread()
    {
        string big = KernelCorpus.Module("fs/btrfs/btrfs.ko"), small = KernelCorpus.Module("drivers/block/loop.ko"),
            middle = KernelCorpus.Module("fs/fat/fat.ko");
        var freshSmall = OnNewThread(() => Rewrite(small));
        var freshMiddle = OnNewThread(() => Rewrite(middle));

        // The big module first fills the thread's arena with other instructions and longer extra bytes.
        var (afterBig, afterSmall, again) = OnNewThread(() =>
        {
            Rewrite(big);
            return (Rewrite(small), Rewrite(middle), Rewrite(small));
        });

        Assert.True(freshSmall.AsSpan().SequenceEqual(afterBig), "loop.ko after btrfs.ko differs from loop.ko on a fresh thread");
        Assert.True(freshMiddle.AsSpan().SequenceEqual(afterSmall), "fat.ko after loop.ko differs from fat.ko on a fresh thread");
        Assert.True(freshSmall.AsSpan().SequenceEqual(again), "loop.ko rewritten a second time differs from the first");
    }

    [Fact]
    public void Blobs_built_in_reused_buffers_equal_blobs_built_in_new_ones_and_the_previous_blob_is_retired()
    {
        string big = KernelCorpus.Module("fs/btrfs/btrfs.ko"), small = KernelCorpus.Module("drivers/block/loop.ko"),
            middle = KernelCorpus.Module("fs/fat/fat.ko");
        var buffers = new BlobBuffers();
        KedrBlob? previous = null;
        // The big module first leaves long tables behind; a smaller one must not show any of them.
        foreach (var path in new[] { big, small, middle, small })
        {
            Assert.True(ModuleRewriter.TryRewrite(ElfFile.Read(path), buffers, out var result, out var error), error?.ToString());
            var reused = BlobWriter.Write(result!.Blob);
            Assert.True(Rewrite(path).AsSpan().SequenceEqual(reused), $"{Path.GetFileName(path)} in reused buffers differs");
            if (previous is not null)
            {
                Assert.True(previous.IsRetired);
                Assert.Throws<InvalidOperationException>(() => BlobWriter.Write(previous));
            }
            Assert.False(result.Blob.IsRetired);
            previous = result.Blob;
        }
    }
}
