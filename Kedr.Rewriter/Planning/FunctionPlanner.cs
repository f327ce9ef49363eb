using Iced.Intel;
using Kedr.Core.Elf;
using Kedr.Kernel.Modules;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Encoders;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// Phase one: decodes a function and decides, per instruction, what its copy holds
/// and how many bytes that takes. Nothing is placed yet, so every size is final here:
/// relative branches always take their rel32 form.
/// </summary>
internal sealed partial class FunctionPlanner(ElfFile elf, FunctionCatalog catalog)
{
    private readonly MemoryAccessClassifier _memory = new();
    private FunctionPlan.Draft _plan = null!;
    /// <summary>Why the function being planned cannot be copied (null: so far it can).</summary>
    private string? _reason;
    private readonly List<PatchSite> _alternatives = [];
    /// <summary>The module's <c>.static_call.text</c> (its own static call trampolines, import stubs since blob 1.6), or -1.</summary>
    private readonly int _staticCallText = StaticCallText(elf);

    /// <summary>X86_FEATURE_ALWAYS (word 3, bit 21): an alternative that is always applied.</summary>
    private const int FeatureAlways = 3 * 32 + 21;
    private const int AltFlagInverted = 0x8000;

    /// <summary>Plans <paramref name="plan"/> into its arena; returns why the function cannot be copied (null: it can).</summary>
    public string? Plan(FunctionPlan.Draft plan)
    {
        _plan = plan;
        _reason = null;
        var f = plan.Function;
        var code = plan.Code;
        var arena = plan.Arena;
        // Kept in locals: the loop writes through refs, after which fields would be read again.
        long start = f.Start, end = f.End;
        var decoder = arena.DecoderAt(code, start);
        int relocIndex = plan.FirstRelocation = code.FirstRelocationAtOrAfter(start);
        int siteIndex = plan.FirstSite = code.FirstSiteAtOrAfter(start);
        var relocations = code.Relocations;
        var sites = code.Sites;
        // Where the next relocation and patch site are (long.MaxValue: none left), kept in locals: most
        // instructions have neither, and are told so by two compares.
        long nextRelocation = relocIndex < relocations.Length ? (long)relocations[relocIndex].Offset : long.MaxValue;
        long nextSite = siteIndex < sites.Length ? sites[siteIndex].Offset : long.MaxValue;
        long absorbUntil = -1;
        int first = plan.First = arena.Count;
        plan.FirstImportCandidate = arena.ImportCandidateCount;
        var room = arena.BeginFunction(f.Size);
        int n = 0; // this function's instructions so far
        var placement = new Placement(arena);

        while (decoder.IP < (ulong)end)
        {
            // Decoded straight into its slot (Decode writes the whole value).
            ref var instr = ref room.Decoded[n];
            decoder.Decode(out instr);
            long ip = (long)instr.IP;
            if (instr.IsInvalid || ip + instr.Length > end)
            {
                _reason = $"undecodable instruction at +0x{ip - f.Start:x}";
                break;
            }
            int slot = first + n;
            room.Offsets[n] = (int)ip;
            room.MarkStart((int)(ip - start), n);
            // A whole new value, not "p = default" and then fields: "p = default; Decode(out p.Instruction)"
            // left stale fields from earlier use under .NET 10.0.12 with tiered PGO on (not with it off,
            // nor without tiering); ModuleRewriterReuseTests catches stale slots.
            ref var p = ref room.Planned[n++];
            p = new PlannedInstruction
            {
                Offset = (int)ip,
                Length = (byte)instr.Length,
                Flow = instr.FlowControl,
                IpRelative = instr.IsIPRelativeMemoryOperand,
                IsInt3 = instr.Code == Code.Int3,
                TargetSection = -1,
                TargetFunction = -1,
                TargetIndex = -1,
                DisplacementOffset = -1,
                LeaDisplacementOffset = -1,
            };
            if (p.IpRelative) p.IpRelativeTarget = (long)instr.IPRelativeMemoryAddress;

            long instrEnd = ip + p.Length;
            // Relocations inside the instruction; one that straddles it means we misdecoded.
            p.RelocFirst = relocIndex;
            if (nextRelocation < instrEnd)
            {
                while (relocIndex < relocations.Length && (long)relocations[relocIndex].Offset < instrEnd)
                {
                    ref readonly var r = ref relocations[relocIndex];
                    if ((long)r.Offset + r.Width > instrEnd)
                    {
                        _reason = $"relocation at +0x{(long)r.Offset - f.Start:x} straddles an instruction boundary";
                        break;
                    }
                    relocIndex++;
                }
                p.RelocCount = (byte)(relocIndex - p.RelocFirst);
                if (_reason is not null) break;
                nextRelocation = relocIndex < relocations.Length ? (long)relocations[relocIndex].Offset : long.MaxValue;
            }
            // Where the displacement is matters only to a relocation on it or to a RIP-relative operand.
            if (p.IpRelative || p.RelocCount > 0 && instr.MemoryDisplSize != 0)
            {
                var co = decoder.GetConstantOffsets(instr);
                if (co.HasDisplacement) p.DisplacementOffset = (sbyte)co.DisplacementOffset;
            }

            // The patch site the instruction is planned by (-1: none).
            int siteAt = -1;
            if (nextSite < instrEnd)
            {
                _alternatives.Clear();
                while (siteIndex < sites.Length && sites[siteIndex].Offset < instrEnd)
                {
                    ref readonly var s = ref sites[siteIndex++];
                    if (s.Offset > ip && s.Kind != PatchSiteKind.SmpLock)
                    {
                        _reason = $"{s.Kind} site at +0x{s.Offset - f.Start:x} is inside an instruction";
                        break;
                    }
                    if (s.Kind is PatchSiteKind.Alternative or PatchSiteKind.Paravirt or PatchSiteKind.JumpLabel or PatchSiteKind.Fentry && siteAt < 0)
                        siteAt = siteIndex - 1;
                    else if (s.Kind is PatchSiteKind.ReturnThunk or PatchSiteKind.Retpoline && s.Offset == ip)
                        p.ThunkSite = true;
                    if (s.Kind == PatchSiteKind.Alternative && s.Offset == ip)
                        _alternatives.Add(s);
                    else if (s.Kind == PatchSiteKind.ExceptionTable)
                        p.HasFixup = true;
                }
                if (_reason is not null) break;
                nextSite = siteIndex < sites.Length ? sites[siteIndex].Offset : long.MaxValue;
            }

            if (ip < absorbUntil)
            {
                if (ip + p.Length > absorbUntil)
                {
                    _reason = $"alternative site ending at +0x{absorbUntil - f.Start:x} splits an instruction";
                    break;
                }
                p.Kind = EmitKind.Absorbed;
                placement.Place(ref p, n - 1);
                continue;
            }
            if (ip == start && !f.IsPart) p.Events |= EventFlags.Entry;

            if (siteAt < 0 && p.RelocCount == 0 && instr.Op0Kind != OpKind.NearBranch64)
            {
                // Most instructions: what PlanInstruction would do, without the call; the commonest of them (no
                // event at all) placed here, with nothing to list.
                if (p.Events == EventFlags.None && p.Flow != FlowControl.Return && !MemoryAccessClassifier.HasMemoryOperand(instr))
                {
                    p.Size = p.Length; // Kind: Verbatim, the default
                    placement.PlacePlain(ref p, n - 1);
                    continue;
                }
                PlanVerbatim(code, ref p, instr);
            }
            else
            {
                var error = siteAt >= 0 ? PlanSite(f, code, ref p, instr, sites[siteAt], siteAt, ref absorbUntil) : PlanInstruction(f, code, ref p, instr);
                if (error is not null)
                {
                    _reason = error;
                    break;
                }
            }
            // A branch to a symbol that is not in the module's code, or to one of its own static call
            // trampolines: maybe an import stub's.
            if (p.RelocCount > 0 && (p.TargetSection < 0 || p.TargetSection == _staticCallText))
                PlanArena.Push(ref arena.ImportCandidates, ref arena.ImportCandidateCount, slot);
            placement.Place(ref p, n - 1);
        }
        arena.EndFunction(n);
        plan.Count = n;
        plan.ImportCandidateCount = arena.ImportCandidateCount - plan.FirstImportCandidate;
        // One left unplaced where planning stopped on an error: placed as it is, like the rest.
        for (int i = placement.Placed; i < plan.Count; i++)
            placement.Place(ref arena.Instructions[plan.First + i], i);
        plan.BodySize = placement.Position;
        plan.RelocationCount = placement.Relocations;
        plan.EventCount = placement.Events;
        FlagLiveness.MarkDeadFlags(arena.Instructions.AsSpan(plan.First, plan.Count), arena.Decoded,
            arena.MemoryEvents.AsSpan(0, placement.MemoryEvents));
        ResolveBranches(plan, arena.Pending.AsSpan(0, placement.Pending));
        return _reason;
    }

