namespace Kedr.Output.Races;

/// <summary>Limits and the module facts the detector needs (docs/races.md).</summary>
public sealed class RaceDetectorOptions
{
    /// <summary>The live address of the module's init function: everything after it returns happens after it. Null: no init rule.</summary>
    public ulong? InitFunction { get; init; }
    /// <summary>
    /// The live address of the module's exit function: its entry happens after the return of every call a task made
    /// into the module from outside that was not a hand-off's callback (docs/races.md, "Module exit"). Null: no exit rule.
    /// </summary>
    public ulong? ExitFunction { get; init; }
    /// <summary>
    /// Live addresses of setup functions (e.g. a file system's fill_super): each of their returns, like init's,
    /// happens before every thread first seen after it (the kernel publishes what they set up by means the
    /// trace does not show: a mount, then processes started after it).
    /// </summary>
    public IReadOnlySet<ulong> SetupFunctions { get; init; } = new HashSet<ulong>();
    /// <summary>Shadow cells (8 bytes of data each) kept at most.</summary>
    public int ShadowCells { get; init; } = 1 << 21;
    /// <summary>Interned call-stack nodes kept at most.</summary>
    public int StackNodes { get; init; } = 1 << 20;
    /// <summary>Bytes of one access checked at most (REP string operations can cover 64 KiB and more).</summary>
    public uint MaxAccessBytes { get; init; } = 4096;
    /// <summary>Distinct racy pairs kept at most.</summary>
    public int MaxPairs { get; init; } = 10_000;
}
