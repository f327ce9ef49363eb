using Kedr.Core.Blob;
using Kedr.Rewriter.Copying;

namespace Kedr.Rewriter.Tests.Copying;

/// <summary>The four-at-a-time digests against the format's one-at-a-time definition.</summary>
public sealed class FunctionDigestsTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(9)]
    [InlineData(257)]
    public void Each_digest_is_the_formats_digest_of_its_range(int functions)
    {
        var random = new Random(functions);
        var bytes = new byte[functions * 300 + 1];
        random.NextBytes(bytes);
        // Lengths from 0 up, some equal, ranges in no particular order and overlapping.
        var ranges = new (int Start, int Length)[functions];
        for (int i = 0; i < functions; i++)
        {
            int length = i % 5 == 0 ? 17 : random.Next(0, 300);
            ranges[i] = (random.Next(0, bytes.Length - length), length);
        }
        var digests = new ulong[functions];

        FunctionDigests.Compute(bytes, ranges, digests);

        for (int i = 0; i < functions; i++)
            Assert.Equal(BlobFormat.Digest(bytes.AsSpan(ranges[i].Start, ranges[i].Length), []), digests[i]);
    }
}
