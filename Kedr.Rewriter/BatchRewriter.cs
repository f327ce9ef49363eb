using System.Collections.Concurrent;
using System.Diagnostics;
using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;

namespace Kedr.Rewriter;

/// <summary>One module's outcome in a batch: a report and the blob, or the diagnostic that stopped it.</summary>
public sealed record BatchItem(string Path, RewriteReport? Report, KedrBlob? Blob, KedrDiagnostic? Error);

/// <summary>Instruments many modules, in parallel across cores, in a deterministic order of results.</summary>
public static class BatchRewriter
{
    /// <summary>Every <c>*.ko</c> below <paramref name="directory"/>, sorted by path.</summary>
    public static List<string> FindModules(string directory) =>
        Directory.EnumerateFiles(directory, "*.ko", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();

    /// <param name="onItem">
    /// Called once per module as it completes (from any thread); the blob is dropped after it
    /// returns, so a caller that wants it writes or keeps it there.
    /// </param>
    public static BatchItem[] Run(IReadOnlyList<string> paths, int maxParallelism, bool keepBlobs, Action<BatchItem>? onItem = null)
    {
        var results = new BatchItem[paths.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, maxParallelism) };
        // Largest first balances the cores; results stay in path order.
        var order = Enumerable.Range(0, paths.Count).OrderByDescending(i => SafeLength(paths[i])).ToArray();
        // Each worker builds its blobs in one set of buffers: a blob is done with once onItem returns.
        Parallel.ForEach(Partitioner.Create(order, EnumerablePartitionerOptions.NoBuffering), options, () => new BlobBuffers(),
            (i, _, buffers) =>
            {
                var item = RunOne(paths[i], keepBlobs, buffers);
                onItem?.Invoke(item);
                results[i] = item with { Blob = null };
                return buffers;
            },
            _ => { });
        return results;
    }

    /// <param name="buffers">Reused for the blob (see <see cref="BlobBuffers"/>); null: new tables.</param>
    /// <param name="options">How to rewrite (null: <see cref="RewriteOptions.Default"/>).</param>
    public static BatchItem RunOne(string path, bool keepBlob, BlobBuffers? buffers = null, RewriteOptions? options = null)
    {
        try
        {
            // A worker with buffers is done with each module before the next: its file buffer is reused too.
            var elf = buffers is null ? ElfFile.Read(path) : ElfFile.Read(path, ref t_file);
            if (!ModuleRewriter.TryRewrite(elf, buffers, options ?? RewriteOptions.Default, out var result, out var error))
                return new BatchItem(path, null, null, error);
            return new BatchItem(path, result!.Report, keepBlob ? result.Blob : null, null);
        }
        catch (KedrException e)
        {
            return new BatchItem(path, null, null, e.Diagnostic);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug of ours must not take the rest of the batch down with it.
            return new BatchItem(path, null, null, ModuleRewriter.InternalError(path, e));
        }
    }

    /// <summary>The file buffer of this thread's worker (see <see cref="RunOne"/>).</summary>
    [ThreadStatic] private static byte[]? t_file;

    private static long SafeLength(string path)
    {
        try { return new FileInfo(path).Length; }
        catch (IOException) { return 0; }
    }
}
