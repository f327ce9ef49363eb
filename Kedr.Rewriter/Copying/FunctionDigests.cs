using Kedr.Core.Blob;

namespace Kedr.Rewriter.Copying;

/// <summary>
/// <see cref="BlobFormat.Digest"/> (FNV-1a 64) of many functions at once. One digest is a chain of
/// dependent multiplies, a few cycles a byte; four chains run side by side in one loop overlap in
/// the CPU. Functions are taken four at a time in order of size, so the four end close together.
/// </summary>
internal static class FunctionDigests
{
    private const int Lanes = 4;

    /// <param name="bytes">The functions' bytes, masked ranges already zero.</param>
    /// <param name="ranges">Each function's (start, length) in <paramref name="bytes"/>.</param>
    /// <param name="digests">Receives each function's digest, in the order of <paramref name="ranges"/>.</param>
    public static void Compute(ReadOnlySpan<byte> bytes, ReadOnlySpan<(int Start, int Length)> ranges, Span<ulong> digests)
    {
        var order = new int[ranges.Length];
        var lengths = new int[ranges.Length];
        for (int i = 0; i < order.Length; i++) (order[i], lengths[i]) = (i, ranges[i].Length);
        Array.Sort(lengths, order);

        int k = 0;
        for (; k + Lanes <= order.Length; k += Lanes)
        {
            var (a, b, c, d) = (ranges[order[k]], ranges[order[k + 1]], ranges[order[k + 2]], ranges[order[k + 3]]);
            ulong ha = BlobFormat.DigestSeed, hb = ha, hc = ha, hd = ha;
            // Sorted by length: a is the shortest of the four.
            for (int i = 0; i < a.Length; i++)
            {
                ha = (ha ^ bytes[a.Start + i]) * BlobFormat.DigestPrime;
                hb = (hb ^ bytes[b.Start + i]) * BlobFormat.DigestPrime;
                hc = (hc ^ bytes[c.Start + i]) * BlobFormat.DigestPrime;
                hd = (hd ^ bytes[d.Start + i]) * BlobFormat.DigestPrime;
            }
            digests[order[k]] = ha;
            digests[order[k + 1]] = Continue(hb, bytes.Slice(b.Start + a.Length, b.Length - a.Length));
            digests[order[k + 2]] = Continue(hc, bytes.Slice(c.Start + a.Length, c.Length - a.Length));
            digests[order[k + 3]] = Continue(hd, bytes.Slice(d.Start + a.Length, d.Length - a.Length));
        }
        for (; k < order.Length; k++)
            digests[order[k]] = Continue(BlobFormat.DigestSeed, bytes.Slice(ranges[order[k]].Start, ranges[order[k]].Length));
    }

    private static ulong Continue(ulong h, ReadOnlySpan<byte> bytes)
    {
        foreach (byte x in bytes) h = (h ^ x) * BlobFormat.DigestPrime;
        return h;
    }
}