    /// <summary>
    /// Each instruction's place in its copy, fixed as soon as it is planned (its size is final then)
    /// while it is still in cache; the branches and memory events that later steps visit are listed
    /// so that they need not walk every instruction again.
    /// </summary>
    private struct Placement(PlanArena arena)
    {
        public int Placed, Position, Relocations, Pending, MemoryEvents, Events;

        /// <summary><see cref="Place"/> for a verbatim instruction with no relocation, event or target: nothing to count or list.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void PlacePlain(ref PlannedInstruction p, int index)
        {
            p.OffsetInCopy = Position;
            Position += p.Size;
            Placed = index + 1;
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void Place(ref PlannedInstruction p, int index)
        {
            p.OffsetInCopy = Position;
            Position += p.Size;
            Relocations += p.RelocCount;
            if (p.Events != EventFlags.None) Events += System.Numerics.BitOperations.PopCount((uint)p.Events);
            Placed = index + 1;
            if (p.TargetSection >= 0 && p.Kind is not (EmitKind.Verbatim or EmitKind.Drop or EmitKind.Absorbed or EmitKind.LiveBytesSlot))
                PlanArena.Push(ref arena.Pending, ref Pending, index);
            if (p.MemForm is MemoryClass.Operand or MemoryClass.Xlat or MemoryClass.Moffs)
                PlanArena.Push(ref arena.MemoryEvents, ref MemoryEvents, index);
        }
    }

