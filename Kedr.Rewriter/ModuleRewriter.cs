using Iced.Intel;
using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Kernel.Modules;
using Kedr.Rewriter.Copying;
using Kedr.Rewriter.Functions;

namespace Kedr.Rewriter;

/// <summary>
/// Builds the blob for one module: plan every function, leave out what cannot be
/// copied safely (and what it jumps into), lay the copies out, emit them, and
/// compute the masks and digests the loader checks the live module against.
/// </summary>
public static class ModuleRewriter
{
    /// <summary>Each copy starts on a 16-byte boundary, like the compiler's functions.</summary>
    public const int FunctionAlignment = 16;

    /// <summary>PatchSiteKind's values are 0 to this - 1.</summary>
    private static readonly int SiteKinds = Enum.GetValues<PatchSiteKind>().Length;

    public static RewriteResult Rewrite(ElfFile elf) =>
        TryRewrite(elf, out var result, out var error) ? result! : throw new KedrException(error!);

    public static bool TryRewrite(ElfFile elf, out RewriteResult? result, out KedrDiagnostic? error) =>
        TryRewrite(elf, null, out result, out error);

    /// <param name="buffers">
    /// Tables to build the blob in, reused from the previous call with them (whose blob is then retired);
    /// null: new ones.
    /// </param>
    /// <remarks>
    /// Never throws for anything in the module: what the readers reject is their diagnostic, and an exception
    /// from deeper down (a bug of ours, whatever the input) is <see cref="DiagnosticCodes.RewriterInternalError"/>
    /// naming the module, for the one-module command and a batch alike.
    /// </remarks>
    public static bool TryRewrite(ElfFile elf, BlobBuffers? buffers, out RewriteResult? result, out KedrDiagnostic? error)
    {
        try
        {
            return TryRewriteCore(elf, buffers, out result, out error);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            result = null;
            error = InternalError(elf.Path, e);
            return false;
        }
    }

    /// <summary>An exception of ours as a diagnostic: its type, message and the innermost frame of ours.</summary>
    public static KedrDiagnostic InternalError(string path, Exception e)
    {
        var frame = new System.Diagnostics.StackTrace(e, false).GetFrames()
            .FirstOrDefault(f => f.GetMethod()?.DeclaringType?.Namespace?.StartsWith("Kedr", StringComparison.Ordinal) == true);
        var where = frame?.GetMethod() is { } m ? $" in {m.DeclaringType?.Name}.{m.Name}" : "";
        return new KedrDiagnostic(DiagnosticCodes.RewriterInternalError, $"internal error{where}: {e.GetType().Name}: {e.Message}", path);
    }

    private static bool TryRewriteCore(ElfFile elf, BlobBuffers? buffers, out RewriteResult? result, out KedrDiagnostic? error)
    {
        result = null;
        if (!PatchSiteReader.TryRead(elf, out var sites, out error)) return false;

        var catalog = new FunctionCatalog(elf);
        var sections = new Dictionary<int, SectionCode>();
        var sortedSites = SectionCode.SortSites(sites);
        foreach (var sec in elf.Sections)
            if (sec.IsExecutable && sec.IsInFile)
                sections[sec.Index] = new SectionCode(elf, sec, SectionCode.SitesOf(sortedSites, sec.Index));

        var planner = new FunctionPlanner(elf, catalog);
        var arena = PlanArena.Rent();
        var plans = new FunctionPlan[catalog.Functions.Count];
        foreach (var f in catalog.Functions)
        {
            plans[f.Id] = new FunctionPlan(f, sections[f.Section.Index], arena);
            planner.Plan(plans[f.Id]);
        }
        NoInstrCode.LeaveOut(elf, catalog);
        LandingPadFinder.Find(elf, catalog, plans);
        LeaveOutTogether(plans);
        var imports = ImportStubs.Collect(elf, plans);

        var target = new BlobTarget(elf.ModuleName, elf.ModInfo("srcversion") ?? "", (uint)elf.Symbols.Count, elf.BuildId);
        var blob = buffers is null ? new KedrBlob { Target = target } : buffers.NewBlob(target);
        var copied = Layout(plans, imports.Size, out int codeSize);
        var anchors = new SymbolAnchors(elf, catalog);
        var orc = new OrcStates(elf);
        PresizeTables(copied, blob, orc);
        imports.AddTo(blob, orc.HasData);
        new CopyEmitter(catalog, anchors, plans, blob, orc) { Imports = imports }.Emit(copied, codeSize);
        AddMasksAndDigests(copied, blob, arena);
        CopyTables.Build(copied, catalog, anchors, plans, blob);

        result = new RewriteResult(blob, BuildReport(elf, catalog, plans, sites, sortedSites, blob));
        return true;
    }

