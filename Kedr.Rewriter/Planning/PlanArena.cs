using Iced.Intel;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Encoders;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// The planned instructions of every function of one module, back to back in one array
/// (with their offsets apart, and the extra bytes of their event sequences), and the decoder
/// that reads them, reused from module to module on the same thread: planning allocates
/// nothing per function or per instruction, and memory stays bounded by the largest module.
/// </summary>
internal sealed class PlanArena
{
    private const int InitialCapacity = 4096;

    [ThreadStatic] private static PlanArena? t_current;

    public PlannedInstruction[] Instructions = new PlannedInstruction[InitialCapacity];
    /// <summary>Each instruction's section offset, kept apart from the big structs so binary searches stay in cache.</summary>
    public int[] Offsets = new int[InitialCapacity];
    public int Count;
    /// <summary>Per function, the indices of its branches into the middle of other functions (which the leave-out pass follows).</summary>
    public int[] Branches = new int[InitialCapacity];
    public int BranchCount;
    /// <summary>
    /// Per function, its branches whose own relocation names a place outside the module's code (indices in
    /// <see cref="Instructions"/>): the only ones <see cref="ImportStubs.Collect"/> needs to visit.
    /// </summary>
    public int[] ImportCandidates = new int[InitialCapacity];
    public int ImportCandidateCount;
    /// <summary>Of the function being planned: its branches not yet resolved and its memory events (indices in the function).</summary>
    public int[] Pending = new int[256];
    public int[] MemoryEvents = new int[256];
    /// <summary>The decoded instructions of the function being planned (reused for the next one).</summary>
    public Instruction[] Decoded = new Instruction[256];
    /// <summary>
    /// Of the function being planned, by offset from its start: the index of the instruction that starts
    /// there, valid where the stamp is the function's (so nothing needs clearing between functions).
    /// </summary>
    /// <remarks>Stamp (high half) and index (low half) in one element: one store per instruction, one load per look-up.</remarks>
    private long[] _marks = new long[InitialCapacity];
    private int _stamp;

    /// <summary>Bytes the copies need besides the originals': the LEAs of memory events.</summary>
    public readonly CodeBuffer Extra = new(InitialCapacity);

    /// <summary>Memory-event decisions by instruction bytes, kept from module to module on this thread.</summary>
    public readonly MemoryEventCache Events = new();

    private readonly MovableCodeReader _reader = new();
    private readonly Decoder _decoder;

    private PlanArena() => _decoder = Decoder.Create(64, _reader, 0, DecoderOptions.None);

    /// <summary>This thread's arena, emptied, with room for about <paramref name="expectedInstructions"/>.</summary>
    /// <remarks>
    /// Sized once for the module rather than doubled from small (each doubling a cleared large array and a
    /// copy): the arrays are allocated uninitialised, as every slot is written before it is read.
    /// </remarks>
    public static PlanArena Rent(int expectedInstructions = 0)
    {
        var arena = t_current ??= new PlanArena();
        if (arena.Instructions.Length < expectedInstructions)
        {
            arena.Instructions = GC.AllocateUninitializedArray<PlannedInstruction>(expectedInstructions);
            arena.Offsets = GC.AllocateUninitializedArray<int>(expectedInstructions);
        }
        arena.Count = 0;
        arena.BranchCount = 0;
        arena.ImportCandidateCount = 0;
        arena.Extra.Clear();
        return arena;
    }

    /// <summary>
    /// The decoder, placed at <paramref name="offset"/> of <paramref name="code"/>'s section (its IP is the
    /// section offset). It reads to the end of the section: an instruction that runs past its function's
    /// end still decodes, and the planner refuses it by its length.
    /// </summary>
    public Decoder DecoderAt(SectionCode code, long offset)
    {
        _reader.MoveTo(code.Bytes, code.BytesOffset + (int)offset, code.BytesOffset + (int)code.Section.Size);
        _decoder.IP = (ulong)offset;
        return _decoder;
    }

    /// <summary>A new instruction at section offset <paramref name="offset"/>; returns its index (its slot is the caller's to fill).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public int Append(int offset)
    {
        if (Count == Instructions.Length)
        {
            Grow(ref Instructions, Count);
            Grow(ref Offsets, Count);
        }
        Offsets[Count] = offset;
        return Count++;
    }

    /// <summary>Starts a function of <paramref name="size"/> bytes for <see cref="MarkStart"/> and <see cref="IndexAt"/>.</summary>
    public void BeginFunction(int size)
    {
        if (_marks.Length < size)
        {
            _marks = new long[Math.Max(size, 2 * _marks.Length)];
            _stamp = 0;
        }
        if (++_stamp == int.MaxValue)
        {
            Array.Clear(_marks);
            _stamp = 1;
        }
    }

    /// <summary>The function's <paramref name="index"/>th instruction starts <paramref name="offset"/> bytes into it.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void MarkStart(int offset, int index) => _marks[offset] = (long)_stamp << 32 | (uint)index;

    /// <summary>Index of the instruction that starts <paramref name="offset"/> bytes into the function, or -1.</summary>
    public int IndexAt(long offset)
    {
        if ((ulong)offset >= (ulong)_marks.Length) return -1;
        long mark = _marks[offset];
        return (int)(mark >> 32) == _stamp ? (int)mark : -1;
    }

    /// <summary>Decodes the function's <paramref name="index"/>th instruction into where it is kept.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public ref Instruction DecodeNext(Decoder decoder, int index)
    {
        if (index == Decoded.Length) Grow(ref Decoded, index);
        ref var slot = ref Decoded[index];
        decoder.Decode(out slot);
        return ref slot;
    }

    public void AddBranch(int index) => Push(ref Branches, ref BranchCount, index);

    /// <summary>Appends <paramref name="value"/> to the first <paramref name="count"/> of <paramref name="list"/>, doubling it when full.</summary>
    public static void Push(ref int[] list, ref int count, int value)
    {
        if (count == list.Length) Grow(ref list, count);
        list[count++] = value;
    }

    /// <summary>Doubles <paramref name="array"/>, keeping its first <paramref name="count"/> elements; the rest uninitialised.</summary>
    private static void Grow<T>(ref T[] array, int count) where T : struct
    {
        var grown = GC.AllocateUninitializedArray<T>(Math.Max(2 * array.Length, 16));
        Array.Copy(array, grown, count);
        array = grown;
    }
}
