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

    /// <summary>
    /// Starts a function of <paramref name="size"/> bytes after the instructions planned so far: room for as many
    /// instructions as it has bytes (it cannot have more), taken once, so that the planner writes each one's
    /// slots through the returned <see cref="FunctionRoom"/> with no check and no count kept here per
    /// instruction. <see cref="EndFunction"/> says how many it filled.
    /// </summary>
    public FunctionRoom BeginFunction(int size)
    {
        if (Instructions.Length - Count < size)
        {
            int grown = Math.Max(2 * Instructions.Length, Count + size);
            Grow(ref Instructions, Count, grown);
            Grow(ref Offsets, Count, grown);
        }
        if (Decoded.Length < size) Decoded = GC.AllocateUninitializedArray<Instruction>(Math.Max(size, 2 * Decoded.Length));
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
        return new FunctionRoom(Instructions.AsSpan(Count, size), Offsets.AsSpan(Count, size), Decoded.AsSpan(0, size), _marks.AsSpan(0, size), _stamp);
    }

    /// <summary>Ends the function <see cref="BeginFunction"/> started: its first <paramref name="count"/> slots are its instructions.</summary>
    public void EndFunction(int count) => Count += count;

    /// <summary>Index of the instruction that starts <paramref name="offset"/> bytes into the function, or -1.</summary>
    public int IndexAt(long offset)
    {
        if ((ulong)offset >= (ulong)_marks.Length) return -1;
        long mark = _marks[offset];
        return (int)(mark >> 32) == _stamp ? (int)mark : -1;
    }

    public void AddBranch(int index) => Push(ref Branches, ref BranchCount, index);

    /// <summary>Appends <paramref name="value"/> to the first <paramref name="count"/> of <paramref name="list"/>, doubling it when full.</summary>
    public static void Push(ref int[] list, ref int count, int value)
    {
        if (count == list.Length) Grow(ref list, count);
        list[count++] = value;
    }

    /// <summary>Doubles <paramref name="array"/> (or to <paramref name="length"/>), keeping its first <paramref name="count"/> elements; the rest uninitialised.</summary>
    private static void Grow<T>(ref T[] array, int count, int length = 0) where T : struct
    {
        var grown = GC.AllocateUninitializedArray<T>(Math.Max(Math.Max(2 * array.Length, 16), length));
        Array.Copy(array, grown, count);
        array = grown;
    }
}
