using Iced.Intel;
using Kedr.Core.Elf;
using Kedr.Kernel.Modules;
using Kedr.Rewriter.Functions;

namespace Kedr.Rewriter.Copying;

/// <summary>
/// Phase one: decodes a function and decides, per instruction, what its copy holds
/// and how many bytes that takes. Nothing is placed yet, so every size is final here:
/// relative branches always take their rel32 form.
/// </summary>
internal sealed class FunctionPlanner(ElfFile elf, FunctionCatalog catalog)
{
    private readonly MemoryAccessClassifier _memory = new();
    private FunctionPlan _plan = null!;
    private readonly List<PatchSite> _alternatives = [];

    /// <summary>X86_FEATURE_ALWAYS (word 3, bit 21): an alternative that is always applied.</summary>
    private const int FeatureAlways = 3 * 32 + 21;
    private const int AltFlagInverted = 0x8000;

    /// <summary>Plans <paramref name="plan"/> into its arena; on failure sets the function's left-out reason.</summary>
    public void Plan(FunctionPlan plan)
    {
        _plan = plan;
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
        long absorbUntil = -1;
        plan.First = arena.Count;
        arena.BeginFunction(f.Size);
        int n = 0; // this function's instructions so far
        var placement = new Placement(arena);

        while (decoder.IP < (ulong)end)
        {
            // Decoded straight into its slot (Decode writes the whole value).
            ref readonly var instr = ref arena.DecodeNext(decoder, n);
            long ip = (long)instr.IP;
            if (instr.IsInvalid || ip + instr.Length > end)
            {
                f.LeftOutReason = $"undecodable instruction at +0x{ip - f.Start:x}";
                break;
            }
            int slot = arena.Append((int)ip);
            arena.MarkStart((int)(ip - start), n++);
            // A whole new value, not "p = default" and then fields: "p = default; Decode(out p.Instruction)"
            // left stale fields from earlier use under .NET 10.0.12 with tiered PGO on (not with it off,
            // nor without tiering); ModuleRewriterReuseTests catches stale slots.
            ref var p = ref arena.Instructions[slot];
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

            // Relocations inside the instruction; one that straddles it means we misdecoded.
            p.RelocFirst = relocIndex;
            while (relocIndex < relocations.Length && (long)relocations[relocIndex].Offset < ip + p.Length)
            {
                ref readonly var r = ref relocations[relocIndex];
                if ((long)r.Offset + r.Width > ip + p.Length)
                {
                    f.LeftOutReason = $"relocation at +0x{(long)r.Offset - f.Start:x} straddles an instruction boundary";
                    break;
                }
                relocIndex++;
            }
            p.RelocCount = (byte)(relocIndex - p.RelocFirst);
            if (f.LeftOutReason is not null) break;
            // Where the displacement is matters only to a relocation on it or to a RIP-relative operand.
            if (p.IpRelative || p.RelocCount > 0 && instr.MemoryDisplSize != 0)
            {
                var co = decoder.GetConstantOffsets(instr);
                if (co.HasDisplacement) p.DisplacementOffset = (sbyte)co.DisplacementOffset;
            }

            PatchSite? site = null;
            int siteAt = -1;
            if (siteIndex < sites.Length && sites[siteIndex].Offset < ip + p.Length)
            {
                _alternatives.Clear();
                while (siteIndex < sites.Length && sites[siteIndex].Offset < ip + p.Length)
                {
                    var s = sites[siteIndex++];
                    if (s.Offset == ip) code.SiteInstructionLengths[siteIndex - 1] = p.Length;
                    if (s.Offset > ip && s.Kind != PatchSiteKind.SmpLock)
                    {
                        f.LeftOutReason = $"{s.Kind} site at +0x{s.Offset - f.Start:x} is inside an instruction";
                        break;
                    }
                    if (s.Kind is PatchSiteKind.Alternative or PatchSiteKind.Paravirt or PatchSiteKind.JumpLabel or PatchSiteKind.Fentry && site is null)
                        (site, siteAt) = (s, siteIndex - 1);
                    else if (s.Kind is PatchSiteKind.ReturnThunk or PatchSiteKind.Retpoline && s.Offset == ip)
                        p.ThunkSite = true;
                    if (s.Kind == PatchSiteKind.Alternative && s.Offset == ip)
                        _alternatives.Add(s);
                    else if (s.Kind == PatchSiteKind.ExceptionTable)
                        p.HasFixup = true;
                }
                if (f.LeftOutReason is not null) break;
            }

            if (ip < absorbUntil)
            {
                if (ip + p.Length > absorbUntil)
                {
                    f.LeftOutReason = $"alternative site ending at +0x{absorbUntil - f.Start:x} splits an instruction";
                    break;
                }
                p.Kind = EmitKind.Absorbed;
                placement.Place(ref p, n - 1);
                continue;
            }
            if (ip == start && !f.IsPart) p.Events |= EventFlags.Entry;

            var error = site is { } ps ? PlanSite(f, code, ref p, instr, ps, siteAt, ref absorbUntil) : PlanInstruction(f, code, ref p, instr);
            if (error is not null)
            {
                f.LeftOutReason = error;
                break;
            }
            placement.Place(ref p, n - 1);
        }
        plan.Count = arena.Count - plan.First;
        // One left unplaced where planning stopped on an error: placed as it is, like the rest.
        for (int i = placement.Placed; i < plan.Count; i++)
            placement.Place(ref arena.Instructions[plan.First + i], i);
        plan.BodySize = placement.Position;
        plan.RelocationCount = placement.Relocations;
        plan.EventCount = placement.Events;
        MarkDeadFlags(plan, arena.Decoded, arena.MemoryEvents.AsSpan(0, placement.MemoryEvents));
        ResolveBranches(plan, arena.Pending.AsSpan(0, placement.Pending));
    }

