using System.Runtime.InteropServices;
using Kedr.Core.Blob;
using Kedr.Rewriter.Layout;

namespace Kedr.Rewriter.Tables;

/// <summary>
/// The blob's function records, in blob order: where each copy is, the original's masks (<see cref="Masks"/>)
/// and its digest over its bytes with the masks zeroed, which the loader compares with the live module.
/// </summary>
internal static class FunctionTable
{
    public static void Build(ModuleLayout layout, KedrBlob blob)
    {
        var copied = layout.Copied;
        int largest = 0;
        foreach (var plan in copied) largest = Math.Max(largest, plan.Function.Size);
        var masked = Masked(largest);
        foreach (var plan in copied)
        {
            var f = plan.Function;
            uint first = (uint)blob.Masks.Count;
            uint count = (uint)Masks.Add(plan, blob.Masks);
            var bytes = masked.AsSpan(0, f.Size);
            plan.Code.Span(f.Start, f.Size).CopyTo(bytes);
            BlobFormat.ZeroMasked(bytes, CollectionsMarshal.AsSpan(blob.Masks).Slice((int)first, (int)count));
            var flags = (f.Section.IsInit ? BlobFunctionFlags.Init : 0) | (f.IsPart ? BlobFunctionFlags.Part : 0);
            var place = layout[f.Id];
            blob.Functions.Add(new BlobFunction(f.Name, (uint)f.Symbol.Index, (uint)f.Size, (uint)place.CopyOffset,
                (uint)place.CopySize, first, count, flags, BlobFormat.Digest(bytes, [], blob.Flags), (uint)layout.BlobIndex(f.Owner.Id)));
        }
        // A part whose owner is left out reports for itself.
        for (int i = 0; i < blob.Functions.Count; i++)
            if (blob.Functions[i].Owner == uint.MaxValue)
                blob.Functions[i] = blob.Functions[i] with { Owner = (uint)i, Flags = blob.Functions[i].Flags & ~BlobFunctionFlags.Part };
    }

    /// <summary>Each function's bytes with its masks zeroed, for its digest: this thread's buffer, reused.</summary>
    [ThreadStatic] private static byte[]? t_masked;

    private static byte[] Masked(int length)
    {
        if (t_masked is not { } buffer || buffer.Length < length)
            t_masked = buffer = new byte[Math.Max(length, 2 * (t_masked?.Length ?? 0))];
        return buffer;
    }
}
