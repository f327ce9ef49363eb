namespace Kedr.Kernel.Modules;

/// <summary>
/// One patch site: <see cref="Length"/> bytes at <see cref="Offset"/> of section <see cref="SectionIndex"/>
/// (0: the instruction there). <see cref="TargetSection"/>/<see cref="TargetOffset"/> is where a jump
/// label jumps or an exception fixup lands (-1 if none); Replacement* locate an alternative's new bytes.
/// <see cref="AuxSymbol"/> + <see cref="AuxAddend"/> is a jump label's key (flag bits included) or a
/// BUG's file name; <see cref="Data"/> an exception entry's handler data, a BUG's line | flags &lt;&lt; 16,
/// or an alternative's cpuid (feature bit, 0x8000 = applied when the CPU lacks it).
/// </summary>
public readonly record struct PatchSite(
    PatchSiteKind Kind, int SectionIndex, long Offset, int Length,
    int TargetSection = -1, long TargetOffset = -1,
    int ReplacementSection = -1, long ReplacementOffset = -1, int ReplacementLength = 0,
    int AuxSymbol = 0, long AuxAddend = 0, uint Data = 0);