    /// <summary>
    /// Each instruction's place in its copy, fixed as soon as it is planned (its size is final then)
    /// while it is still in cache; the branches and memory events that later steps visit are listed
    /// so that they need not walk every instruction again.
    /// </summary>
    private struct Placement(PlanArena arena)
    {
        public int Placed, Position, Relocations, Pending, MemoryEvents, Events;

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
    /// listed for <see cref="ModuleRewriter"/>'s leave-out pass, which ties the two functions' fates.
    /// </summary>
    /// <param name="pending">The function's branches and jump labels with a target in the module, in order.</param>
    private void ResolveBranches(FunctionPlan plan, ReadOnlySpan<int> pending)
    {
        var arena = plan.Arena;
        var f = plan.Function;
        plan.FirstBranch = arena.BranchCount;
        var instructions = plan.Instructions;
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
            if (f.IsCopied && p.TargetOffset != start && (at < 0 || instructions[at].Kind == EmitKind.Absorbed))
                f.LeftOutReason = ModuleRewriter.NotAnInstructionStart(f, p, f);
        }
        plan.BranchCount = arena.BranchCount - plan.FirstBranch;
    }

    /// <summary>
    /// The status flags are dead before an instruction that reads none of them and either sets
    /// them all or is followed by code where they are dead. After a call or a return they are dead
    /// by the C ABI; after any other branch, assumed live. Only the memory events that call a helper
    /// with a flags-free variant ask: each walks forward along straight-line code to the instruction
    /// that decides, and a later event on the same stretch reuses the answer.
    /// </summary>
    /// <param name="decoded">The function's decoded instructions, in plan order.</param>
    /// <param name="events">The instructions whose memory event may use a flags-free helper, in order.</param>
    private static void MarkDeadFlags(FunctionPlan plan, Instruction[] decoded, ReadOnlySpan<int> events)
    {
        var instructions = plan.Instructions;
        int decidedAt = -1;
        bool dead = false;
        foreach (int i in events)
        {
            if (i > decidedAt) (decidedAt, dead) = DecideFlags(instructions, decoded, i);
            instructions[i].FlagsDead = dead;
        }
    }

    /// <summary>From instruction <paramref name="i"/> on: where the flags' fate is decided, and whether they are dead.</summary>
    private static (int At, bool Dead) DecideFlags(Span<PlannedInstruction> instructions, Instruction[] decoded, int i)
    {
        for (; ; i++)
        {
            ref readonly var p = ref instructions[i];
            var (reads, writesAll) = StatusFlags.Of(decoded[i]);
            if (reads) return (i, false);
            if (writesAll) return (i, true);
            if (p.Kind is EmitKind.LiveBytesSlot or EmitKind.Absorbed or EmitKind.JumpLabelSlot or EmitKind.JumpLabelTest)
                return (i, false); // what runs there is decided later
            switch (p.Flow)
            {
                case FlowControl.Next:
                    if (i + 1 == instructions.Length) return (i, false);
                    break;
                case FlowControl.Call or FlowControl.IndirectCall or FlowControl.Return:
                    return (i, true);
                default:
                    return (i, false);
            }
        }
    }

