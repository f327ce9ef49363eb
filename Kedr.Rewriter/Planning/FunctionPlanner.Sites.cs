using Iced.Intel;
using Kedr.Core.Elf;
using Kedr.Kernel.Modules;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Encoders;

namespace Kedr.Rewriter.Planning;

/// <summary>The planner's decisions for run-time patch sites: fentry, alternatives and paravirt sites, jump labels.</summary>
internal sealed partial class FunctionPlanner
{
    private string? PlanSite(FunctionInfo f, SectionCode code, ref PlannedInstruction p, in Instruction instr, in PatchSite site, int siteAt, ref long absorbUntil)
    {
        switch (site.Kind)
        {
            case PatchSiteKind.Fentry:
                p.Kind = EmitKind.Drop;
                break;
            case PatchSiteKind.Alternative or PatchSiteKind.Paravirt:
                if (site.Length == 0) return PlanInstruction(f, code, ref p, instr);
                if (site.Length < p.Length)
                    return $"{site.Kind} site at +0x{p.Offset - f.Start:x} is shorter than its instruction";
                if (site.Offset + site.Length > f.End)
                    return $"{site.Kind} site at +0x{p.Offset - f.Start:x} runs past the function";
                if (IsJump(code.ByteAt(site.Offset)) || _alternatives.Any(ReplacementStartsWithJump))
                {
                    var why = PlanJumpingAlternative(f, ref p, site);
                    if (why is not null) return why;
                    absorbUntil = site.Offset + site.Length;
                    break;
                }
                p.Kind = EmitKind.LiveBytesSlot;
                p.SlotLength = (ushort)site.Length;
                absorbUntil = site.Offset + site.Length;
                break;
            case PatchSiteKind.JumpLabel:
                if (!(p.Length is 2 or 5))
                    return $"jump label at +0x{p.Offset - f.Start:x} is {p.Length} bytes, expected 2 or 5";
                p.Kind = EmitKind.JumpLabelTest;
                p.TargetSection = site.TargetSection;
                p.TargetOffset = site.TargetOffset;
                p.SiteIndex = siteAt;
                break;
        }
        p.Size = (ushort)(p.EventBytes + p.Kind switch
        {
            EmitKind.LiveBytesSlot or EmitKind.JumpLabelSlot => p.SlotLength,
            EmitKind.JumpLabelTest => X86Encoding.JumpLabelTestSize,
            _ => 0,
        });
        return null;
    }

    /// <summary>
    /// static_cpu_has(): an always-applied <c>jmp t_no</c>, maybe NOP'd again when the CPU has the
    /// feature. Live, the site is a jump to one place of this function or a NOP, which is what a
    /// jump-label slot expresses. Anything else (a jump that might stay as in the file, two
    /// targets) is left out.
    /// </summary>
    private string? PlanJumpingAlternative(FunctionInfo f, ref PlannedInstruction p, PatchSite site)
    {
        string at = $"+0x{p.Offset - f.Start:x}";
        bool always = false;
        long target = -1;
        int targetSection = -1;
        foreach (var alt in _alternatives)
        {
            if (alt.Length != site.Length) return $"alternatives at {at} differ in length";
            var sec = elf.Section(alt.ReplacementSection);
            var bytes = sec.Data.Span.Slice((int)alt.ReplacementOffset, alt.ReplacementLength);
            if ((alt.Data & AltFlagInverted) == 0 && (alt.Data & ~AltFlagInverted) == FeatureAlways) always = true;
            if (bytes.Length == 0 || bytes.IndexOfAnyExcept((byte)0x90) < 0) continue;
            if (bytes.Length != X86Encoding.JmpRel32Size || bytes[0] != X86Encoding.JmpRel32Opcode)
                return $"alternative at {at} replaces a jump with something other than a jump or NOPs";
            var reloc = elf.GetRelocations(sec).FirstOrDefault(r => (long)r.Offset == alt.ReplacementOffset + 1);
            ref readonly var sym = ref elf.Symbol(reloc.SymbolIndex);
            if (!reloc.IsPcRelative || !sym.IsDefinedInSection)
                return $"alternative at {at} jumps outside the module";
            long t = (long)sym.Value + reloc.Addend + X86Encoding.Rel32Size;
            if (target >= 0 && (t != target || sym.SectionIndex != targetSection))
                return $"alternatives at {at} jump to two places";
            (target, targetSection) = (t, sym.SectionIndex);
        }
        if (!always || target < 0)
            return $"alternative at {at} may keep its original jump (static_cpu_has-style without an always-applied jump)";
        p.Kind = EmitKind.JumpLabelSlot;
        p.SlotLength = (ushort)Math.Max(site.Length, X86Encoding.JmpRel32Size);
        p.TargetSection = targetSection;
        p.TargetOffset = target;
        p.Size = (ushort)(p.EventBytes + p.SlotLength);
        return null;
    }

    private static bool IsJump(byte opcode) => opcode is X86Encoding.JmpRel8Opcode or X86Encoding.JmpRel32Opcode;

    private bool ReplacementStartsWithJump(PatchSite site)
    {
        if (site.ReplacementSection < 0 || site.ReplacementLength == 0) return false;
        var sec = elf.Section(site.ReplacementSection);
        return site.ReplacementOffset < (long)sec.Size && IsJump(sec.Data.Span[(int)site.ReplacementOffset]);
    }
}