    /// <summary>
    /// Branches are resolved here, while the function's instructions are in cache: those within it and
    /// those to another function's start (most calls). Those into the middle of another function are
    /// listed for <see cref="LeaveOutTogether"/>, which ties the two functions' fates.
    /// </summary>
    /// <param name="pending">The function's branches and jump labels with a target in the module, in order.</param>
    private void ResolveBranches(FunctionPlan.Draft plan, ReadOnlySpan<int> pending)
    {
        var arena = plan.Arena;
        var f = plan.Function;
        plan.FirstBranch = arena.BranchCount;
        var instructions = arena.Instructions.AsSpan(plan.First, plan.Count);
        int section = f.Section.Index;
        long start = f.Start, end = f.End;
        foreach (int i in pending)
        {
            ref var p = ref instructions[i];
            if (p.TargetSection != section || p.TargetOffset < start || p.TargetOffset >= end)
            {
                plan.OutgoingBranches++;
                var tf = catalog.Find(p.TargetSection, p.TargetOffset);
                if (tf is null) continue; // not a function's code: reached through a symbol
                p.TargetFunction = tf.Id;
                if (p.TargetOffset == tf.Start) p.TargetIndex = 0;
                else arena.AddBranch(i); // its index in the target: once that is planned too
                continue;
            }
            int at = arena.IndexAt(p.TargetOffset - start);
            (p.TargetFunction, p.TargetIndex) = (f.Id, at);
            if (_reason is null && p.TargetOffset != start && (at < 0 || instructions[at].Kind == EmitKind.Absorbed))
                _reason = LeaveOutTogether.NotAnInstructionStart(f, p, f);
        }
        plan.BranchCount = arena.BranchCount - plan.FirstBranch;
    }

    private static int StaticCallText(ElfFile elf)
    {
        for (int i = 0; i < elf.Sections.Count; i++)
            if (elf.Sections[i].Name == ".static_call.text") return i;
        return -1;
    }
}