    private string? PlanSite(FunctionInfo f, SectionCode code, ref PlannedInstruction p, in Instruction instr, PatchSite site, int siteAt, ref long absorbUntil)
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

    private string? PlanInstruction(FunctionInfo f, SectionCode code, ref PlannedInstruction p, in Instruction instr)
    {
        for (int i = p.RelocFirst; i < p.RelocFirst + p.RelocCount; i++)
        {
            var t = code.Relocations[i].Type;
            if (t is not (RelocationType.Pc32 or RelocationType.Plt32 or RelocationType.Abs32S or RelocationType.Abs64))
                return Reason(f, (long)code.Relocations[i].Offset, "relocation type " + t + " at {0} is not supported in code");
            // Symbol 0 is the null symbol: no value the loader could put there (the blob format refuses it).
            if (code.Relocations[i].SymbolIndex == 0)
                return Reason(f, (long)code.Relocations[i].Offset, "relocation at {0} refers to the null symbol");
        }

        var flow = p.Flow;
        bool relative = instr.Op0Kind == OpKind.NearBranch64;
        if (!relative)
        {
            if (MemoryAccessClassifier.HasMemoryOperand(instr)) PlanMemoryEvent(code, ref p, instr);
            p.Kind = EmitKind.Verbatim;
            if (flow == FlowControl.Return) p.Events |= EventFlags.Exit;
            p.Size = (ushort)(p.EventBytes + p.Length);
            return null;
        }

        // Where does the branch go? A relocation on its rel32 names it; otherwise it is in this section.
        if (p.RelocCount > 0)
        {
            var r = code.Relocations[p.RelocFirst];
            if (p.RelocCount > 1 || (long)r.Offset != p.Offset + p.Length - X86Encoding.Rel32Size || !r.IsPcRelative)
                return Reason(f, p.Offset, "relocation on the branch at {0} is not on its rel32");
            ref readonly var sym = ref elf.Symbol(r.SymbolIndex);
            if (sym.IsDefinedInSection && elf.Section(sym.SectionIndex).IsExecutable)
            {
                p.TargetSection = sym.SectionIndex;
                p.TargetOffset = (long)sym.Value + r.Addend + X86Encoding.Rel32Size;
            }
        }
        else
        {
            p.TargetSection = f.Section.Index;
            p.TargetOffset = (long)instr.NearBranch64;
        }

        if (p.ThunkSite && p.Length == X86Encoding.CallRel32Size && code.ByteAt(p.Offset) is X86Encoding.CallRel32Opcode or X86Encoding.JmpRel32Opcode)
        {
            // The kernel chose at boot what runs here (ret, the selected return thunk, call *%reg,
            // lfence; call *%reg, the retpoline thunk): the copy takes the live bytes.
            if (flow == FlowControl.UnconditionalBranch) p.Events |= EventFlags.Exit;
            p.Kind = EmitKind.LiveBytesSlot;
            p.SlotLength = p.Length;
            p.Size = (ushort)(p.EventBytes + p.SlotLength);
            return null;
        }
        switch (flow)
        {
            case FlowControl.Call:
                p.Kind = EmitKind.Branch;
                p.Size = X86Encoding.CallRel32Size;
                break;
            case FlowControl.UnconditionalBranch:
                p.Kind = EmitKind.Branch;
                if (IsTailCall(f, p)) p.Events |= EventFlags.Exit;
                p.Size = X86Encoding.JmpRel32Size;
                break;
            case FlowControl.ConditionalBranch when instr.IsJccShortOrNear:
                bool tail = IsTailCall(f, p);
                p.Kind = tail ? EmitKind.ConditionalTailCall : EmitKind.Branch;
                p.Size = (ushort)(tail ? X86Encoding.ConditionalTailCallSize : X86Encoding.JccRel32Size);
                p.ConditionNibble = (byte)(instr.ConditionCode - 1);
                break;
            case FlowControl.ConditionalBranch:
                if (IsTailCall(f, p))
                    return Reason(f, p.Offset, instr.Mnemonic + " at {0} leaves the function");
                p.Kind = EmitKind.LoopBranch;
                p.Size = (ushort)(p.Length + X86Encoding.LoopDetourSize);
                break;
            case FlowControl.XbeginXabortXend:
                p.Kind = EmitKind.Xbegin;
                p.Size = X86Encoding.XbeginRel32Size;
                break;
            default:
                return Reason(f, p.Offset, "relative " + instr.Mnemonic + " at {0} is not supported");
        }
        p.Size += (ushort)p.EventBytes;
        return null;
    }

