using Kedr.Core.Blob;

namespace Kedr.Core.Tests.Blob;

/// <summary><see cref="BlobFormat.Digest"/> against a plain FNV-1a 64 over a copy with the masked bytes zeroed.</summary>
public sealed class BlobDigestTests
{
    /// <summary>FNV-1a 64, as published (offset basis 14695981039346656037, prime 2^40 + 2^8 + 0xb3).</summary>
    private static ulong Fnv1a64(byte[] bytes)
    {
        ulong h = 14695981039346656037UL;
        foreach (var b in bytes)
        {
            h ^= b;
            h *= 1099511628211UL;
        }
        return h;
    }

    private static ulong Expected(byte[] bytes, BlobMask[] masks)
    {
        var copy = (byte[])bytes.Clone();
        foreach (var m in masks)
            for (long i = m.Offset; i < (long)m.Offset + m.Length; i++) copy[i] = 0;
        return Fnv1a64(copy);
    }

    [Theory]
    [InlineData("", 0xcbf29ce484222325UL)]
    [InlineData("a", 0xaf63dc4c8601ec8cUL)]
    [InlineData("foobar", 0x85944171f73967e8UL)]
    public void Unmasked_digest_is_FNV1a_64(string text, ulong expected)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(text);
        Assert.Equal(expected, Fnv1a64(bytes));
        Assert.Equal(expected, BlobFormat.Digest(bytes, []));
    }

    [Fact]
    public void Constants_are_the_FNV1a_64_ones()
    {
        Assert.Equal(14695981039346656037UL, BlobFormat.DigestSeed);
        Assert.Equal(1099511628211UL, BlobFormat.DigestPrime);
    }

    [Fact]
    public void Masked_bytes_count_as_zero()
    {
        var bytes = new byte[] { 0xe8, 1, 2, 3, 4, 0x90, 0xc3 };
        var masks = new[] { new BlobMask(1, 4) };
        Assert.Equal(Fnv1a64([0xe8, 0, 0, 0, 0, 0x90, 0xc3]), BlobFormat.Digest(bytes, masks));
        Assert.NotEqual(BlobFormat.Digest(bytes, []), BlobFormat.Digest(bytes, masks));
        // What a mask covers does not matter; what it does not cover does.
        var other = (byte[])bytes.Clone();
        other[2] = 0x77;
        Assert.Equal(BlobFormat.Digest(bytes, masks), BlobFormat.Digest(other, masks));
        other[5] = 0x91;
        Assert.NotEqual(BlobFormat.Digest(bytes, masks), BlobFormat.Digest(other, masks));
    }

    [Theory]
    [InlineData(new uint[] { 0, 3 })]          // at the start
    [InlineData(new uint[] { 13, 3 })]         // at the end
    [InlineData(new uint[] { 0, 16 })]         // everything
    [InlineData(new uint[] { 2, 2, 4, 3 })]    // adjacent
    [InlineData(new uint[] { 3, 0, 3, 2 })]    // empty, then one at the same place
    [InlineData(new uint[] { 1, 1, 5, 1, 9, 1, 15, 1 })]
    public void Edge_cases_match(uint[] pairs)
    {
        var bytes = Enumerable.Range(0, 16).Select(i => (byte)(0x31 * i + 5)).ToArray();
        var masks = pairs.Chunk(2).Select(p => new BlobMask(p[0], p[1])).ToArray();
        Assert.Equal(Expected(bytes, masks), BlobFormat.Digest(bytes, masks));
    }

    [Fact]
    public void Random_functions_and_masks_match()
    {
        var rng = new Random(11);
        for (int iter = 0; iter < 2000; iter++)
        {
            var bytes = new byte[rng.Next(5, 300)];
            rng.NextBytes(bytes);
            // Sorted, disjoint masks (what the reader accepts), sometimes adjacent or empty.
            var masks = new List<BlobMask>();
            int pos = 0;
            while (rng.Next(4) != 0)
            {
                pos += rng.Next(0, 12);
                if (pos > bytes.Length) break;
                int len = Math.Min(rng.Next(0, 9), bytes.Length - pos);
                masks.Add(new BlobMask((uint)pos, (uint)len));
                pos += len;
            }
            Assert.True(Expected(bytes, [.. masks]) == BlobFormat.Digest(bytes, masks.ToArray()),
                $"iteration {iter}: {bytes.Length} bytes, masks {string.Join(' ', masks)}");
        }
    }
}
