namespace Kedr.Output.Races;

/// <summary>One side of a race: the access, its thread, its call stack (function entry addresses, innermost first) and the locks it held.</summary>
public sealed record RaceAccess(bool IsWrite, ulong Pc, ulong Addr, uint Size, ThreadIdentity Thread, uint Tid, int Cpu, ulong Timestamp, IReadOnlyList<ulong> Stack)
{
    public IReadOnlyList<HeldLock> Locks { get; init; } = [];
}
