using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kedr.Core.Blob;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// The memory-event decisions already made for an instruction's bytes: an instruction without a relocation
/// and without a RIP-relative operand is classified and its address computation encoded from its bytes alone
/// (64-bit mode, nothing of its place), and kernel code repeats the same few thousand memory instructions
/// (<c>mov 0x8(%rdi),%rax</c>) over and over. One direct-mapped table per thread (it lives in the
/// <see cref="PlanArena"/>), kept from module to module; a miss is planned as before and replaces the entry.
/// </summary>
/// <remarks>Only what a decision gives is kept: instructions left uninstrumented (whose reason names their place) are not.</remarks>
internal sealed class MemoryEventCache
{
    private const int Bits = 16;
    private readonly Entry[] _entries = new Entry[1 << Bits];

    /// <summary>What <see cref="FunctionPlanner"/> decided for one instruction's bytes.</summary>
    internal struct Entry
    {
        public ulong Low, High;
        /// <summary>The instruction's length; 0: the entry is empty.</summary>
        public byte Length;
        public MemoryClass Class;
        public BlobEventKind Kind;
        public BlobSiteFlags Flags;
        public ushort Size;
        public bool RaxDead, LockedDoneAfter;
        public byte LeaLength;
        public sbyte LeaDisplacementOffset;
        /// <summary>The address computation's bytes (at most 10: <c>movabs</c>, or <c>push %reg</c> and a LEA).</summary>
        public ulong Lea0, Lea1;

        public readonly ReadOnlySpan<byte> LeaBytes =>
            MemoryMarshal.AsBytes(MemoryMarshal.CreateReadOnlySpan(in Lea0, 2))[..LeaLength];
    }

    /// <summary>
    /// The key of the <paramref name="length"/> bytes at <paramref name="at"/> of <paramref name="bytes"/>: false
    /// where fewer than 16 bytes follow (read as two 8-byte words), such an instruction is not cached.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryKey(byte[] bytes, int at, int length, out ulong low, out ulong high)
    {
        if ((uint)at > (uint)bytes.Length - 16 || bytes.Length < 16)
        {
            low = high = 0;
            return false;
        }
        ref byte b = ref bytes[at];
        low = Unsafe.ReadUnaligned<ulong>(ref b);
        high = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, 8));
        if (length < 8)
        {
            low &= (1UL << (8 * length)) - 1;
            high = 0;
        }
        else high &= length == 8 ? 0 : ulong.MaxValue >> (8 * (16 - length));
        return true;
    }

    /// <summary>The entry of the key's slot; <paramref name="found"/>: it holds that instruction's decision.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref readonly Entry Find(ulong low, ulong high, int length, out bool found)
    {
        ref var e = ref _entries[Slot(low, high)];
        found = e.Length == length && e.Low == low && e.High == high;
        return ref e;
    }

    /// <summary>Forgets every decision (tests: the next planning decides each instruction afresh once).</summary>
    internal void Clear() => Array.Clear(_entries);

    /// <summary>Keeps <paramref name="entry"/> for its key, in place of what its slot held.</summary>
    public void Put(in Entry entry) => _entries[Slot(entry.Low, entry.High)] = entry;

    /// <summary>Writable view of an entry's address bytes, to fill before <see cref="Put"/>.</summary>
    public static Span<byte> LeaBuffer(ref Entry entry) => MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref entry.Lea0, 2));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Slot(ulong low, ulong high) =>
        (int)((low * 0x9E3779B97F4A7C15UL ^ high * 0xC2B2AE3D27D4EB4FUL) >> (64 - Bits));
}
