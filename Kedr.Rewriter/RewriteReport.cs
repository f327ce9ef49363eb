using Kedr.Kernel.Modules;

namespace Kedr.Rewriter;

/// <summary>A function that got no copy, and why.</summary>
public readonly record struct LeftOutFunction(string Name, string Section, long Offset, int Size, string Reason);

/// <summary>What the rewriter did with one module, in figures a person can check.</summary>
public sealed class RewriteReport
{
    public required string Module { get; init; }
    public required string Path { get; init; }
    /// <summary>Functions of at least 5 bytes, static-call trampolines aside.</summary>
    public int Functions { get; init; }
    public int Copied { get; init; }
    /// <summary>Function symbols under 5 bytes (no room for the entry jump).</summary>
    public int TooSmall { get; init; }
    /// <summary>Static-call trampolines: the kernel's, rewritten in place, never copied (not in <see cref="Functions"/>).</summary>
    public int StaticCallTrampolines { get; init; }
    /// <summary>Aliases and overlapping symbols: the code is covered by another symbol.</summary>
    public int Aliases { get; init; }
    public long Instructions { get; init; }
    /// <summary>Bytes of original code in the copied functions.</summary>
    public long OriginalBytes { get; init; }
    public long CodeBytes { get; init; }
    public int Fixups { get; init; }
    public int EventSites { get; init; }
    /// <summary>Places in the middle of copied functions that data points to, given a jump to the copy.</summary>
    public int LandingPads { get; init; }
    /// <summary>Exception-table and BUG/WARN entries moved to the copies.</summary>
    public int ExceptionEntries { get; init; }
    public int BugEntries { get; init; }
    /// <summary>ORC unwind entries describing the copies.</summary>
    public int OrcEntries { get; init; }
    public List<LeftOutFunction> LeftOut { get; init; } = [];
    /// <summary>Instructions of copied functions that access memory (LEA, NOP r/m, PREFETCH do not).</summary>
    public long MemoryAccesses { get; init; }
    public long MemoryInstrumented { get; init; }
    /// <summary>Memory-accessing instructions not instrumented: "reason: instruction at function+off".</summary>
    public List<string> NotInstrumented { get; init; } = [];
    /// <summary>Patch sites inside copied functions, by kind.</summary>
    public Dictionary<PatchSiteKind, int> PatchSitesHandled { get; init; } = [];
    /// <summary>Patch sites inside functions left out, by kind.</summary>
    public Dictionary<PatchSiteKind, int> PatchSitesInLeftOut { get; init; } = [];
}