    /// <summary>
    /// A function left out keeps its original code, which must never reach an int3:
    /// so whatever jumps into the middle of another function (or is jumped into)
    /// shares its fate, and a branch into the middle of an instruction leaves its target out.
    /// </summary>
    private static void LeaveOutTogether(FunctionPlan[] plans)
    {
        var parent = new int[plans.Length];
        for (int i = 0; i < parent.Length; i++) parent[i] = i;
        int Find(int x)
        {
            while (parent[x] != x) x = parent[x] = parent[parent[x]];
            return x;
        }
        var linkedTo = new Dictionary<int, string>();

        foreach (var plan in plans)
        {
            var f = plan.Function;
            var instructions = plan.Instructions;
            foreach (int i in plan.Branches)
            {
                ref var p = ref instructions[i];
                var target = plans[p.TargetFunction]; // found by the planner
                var tf = target.Function;
                int at = target.IndexOf(p.TargetOffset);
                p.TargetIndex = at;
                if (tf.IsCopied && (at < 0 || target.Instructions[at].Kind == EmitKind.Absorbed))
                    tf.LeftOutReason = NotAnInstructionStart(f, p, tf);
                parent[Find(f.Id)] = Find(tf.Id);
                linkedTo.TryAdd(f.Id, tf.Name);
                linkedTo.TryAdd(tf.Id, f.Name);
            }
        }
        var leftOutRoots = new Dictionary<int, string>();
        foreach (var plan in plans)
            if (!plan.Function.IsCopied) leftOutRoots.TryAdd(Find(plan.Function.Id), plan.Function.Name);
        foreach (var plan in plans)
        {
            var f = plan.Function;
            if (f.IsCopied && leftOutRoots.TryGetValue(Find(f.Id), out var cause))
                f.LeftOutReason = $"shares code paths with {cause}, which is left out (via {linkedTo[f.Id]})";
        }
    }

    internal static string NotAnInstructionStart(FunctionInfo from, in PlannedInstruction p, FunctionInfo target) =>
        $"{from.Name}+0x{p.Offset - from.Start:x} branches to +0x{p.TargetOffset - target.Start:x}, not an instruction start of the copy";

    /// <summary>
    /// Places the copies: core functions first, then those of .init sections, so the loader
    /// can drop the init copies as one tail once the kernel frees init memory. The import stubs
    /// (<paramref name="start"/> bytes) come first.
    /// </summary>
    private static List<FunctionPlan> Layout(FunctionPlan[] plans, int start, out int codeSize)
    {
        var copied = plans.Where(p => p.Function.IsCopied && !p.Function.Section.IsInit)
            .Concat(plans.Where(p => p.Function.IsCopied && p.Function.Section.IsInit)).ToList();
        int pos = start, index = 0;
        foreach (var plan in copied)
        {
            var f = plan.Function;
            f.BlobIndex = index++;
            pos = (pos + FunctionAlignment - 1) & -FunctionAlignment;
            plan.CopyOffset = pos;
            pos += plan.BodySize;
            if (FallsThrough(plan))
            {
                plan.TailJumpOffset = pos;
                pos += X86Encoding.JmpRel32Size;
            }
            plan.CopySize = pos - plan.CopyOffset;
        }
        codeSize = pos;
        return copied;
    }

