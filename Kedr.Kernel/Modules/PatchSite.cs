namespace Kedr.Kernel.Modules;

/// <summary>
/// One patch site: <see cref="Length"/> bytes at <see cref="Offset"/> of section <see cref="SectionIndex"/>.
/// <see cref="TargetSection"/>/<see cref="TargetOffset"/> is where a jump label jumps or an
/// exception fixup lands (-1 if none); <see cref="Replacement"/> locates an alternative's new bytes.
/// </summary>
public readonly record struct PatchSite(
    PatchSiteKind Kind, int SectionIndex, long Offset, int Length,
    int TargetSection = -1, long TargetOffset = -1,
    int ReplacementSection = -1, long ReplacementOffset = -1, int ReplacementLength = 0);
