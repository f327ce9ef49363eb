namespace Kedr.Output.Races;

/// <summary>The allocation (ALLOC event) that held the raced address when the race was seen.</summary>
public sealed record RaceAllocation(ulong Block, ulong Size, ulong Pc, ulong Offset);
