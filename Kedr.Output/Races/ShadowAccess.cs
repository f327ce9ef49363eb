namespace Kedr.Output.Races;

/// <summary>
/// One memory access as the shadow keeps it: who (epoch), where from (pc, stack), which bytes of the cell, and the
/// record's flags (per-CPU, own task: <see cref="RaceDetector"/>'s exclusions).
/// </summary>
public readonly record struct ShadowAccess(long Epoch, ulong Pc, int Stack, ulong Timestamp, ulong Addr, uint Size, uint Tid, byte Mask, bool IsWrite, byte Cpu, int LockSet,
    TraceRecordFlags Flags = 0)
{
    public bool IsNone => Epoch == Races.Epoch.None;
}
