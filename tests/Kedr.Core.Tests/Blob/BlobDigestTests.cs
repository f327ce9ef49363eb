using Kedr.Core.Blob;

namespace Kedr.Core.Tests.Blob;

/// <summary>
/// <see cref="BlobFormat.Digest(ReadOnlySpan{byte}, ReadOnlySpan{BlobMask})"/> (1.2: FNV-1a 64 steps over
/// 8-byte little-endian words, then the tail bytes) and <see cref="BlobFormat.ByteDigest"/> (1.0, 1.1: plain
/// FNV-1a 64), each against a reference written out here over a copy with the masked bytes zeroed.
/// </summary>
public sealed class BlobDigestTests
{
    private const ulong Basis = 14695981039346656037UL, Prime = 1099511628211UL; // as published

    /// <summary>FNV-1a 64, as published.</summary>
    private static ulong Fnv1a64(byte[] bytes)
    {
        ulong h = Basis;
        foreach (var b in bytes)
        {
            h ^= b;
            h *= Prime;
        }
        return h;
    }

    /// <summary>The 1.2 digest spelled out: each word assembled byte by byte, least significant first.</summary>
    private static ulong WordFnv(byte[] bytes)
    {
        ulong h = Basis;
        int i = 0;
        for (; i + 8 <= bytes.Length; i += 8)
        {
            ulong w = 0;
            for (int j = 7; j >= 0; j--) w = (w << 8) | bytes[i + j];
            h = (h ^ w) * Prime;
        }
        for (; i < bytes.Length; i++) h = (h ^ bytes[i]) * Prime;
        return h;
    }

    private static byte[] Zeroed(byte[] bytes, BlobMask[] masks)
    {
        var copy = (byte[])bytes.Clone();
        foreach (var m in masks)
            for (long i = m.Offset; i < (long)m.Offset + m.Length; i++) copy[i] = 0;
        return copy;
    }

    [Theory]
    [InlineData("", 0xcbf29ce484222325UL)]
    [InlineData("a", 0xaf63dc4c8601ec8cUL)]
    [InlineData("foobar", 0x85944171f73967e8UL)]
    public void Byte_digest_is_FNV1a_64_and_so_is_the_word_digest_under_8_bytes(string text, ulong expected)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(text);
        Assert.Equal(expected, Fnv1a64(bytes));
        Assert.Equal(expected, BlobFormat.ByteDigest(bytes, []));
        Assert.Equal(expected, BlobFormat.Digest(bytes, []));
    }

    [Fact]
    public void Word_digest_takes_little_endian_words_then_the_tail()
    {
        var bytes = Enumerable.Range(1, 11).Select(i => (byte)i).ToArray();
        ulong h = unchecked((Basis ^ 0x0807060504030201UL) * Prime);
        h = (h ^ 9) * Prime;
        h = (h ^ 10) * Prime;
        h = (h ^ 11) * Prime;
        Assert.Equal(h, BlobFormat.Digest(bytes, []));
        Assert.Equal(h, WordFnv(bytes));
        Assert.NotEqual(Fnv1a64(bytes), h);
    }

    [Fact]
    public void Constants_are_the_FNV1a_64_ones()
    {
        Assert.Equal(Basis, BlobFormat.DigestSeed);
        Assert.Equal(Prime, BlobFormat.DigestPrime);
    }

    [Fact]
    public void The_header_flag_chooses_the_digest()
    {
        var bytes = Enumerable.Range(0, 40).Select(i => (byte)(7 * i + 3)).ToArray();
        Assert.Equal(WordFnv(bytes), BlobFormat.Digest(bytes, [], BlobHeaderFlags.WordDigest));
        Assert.Equal(Fnv1a64(bytes), BlobFormat.Digest(bytes, [], BlobHeaderFlags.None));
        Assert.True(new KedrBlob { Target = new BlobTarget("t", "", 1, []) }.Flags.HasFlag(BlobHeaderFlags.WordDigest));
    }

    [Fact]
    public void Masked_bytes_count_as_zero()
    {
        var bytes = new byte[] { 0xe8, 1, 2, 3, 4, 0x90, 0xc3, 0x55, 0x48, 0x89 };
        var masks = new[] { new BlobMask(1, 4) };
        Assert.Equal(WordFnv([0xe8, 0, 0, 0, 0, 0x90, 0xc3, 0x55, 0x48, 0x89]), BlobFormat.Digest(bytes, masks));
        Assert.Equal(Fnv1a64([0xe8, 0, 0, 0, 0, 0x90, 0xc3, 0x55, 0x48, 0x89]), BlobFormat.ByteDigest(bytes, masks));
        foreach (var flags in new[] { BlobHeaderFlags.None, BlobHeaderFlags.WordDigest })
        {
            Assert.NotEqual(BlobFormat.Digest(bytes, [], flags), BlobFormat.Digest(bytes, masks, flags));
            // What a mask covers does not matter; what it does not cover does, in a word or in the tail.
            var other = (byte[])bytes.Clone();
            other[2] = 0x77;
            Assert.Equal(BlobFormat.Digest(bytes, masks, flags), BlobFormat.Digest(other, masks, flags));
            other[5] = 0x91;
            Assert.NotEqual(BlobFormat.Digest(bytes, masks, flags), BlobFormat.Digest(other, masks, flags));
            other[5] = bytes[5];
            other[9] = 0x8b;
            Assert.NotEqual(BlobFormat.Digest(bytes, masks, flags), BlobFormat.Digest(other, masks, flags));
        }
    }

    [Theory]
    [InlineData(new uint[] { 0, 3 })]          // at the start
    [InlineData(new uint[] { 13, 3 })]         // at the end
    [InlineData(new uint[] { 0, 16 })]         // everything
    [InlineData(new uint[] { 2, 2, 4, 3 })]    // adjacent
    [InlineData(new uint[] { 3, 0, 3, 2 })]    // empty, then one at the same place
    [InlineData(new uint[] { 6, 4 })]          // across a word boundary
    [InlineData(new uint[] { 1, 1, 5, 1, 9, 1, 15, 1 })]
    public void Edge_cases_match(uint[] pairs)
    {
        var bytes = Enumerable.Range(0, 16).Select(i => (byte)(0x31 * i + 5)).ToArray();
        var masks = pairs.Chunk(2).Select(p => new BlobMask(p[0], p[1])).ToArray();
        Assert.Equal(WordFnv(Zeroed(bytes, masks)), BlobFormat.Digest(bytes, masks));
        Assert.Equal(Fnv1a64(Zeroed(bytes, masks)), BlobFormat.ByteDigest(bytes, masks));
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
            var zeroed = Zeroed(bytes, [.. masks]);
            Assert.True(WordFnv(zeroed) == BlobFormat.Digest(bytes, masks.ToArray()) && Fnv1a64(zeroed) == BlobFormat.ByteDigest(bytes, masks.ToArray()),
                $"iteration {iter}: {bytes.Length} bytes, masks {string.Join(' ', masks)}");
        }
    }
}