    /// <summary>Room for what emission adds, from the plans' counts, so the big lists never regrow.</summary>
    private static void PresizeTables(List<FunctionPlan> copied, KedrBlob blob, OrcStates orc)
    {
        int memory = 0, events = 0, relocations = 0, branches = 0;
        foreach (var plan in copied)
        {
            memory += plan.MemoryInstrumented;
            events += plan.EventCount;
            relocations += plan.RelocationCount;
            branches += plan.OutgoingBranches;
        }
        blob.Functions.EnsureCapacity(copied.Count);
        blob.Sites.EnsureCapacity(memory + events);
        // Each event calls a helper; a branch out of its function may need its target's symbol.
        blob.Fixups.EnsureCapacity(relocations + memory + events + branches);
        // Up to four entries per memory event (pushes, call, pop), two per entry or exit event, one
        // where the original's state changes and one after each copy: an estimate, not a bound.
        if (orc.HasData) blob.Orc.EnsureCapacity(orc.Count + 4 * memory + 2 * events + copied.Count);
    }

    /// <summary>Whether <paramref name="f"/> ends at or before (section, offset), in the catalog's order.</summary>
    private static bool IsBefore(FunctionInfo f, int section, long offset) =>
        f.Section.Index < section || f.Section.Index == section && f.End <= offset;

    /// <summary>Whether execution can run off the end of the function's last instruction.</summary>
    private static bool FallsThrough(FunctionPlan plan)
    {
        for (int i = plan.Count - 1; i >= 0; i--)
        {
            ref var p = ref plan.Instructions[i];
            if (p.Kind == EmitKind.Absorbed) continue;
            if (p.Kind == EmitKind.LiveBytesSlot && p.ThunkSite)
                return p.Flow != FlowControl.UnconditionalBranch; // a return or a tail call
            if (p.Kind is EmitKind.LiveBytesSlot or EmitKind.JumpLabelSlot or EmitKind.JumpLabelTest or EmitKind.Drop) return true;
            return p.Flow switch
            {
                FlowControl.Return or FlowControl.UnconditionalBranch or FlowControl.IndirectBranch => false,
                FlowControl.Interrupt => !p.IsInt3,
                FlowControl.Exception => false, // ud2
                _ => true,
            };
        }
        return true;
    }

    /// <summary>Masks are the bytes the kernel writes: relocation fields and patch sites.</summary>
    private static void AddMasksAndDigests(List<FunctionPlan> copied, KedrBlob blob, PlanArena arena)
    {
        // Each function's bytes with its masks zeroed, for its digest.
        var masked = arena.Scratch(copied.Count == 0 ? 0 : copied.Max(p => p.Function.Size));
        foreach (var plan in copied)
        {
            var f = plan.Function;
            var code = plan.Code;
            var relocations = code.Relocations;
            var sites = code.Sites;
            uint first = (uint)blob.Masks.Count;
            // Relocation fields and patch sites, each sorted by start: merged, then joined where they touch.
            int r = plan.FirstRelocation, s = plan.FirstSite;
            long curStart = -1, curEnd = -1;
            while (true)
            {
                while (s < sites.Length && sites[s].Offset < f.End && sites[s].Kind is PatchSiteKind.ExceptionTable or PatchSiteKind.BugTable) s++;
                bool moreRelocations = r < relocations.Length && (long)relocations[r].Offset < f.End;
                bool moreSites = s < sites.Length && sites[s].Offset < f.End;
                if (!moreRelocations && !moreSites) break;
                long start, end;
                if (moreRelocations && (!moreSites || (long)relocations[r].Offset <= sites[s].Offset))
                {
                    (start, end) = ((long)relocations[r].Offset, (long)relocations[r].Offset + relocations[r].Width);
                    r++;
                }
                else
                {
                    var site = sites[s];
                    int len = site.Length != 0 ? site.Length : code.SiteInstructionLengths[s];
                    s++;
                    (start, end) = (site.Offset, Math.Min(site.Offset + len, f.End));
                }
                if (start <= curEnd) { curEnd = Math.Max(curEnd, end); continue; }
                if (curEnd > curStart) blob.Masks.Add(new BlobMask((uint)(curStart - f.Start), (uint)(curEnd - curStart)));
                (curStart, curEnd) = (start, end);
            }
            if (curEnd > curStart) blob.Masks.Add(new BlobMask((uint)(curStart - f.Start), (uint)(curEnd - curStart)));
            uint count = (uint)blob.Masks.Count - first;

            var bytes = masked.AsSpan(0, f.Size);
            code.Span(f.Start, f.Size).CopyTo(bytes);
            BlobFormat.ZeroMasked(bytes, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(blob.Masks).Slice((int)first, (int)count));
            var flags = (f.Section.IsInit ? BlobFunctionFlags.Init : 0) | (f.IsPart ? BlobFunctionFlags.Part : 0);
            blob.Functions.Add(new BlobFunction(f.Name, (uint)f.Symbol.Index, (uint)f.Size, (uint)plan.CopyOffset,
                (uint)plan.CopySize, first, count, flags, BlobFormat.Digest(bytes, [], blob.Flags), (uint)f.Owner.BlobIndex));
        }
        // A part whose owner is left out reports for itself.
        for (int i = 0; i < blob.Functions.Count; i++)
            if (blob.Functions[i].Owner == uint.MaxValue)
                blob.Functions[i] = blob.Functions[i] with { Owner = (uint)i, Flags = blob.Functions[i].Flags & ~BlobFunctionFlags.Part };
    }

