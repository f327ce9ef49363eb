namespace Kedr.Rewriter.Tests.Validation;

/// <summary>One way in which a copy does not do what its original does.</summary>
/// <param name="Function">Name of the copied function, or "(blob)" for module-wide findings.</param>
/// <param name="OriginalOffset">Offset in the function of the original instruction concerned, -1 if none.</param>
/// <param name="CopyOffset">Offset in the code image, -1 if none.</param>
public sealed record Discrepancy(string Module, string Function, long OriginalOffset, long CopyOffset,
    string Message, string Original, string Copy)
{
    public override string ToString()
    {
        var s = $"{Module}: {Function}";
        if (OriginalOffset >= 0) s += $"+0x{OriginalOffset:x}";
        if (CopyOffset >= 0) s += $" (image+0x{CopyOffset:x})";
        s += $": {Message}";
        if (Original.Length > 0) s += $"\n    original: {Original.Replace("\n", "\n              ")}";
        if (Copy.Length > 0) s += $"\n    copy:     {Copy.Replace("\n", "\n              ")}";
        return s;
    }
}

/// <summary>What the validator looked at, in figures; every one was checked, none sampled.</summary>
public sealed class ValidationStats
{
    public int Modules;
    public int Functions;
    /// <summary>Original instructions walked (copied, re-emitted, dropped, or inside a live-patch slot).</summary>
    public long Instructions;
    public long Branches;
    public long RipRelative;
    public long Relocations;
    public long Fixups;
    public long Events;
    public long Patches;
    public long DroppedFentry;
    public long FallThroughJumps;
    public long MemoryOperands;
    public long MemoryEvents;
    public long JumpLabelTests;
    public long ExceptionEntries;
    public long Bugs;

    public void Add(ValidationStats o)
    {
        Modules += o.Modules; Functions += o.Functions; Instructions += o.Instructions; Branches += o.Branches;
        RipRelative += o.RipRelative; Relocations += o.Relocations; Fixups += o.Fixups; Events += o.Events;
        Patches += o.Patches; MemoryOperands += o.MemoryOperands; MemoryEvents += o.MemoryEvents; JumpLabelTests += o.JumpLabelTests; ExceptionEntries += o.ExceptionEntries; Bugs += o.Bugs; DroppedFentry += o.DroppedFentry; FallThroughJumps += o.FallThroughJumps;
    }

    public override string ToString() =>
        $"{Modules} modules, {Functions} functions, {Instructions} instructions, {Branches} relative branches, " +
        $"{RipRelative} RIP-relative operands, {Relocations} relocations, {Fixups} fixups, {Events} function events, {MemoryEvents} memory events " +
        $"(of {MemoryOperands} memory operands), " +
        $"{Patches} live-patch slots and landing pads, {JumpLabelTests} jump-label tests, " +
        $"{ExceptionEntries} exception-table entries, {Bugs} bug entries, {DroppedFentry} fentry calls dropped, {FallThroughJumps} fall-through jumps";
}

public sealed class ValidationResult(string module, List<Discrepancy> discrepancies, ValidationStats stats)
{
    public string Module { get; } = module;
    public List<Discrepancy> Discrepancies { get; } = discrepancies;
    public ValidationStats Stats { get; } = stats;
    public bool Ok => Discrepancies.Count == 0;
}