    private void PlanMemoryEvent(SectionCode code, ref PlannedInstruction p, in Instruction instr)
    {
        var cls = _memory.Classify(instr, out var kind, out var size, out var flags, out var reason);
        if (cls == MemoryClass.None) return;
        _plan.MemoryAccesses++;
        if (cls == MemoryClass.String && p.HasFixup)
        {
            // A fault would continue at the fixup with the saved pointers still pushed.
            cls = MemoryClass.NotInstrumented;
            reason = "string instruction with an exception fixup";
        }
        if (cls == MemoryClass.NotInstrumented)
        {
            (_plan.NotInstrumented ??= []).Add(Reason(_plan.Function, p.Offset, reason + ": " + instr + " at {0}"));
            return;
        }
        p.LeaStart = _plan.Arena.Extra.Count;
        switch (cls)
        {
            case MemoryClass.Operand:
                p.RaxDead = MemoryAccessClassifier.OverwritesRax(instr);
                p.LeaDisplacementOffset = (sbyte)_memory.EncodeLea(instr, RelocatedDisplacement(code, p), p.RaxDead ? 0 : 8, _plan.Arena.Extra);
                break;
            case MemoryClass.BitOp:
                MemoryAccessClassifier.EncodePush(instr.Op1Register, _plan.Arena.Extra);
                int push = _plan.Arena.Extra.Count - p.LeaStart;
                int lea = _memory.EncodeLea(instr, RelocatedDisplacement(code, p), 16, _plan.Arena.Extra);
                p.LeaDisplacementOffset = (sbyte)(lea < 0 ? -1 : push + lea);
                break;
            case MemoryClass.Xlat:
                _plan.Arena.Extra.Append(X86Encoding.XlatAddress);
                break;
            case MemoryClass.Moffs:
                MemoryAccessClassifier.EncodeMovabsRax(instr.MemoryDisplacement64, _plan.Arena.Extra);
                p.LeaDisplacementOffset = 2;
                break;
        }
        p.LeaLength = (byte)(_plan.Arena.Extra.Count - p.LeaStart);
        p.MemForm = cls;
        p.MemKind = kind;
        p.MemSize = size;
        p.MemFlags = flags;
        _plan.MemoryInstrumented++;
    }

    private static bool RelocatedDisplacement(SectionCode code, in PlannedInstruction p)
    {
        for (int i = p.RelocFirst; i < p.RelocFirst + p.RelocCount; i++)
            if ((long)code.Relocations[i].Offset == p.Offset + p.DisplacementOffset) return true;
        return false;
    }

    /// <summary>A jump leaves the function when it goes outside its family, or back to its own entry.</summary>
    private bool IsTailCall(FunctionInfo f, in PlannedInstruction p)
    {
        if (p.TargetSection < 0) return true;
        if (f.Contains(p.TargetSection, p.TargetOffset)) return p.TargetOffset == f.Start && !f.IsPart; // most jumps
        var target = catalog.Find(p.TargetSection, p.TargetOffset);
        if (target is null || !target.SameFamily(f)) return true;
        return ReferenceEquals(target, f) && p.TargetOffset == f.Start && !f.IsPart;
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

    /// <summary>
    /// <paramref name="format"/> with {0} as the place, <c>+0x</c> and the offset in the function. Messages are
    /// made here, out of line, so the per-instruction methods carry no string-building state.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static string Reason(FunctionInfo f, long offset, string format) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, format, $"+0x{offset - f.Start:x}");

    private static bool IsJump(byte opcode) => opcode is X86Encoding.JmpRel8Opcode or X86Encoding.JmpRel32Opcode;

    private bool ReplacementStartsWithJump(PatchSite site)
    {
        if (site.ReplacementSection < 0 || site.ReplacementLength == 0) return false;
        var sec = elf.Section(site.ReplacementSection);
        return site.ReplacementOffset < (long)sec.Size && IsJump(sec.Data.Span[(int)site.ReplacementOffset]);
    }
}