    /// <param name="sites">In table order, which orders the kinds in the report.</param>
    /// <param name="sortedSites">The same, by section and offset, as the catalog's functions are.</param>
    private static RewriteReport BuildReport(ElfFile elf, FunctionCatalog catalog, FunctionPlan[] plans, List<PatchSite> sites,
        PatchSite[] sortedSites, KedrBlob blob)
    {
        // Counted per kind in arrays, walking the sites and the functions side by side.
        var handledCounts = new int[SiteKinds];
        var inLeftOutCounts = new int[SiteKinds];
        var functions = catalog.Functions;
        int next = 0;
        foreach (ref readonly var s in sortedSites.AsSpan())
        {
            while (next < functions.Count && IsBefore(functions[next], s.SectionIndex, s.Offset)) next++;
            if (next == functions.Count) break;
            var holder = functions[next];
            if (!holder.Contains(s.SectionIndex, s.Offset)) continue;
            (holder.IsCopied ? handledCounts : inLeftOutCounts)[(int)s.Kind]++;
        }
        // The kinds in the order their tables come in the file.
        var tableOrder = new List<PatchSiteKind>();
        foreach (var s in sites)
            if (tableOrder.Count == 0 || tableOrder[^1] != s.Kind && !tableOrder.Contains(s.Kind)) tableOrder.Add(s.Kind);
        var handled = tableOrder.Where(k => handledCounts[(int)k] > 0).ToDictionary(k => k, k => handledCounts[(int)k]);
        var inLeftOut = tableOrder.Where(k => inLeftOutCounts[(int)k] > 0).ToDictionary(k => k, k => inLeftOutCounts[(int)k]);
        long instructions = 0, original = 0, memory = 0, instrumented = 0;
        var leftOut = new List<LeftOutFunction>();
        var notInstrumented = new List<string>();
        foreach (var plan in plans)
        {
            var f = plan.Function;
            if (f.IsCopied)
            {
                instructions += plan.Count;
                original += f.Size;
                memory += plan.MemoryAccesses;
                instrumented += plan.MemoryInstrumented;
                foreach (var s in plan.NotInstrumented ?? []) notInstrumented.Add($"{s} in {f.Name}");
            }
            else leftOut.Add(new LeftOutFunction(f.Name, f.Section.Name, f.Start, f.Size, f.LeftOutReason!));
        }
        return new RewriteReport
        {
            Module = elf.ModuleName,
            Path = elf.Path,
            Functions = catalog.Functions.Count,
            Copied = blob.Functions.Count,
            TooSmall = catalog.TooSmallCount,
            Aliases = catalog.Skipped.Count,
            StaticCallTrampolines = catalog.StaticCallTrampolines.Count,
            Instructions = instructions,
            OriginalBytes = original,
            CodeBytes = blob.Code.Length,
            Fixups = blob.Fixups.Count,
            EventSites = blob.Sites.Count,
            LandingPads = blob.Patches.Count(x => x.Kind == BlobPatchKind.Landing),
            ExceptionEntries = blob.ExTable.Count,
            BugEntries = blob.Bugs.Count,
            OrcEntries = blob.Orc.Count,
            LeftOut = leftOut,
            MemoryAccesses = memory,
            MemoryInstrumented = instrumented,
            NotInstrumented = notInstrumented,
            PatchSitesHandled = handled,
            PatchSitesInLeftOut = inLeftOut,
        };
    }
}
