using System.Buffers.Binary;
using System.Runtime.InteropServices;
using StringBuilder = System.Text.StringBuilder;
using Iced.Intel;
using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Kernel.Modules;

namespace Kedr.Rewriter.Tests.Validation;

/// <summary>
/// Translation validation of a blob against the module it was built from. The only inputs
/// are the original <see cref="ElfFile"/> (with its patch-site tables) and the blob as the
/// loader would read it; nothing of the rewriter's planning is used. Every copied function
/// is decoded next to its original, and every branch target, call target, RIP-relative
/// operand, relocation and fixup is compared in one symbolic address space (<see cref="Place"/>).
/// </summary>
public sealed class TranslationValidator
{
    private const int EventSize = 10;          // push imm32; call rel32
    private const int DetourSize = 17;         // j!cc +15; push imm32; call rel32; jmp rel32
    private const int MaxDiscrepanciesPerModule = 200;

    private readonly ElfFile _elf;
    private readonly KedrBlob _blob;
    private readonly string _module;
    private readonly byte[] _code;
    private readonly List<Discrepancy> _found = [];
    private readonly ValidationStats _stats = new() { Modules = 1 };

    private readonly Dictionary<int, byte[]> _sectionBytes = [];
    private readonly Dictionary<int, PatchSite[]> _sitesBySection;
    private readonly Dictionary<long, int> _fixupAt = [];
    private readonly bool[] _fixupUsed, _siteUsed, _patchUsed;
    private readonly Dictionary<long, int> _patchAt = [];
    /// <summary>Copied functions per section, sorted by start: (start, end, blob index).</summary>
    private readonly Dictionary<int, (long Start, long End, int Index)[]> _copied = [];
    /// <summary>All STT_FUNC symbols per section, sorted by start (for the family of a target that has no copy).</summary>
    private readonly Dictionary<int, (long Start, long End, int Symbol)[]> _elfFunctions = [];
    private long[] _familyKey = [];
    /// <summary>Original instruction start → where a branch to it lands in the copy (past any entry event, before any exit event).</summary>
    private readonly Dictionary<(int Section, long Offset), long> _land = [];
    /// <summary>Original instruction start → where the instruction itself starts in the copy (after the sequences before it).</summary>
    private readonly Dictionary<(int Section, long Offset), long> _insn = [];
    /// <summary>Original instructions whose copy runs with bytes pushed by an event sequence (string instructions).</summary>
    private readonly HashSet<(int Section, long Offset)> _pushedDuring = [];
    private readonly List<TargetCheck> _targetChecks = [];
    private readonly bool[] _functionOk;
    private readonly int[] _functionSection;
    private readonly long[] _functionStart;
    private readonly InstructionInfoFactory _info = new();

    private enum Role : byte { Call, TailJump, Local }

    private readonly record struct TargetCheck(int Function, long Origin, long CopyAt, Role Role, Place OriginalTarget,
        Place CopyTarget, string What);

    /// <summary>Import stubs (1.4) by image offset: the import's index.</summary>
    private readonly Dictionary<long, int> _stubAt = [];
    private readonly bool[] _importUsed;
    /// <summary>The calls table (1.4) by return offset: the entry's index.</summary>
    private readonly Dictionary<long, int> _callAt = [];
    private readonly bool[] _callUsed;

    private TranslationValidator(ElfFile elf, KedrBlob blob)
    {
        _importUsed = new bool[blob.Imports.Count];
        _callUsed = new bool[blob.Calls.Count];
        _elf = elf;
        _blob = blob;
        _module = elf.ModuleName;
        _code = blob.Code;
        _fixupUsed = new bool[blob.Fixups.Count];
        _siteUsed = new bool[blob.Sites.Count];
        _patchUsed = new bool[blob.Patches.Count];
        _functionOk = new bool[blob.Functions.Count];
        _functionSection = new int[blob.Functions.Count];
        _functionStart = new long[blob.Functions.Count];
        if (!PatchSiteReader.TryRead(elf, out var sites, out var error))
            throw new InvalidOperationException($"{elf.Path}: patch-site tables unreadable: {error}");
        _sitesBySection = sites.GroupBy(s => s.SectionIndex)
            .ToDictionary(g => g.Key, g => g.OrderBy(s => s.Offset).ThenBy(s => s.Kind).ToArray());
    }

    /// <summary>Rewrites <paramref name="elf"/>, round-trips the blob through its serialized form, and validates it.</summary>
    public static ValidationResult RewriteAndValidate(ElfFile elf)
    {
        var blob = ModuleRewriter.Rewrite(elf).Blob;
        return ValidateSerialized(elf, BlobWriter.Write(blob));
    }

    /// <summary>Validates a serialized blob: it must first pass the format checks of <see cref="BlobReader"/>.</summary>
    public static ValidationResult ValidateSerialized(ElfFile elf, byte[] blobBytes)
    {
        if (!BlobReader.TryRead(blobBytes, elf.Path + ".kedr", out var blob, out var error))
            return new ValidationResult(elf.ModuleName,
                [new Discrepancy(elf.ModuleName, "(blob)", -1, -1, $"the blob does not read back: {error}", "", "")],
                new ValidationStats { Modules = 1 });
        return Validate(elf, blob!);
    }

    public static ValidationResult Validate(ElfFile elf, KedrBlob blob)
    {
        var v = new TranslationValidator(elf, blob);
        v.Run();
        return new ValidationResult(v._module, v._found, v._stats);
    }

    // ---------------------------------------------------------------- driver

    private void Run()
    {
        if (_blob.Target.Name != _module)
            Report(-1, -1, -1, $"blob names target '{_blob.Target.Name}', the module is '{_module}'");
        if (_blob.Target.SymbolCount != _elf.Symbols.Count)
            Report(-1, -1, -1, $"blob says {_blob.Target.SymbolCount} symbols, the module has {_elf.Symbols.Count}");

        IndexFixups();
        for (int i = 0; i < _blob.Patches.Count; i++)
            if (_blob.Patches[i].Kind != BlobPatchKind.Landing && !_patchAt.TryAdd(_blob.Patches[i].CopyOffset, i))
                Report(-1, -1, _blob.Patches[i].CopyOffset, $"two live-patch slots at the same copy offset (patches {_patchAt[_blob.Patches[i].CopyOffset]} and {i})");
        IndexElfFunctions();
        if (!CheckFunctionRecords()) return;
        IndexImports();

        // Pass one walks every copy next to its original; branch targets are only collected,
        // because a target's copy may belong to a function walked later.
        for (int fi = 0; fi < _blob.Functions.Count; fi++)
        {
            try { _functionOk[fi] = Walk(fi); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Report(fi, -1, -1, $"validator could not walk the function: {e.GetType().Name}: {e.Message}");
            }
            _stats.Functions++;
        }
        // Pass two: every collected target against the complete original→copy map.
        foreach (var t in _targetChecks) CheckTarget(t);
        CheckCodeWithoutCopy();
        CheckLandingPads();
        CheckExceptionTableAndBugs();

        for (int i = 0; i < _fixupUsed.Length; i++)
            if (!_fixupUsed[i])
            {
                var x = _blob.Fixups[i];
                int fi = CopyContaining(x.Offset);
                if (fi >= 0 && !_functionOk[fi]) continue; // the walk stopped early: already reported
                Report(fi, -1, x.Offset, $"fixup {i} ({x.Type} {x.Target} #{x.Index} {Show(FixupPlace(x))}) is not explained by any relocation, RIP-relative operand, branch or event of the original",
                    copy: DisCopy(x.Offset - 1, 2));
            }
        for (int i = 0; i < _siteUsed.Length; i++)
            if (!_siteUsed[i])
            {
                var s = _blob.Sites[i];
                if (s.Function < _blob.Functions.Count && !_functionOk[s.Function]) continue;
                Report(s.Function < _blob.Functions.Count ? (int)s.Function : -1, s.Offset, -1, $"event site {i} ({s.Kind}) is not reported by any event sequence of the copies");
            }
        for (int i = 0; i < _patchUsed.Length; i++)
            if (!_patchUsed[i])
            {
                var p = _blob.Patches[i];
                if (p.Function < _blob.Functions.Count && !_functionOk[p.Function]) continue;
                Report(p.Function < _blob.Functions.Count ? (int)p.Function : -1, p.OriginalOffset, p.CopyOffset,
                    $"live-patch slot {i} ({p.Kind}) does not stand for any patch site of the original");
            }
        CheckImportsUsed();
        CheckFill();
    }

    /// <summary>
    /// Blob 1.4: each import is an undefined symbol of the module with that name, and its stub (int3 until the loader
    /// writes it) stands for that symbol: a branch of the copies to the stub is a branch to the symbol.
    /// </summary>
    private void IndexImports()
    {
        for (int i = 0; i < _blob.Imports.Count; i++)
        {
            var im = _blob.Imports[i];
            var sym = im.SymbolIndex < _elf.Symbols.Count ? _elf.Symbols[(int)im.SymbolIndex] : default;
            // 1.6: a static call trampoline may be the module's own.
            bool staticCall = (im.Flags & BlobImportFlags.StaticCall) != 0;
            if (im.SymbolIndex >= _elf.Symbols.Count || !(sym.IsUndefined || staticCall) || sym.Name != im.Name
                || staticCall != im.Name.StartsWith("__SCT__", StringComparison.Ordinal))
                Report(-1, -1, im.StubOffset, $"import {i} '{im.Name}' is symbol {im.SymbolIndex}, which is not the module's undefined symbol (or static call trampoline) of that name");
            else if (im.StubOffset + BlobFormat.StubSize > _code.Length || _code.AsSpan((int)im.StubOffset, BlobFormat.StubSize).IndexOfAnyExcept((byte)0xcc) >= 0)
                Report(-1, -1, im.StubOffset, $"import {i} '{im.Name}': its stub is not {BlobFormat.StubSize} bytes of int3 inside the image");
            else
                _stubAt[im.StubOffset] = i;
        }
        for (int i = 0; i < _blob.Calls.Count; i++)
            _callAt[_blob.Calls[i].ReturnOffset] = i;
    }

    /// <summary>A call of the copy (at <paramref name="c"/>, for the original's call at <paramref name="off"/>) to a stub has its calls-table entry.</summary>
    private void CheckStubCall(int fi, long off, long c, in Instruction ci)
    {
        if (_fixupAt.ContainsKey(c + 1) || !_stubAt.TryGetValue((long)ci.NearBranch64, out int im)) return;
        if (!_callAt.TryGetValue(c + 5, out int k) || _blob.Calls[k] is var e && (e.Function != fi || e.OriginalOffset != off || e.Import != im))
        {
            Report(fi, off, c, $"call to the stub of import {im} '{_blob.Imports[im].Name}' has no calls-table entry for this call", copy: DisCopy(c, 1));
            return;
        }
        _callUsed[k] = true;
    }

    /// <summary>An absolute 64-bit relocation to the symbol's start in one of the module's data sections.</summary>
    private bool DataHoldsAddressOf(int symbol) =>
        _elf.Sections.Any(s => s.IsAlloc && !s.IsExecutable && (s.Name is ".data" or ".rodata" || s.Name.StartsWith(".data.", StringComparison.Ordinal)
                || s.Name.StartsWith(".rodata.", StringComparison.Ordinal))
            && _elf.GetRelocations(s).Any(r => r.SymbolIndex == symbol && r.Type == Kedr.Core.Elf.RelocationType.Abs64 && r.Addend == 0));

    private void CheckImportsUsed()
    {
        for (int i = 0; i < _importUsed.Length; i++)
        {
            var im = _blob.Imports[i];
            // 1.6: an address-taken import needs no branch, but the module's data must hold its address.
            if ((im.Flags & BlobImportFlags.AddressTaken) != 0 && !DataHoldsAddressOf((int)im.SymbolIndex))
                Report(-1, -1, im.StubOffset, $"import {i} '{im.Name}' is flagged address-taken, but no .data/.rodata word of the module holds its address");
            else if (!_importUsed[i] && (im.Flags & BlobImportFlags.AddressTaken) == 0 && _stubAt.ContainsValue(i))
                Report(-1, -1, im.StubOffset, $"import {i} '{im.Name}': no branch of the copies goes to its stub");
        }
        for (int i = 0; i < _callUsed.Length; i++)
            if (!_callUsed[i])
            {
                var e = _blob.Calls[i];
                if (e.Function < _blob.Functions.Count && !_functionOk[e.Function]) continue;
                Report(e.Function < _blob.Functions.Count ? (int)e.Function : -1, e.OriginalOffset, e.ReturnOffset,
                    $"calls-table entry {i} stands for no call of the copies to a stub");
            }
    }

    private void IndexFixups()
    {
        var order = Enumerable.Range(0, _blob.Fixups.Count).OrderBy(i => _blob.Fixups[i].Offset).ToArray();
        long prevEnd = -1;
        int prev = -1;
        foreach (int i in order)
        {
            var x = _blob.Fixups[i];
            if (x.Offset < prevEnd)
                Report(-1, -1, x.Offset, $"fixups {prev} and {i} overlap");
            _fixupAt.TryAdd(x.Offset, i);
            prevEnd = (long)x.Offset + Width(x.Type);
            prev = i;
        }
    }

    /// <summary>
    /// Every STT_FUNC by section, with its family: a <c>foo.cold*</c> part belongs to a function
    /// <c>foo</c>. Local names repeat across source files and a module keeps no STT_FILE symbols,
    /// so among several <c>foo</c> the one the part is linked with by a branch (a PC-relative
    /// relocation from one into the other) is the parent; failing that, the nearest in the symbol
    /// table. A family is named by its root's (section, offset).
    /// </summary>
    private void IndexElfFunctions()
    {
        var syms = _elf.Symbols;
        var byName = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < syms.Count; i++)
            if (syms[i].IsFunction && syms[i].IsDefinedInSection)
            {
                ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(byName, syms[i].Name, out _);
                (list ??= []).Add(i);
            }
        _familyKey = new long[syms.Count];
        for (int i = 0; i < syms.Count; i++)
        {
            var s = syms[i];
            if (!s.IsFunction || !s.IsDefinedInSection) continue;
            int root = i;
            int cold = s.Name.IndexOf(".cold", StringComparison.Ordinal);
            if (cold > 0 && byName.TryGetValue(s.Name[..cold], out var candidates))
                root = candidates.Count == 1 ? candidates[0]
                    : candidates.FirstOrDefault(c => Branches(c, i) || Branches(i, c), candidates.MinBy(c => Math.Abs(c - i)));
            _familyKey[i] = Key(syms[root].SectionIndex, (long)syms[root].Value);
        }
        foreach (var g in Enumerable.Range(0, syms.Count).Where(i => syms[i].IsFunction && syms[i].IsDefinedInSection)
                     .GroupBy(i => (int)syms[i].SectionIndex))
            _elfFunctions[g.Key] = g.Select(i => ((long)syms[i].Value, (long)(syms[i].Value + Math.Max(syms[i].Size, 1)), i))
                .OrderBy(t => t.Item1).ToArray();
    }

    /// <summary>Does function symbol <paramref name="from"/> hold a PC-relative relocation that lands inside <paramref name="to"/>?</summary>
    private bool Branches(int from, int to)
    {
        var f = _elf.Symbols[from];
        var t = _elf.Symbols[to];
        var relocs = _elf.GetRelocations(_elf.Sections[f.SectionIndex]);
        for (int i = FirstRelocationAtOrAfter(relocs, (long)f.Value); i < relocs.Count && relocs[i].Offset < f.Value + f.Size; i++)
        {
            if (!relocs[i].IsPcRelative) continue;
            var p = SymbolPlace(relocs[i].SymbolIndex, relocs[i].Addend + 4);
            if (p.Kind == PlaceKind.Original && p.Section == t.SectionIndex && p.Offset >= (long)t.Value && p.Offset < (long)(t.Value + t.Size))
                return true;
        }
        return false;
    }

    private static long Key(int section, long offset) => (long)section << 40 | offset;

    /// <summary>Each function record against its ELF symbol; owners against the .cold naming; no overlaps.</summary>
    private bool CheckFunctionRecords()
    {
        bool ok = true;
        var fs = _blob.Functions;
        for (int fi = 0; fi < fs.Count; fi++)
        {
            var f = fs[fi];
            if (f.SymbolIndex >= _elf.Symbols.Count)
            {
                Report(fi, -1, -1, $"symbol index {f.SymbolIndex} is out of range");
                ok = false;
                continue;
            }
            var sym = _elf.Symbols[(int)f.SymbolIndex];
            if (!sym.IsFunction || !sym.IsDefinedInSection || sym.Name != f.Name || sym.Size != f.Size)
            {
                Report(fi, -1, -1, $"symbol {f.SymbolIndex} is '{sym.Name}' (type {sym.Type}, {sym.Size} bytes, section {sym.SectionIndex}), not the function '{f.Name}' of {f.Size} bytes");
                ok = false;
                continue;
            }
            var sec = _elf.Sections[sym.SectionIndex];
            if (!sec.IsExecutable || sec.Type == ElfConstants.ShtNobits || sym.Value + sym.Size > sec.Size)
            {
                Report(fi, -1, -1, $"'{f.Name}' is not code inside an executable section ({sec.Name})");
                ok = false;
                continue;
            }
            _functionSection[fi] = sym.SectionIndex;
            _functionStart[fi] = (long)sym.Value;
            bool init = sec.Name.StartsWith(".init", StringComparison.Ordinal);
            if (((f.Flags & BlobFunctionFlags.Init) != 0) != init)
                Report(fi, -1, -1, $"INIT flag is {((f.Flags & BlobFunctionFlags.Init) != 0)}, the function is in {sec.Name}");
            if (f.CopySize == 0)
                Report(fi, -1, f.CopyOffset, "the copy is empty");
        }
        if (!ok) return false;

        // Owners: a part is owned by the copy of its family's root; everything else owns itself.
        var copiedAt = new Dictionary<long, int>();
        for (int fi = 0; fi < fs.Count; fi++) copiedAt[Key(_functionSection[fi], _functionStart[fi])] = fi;
        for (int fi = 0; fi < fs.Count; fi++)
        {
            var f = fs[fi];
            long family = _familyKey[f.SymbolIndex];
            int expected = family != Key(_functionSection[fi], _functionStart[fi]) && copiedAt.TryGetValue(family, out int o) ? o : fi;
            bool part = (f.Flags & BlobFunctionFlags.Part) != 0;
            if (part != (expected != fi) || f.Owner != expected)
                Report(fi, -1, -1, $"owner is function {f.Owner} '{fs[(int)f.Owner].Name}' at {Show(Place.Original(_functionSection[(int)f.Owner], _functionStart[(int)f.Owner]))}" +
                    $"{(part ? " (PART)" : "")}; expected {(expected == fi ? "itself" : $"function {expected} '{fs[expected].Name}' at {Show(Place.Original(_functionSection[expected], _functionStart[expected]))} (PART)")}");
        }

        // Originals must not overlap (one entry jump per function), nor must copies.
        foreach (var g in Enumerable.Range(0, fs.Count).GroupBy(fi => _functionSection[fi]))
        {
            var arr = g.Select(fi => (_functionStart[fi], _functionStart[fi] + (long)fs[fi].Size, fi)).OrderBy(t => t.Item1).ToArray();
            for (int i = 1; i < arr.Length; i++)
                if (arr[i].Item1 < arr[i - 1].Item2)
                {
                    Report(arr[i].fi, -1, -1, $"original overlaps that of '{fs[arr[i - 1].fi].Name}'");
                    ok = false;
                }
            _copied[g.Key] = arr;
        }
        var byCopy = Enumerable.Range(0, fs.Count).OrderBy(fi => fs[fi].CopyOffset).ToArray();
        for (int i = 1; i < byCopy.Length; i++)
            if (fs[byCopy[i]].CopyOffset < (long)fs[byCopy[i - 1]].CopyOffset + fs[byCopy[i - 1]].CopySize)
            {
                Report(byCopy[i], -1, fs[byCopy[i]].CopyOffset, $"copy overlaps that of '{fs[byCopy[i - 1]].Name}'");
                ok = false;
            }
        return ok;
    }

    /// <summary>
    /// The original of a copied function is int3 after its entry jump, so code that keeps running
    /// from the original (functions without a copy, however small) must never branch into the
    /// middle of a copied function.
    /// </summary>
    private void CheckCodeWithoutCopy()
    {
        foreach (var (sec, arr) in _elfFunctions)
        {
            var section = _elf.Sections[sec];
            if (!section.IsExecutable || section.Type == ElfConstants.ShtNobits) continue;
            var relocs = _elf.GetRelocations(section);
            var bytes = SectionBytes(sec);
            long coveredUntil = -1;
            foreach (var (start, end0, symbol) in arr)
            {
                long end = Math.Min(end0, bytes.Length);
                if (end <= coveredUntil || FindCopied(Place.Original(sec, start)) >= 0) continue;
                coveredUntil = end;
                var d = Decoder.Create(64, new ByteArrayCodeReader(bytes, (int)start, (int)(end - start)), (ulong)start);
                while (d.IP < (ulong)end)
                {
                    d.Decode(out var ins);
                    if (ins.IsInvalid) break;
                    if (!IsRelativeBranch(ins)) continue;
                    long at = (long)ins.IP;
                    if (BranchTargetOriginal(sec, at, ins, relocs) is not { } t) continue;
                    int g = FindCopied(t);
                    if (g >= 0 && t.Offset != _functionStart[g])
                        Report(g, t.Offset - _functionStart[g], -1,
                            $"{_elf.Symbols[symbol].Name}+0x{at - start:x}, which has no copy, branches into the middle of this copied function: its original is int3 there",
                            DisOriginal(sec, at, end));
                }
            }
        }
    }

    /// <summary>
    /// Landing pads: the loader writes <c>jmp copy_offset</c> over 5 bytes of the original, where data
    /// points into the middle of a copied function. The jmp must go to the copy of that instruction,
    /// and the 5 bytes must be the function's own, clear of its entry jump, of other pads and of
    /// every place the kernel patches.
    /// </summary>
    private void CheckLandingPads()
    {
        var pads = new Dictionary<int, List<(long Start, int Index)>>();
        for (int i = 0; i < _blob.Patches.Count; i++)
        {
            var p = _blob.Patches[i];
            if (p.Kind != BlobPatchKind.Landing) continue;
            _patchUsed[i] = true;
            _stats.Patches++;
            int fi = (int)p.Function;
            if (fi >= _blob.Functions.Count) { Report(-1, p.OriginalOffset, p.CopyOffset, $"landing pad {i} for function {p.Function}, out of range"); continue; }
            if (!_functionOk[fi]) continue;
            int sec = _functionSection[fi];
            long at = _functionStart[fi] + p.OriginalOffset;
            string dis = DisOriginal(sec, at, _functionStart[fi] + _blob.Functions[fi].Size);
            if (p.Length != 5 || p.SlotLength != 0 || p.OriginalOffset < 5 || p.OriginalOffset + 5 > _blob.Functions[fi].Size)
                Report(fi, p.OriginalOffset, p.CopyOffset, $"landing pad {i}: {p.Length} bytes (slot {p.SlotLength}) at +0x{p.OriginalOffset:x}: not 5 bytes of the function clear of its entry jump", dis);
            if (!_land.TryGetValue((sec, at), out long land))
                Report(fi, p.OriginalOffset, p.CopyOffset, $"landing pad {i} is not at an instruction of the copied original", dis);
            else if (land != p.CopyOffset)
                Report(fi, p.OriginalOffset, p.CopyOffset, $"landing pad {i} jumps to {Show(Place.Image(p.CopyOffset))}; the copy of this instruction is at {Show(Place.Image(land))}", dis, DisCopy(p.CopyOffset, 1));
            foreach (var s in SitesIn(sec, at - 15, at + 5))
                if (s.Kind is not (PatchSiteKind.ExceptionTable or PatchSiteKind.BugTable) && s.Offset + Math.Max(s.Length, 1) > at && s.Offset < at + 5)
                    Report(fi, p.OriginalOffset, p.CopyOffset, $"landing pad {i} overlaps a {s.Kind} site at +0x{s.Offset - _functionStart[fi]:x}, which the kernel patches", dis);
            (CollectionsMarshal.GetValueRefOrAddDefault(pads, fi, out _) ??= []).Add((p.OriginalOffset, i));
        }
        foreach (var (fi, list) in pads)
        {
            list.Sort();
            for (int k = 1; k < list.Count; k++)
                if (list[k].Start < list[k - 1].Start + 5)
                    Report(fi, list[k].Start, -1, $"landing pads {list[k - 1].Index} and {list[k].Index} overlap");
        }
    }

    /// <summary>
    /// Every __ex_table and __bug_table entry of a copied function moves to its copy: the faulting
    /// instruction's copy, and a fixup that continues where the original's would (its copy, or the
    /// original place itself); the ud2's copy with the same file, line and flags.
    /// </summary>
    private void CheckExceptionTableAndBugs()
    {
        var ex = new Dictionary<uint, List<int>>();
        for (int i = 0; i < _blob.ExTable.Count; i++)
            (CollectionsMarshal.GetValueRefOrAddDefault(ex, _blob.ExTable[i].InsnCopy, out _) ??= []).Add(i);
        var bugs = new Dictionary<uint, List<int>>();
        for (int i = 0; i < _blob.Bugs.Count; i++)
            (CollectionsMarshal.GetValueRefOrAddDefault(bugs, _blob.Bugs[i].CopyOffset, out _) ??= []).Add(i);
        var exUsed = new bool[_blob.ExTable.Count];
        var bugUsed = new bool[_blob.Bugs.Count];

        foreach (var (sec, sites) in _sitesBySection)
            foreach (var s in sites)
            {
                if (s.Kind is not (PatchSiteKind.ExceptionTable or PatchSiteKind.BugTable)) continue;
                int fi = FindCopied(Place.Original(sec, s.Offset));
                if (fi < 0 || !_functionOk[fi]) continue;
                long off = s.Offset - _functionStart[fi];
                string dis = DisOriginal(sec, s.Offset, _functionStart[fi] + _blob.Functions[fi].Size);
                if (!_insn.TryGetValue((sec, s.Offset), out long insn))
                {
                    Report(fi, off, -1, $"{s.Kind} entry names no instruction that the copy holds as such", dis);
                    continue;
                }
                if (s.Kind == PatchSiteKind.BugTable)
                {
                    _stats.Bugs++;
                    var file = SymbolPlace(s.AuxSymbol, s.AuxAddend);
                    int match = bugs.TryGetValue((uint)insn, out var bl)
                        ? bl.FirstOrDefault(b => !bugUsed[b] && SymbolPlace((int)_blob.Bugs[b].FileSymbol, _blob.Bugs[b].FileAddend) == file
                            && _blob.Bugs[b].Line == (ushort)s.Data && _blob.Bugs[b].Flags == (ushort)(s.Data >> 16), -1)
                        : -1;
                    if (match < 0)
                        Report(fi, off, insn, $"__bug_table entry ({Show(file)} line {(ushort)s.Data} flags 0x{s.Data >> 16:x}) has no bug entry for its copy", dis, DisCopy(insn, 1));
                    else bugUsed[match] = true;
                    continue;
                }
                _stats.ExceptionEntries++;
                if (_pushedDuring.Contains((sec, s.Offset)))
                    Report(fi, off, insn, "instruction may fault to its exception fixup while its event sequence has bytes pushed: the fixup would run with %rsp off", dis, DisCopy(insn, 1));
                var fixup = Place.Original(s.TargetSection, s.TargetOffset);
                int g = FindCopied(fixup);
                Place expected = g >= 0 && _land.TryGetValue((fixup.Section, fixup.Offset), out long l) ? Place.Image(l) : fixup;
                if (g >= 0 && expected == fixup)
                    Report(fi, off, insn, $"exception fixup {Show(fixup)} is inside the copied '{_blob.Functions[g].Name}' but not at an instruction of its copy", dis);
                int found = ex.TryGetValue((uint)insn, out var el)
                    ? el.FirstOrDefault(e => !exUsed[e] && _blob.ExTable[e].Data == s.Data && ExFixupPlace(_blob.ExTable[e]) == expected, -1)
                    : -1;
                if (found < 0)
                    Report(fi, off, insn, $"__ex_table entry (fixup {Show(fixup)}, data 0x{s.Data:x}) has no entry for its copy with fixup {Show(expected)}" +
                        (el is null ? "" : $"; the copy's entries say {string.Join(", ", el.Select(e => $"{Show(ExFixupPlace(_blob.ExTable[e]))} data 0x{_blob.ExTable[e].Data:x}"))}"), dis, DisCopy(insn, 1));
                else exUsed[found] = true;
            }
        for (int i = 0; i < exUsed.Length; i++)
            if (!exUsed[i] && CopyContaining(_blob.ExTable[i].InsnCopy) is var fi && (fi < 0 || _functionOk[fi]))
                Report(fi, -1, _blob.ExTable[i].InsnCopy, $"exception-table entry {i} (fixup {Show(ExFixupPlace(_blob.ExTable[i]))}) stands for no __ex_table entry of the original");
        for (int i = 0; i < bugUsed.Length; i++)
            if (!bugUsed[i] && CopyContaining(_blob.Bugs[i].CopyOffset) is var fi && (fi < 0 || _functionOk[fi]))
                Report(fi, -1, _blob.Bugs[i].CopyOffset, $"bug entry {i} stands for no __bug_table entry of the original");
    }

    private Place ExFixupPlace(in BlobExTableEntry e) =>
        e.FixupCopy != 0xffffffffU ? Place.Image(e.FixupCopy)
        : e.FixupSymbol < _elf.Symbols.Count ? SymbolPlace((int)e.FixupSymbol, e.FixupAddend)
        : Place.External($"<symbol #{e.FixupSymbol}>", e.FixupAddend);

    /// <summary>Bytes of the image outside every copy are int3 padding, never code.</summary>
    private void CheckFill()
    {
        var covered = new bool[_code.Length];
        foreach (var f in _blob.Functions)
            covered.AsSpan((int)f.CopyOffset, (int)f.CopySize).Fill(true);
        foreach (var p in _blob.Patches)
            covered.AsSpan((int)p.CopyOffset, p.SlotLength).Fill(true);
        for (int i = 0; i < _code.Length; i++)
            if (!covered[i] && _code[i] != 0xcc)
            {
                Report(-1, -1, i, $"image byte 0x{_code[i]:x2} outside every copy (padding must be int3)");
                return;
            }
    }

    // ---------------------------------------------------------------- one function

    /// <summary>Walks original and copy in lockstep; false once they can no longer be matched.</summary>
    private bool Walk(int fi)
    {
        var f = _blob.Functions[fi];
        int sec = _functionSection[fi];
        long start = _functionStart[fi], end = start + f.Size;
        long cStart = f.CopyOffset, cEnd = cStart + f.CopySize;
        bool isPart = (f.Flags & BlobFunctionFlags.Part) != 0;
        byte[] bytes = SectionBytes(sec);
        var relocs = _elf.GetRelocations(_elf.Sections[sec]);
        int ri = FirstRelocationAtOrAfter(relocs, start);
        var sitesHere = SitesIn(sec, start, end);
        var siteAt = sitesHere.GroupBy(s => s.Offset).ToDictionary(g => g.Key, g => g.ToArray());
        var starts = new HashSet<long>();

        var oReader = new ByteArrayCodeReader(bytes, (int)start, (int)f.Size);
        var od = Decoder.Create(64, oReader, (ulong)start);

        long o = start, c = cStart;
        Instruction last = default;
        bool lastIsSlot = false;

        while (o < end)
        {
            if (o == start && !isPart && !ExpectEvent(fi, ref c, cEnd, 0, BlobEventKind.Entry, "at the start of the copy"))
                return false;
            var ins = DecodeOriginal(od, oReader, start, o);
            if (ins.IsInvalid || o + ins.Length > end)
            {
                Report(fi, o - start, c, "the original does not decode into instructions that end at the function's end");
                return false;
            }
            var offsets = od.GetConstantOffsets(ins);
            starts.Add(o);
            _land[(sec, o)] = c;
            _stats.Instructions++;

            int rFirst = ri;
            while (ri < relocs.Count && (long)relocs[ri].Offset < o + ins.Length)
            {
                var r = relocs[ri];
                if ((long)r.Offset + r.Width > o + ins.Length)
                {
                    Report(fi, o - start, c, $"relocation {r.Type} at +0x{(long)r.Offset - start:x} straddles the instruction's end", DisOriginal(sec, o, end));
                    return false;
                }
                ri++;
            }
            int rCount = ri - rFirst;
            _stats.Relocations += rCount;

            siteAt.TryGetValue(o, out var sitesAtO);
            var slotSites = sitesAtO?.Where(s => s.Kind is PatchSiteKind.Alternative or PatchSiteKind.Paravirt && s.Length > 0).ToArray() ?? [];
            bool fentry = sitesAtO?.Any(s => s.Kind == PatchSiteKind.Fentry) ?? false;
            bool jumpLabel = sitesAtO?.Any(s => s.Kind == PatchSiteKind.JumpLabel) ?? false;
            if ((fentry ? 1 : 0) + (jumpLabel ? 1 : 0) + (slotSites.Length > 0 ? 1 : 0) > 1)
            {
                Report(fi, o - start, c, $"patch sites of different kinds at one place: {string.Join(", ", sitesAtO!.Select(s => s.Kind))}", DisOriginal(sec, o, end));
                return false;
            }

            if (fentry)
            {
                if (!CheckFentry(fi, sec, start, o, ins, relocs, rFirst, rCount)) return false;
                _stats.DroppedFentry++;
                o += ins.Length;
                lastIsSlot = true;
                continue;
            }
            if (slotSites.Length > 0)
            {
                int len = slotSites.Max(s => s.Length);
                if (!LiveBytesSlot(fi, sec, start, end, ref o, ref c, cEnd, len, slotSites, relocs, ref ri, starts)) return false;
                lastIsSlot = true;
                continue;
            }
            bool thunkSite = sitesAtO?.Any(s => s.Kind is PatchSiteKind.ReturnThunk or PatchSiteKind.Retpoline) ?? false;
            if (thunkSite && ins.Length == 5 && ins.Code is Code.Call_rel32_64 or Code.Jmp_rel32_64 && _patchAt.ContainsKey(ins.Code == Code.Jmp_rel32_64 ? c + EventSize : c))
            {
                if (!ThunkSlot(fi, sec, start, o, ref c, cEnd, ins, relocs, rFirst, rCount, sitesAtO!)) return false;
                _insn[(sec, o)] = c - 5;
                o += ins.Length;
                lastIsSlot = ins.Code == Code.Call_rel32_64;
                last = ins;
                continue;
            }
            if (jumpLabel)
            {
                var site = sitesAtO!.First(s => s.Kind == PatchSiteKind.JumpLabel);
                if (!JumpLabelSlot(fi, sec, start, end, o, ref c, cEnd, ins, site, relocs, rFirst, rCount)) return false;
                o += ins.Length;
                lastIsSlot = true;
                continue;
            }

            if (!MemoryEventBefore(fi, sec, start, end, o, ref c, cEnd, ins, offsets, relocs, rFirst, rCount, out bool stringAfter, out bool lockedDoneAfter)) return false;
            if (stringAfter) _pushedDuring.Add((sec, o));
            bool ok = IsRelativeBranch(ins)
                ? Branch(fi, sec, start, end, isPart, o, ref c, cEnd, ins, relocs, rFirst, rCount)
                : Verbatim(fi, sec, start, end, o, ref c, cEnd, ins, offsets, relocs, rFirst, rCount);
            if (!ok) return false;
            if (stringAfter && !StringEventAfter(fi, sec, start, end, o, ref c, cEnd, ins)) return false;
            if (lockedDoneAfter && !LockedDoneAfter(fi, sec, start, end, o, ref c, cEnd, ins, offsets, relocs, rFirst, rCount)) return false;
            last = ins;
            lastIsSlot = false;
            o += ins.Length;
        }

        // Execution that runs off the original's end continues after it: the copy must say where.
        bool fallsThrough = lastIsSlot || CanFallThrough(last);
        if (fallsThrough)
        {
            var j = DecodeCopy(fi, c);
            if (c + 5 > cEnd || j.Code != Code.Jmp_rel32_64 || j.Length != 5)
            {
                Report(fi, f.Size, c, "the original falls through its end; the copy does not end with a jmp rel32 to where it continues",
                    DisOriginal(sec, end - (last.Length > 0 ? last.Length : 0), end), DisCopy(c, 1));
                return false;
            }
            _targetChecks.Add(new TargetCheck(fi, f.Size, c, Role.Local, Place.Original(sec, end), CopyBranchTarget(j, c + 1), "fall-through jmp"));
            _stats.FallThroughJumps++;
            _stats.Branches++;
            c += 5;
        }
        if (c != cEnd)
        {
            Report(fi, f.Size, c, $"the copy has {cEnd - c} bytes more than its original accounts for", copy: DisCopy(c, 3));
            return false;
        }

        // Sites the kernel patches must start at instructions (an SMP lock prefix is a byte of one).
        foreach (var s in sitesHere)
            if (s.Kind is not (PatchSiteKind.SmpLock or PatchSiteKind.ExceptionTable or PatchSiteKind.BugTable) && !starts.Contains(s.Offset))
                Report(fi, s.Offset - start, -1, $"{s.Kind} site is not at an instruction start of the original");

        CheckDigestAndMasks(fi, sec, start, f, relocs, sitesHere, starts);
        return true;
    }

    private static bool CanFallThrough(in Instruction last) => last.FlowControl switch
    {
        FlowControl.Return or FlowControl.UnconditionalBranch or FlowControl.IndirectBranch => false,
        FlowControl.Exception => false,                 // ud2
        FlowControl.Interrupt => last.Code != Code.Int3,
        _ => true,
    };

    /// <summary><c>call __fentry__</c>: the kernel NOPs it; it has no copy.</summary>
    private bool CheckFentry(int fi, int sec, long start, long o, in Instruction ins, IReadOnlyList<ElfRelocation> relocs, int rFirst, int rCount)
    {
        bool ok = ins.Code == Code.Call_rel32_64 && ins.Length == 5 && rCount == 1
            && relocs[rFirst].Offset == (ulong)(o + 1)
            && _elf.Symbols[relocs[rFirst].SymbolIndex] is { IsUndefined: true, Name: "__fentry__" };
        if (!ok)
            Report(fi, o - start, -1, "__mcount_loc names an instruction that is not call __fentry__", DisOriginal(sec, o, o + ins.Length));
        return ok;
    }

    /// <summary>An alternative or paravirt site: a slot the loader fills from the live original.</summary>
    private bool LiveBytesSlot(int fi, int sec, long start, long end, ref long o, ref long c, long cEnd, int len,
        PatchSite[] sites, IReadOnlyList<ElfRelocation> relocs, ref int ri, HashSet<long> starts)
    {
        long siteEnd = o + len;
        if (siteEnd > end)
        {
            Report(fi, o - start, c, $"{sites[0].Kind} site of {len} bytes runs past the function", DisOriginal(sec, o, end));
            return false;
        }
        if (!_patchAt.TryGetValue(c, out int pi))
        {
            Report(fi, o - start, c, $"{sites[0].Kind} site of {len} bytes has no live-patch slot at this place of the copy", DisOriginal(sec, o, siteEnd), DisCopy(c, 2));
            return false;
        }
        var p = _blob.Patches[pi];
        _patchUsed[pi] = true;
        _stats.Patches++;
        if (p.Kind == BlobPatchKind.JumpLabel && sites.Any(x => x.Kind == PatchSiteKind.Alternative))
        {
            if (!AlternativeJumpSlot(fi, sec, start, end, o, c, cEnd, len, pi, sites)) return false;
            long sEnd = o + len;
            var sd0 = Decoder.Create(64, new ByteArrayCodeReader(SectionBytes(sec), (int)o, len), (ulong)o);
            for (long at0 = o; at0 < sEnd;)
            {
                var i0 = sd0.Decode();
                if (i0.IsInvalid || at0 + i0.Length > sEnd)
                {
                    Report(fi, at0 - start, c, "the alternative site's end splits an instruction", DisOriginal(sec, o, sEnd));
                    return false;
                }
                starts.Add(at0);
                _stats.Instructions++;
                at0 += i0.Length;
            }
            while (ri < relocs.Count && (long)relocs[ri].Offset < sEnd) { ri++; _stats.Relocations++; }
            o = sEnd;
            c += p.SlotLength;
            return true;
        }
        if (p.Kind != BlobPatchKind.LiveBytes || p.Function != fi || p.OriginalOffset != o - start || p.Length != len || p.SlotLength < len)
        {
            Report(fi, o - start, c, $"live-patch slot {pi} is {p.Kind} for function {p.Function} +0x{p.OriginalOffset:x}, {p.Length}/{p.SlotLength} bytes; expected LiveBytes for this function +0x{o - start:x}, {len} bytes", DisOriginal(sec, o, siteEnd));
            return false;
        }
        if (c + p.SlotLength > cEnd)
        {
            Report(fi, o - start, c, "live-patch slot runs past the copy");
            return false;
        }
        for (long x = c; x < c + p.SlotLength; x++)
            if (_fixupAt.ContainsKey(x))
                Report(fi, o - start, x, "a fixup inside a live-patch slot (the loader overwrites the slot)");

        // The slot holds the live bytes moved to another address: they must not depend on where they are,
        // except a leading call/jmp rel32, which the loader rebases.
        // A paravirt site is always rewritten at load (into a direct call or native code); an alternative's
        // original bytes stay when the CPU lacks the feature.
        bool alternative = sites.Any(s => s.Kind == PatchSiteKind.Alternative)
            && !SitesIn(sec, o, o + 1).Any(s => s.Kind == PatchSiteKind.Paravirt);
        var sd = Decoder.Create(64, new ByteArrayCodeReader(SectionBytes(sec), (int)o, len), (ulong)o);
        long at = o;
        while (at < siteEnd)
        {
            sd.Decode(out var ins);
            if (ins.IsInvalid || at + ins.Length > siteEnd)
            {
                Report(fi, at - start, c, $"the {sites[0].Kind} site's end splits an instruction", DisOriginal(sec, o, siteEnd));
                return false;
            }
            starts.Add(at);
            _insn[(sec, at)] = c + (at - o); // the live bytes keep the site's layout (exception entries point here)
            _stats.Instructions++;
            if (alternative)
            {
                bool leading = at == o && ins.Length == 5 && ins.Code is Code.Call_rel32_64 or Code.Jmp_rel32_64;
                if (ins.Code == Code.Jmp_rel32_64 && leading)
                {
                    var t = BranchTargetOriginal(sec, at, ins, relocs);
                    if (t is { } tp && FindCopied(tp) >= 0)
                        Report(fi, at - start, c, $"alternative starts with a jmp to {Show(tp)}, which has a copy: the live slot would jump into the original", DisOriginal(sec, o, siteEnd));
                }
                else if (IsRelativeBranch(ins) && !leading)
                    Report(fi, at - start, c, "alternative's original holds a relative branch that is not a leading call/jmp rel32: moved to the slot it would go elsewhere", DisOriginal(sec, o, siteEnd));
                if (ins.IsIPRelativeMemoryOperand)
                    Report(fi, at - start, c, "alternative's original holds a RIP-relative operand: moved to the slot it would address something else", DisOriginal(sec, o, siteEnd));
            }
            at += ins.Length;
        }
        if (alternative)
            foreach (var s in sites)
                if (s.ReplacementSection >= 0 && s.ReplacementLength > 0)
                {
                    var rb = SectionBytes(s.ReplacementSection);
                    if (s.ReplacementOffset < rb.Length && rb[s.ReplacementOffset] is 0xe9 or 0xeb)
                        Report(fi, o - start, c, "an alternative's replacement starts with a jmp: the live slot would jump into the original", DisOriginal(sec, o, siteEnd));
                }
        while (ri < relocs.Count && (long)relocs[ri].Offset < siteEnd)
        {
            var r = relocs[ri];
            long k = (long)r.Offset - o;
            if (alternative && r.IsPcRelative && !(k == 1 && SectionBytes(sec)[o] is 0xe8 or 0xe9 && len >= 5))
                Report(fi, o - start, c, $"PC-relative relocation at +0x{(long)r.Offset - start:x} inside an alternative's original, not on a leading call/jmp: the live bytes cannot be moved", DisOriginal(sec, o, siteEnd));
            _stats.Relocations++;
            ri++;
        }
        foreach (var other in SitesIn(sec, o + 1, siteEnd))
            if (other.Kind is PatchSiteKind.Fentry or PatchSiteKind.JumpLabel)
                Report(fi, other.Offset - start, c, $"{other.Kind} site inside a live-bytes slot");
        o = siteEnd;
        c += p.SlotLength;
        return true;
    }

    /// <summary>
    /// A .return_sites/.retpoline_sites call or jmp rel32 to a thunk: the kernel decides at boot what
    /// runs there (ret, the chosen return thunk, an indirect branch), so the copy has a 5-byte
    /// live-bytes slot, after an exit event when it returns or tail-calls.
    /// </summary>
    private bool ThunkSlot(int fi, int sec, long start, long o, ref long c, long cEnd, in Instruction ins,
        IReadOnlyList<ElfRelocation> relocs, int rFirst, int rCount, PatchSite[] sites)
    {
        string dis = DisOriginal(sec, o, o + ins.Length);
        var thunk = rCount == 1 && (long)relocs[rFirst].Offset == o + 1 ? _elf.Symbols[relocs[rFirst].SymbolIndex] : default;
        bool isReturn = sites.Any(s => s.Kind == PatchSiteKind.ReturnThunk);
        bool named = thunk.IsUndefined && (isReturn ? thunk.Name == "__x86_return_thunk" : thunk.Name.StartsWith("__x86_indirect_thunk_", StringComparison.Ordinal));
        if (!named)
        {
            Report(fi, o - start, c, $"{(isReturn ? ".return_sites" : ".retpoline_sites")} entry is not a call/jmp to the kernel's thunk", dis);
            return false;
        }
        _stats.Relocations += rCount;
        if (ins.Code == Code.Jmp_rel32_64 && !ExpectEvent(fi, ref c, cEnd, o - start, BlobEventKind.Exit, "before a return or tail call through a thunk"))
            return false;
        if (!_patchAt.TryGetValue(c, out int pi))
        {
            Report(fi, o - start, c, "thunk site has no live-bytes slot", dis, DisCopy(c, 1));
            return false;
        }
        var p = _blob.Patches[pi];
        _patchUsed[pi] = true;
        _stats.Patches++;
        if (p.Kind != BlobPatchKind.LiveBytes || p.Function != fi || p.OriginalOffset != o - start || p.Length != 5 || p.SlotLength != 5)
        {
            Report(fi, o - start, c, $"thunk slot {pi} is {p.Kind} for function {p.Function} +0x{p.OriginalOffset:x}, {p.Length}/{p.SlotLength} bytes; expected a 5-byte LiveBytes slot here", dis);
            return false;
        }
        for (long x = c; x < c + 5; x++)
            if (_fixupAt.ContainsKey(x)) Report(fi, o - start, x, "a fixup inside a live-bytes slot (the loader overwrites the slot)");
        c += 5;
        return true;
    }

    /// <summary>A jump label: a 2- or 5-byte jmp or NOP; the slot becomes a jmp to the target's copy or a NOP.</summary>
    private bool JumpLabelSlot(int fi, int sec, long start, long end, long o, ref long c, long cEnd, in Instruction ins,
        PatchSite site, IReadOnlyList<ElfRelocation> relocs, int rFirst, int rCount)
    {
        bool isJmp = ins.Code is Code.Jmp_rel8_64 or Code.Jmp_rel32_64;
        bool isNop = ins.Mnemonic == Mnemonic.Nop;
        if (!(ins.Length is 2 or 5) || !(isJmp || isNop))
        {
            Report(fi, o - start, c, "__jump_table names an instruction that is not a 2- or 5-byte jmp or NOP", DisOriginal(sec, o, end));
            return false;
        }
        var target = Place.Original(site.TargetSection, site.TargetOffset);
        if (isJmp && BranchTargetOriginal(sec, o, ins, relocs) is { } t && t != target)
            Report(fi, o - start, c, $"jump label's jmp goes to {Show(t)}, its __jump_table entry says {Show(target)}", DisOriginal(sec, o, end));
        if (!_patchAt.TryGetValue(c, out int pi))
            return JumpLabelTest(fi, sec, start, end, o, ref c, cEnd, site, target);
        var p = _blob.Patches[pi];
        _patchUsed[pi] = true;
        _stats.Patches++;
        if (p.Kind != BlobPatchKind.JumpLabel || p.Function != fi || p.OriginalOffset != o - start || p.Length != ins.Length || p.SlotLength != 5 || c + p.SlotLength > cEnd)
        {
            Report(fi, o - start, c, $"live-patch slot {pi} is {p.Kind} for function {p.Function} +0x{p.OriginalOffset:x}, {p.Length}/{p.SlotLength} bytes; expected JumpLabel for this function +0x{o - start:x}, {ins.Length}/5 bytes", DisOriginal(sec, o, end));
            return false;
        }
        for (long x = c; x < c + p.SlotLength; x++)
            if (_fixupAt.ContainsKey(x))
                Report(fi, o - start, x, "a fixup inside a jump-label slot (the loader overwrites the slot)");
        _targetChecks.Add(new TargetCheck(fi, o - start, c, Role.Local, target, Place.Image(p.TargetCopyOffset), "jump label"));
        c += p.SlotLength;
        return true;
    }

    /// <summary>
    /// A jump label that reads its key each time:
    /// <c>pushf; cmpl $0,key(%rip); jg/jle 1f; popf; jmp 2f; 1: popf; jmp target; 2:</c>.
    /// The kernel jumps when static_key_enabled(key) (enabled &gt; 0) differs from the entry's branch
    /// bit (bit 0 of the key reference in __jump_table): jg for a false-default entry, jle for a true one.
    /// </summary>
    private bool JumpLabelTest(int fi, int sec, long start, long end, long o, ref long c, long cEnd, PatchSite site, Place target)
    {
        const int size = 19;
        string dis = DisOriginal(sec, o, end);
        long off = o - start;
        bool branch = (site.AuxAddend & 1) != 0;
        byte cc = branch ? (byte)0x7e : (byte)0x7f;
        var b = c + size <= cEnd ? _code.AsSpan((int)c, size) : [];
        if (b.Length != size || b[0] != 0x9c || b[1] != 0x83 || b[2] != 0x3d || b[7] != 0 || b[8] != cc || b[9] != 3
            || b[10] != 0x9d || b[11] != 0xeb || b[12] != 6 || b[13] != 0x9d || b[14] != 0xe9)
        {
            Report(fi, off, c, $"jump label: expected a live-patch slot or pushf; cmpl $0,key(%rip); {(branch ? "jle" : "jg")} +3; popf; jmp +6; popf; jmp target",
                dis, DisCopy(c, 7));
            return false;
        }
        _stats.JumpLabelTests++;
        var key = SymbolPlace(site.AuxSymbol, site.AuxAddend & ~3L);
        if (!_fixupAt.TryGetValue(c + 3, out int kx))
            Report(fi, off, c, $"jump label's key {Show(key)} has no fixup", dis, DisCopy(c, 2));
        else
        {
            var x = _blob.Fixups[kx];
            _fixupUsed[kx] = true;
            _stats.Fixups++;
            var got = FixupPlace(x).Plus(5);
            if (x.Type != BlobFixupType.Pc32 || got != key)
                Report(fi, off, c, $"jump label tests {Show(got)} ({x.Type} fixup), its key is {Show(key)}", dis, DisCopy(c, 2));
        }
        long j = c + 14;
        _targetChecks.Add(new TargetCheck(fi, off, j, Role.Local, target, CopyBranchTarget(DecodeCopy(fi, j), j + 1), "jump label"));
        _stats.Branches++;
        c += size;
        return true;
    }

    /// <summary>
    /// An alternative that jumps (static_cpu_has): the live bytes are a jmp (or NOPs), so the slot
    /// becomes a jmp to the copy of the one place every possible live jmp goes, or NOPs.
    /// </summary>
    private bool AlternativeJumpSlot(int fi, int sec, long start, long end, long o, long c, long cEnd, int len, int pi, PatchSite[] sites)
    {
        var p = _blob.Patches[pi];
        string dis = DisOriginal(sec, o, end);
        long off = o - start;
        if (p.Function != fi || p.OriginalOffset != off || p.Length != len || p.SlotLength != Math.Max(len, 5) || c + p.SlotLength > cEnd)
        {
            Report(fi, off, c, $"jump slot {pi} is for function {p.Function} +0x{p.OriginalOffset:x}, {p.Length}/{p.SlotLength} bytes; expected this function +0x{off:x}, {len}/{Math.Max(len, 5)} bytes", dis);
            return false;
        }
        // Where a live jmp can go: every replacement that is a jmp, and the original's own jmp unless an
        // alternative with X86_FEATURE_ALWAYS (3*32+21, not inverted) always replaces it.
        const uint always = 3 * 32 + 21;
        var targets = new List<Place>();
        foreach (var a in SitesIn(sec, o, o + 1).Where(x => x.Kind == PatchSiteKind.Alternative))
        {
            var rb = SectionBytes(a.ReplacementSection).AsSpan((int)a.ReplacementOffset, a.ReplacementLength);
            if (rb.IndexOfAnyExcept((byte)0x90) < 0) continue;
            var rr = _elf.GetRelocations(_elf.Sections[a.ReplacementSection]);
            int ri = FirstRelocationAtOrAfter(rr, a.ReplacementOffset + 1);
            if (rb.Length != 5 || rb[0] != 0xe9 || ri >= rr.Count || (long)rr[ri].Offset != a.ReplacementOffset + 1 || !rr[ri].IsPcRelative)
            {
                Report(fi, off, c, "alternative replacement in a jump slot is neither NOPs nor a jmp rel32 with a relocation", dis);
                return false;
            }
            targets.Add(SymbolPlace(rr[ri].SymbolIndex, rr[ri].Addend + 4));
        }
        bool replaced = SitesIn(sec, o, o + 1).Any(x => x.Kind == PatchSiteKind.Alternative && x.Data == always);
        var own = DecodeOriginalAt(sec, o, end);
        if (!replaced && own.Code is Code.Jmp_rel8_64 or Code.Jmp_rel32_64 && BranchTargetOriginal(sec, o, own, _elf.GetRelocations(_elf.Sections[sec])) is { } ot)
            targets.Add(ot);
        var distinct = targets.Distinct().ToList();
        if (distinct.Count != 1)
        {
            Report(fi, off, c, $"jump slot: a live jmp here may go to {(distinct.Count == 0 ? "nowhere" : string.Join(" or ", distinct.Select(Show)))}; one target expected", dis);
            return false;
        }
        _targetChecks.Add(new TargetCheck(fi, off, c, Role.Local, distinct[0], Place.Image(p.TargetCopyOffset), "alternative jump slot"));
        return true;
    }

    private Instruction DecodeOriginalAt(int sec, long o, long end)
    {
        var d = Decoder.Create(64, new ByteArrayCodeReader(SectionBytes(sec), (int)o, (int)Math.Max(0, end - o)), (ulong)o);
        return d.Decode();
    }

    /// <summary>
    /// The memory-event sequence before the instruction, if the copy has one there (recognised by the
    /// helper fixup on its call):
    /// <c>push %rax; lea M,%rax; push $site; call mem; pop %rax</c> (an explicit operand),
    /// <c>push %rax; movzbl %al,%eax; lea (%rbx,%rax),%rax; push $site; call mem; pop %rax</c> (XLAT),
    /// <c>push %rax; push %off; lea M,%rax; push $site; call bitop; lea 8(%rsp),%rsp; pop %rax</c> (BT* r,m),
    /// or <c>push %rsi; push %rdi</c> before a string instruction, whose event follows it.
    /// The address computed must be the original operand's, the site must describe the access.
    /// </summary>
    private bool MemoryEventBefore(int fi, int sec, long start, long end, long o, ref long c, long cEnd, in Instruction ins,
        in ConstantOffsets offsets, IReadOnlyList<ElfRelocation> relocs, int rFirst, int rCount, out bool stringAfter, out bool lockedDoneAfter)
    {
        stringAfter = false;
        lockedDoneAfter = false;
        int memOp = -1;
        bool isString = false;
        for (int i = 0; i < ins.OpCount; i++)
        {
            var k = ins.GetOpKind(i);
            if (k == OpKind.Memory) { memOp = i; break; }
            if (k is >= OpKind.MemorySegSI and <= OpKind.MemoryESRDI) { isString = true; break; }
        }
        if (memOp >= 0 || isString) _stats.MemoryOperands++;
        if (c + 2 > cEnd) return true;
        if (isString)
        {
            stringAfter = _code[c] == 0x56 && _code[c + 1] == 0x57;
            if (stringAfter) c += 2;
            return true;
        }
        // Only an instruction with an explicit memory operand can have this sequence (and none of
        // those is itself a push %rax or a LEA/MOVABS into %rax before a push $site);
        // anything else in front of an instruction fails the byte comparison.
        if (memOp < 0 || IsRelativeBranch(ins)) return true;
        long before = c;
        if (!MemorySequence(fi, sec, start, end, o, ref c, cEnd, ins, offsets, relocs, rFirst, rCount, memOp, lockedDone: false, afterInsn: false)) return false;
        if (c == before || !IsLockedUpdate(ins)) return true;
        // Blob 1.7: a locked update's second report, after the instruction unless the instruction
        // overwrites a register of its address (then right after the first one).
        lockedDoneAfter = !WritesAddressRegister(ins);
        if (lockedDoneAfter) return true;
        long second = c;
        if (!MemorySequence(fi, sec, start, end, o, ref c, cEnd, ins, offsets, relocs, rFirst, rCount, memOp, lockedDone: true, afterInsn: false)) return false;
        if (c == second)
            Report(fi, o - start, c, "locked update whose instruction overwrites an address register: no LOCKED_DONE event after its LOCKED_UPDATE one", DisOriginal(sec, o, end), DisCopy(c, 3));
        return true;
    }

    private static bool IsLockedUpdate(in Instruction ins) => ins.HasLockPrefix || ins.Mnemonic == Mnemonic.Xchg;

    /// <summary>Whether the instruction writes (even conditionally) a register its memory operand's address uses.</summary>
    private bool WritesAddressRegister(in Instruction ins)
    {
        var regs = new[] { ins.MemoryBase == Register.RIP ? Register.None : ins.MemoryBase.GetFullRegister(), ins.MemoryIndex.GetFullRegister() };
        return _info.GetInfo(ins).GetUsedRegisters().ToArray().Any(u =>
            u.Access is OpAccess.Write or OpAccess.CondWrite or OpAccess.ReadWrite or OpAccess.ReadCondWrite
            && u.Register.GetFullRegister() is var full && full != Register.None && regs.Contains(full));
    }

    /// <summary>The locked update's LOCKED_DONE sequence after its instruction.</summary>
    private bool LockedDoneAfter(int fi, int sec, long start, long end, long o, ref long c, long cEnd, in Instruction ins,
        in ConstantOffsets offsets, IReadOnlyList<ElfRelocation> relocs, int rFirst, int rCount)
    {
        int memOp = -1;
        for (int i = 0; i < ins.OpCount && memOp < 0; i++)
            if (ins.GetOpKind(i) == OpKind.Memory) memOp = i;
        long at = c;
        if (!MemorySequence(fi, sec, start, end, o, ref c, cEnd, ins, offsets, relocs, rFirst, rCount, memOp, lockedDone: true, afterInsn: true)) return false;
        if (c == at)
            Report(fi, o - start, c, "locked update without its LOCKED_DONE event after the instruction", DisOriginal(sec, o, end), DisCopy(c, 3));
        return true;
    }

    /// <summary>One memory-event sequence at <paramref name="c"/>, if there is one (c is left as it is if not).</summary>
    private bool MemorySequence(int fi, int sec, long start, long end, long o, ref long c, long cEnd, in Instruction ins,
        in ConstantOffsets offsets, IReadOnlyList<ElfRelocation> relocs, int rFirst, int rCount, int memOp, bool lockedDone, bool afterInsn)
    {
        if (c + 2 > cEnd) return true;
        bool savesRax = _code[c] == 0x50;
        if (!savesRax && !StartsUnsavedSequence(fi, c, cEnd)) return true;

        // Tentatively: [push %rax]; up to three instructions; push $site; call helper.
        var middle = new List<Instruction>();
        long at = c + (savesRax ? 1 : 0);
        for (int k = 0; k < 3 && at < cEnd; k++)
        {
            var m = DecodeCopy(fi, at);
            if (m.IsInvalid || m.Code == Code.Pushq_imm32) break;
            middle.Add(m);
            at += m.Length;
        }
        if (at + EventSize > cEnd || _code[at] != 0x68 || _code[at + 5] != 0xe8
            || !_fixupAt.TryGetValue(at + 6, out int hx) || _blob.Fixups[hx].Target != BlobFixupTarget.Helper)
            return true; // not an event sequence: the original's own push %rax, compared as such
        _stats.MemoryEvents++;
        string dis = DisOriginal(sec, o, end);
        long off = o - start;
        var x = _blob.Fixups[hx];
        _fixupUsed[hx] = true;
        _stats.Fixups++;
        var helperAt = FixupPlace(x).Plus(4);
        bool bitOp = helperAt == Place.Helper((int)BlobHelper.BitOpEvent, 0);
        bool noFlags = helperAt == Place.Helper((int)BlobHelper.MemEventNoFlags, 0);
        long after = at + EventSize;
        if (bitOp)
        {
            if (after + 5 > cEnd || !_code.AsSpan((int)after, 5).SequenceEqual(new byte[] { 0x48, 0x8d, 0x64, 0x24, 0x08 }))
            {
                Report(fi, off, c, "bit-op event does not drop its pushed offset with lea 8(%rsp),%rsp", dis, DisCopy(c, 6));
                return false;
            }
            after += 5;
        }
        if (savesRax)
        {
            if (after >= cEnd || _code[after] != 0x58)
            {
                Report(fi, off, c, "memory event does not end with pop %rax", dis, DisCopy(c, 6));
                return false;
            }
            after++;
        }
        int site = BinaryPrimitives.ReadInt32LittleEndian(_code.AsSpan((int)at + 1));
        long seqStart = c;
        c = after;
        if (x.Type != BlobFixupType.Pc32 || !(bitOp || noFlags || helperAt == Place.Helper((int)BlobHelper.MemEvent, 0)))
        {
            Report(fi, off, seqStart, $"memory event calls {Show(helperAt)} ({x.Type}), not a memory-event or bit-op helper", dis, DisCopy(seqStart, 5));
            return true;
        }
        if (!savesRax && (bitOp || !RaxIsOverwritten(ins)))
            Report(fi, off, seqStart, "memory event does not save %rax, but the instruction does not overwrite all of it without reading it", dis, DisCopy(seqStart, 4));
        if (noFlags && afterInsn)
            Report(fi, off, seqStart, "locked update's event after the instruction may change the status flags (no-flags helper), which the instruction has just set", dis, DisCopy(seqStart, 4));
        else if (noFlags && !StatusFlagsDeadAt(sec, o, end))
            Report(fi, off, seqStart, "memory event may change the status flags (no-flags helper), but they are read before being set again", dis, DisCopy(seqStart, 4));
        int pushed = (savesRax ? 8 : 0) + (ins.Mnemonic == Mnemonic.Pop && ins.MemoryBase == Register.RSP ? 8 : 0);

        // What the sequence must compute, and from which instructions.
        bool isXlat = ins.Mnemonic == Mnemonic.Xlatb;
        bool isBitOp = ins.Mnemonic is Mnemonic.Bt or Mnemonic.Bts or Mnemonic.Btr or Mnemonic.Btc && ins.Op1Kind == OpKind.Register;
        string? wrong = null;
        if (isBitOp != bitOp)
            wrong = bitOp ? "the bit-op helper for an instruction that is not BT* with a register offset" : "BT* with a register bit offset needs the bit-op helper (the offset can reach beyond the operand)";
        else if (isXlat)
        {
            if (middle.Count != 2 || middle[0].Code != Code.Movzx_r32_rm8 || middle[0].Op0Register != Register.EAX || middle[0].Op1Kind != OpKind.Register || middle[0].Op1Register != Register.AL
                || middle[1].Code != Code.Lea_r64_m || middle[1].Op0Register != Register.RAX || middle[1].MemoryBase != Register.RBX
                || middle[1].MemoryIndex != Register.RAX || middle[1].MemoryIndexScale != 1 || middle[1].MemoryDisplacement64 != 0
                || ins.MemoryBase != Register.RBX)
                wrong = "XLAT's address is %rbx + %al: expected movzbl %al,%eax; lea (%rbx,%rax),%rax";
        }
        else if (bitOp)
        {
            var offsetReg = ins.Op1Register.GetFullRegister();
            if (middle.Count != 2 || middle[0].Code != Code.Push_r64 || middle[0].Op0Register != offsetReg)
                wrong = $"expected push %{offsetReg.ToString().ToLowerInvariant()} (the bit offset) before the LEA";
            else
                wrong = CheckLea(sec, o, ins, offsets, relocs, rFirst, rCount, middle[1], seqStart + 1 + middle[0].Length, 16);
        }
        else if (middle.Count != 1)
            wrong = "expected one LEA between push %rax and push $site";
        else if (middle[0].Code == Code.Mov_r64_imm64)
            wrong = CheckMovabs(o, ins, offsets, relocs, rFirst, rCount, middle[0], seqStart + (savesRax ? 1 : 0));
        else
            wrong = CheckLea(sec, o, ins, offsets, relocs, rFirst, rCount, middle[0], seqStart + (savesRax ? 1 : 0), pushed);
        if (wrong is not null)
            Report(fi, off, seqStart, $"memory event computes a different address: {wrong}", dis, DisCopy(seqStart, 5));

        // The access the original makes.
        var access = _info.GetInfo(ins, InstructionInfoOptions.NoRegisterUsage).GetOpAccess(memOp);
        bool reads = access is OpAccess.Read or OpAccess.CondRead or OpAccess.ReadWrite or OpAccess.ReadCondWrite;
        bool writes = access is OpAccess.Write or OpAccess.CondWrite or OpAccess.ReadWrite or OpAccess.ReadCondWrite;
        BlobEventKind? kind = lockedDone ? BlobEventKind.LockedDone : ins.HasLockPrefix || ins.Mnemonic == Mnemonic.Xchg ? BlobEventKind.LockedUpdate
            : reads && writes ? BlobEventKind.ReadWrite : reads ? BlobEventKind.Read : writes ? BlobEventKind.Write : null;
        var flags = (ins.MemorySegment == Register.GS ? BlobSiteFlags.Gs : 0) | (ins.MemoryBase == Register.RSP ? BlobSiteFlags.StackPointer : 0);
        int size = ins.MemorySize.GetSize();
        if (ins.MemorySegment == Register.FS)
            Report(fi, off, seqStart, "memory event for an %fs-relative operand: nothing adds the FS base", dis, DisCopy(seqStart, 5));
        CheckSite(fi, off, seqStart, site, kind, size, flags, dis);
        return true;
    }

    /// <summary><c>push $site; call string-helper; lea 16(%rsp),%rsp</c> after a string instruction.</summary>
    private bool StringEventAfter(int fi, int sec, long start, long end, long o, ref long c, long cEnd, in Instruction ins)
    {
        long off = o - start;
        string dis = DisOriginal(sec, o, end);
        if (c + EventSize + 5 > cEnd || _code[c] != 0x68 || _code[c + 5] != 0xe8
            || !_code.AsSpan((int)c + EventSize, 5).SequenceEqual(new byte[] { 0x48, 0x8d, 0x64, 0x24, 0x10 }))
        {
            Report(fi, off, c, "after push %rsi; push %rdi and the string instruction, expected push $site; call helper; lea 16(%rsp),%rsp", dis, DisCopy(c, 3));
            return false;
        }
        _stats.MemoryEvents++;
        if (!_fixupAt.TryGetValue(c + 6, out int hx))
            Report(fi, off, c, "string event's call has no fixup to the helper", dis, DisCopy(c, 3));
        else
        {
            var x = _blob.Fixups[hx];
            _fixupUsed[hx] = true;
            _stats.Fixups++;
            if (x.Type != BlobFixupType.Pc32 || FixupPlace(x).Plus(4) != Place.Helper((int)BlobHelper.StringEvent, 0))
                Report(fi, off, c, $"string event calls {Show(FixupPlace(x).Plus(4))} ({x.Type}), not the string helper", dis, DisCopy(c, 3));
        }
        // Which of [%rsi] and [%rdi] the original reads or writes; the helper reads the full 64-bit pointers.
        var info = _info.GetInfo(ins, InstructionInfoOptions.NoRegisterUsage);
        var flags = BlobSiteFlags.None;
        for (int i = 0; i < ins.OpCount; i++)
        {
            var k = ins.GetOpKind(i);
            var a = info.GetOpAccess(i);
            bool r = a is OpAccess.Read or OpAccess.CondRead or OpAccess.ReadWrite or OpAccess.ReadCondWrite;
            bool w = a is OpAccess.Write or OpAccess.CondWrite or OpAccess.ReadWrite or OpAccess.ReadCondWrite;
            if (k is OpKind.MemorySegESI or OpKind.MemoryESEDI or OpKind.MemorySegSI or OpKind.MemoryESDI)
                Report(fi, off, c, "string instruction with a 16/32-bit address: the helper reads %rsi/%rdi in full", dis);
            if (k is OpKind.MemorySegRSI or OpKind.MemorySegESI or OpKind.MemorySegSI)
            {
                if (r) flags |= BlobSiteFlags.StringSourceRead;
                if (ins.MemorySegment == Register.FS)
                    Report(fi, off, c, "string source is %fs-relative: nothing adds the FS base", dis);
                if (ins.MemorySegment == Register.GS) flags |= BlobSiteFlags.Gs;
            }
            if (k is OpKind.MemoryESRDI or OpKind.MemoryESEDI or OpKind.MemoryESDI)
            {
                if (r) flags |= BlobSiteFlags.StringDestinationRead;
                if (w) flags |= BlobSiteFlags.StringDestinationWrite;
            }
        }
        int site = BinaryPrimitives.ReadInt32LittleEndian(_code.AsSpan((int)c + 1));
        CheckSite(fi, off, c, site, BlobEventKind.String, ins.MemorySize.GetSize(), flags, dis);
        c += EventSize + 5;
        return true;
    }

    private void CheckSite(int fi, long off, long c, int site, BlobEventKind? kind, int size, BlobSiteFlags flags, string dis)
    {
        if (site < 0 || site >= _blob.Sites.Count)
        {
            Report(fi, off, c, $"memory event pushes site index {site}, out of range ({_blob.Sites.Count} sites)", dis, DisCopy(c, 5));
            return;
        }
        var s = _blob.Sites[site];
        if (s.Function != fi || s.Offset != off || kind is null || s.Kind != kind || s.Flags != flags || s.Size != size)
            Report(fi, off, c, $"memory event pushes site {site} = {s.Kind} of function {s.Function} +0x{s.Offset:x}, {s.Size} bytes, flags {s.Flags}; " +
                $"the original makes a {(kind?.ToString() ?? "no")} access of {size} bytes here, flags {flags}", dis, DisCopy(c, 5));
        if (_siteUsed[site])
            Report(fi, off, c, $"event site {site} is pushed by more than one event sequence", dis, DisCopy(c, 5));
        _siteUsed[site] = true;
    }

    /// <summary>
    /// Does <paramref name="lea"/> (at <paramref name="leaAt"/>, run with <paramref name="pushed"/> more bytes
    /// on the stack) compute the address of the original's memory operand? Null if so, else why not.
    /// </summary>
    private string? CheckLea(int sec, long o, in Instruction ins, in ConstantOffsets offsets, IReadOnlyList<ElfRelocation> relocs,
        int rFirst, int rCount, in Instruction lea, long leaAt, int pushed)
    {
        if (lea.Code != Code.Lea_r64_m || lea.Op0Register != Register.RAX)
            return $"expected lea M,%rax, found {lea}";
        var leaOffsets = LeaConstantOffsets(leaAt, lea.Length);
        int lx = -1;
        bool leaFixed = leaOffsets.HasDisplacement && _fixupAt.TryGetValue(leaAt + leaOffsets.DisplacementOffset, out lx);
        if (leaFixed)
        {
            _fixupUsed[lx] = true;
            _stats.Fixups++;
        }
        int origDisp = offsets.HasDisplacement ? offsets.DisplacementOffset : -1;
        ElfRelocation? dispReloc = null;
        for (int i = rFirst; i < rFirst + rCount; i++)
            if ((long)relocs[i].Offset == o + origDisp) dispReloc = relocs[i];
        if (ins.IsIPRelativeMemoryOperand)
        {
            var ea = dispReloc is { } r ? SymbolPlace(r.SymbolIndex, r.Addend).Plus(ins.Length - origDisp)
                : Place.Original(sec, (long)ins.IPRelativeMemoryAddress);
            if (!lea.IsIPRelativeMemoryOperand || !leaFixed)
                return $"the original addresses {Show(ea)}; the LEA is not RIP-relative under a fixup";
            var fx = _blob.Fixups[lx];
            var got = FixupPlace(fx).Plus(lea.Length - leaOffsets.DisplacementOffset);
            return fx.Type != BlobFixupType.Pc32 || got != ea ? $"the original addresses {Show(ea)}, the LEA ({fx.Type} fixup) {Show(got)}" : null;
        }
        long bias = ins.MemoryBase == Register.RSP ? pushed : 0;
        if (lea.MemoryBase != ins.MemoryBase || lea.MemoryIndex != ins.MemoryIndex || lea.MemoryIndexScale != ins.MemoryIndexScale)
            return $"the LEA's base/index/scale differ from the original's ({lea.MemoryBase}/{lea.MemoryIndex}/{lea.MemoryIndexScale} vs {ins.MemoryBase}/{ins.MemoryIndex}/{ins.MemoryIndexScale})";
        if (dispReloc is { } rr)
        {
            var want = SymbolPlace(rr.SymbolIndex, rr.Addend).Plus(bias);
            if (!leaFixed || leaOffsets.DisplacementSize != 4)
                return $"the original's displacement is {rr.Type} {Show(want)}; the LEA's has no fixup";
            var fx = _blob.Fixups[lx];
            var got = FixupPlace(fx);
            return fx.Type != (rr.Type == RelocationType.Abs32S ? BlobFixupType.Abs32S : (BlobFixupType)0) || got != want
                ? $"the original's displacement is {rr.Type} {Show(want)}, the LEA's is {fx.Type} {Show(got)}" : null;
        }
        if (leaFixed)
            return $"the LEA's displacement has a fixup ({Show(FixupPlace(_blob.Fixups[lx]))}); the original's is the constant 0x{ins.MemoryDisplacement64:x}";
        if ((long)lea.MemoryDisplacement64 != (long)ins.MemoryDisplacement64 + bias)
            return $"the LEA's displacement is 0x{lea.MemoryDisplacement64:x}, the original's 0x{ins.MemoryDisplacement64:x}{(bias != 0 ? $" + {bias} (pushed)" : "")}";
        return null;
    }

    /// <summary>A moffs operand's address: <c>movabs $imm64,%rax</c> with the same constant or relocation.</summary>
    private string? CheckMovabs(long o, in Instruction ins, in ConstantOffsets offsets, IReadOnlyList<ElfRelocation> relocs,
        int rFirst, int rCount, in Instruction mov, long movAt)
    {
        if (mov.Op0Register != Register.RAX || ins.MemoryDisplSize != 8)
            return $"movabs into %rax is only for a 64-bit absolute (moffs) operand, found {mov}";
        ElfRelocation? dispReloc = null;
        for (int i = rFirst; i < rFirst + rCount; i++)
            if ((long)relocs[i].Offset == o + offsets.DisplacementOffset) dispReloc = relocs[i];
        bool fixedUp = _fixupAt.TryGetValue(movAt + 2, out int mx);
        if (dispReloc is { } r)
        {
            if (!fixedUp) return "the original's moffs is relocated, the movabs has no fixup";
            _fixupUsed[mx] = true;
            _stats.Fixups++;
            var fx = _blob.Fixups[mx];
            var want = SymbolPlace(r.SymbolIndex, r.Addend);
            return fx.Type != BlobFixupType.Abs64 || FixupPlace(fx) != want ? $"the moffs is {Show(want)}, the movabs {fx.Type} {Show(FixupPlace(fx))}" : null;
        }
        if (fixedUp) return "the movabs has a fixup, the original's moffs is a constant";
        return mov.Immediate64 != ins.MemoryDisplacement64 ? $"the movabs loads 0x{mov.Immediate64:x}, the moffs is 0x{ins.MemoryDisplacement64:x}" : null;
    }

    /// <summary>Whether the copy at <paramref name="c"/> starts <c>lea M,%rax</c> or <c>movabs $x,%rax</c> right before <c>push $site; call</c>.</summary>
    private bool StartsUnsavedSequence(int fi, long c, long cEnd)
    {
        var m = DecodeCopy(fi, c);
        if (m.IsInvalid || m.Op0Register != Register.RAX || m.Code is not (Code.Lea_r64_m or Code.Mov_r64_imm64)) return false;
        long at = c + m.Length;
        // The original's own LEA into %rax followed by a function event is not one of these.
        return at + EventSize <= cEnd && _code[at] == 0x68 && _code[at + 5] == 0xe8
            && _fixupAt.TryGetValue(at + 6, out int hx) && _blob.Fixups[hx].Target == BlobFixupTarget.Helper
            && _blob.Fixups[hx].Index is (uint)BlobHelper.MemEvent or (uint)BlobHelper.MemEventNoFlags;
    }

    /// <summary>The original writes all of %rax (or %eax, zero-extending) and reads no part of it, address included.</summary>
    private bool RaxIsOverwritten(in Instruction ins)
    {
        bool written = false;
        foreach (var use in _info.GetInfo(ins).GetUsedRegisters())
        {
            if (use.Register.GetFullRegister() != Register.RAX) continue;
            if (use.Access == OpAccess.Write && use.Register is Register.RAX or Register.EAX) written = true;
            else return false;
        }
        return written;
    }

    private const RflagsBits StatusFlags = RflagsBits.OF | RflagsBits.SF | RflagsBits.ZF | RflagsBits.AF | RflagsBits.CF | RflagsBits.PF;

    /// <summary>
    /// Forward from the original instruction at <paramref name="o"/>: each status flag is set again
    /// before it is read, or a call/return (the C ABI) comes first. Any other branch: assumed read.
    /// </summary>
    private bool StatusFlagsDeadAt(int sec, long o, long end)
    {
        var d = Decoder.Create(64, new ByteArrayCodeReader(SectionBytes(sec), (int)o, (int)(end - o)), (ulong)o);
        var pending = StatusFlags;
        while (d.IP < (ulong)end)
        {
            d.Decode(out var j);
            if (j.IsInvalid || (j.RflagsRead & pending) != 0) return false;
            pending &= ~j.RflagsModified;
            if (pending == 0) return true;
            if (j.FlowControl is FlowControl.Call or FlowControl.IndirectCall or FlowControl.Return) return true;
            if (j.FlowControl != FlowControl.Next) return false;
        }
        return false;
    }

    private ConstantOffsets LeaConstantOffsets(long at, int length)
    {
        var d = Decoder.Create(64, new ByteArrayCodeReader(_code, (int)at, length), (ulong)at);
        d.Decode(out var again);
        return d.GetConstantOffsets(again);
    }

    /// <summary>Anything but a relative branch: the same bytes, fields under relocations or RIP-relative displacements aside.</summary>
    private bool Verbatim(int fi, int sec, long start, long end, long o, ref long c, long cEnd, in Instruction ins,
        in ConstantOffsets offsets, IReadOnlyList<ElfRelocation> relocs, int rFirst, int rCount)
    {
        if (ins.FlowControl == FlowControl.Return && !ExpectEvent(fi, ref c, cEnd, o - start, BlobEventKind.Exit, "before a return"))
            return false;
        int len = ins.Length;
        _insn[(_functionSection[fi], o)] = c;
        if (c + len > cEnd)
        {
            Report(fi, o - start, c, "the copy ends before this instruction", DisOriginal(sec, o, end));
            return false;
        }
        Span<bool> masked = stackalloc bool[16];
        bool ok = true;
        for (int i = rFirst; i < rFirst + rCount; i++)
        {
            var r = relocs[i];
            int k = (int)((long)r.Offset - o);
            masked.Slice(k, r.Width).Fill(true);
            ok &= RelocationHasFixup(fi, sec, start, o, c, k, r);
        }
        if (ins.IsIPRelativeMemoryOperand)
        {
            _stats.RipRelative++;
            int d = offsets.DisplacementOffset;
            if (offsets.DisplacementSize != 4)
            {
                Report(fi, o - start, c, "RIP-relative operand without a 4-byte displacement", DisOriginal(sec, o, end));
                return false;
            }
            if (!masked[d])
            {
                var ea = Place.Original(sec, (long)ins.IPRelativeMemoryAddress);
                if (_fixupAt.TryGetValue(c + d, out int xi))
                {
                    var x = _blob.Fixups[xi];
                    _fixupUsed[xi] = true;
                    _stats.Fixups++;
                    var copyEa = FixupPlace(x).Plus(len - d);
                    if (x.Type != BlobFixupType.Pc32 || copyEa != ea)
                    {
                        Report(fi, o - start, c, $"RIP-relative operand: the original addresses {Show(ea)}, the copy ({x.Type} fixup) {Show(copyEa)}", DisOriginal(sec, o, end), DisCopy(c, 1));
                        ok = false;
                    }
                }
                else
                {
                    int disp = BinaryPrimitives.ReadInt32LittleEndian(_code.AsSpan((int)(c + d)));
                    Report(fi, o - start, c, $"RIP-relative operand has no fixup: the original addresses {Show(ea)}, the copy {Show(Place.Image(c + len + disp))}", DisOriginal(sec, o, end), DisCopy(c, 1));
                    ok = false;
                }
                masked.Slice(d, 4).Fill(true);
            }
        }
        var orig = SectionBytes(sec).AsSpan((int)o, len);
        var copy = _code.AsSpan((int)c, len);
        for (int i = 0; i < len; i++)
            if (!masked[i] && orig[i] != copy[i])
            {
                Report(fi, o - start, c, $"copy differs from the original at byte {i} (0x{copy[i]:x2}, expected 0x{orig[i]:x2})", DisOriginal(sec, o, end), DisCopy(c, 1));
                return false;
            }
        c += len;
        return ok;
    }

    private bool RelocationHasFixup(int fi, int sec, long start, long o, long c, int k, in ElfRelocation r)
    {
        BlobFixupType? want = r.Type switch
        {
            RelocationType.Pc32 or RelocationType.Plt32 => BlobFixupType.Pc32,
            RelocationType.Abs32S => BlobFixupType.Abs32S,
            RelocationType.Abs64 => BlobFixupType.Abs64,
            _ => null,
        };
        var target = SymbolPlace(r.SymbolIndex, r.Addend);
        if (want is null)
        {
            Report(fi, o - start, c, $"relocation {r.Type} at +0x{(long)r.Offset - start:x} has no fixup type that means the same", DisOriginal(sec, o, o + 15));
            return false;
        }
        if (!_fixupAt.TryGetValue(c + k, out int xi))
        {
            Report(fi, o - start, c, $"relocation {r.Type} {Show(target)} at +0x{(long)r.Offset - start:x} has no fixup at image+0x{c + k:x}", DisOriginal(sec, o, o + 15), DisCopy(c, 1));
            return false;
        }
        var x = _blob.Fixups[xi];
        _fixupUsed[xi] = true;
        _stats.Fixups++;
        var got = FixupPlace(x);
        if (x.Type != want || got != target)
        {
            Report(fi, o - start, c, $"relocation {r.Type} {Show(target)} became fixup {xi} {x.Type} {Show(got)}", DisOriginal(sec, o, o + 15), DisCopy(c, 1));
            return false;
        }
        return true;
    }

    /// <summary>call/jmp/jcc/loop/xbegin: re-emitted in rel32 form; the target must agree.</summary>
    private bool Branch(int fi, int sec, long start, long end, bool isPart, long o, ref long c, long cEnd, in Instruction ins,
        IReadOnlyList<ElfRelocation> relocs, int rFirst, int rCount)
    {
        _stats.Branches++;
        if (rCount > 1 || rCount == 1 && ((long)relocs[rFirst].Offset != o + ins.Length - 4 || !relocs[rFirst].IsPcRelative || relocs[rFirst].Width != 4))
        {
            Report(fi, o - start, c, "relocation on a relative branch is not a PC-relative rel32", DisOriginal(sec, o, end));
            return false;
        }
        var target = BranchTargetOriginal(sec, o, ins, relocs)!.Value;
        long off = o - start;
        var flow = ins.FlowControl;
        string dis = DisOriginal(sec, o, end);

        if (flow == FlowControl.Call)
        {
            _insn[(sec, o)] = c;
            var ci = DecodeCopy(fi, c);
            if (ci.Code != Code.Call_rel32_64 || ci.Length != 5 || c + 5 > cEnd)
                return Mismatch(fi, off, c, "call", dis);
            _targetChecks.Add(new TargetCheck(fi, off, c, Role.Call, target, CopyBranchTarget(ci, c + 1), "call"));
            CheckStubCall(fi, off, c, ci);
            c += 5;
            return true;
        }
        bool leaves = Leaves(fi, isPart, target);
        if (flow == FlowControl.UnconditionalBranch && ins.Op0Kind == OpKind.NearBranch64)
        {
            if (leaves && !ExpectEvent(fi, ref c, cEnd, off, BlobEventKind.Exit, "before a tail jump")) return false;
            _insn[(sec, o)] = c;
            var ci = DecodeCopy(fi, c);
            if (ci.Code != Code.Jmp_rel32_64 || ci.Length != 5 || c + 5 > cEnd)
                return Mismatch(fi, off, c, "jmp rel32", dis);
            _targetChecks.Add(new TargetCheck(fi, off, c, leaves ? Role.TailJump : Role.Local, target, CopyBranchTarget(ci, c + 1), leaves ? "tail jmp" : "jmp"));
            c += 5;
            return true;
        }
        _insn[(sec, o)] = c;
        if (flow == FlowControl.ConditionalBranch && ins.IsJccShortOrNear)
        {
            if (!leaves)
            {
                var ci = DecodeCopy(fi, c);
                if (!ci.IsJccNear || ci.Length != 6 || ci.ConditionCode != ins.ConditionCode || c + 6 > cEnd)
                    return Mismatch(fi, off, c, $"j{ins.ConditionCode} rel32", dis);
                _targetChecks.Add(new TargetCheck(fi, off, c, Role.Local, target, CopyBranchTarget(ci, c + 2), "jcc"));
                c += 6;
                return true;
            }
            // j!cc 1f; push $site; call helper; jmp target; 1:
            var inverted = ins;
            inverted.NegateConditionCode();
            var skip = DecodeCopy(fi, c);
            if (!skip.IsJccShort || skip.Length != 2 || skip.ConditionCode != inverted.ConditionCode || (long)skip.NearBranch64 != c + DetourSize || c + DetourSize > cEnd)
                return Mismatch(fi, off, c, $"conditional tail call detour (j{inverted.ConditionCode} +15; exit event; jmp)", dis);
            long e = c + 2;
            if (!ExpectEvent(fi, ref e, cEnd, off, BlobEventKind.Exit, "in a conditional tail call")) return false;
            var jmp = DecodeCopy(fi, e);
            if (jmp.Code != Code.Jmp_rel32_64 || jmp.Length != 5)
                return Mismatch(fi, off, e, "jmp rel32 of a conditional tail call", dis);
            _targetChecks.Add(new TargetCheck(fi, off, e, Role.TailJump, target, CopyBranchTarget(jmp, e + 1), "conditional tail jmp"));
            c += DetourSize;
            return true;
        }
        if (flow == FlowControl.ConditionalBranch && ins.Mnemonic is Mnemonic.Loop or Mnemonic.Loope or Mnemonic.Loopne or Mnemonic.Jrcxz or Mnemonic.Jecxz)
        {
            // loop 1f; jmp 2f; 1: jmp target; 2:
            int len = ins.Length;
            if (c + len + 7 > cEnd)
                return Mismatch(fi, off, c, "loop detour", dis);
            var orig = SectionBytes(sec).AsSpan((int)o, len);
            var copy = _code.AsSpan((int)c, len + 7);
            if (!orig[..^1].SequenceEqual(copy[..(len - 1)]) || copy[len - 1] != 2 || copy[len] != 0xeb || copy[len + 1] != 5 || copy[len + 2] != 0xe9)
                return Mismatch(fi, off, c, $"{ins.Mnemonic} +2; jmp +5; jmp rel32", dis);
            if (leaves)
                Report(fi, off, c, $"{ins.Mnemonic} leaves the function: its copy cannot report the exit", dis);
            long j = c + len + 2;
            _targetChecks.Add(new TargetCheck(fi, off, j, leaves ? Role.TailJump : Role.Local, target, CopyBranchTarget(DecodeCopy(fi, j), j + 1), ins.Mnemonic.ToString().ToLowerInvariant()));
            c += len + 7;
            return true;
        }
        if (flow == FlowControl.XbeginXabortXend)
        {
            var ci = DecodeCopy(fi, c);
            if (ci.Code != Code.Xbegin_rel32 || ci.Length != 6 || c + 6 > cEnd)
                return Mismatch(fi, off, c, "xbegin rel32", dis);
            _targetChecks.Add(new TargetCheck(fi, off, c, Role.Local, target, CopyBranchTarget(ci, c + 2), "xbegin"));
            c += 6;
            return true;
        }
        Report(fi, off, c, $"relative {ins.Mnemonic} has no equivalent the copy could hold", dis);
        return false;
    }

    private bool Mismatch(int fi, long off, long c, string expected, string original)
    {
        Report(fi, off, c, $"the copy does not hold the expected {expected}", original, DisCopy(c, 3));
        return false;
    }

    /// <summary><c>push $site; call helper</c> at <paramref name="c"/>, reporting <paramref name="kind"/> for (function, offset).</summary>
    private bool ExpectEvent(int fi, ref long c, long cEnd, long origOffset, BlobEventKind kind, string where)
    {
        if (c + EventSize > cEnd || _code[c] != 0x68 || _code[c + 5] != 0xe8)
        {
            Report(fi, origOffset, c, $"expected an {kind} event (push imm32; call rel32) {where}",
                DisOriginal(_functionSection[fi], _functionStart[fi] + origOffset, _functionStart[fi] + _blob.Functions[fi].Size), DisCopy(c, 3));
            return false;
        }
        _stats.Events++;
        int site = BinaryPrimitives.ReadInt32LittleEndian(_code.AsSpan((int)c + 1));
        if (!_fixupAt.TryGetValue(c + 6, out int xi))
        {
            Report(fi, origOffset, c, $"{kind} event's call has no fixup to the helper", copy: DisCopy(c, 2));
        }
        else
        {
            var x = _blob.Fixups[xi];
            _fixupUsed[xi] = true;
            _stats.Fixups++;
            var to = FixupPlace(x).Plus(4);
            if (x.Type != BlobFixupType.Pc32 || to != Place.Helper((int)BlobHelper.FuncEvent, 0))
            {
                Report(fi, origOffset, c, $"{kind} event calls {Show(to)} ({x.Type}), not the function-event helper", copy: DisCopy(c, 2));
                }
        }
        if (site < 0 || site >= _blob.Sites.Count)
        {
            Report(fi, origOffset, c, $"{kind} event pushes site index {site}, out of range ({_blob.Sites.Count} sites)", copy: DisCopy(c, 2));
        }
        else
        {
            var s = _blob.Sites[site];
            if (s.Function != fi || s.Offset != origOffset || s.Kind != kind || s.Flags != BlobSiteFlags.None || s.Size != 0)
            {
                string fn = s.Function < _blob.Functions.Count ? _blob.Functions[(int)s.Function].Name : $"#{s.Function}";
                Report(fi, origOffset, c, $"{kind} event pushes site {site}, which is {s.Kind} of {fn}+0x{s.Offset:x} (flags {s.Flags}, size {s.Size})", copy: DisCopy(c, 2));
                }
            if (_siteUsed[site])
            {
                Report(fi, origOffset, c, $"event site {site} is pushed by more than one event sequence", copy: DisCopy(c, 2));
                }
            _siteUsed[site] = true;
        }
        c += EventSize;
        // The sequence is where it should be: keep walking even if its site was wrong (that is recorded).
        return true;
    }

    // ---------------------------------------------------------------- targets

    /// <summary>Does a jump from function <paramref name="fi"/> to <paramref name="target"/> leave the function (a tail call)?</summary>
    private bool Leaves(int fi, bool isPart, Place target)
    {
        if (target.Kind != PlaceKind.Original) return true;
        // Control stays in the function while it stays in the copies of its family: a jump into
        // code that has no copy (even a .cold part too small to copy) leaves it for good.
        int g = FindCopied(target);
        if (g < 0) return true;
        if (g == fi) return target.Offset == _functionStart[fi] && !isPart;
        return _familyKey[_blob.Functions[g].SymbolIndex] != _familyKey[_blob.Functions[fi].SymbolIndex];
    }

    private void CheckTarget(in TargetCheck t)
    {
        Place expected;
        var o = t.OriginalTarget;
        int g = o.Kind == PlaceKind.Original ? FindCopied(o) : -1;
        if (g < 0)
            expected = o;
        else if (o.Offset == _functionStart[g] && t.Role is Role.Call or Role.TailJump)
            expected = Place.Image(_blob.Functions[g].CopyOffset);
        else if (_land.TryGetValue((o.Section, o.Offset), out long l))
            expected = Place.Image(l);
        else
        {
            if (_functionOk[g])
                Report(t.Function, t.Origin, t.CopyAt, $"{t.What} goes to {Show(o)}, which is inside the copied '{_blob.Functions[g].Name}' but not at an instruction start of its copy",
                    DisOriginal(_functionSection[t.Function], _functionStart[t.Function] + t.Origin, _functionStart[t.Function] + _blob.Functions[t.Function].Size), DisCopy(t.CopyAt, 1));
            return;
        }
        if (expected != t.CopyTarget)
            Report(t.Function, t.Origin, t.CopyAt,
                $"{t.What}: the original goes to {Show(o)}, so the copy must go to {Show(expected)}; it goes to {Show(t.CopyTarget)}",
                DisOriginal(_functionSection[t.Function], _functionStart[t.Function] + t.Origin, _functionStart[t.Function] + _blob.Functions[t.Function].Size),
                DisCopy(t.CopyAt, 1));
    }

    /// <summary>Where an original branch goes: symbol + addend + 4 under a relocation, else in its own section.</summary>
    private Place? BranchTargetOriginal(int sec, long o, in Instruction ins, IReadOnlyList<ElfRelocation> relocs)
    {
        int i = FirstRelocationAtOrAfter(relocs, o);
        if (i < relocs.Count && (long)relocs[i].Offset < o + ins.Length)
        {
            var r = relocs[i];
            if ((long)r.Offset != o + ins.Length - 4) return null;
            return SymbolPlace(r.SymbolIndex, r.Addend + 4);
        }
        return Place.Original(sec, (long)ins.NearBranch64);
    }

    /// <summary>Where a copied branch goes: its PC32 fixup's symbol + addend + 4, else the image offset it encodes.</summary>
    private Place CopyBranchTarget(in Instruction ci, long field)
    {
        if (_fixupAt.TryGetValue(field, out int xi))
        {
            var x = _blob.Fixups[xi];
            _fixupUsed[xi] = true;
            _stats.Fixups++;
            var p = FixupPlace(x);
            return x.Type == BlobFixupType.Pc32 && field + 4 == (long)ci.IP + ci.Length ? p.Plus(4) : p with { Name = $"{p.Name}(bad {x.Type} fixup)" };
        }
        // An import's stub stands for its kernel function (1.4).
        if (_stubAt.TryGetValue((long)ci.NearBranch64, out int im))
        {
            _importUsed[im] = true;
            return SymbolPlace((int)_blob.Imports[im].SymbolIndex, 0);
        }
        return Place.Image((long)ci.NearBranch64);
    }

    private Place SymbolPlace(int index, long addend)
    {
        var s = _elf.Symbols[index];
        if (s.IsDefinedInSection) return Place.Original(s.SectionIndex, (long)s.Value + addend);
        if (s.SectionIndex == ElfConstants.ShnAbs) return Place.Absolute((long)s.Value + addend);
        return Place.External(s.Name, addend);
    }

    private Place FixupPlace(in BlobFixup x) => x.Target switch
    {
        BlobFixupTarget.Symbol when x.Index < _elf.Symbols.Count => SymbolPlace((int)x.Index, x.Addend),
        BlobFixupTarget.Helper => Place.Helper((int)x.Index, x.Addend),
        _ => Place.External($"<target {x.Target} #{x.Index}>", x.Addend),
    };

    // ---------------------------------------------------------------- digest and masks

    private void CheckDigestAndMasks(int fi, int sec, long start, in BlobFunction f, IReadOnlyList<ElfRelocation> relocs,
        List<PatchSite> sites, HashSet<long> starts)
    {
        int size = (int)f.Size;
        var covered = new bool[size];
        foreach (var m in _blob.MasksOf(f))
        {
            if ((long)m.Offset + m.Length > size)
            {
                Report(fi, m.Offset, -1, "mask runs past the function");
                return;
            }
            covered.AsSpan((int)m.Offset, (int)m.Length).Fill(true);
        }
        var bytes = SectionBytes(sec);
        var zeroed = new byte[size];
        for (int i = 0; i < size; i++) zeroed[i] = covered[i] ? (byte)0 : bytes[start + i];
        ulong h = _blob.DigestOf(f, zeroed);
        if (h != f.Digest)
            Report(fi, -1, -1, $"digest is 0x{f.Digest:x16}; the {_blob.Flags} digest of the original with its masks zeroed is 0x{h:x16}");

        // Every byte the kernel writes must be masked, and only those.
        var needed = new bool[size];
        for (int i = FirstRelocationAtOrAfter(relocs, start); i < relocs.Count && (long)relocs[i].Offset < start + size; i++)
        {
            long k = (long)relocs[i].Offset - start;
            needed.AsSpan((int)k, (int)Math.Min(relocs[i].Width, size - k)).Fill(true);
        }
        foreach (var s in sites)
        {
            if (s.Kind is PatchSiteKind.ExceptionTable or PatchSiteKind.BugTable) continue;
            long k = s.Offset - start;
            int len = s.Length;
            if (len == 0 && starts.Contains(s.Offset))
            {
                var d = Decoder.Create(64, new ByteArrayCodeReader(bytes, (int)s.Offset, (int)(size - k)), (ulong)s.Offset);
                len = d.Decode().Length;
            }
            needed.AsSpan((int)k, (int)Math.Min(len, size - k)).Fill(true);
        }
        for (int i = 0; i < size; i++)
            if (needed[i] != covered[i])
            {
                Report(fi, i, -1, needed[i]
                    ? "byte written by the kernel (relocation or patch site) is not masked from the digest"
                    : "masked byte is neither a relocation field nor a patch site", DisOriginal(sec, start + i, start + size));
                return;
            }
    }

    // ---------------------------------------------------------------- helpers

    private static bool IsRelativeBranch(in Instruction ins) =>
        ins.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64;

    private static int Width(BlobFixupType t) => t == BlobFixupType.Abs64 ? 8 : 4;

    private byte[] SectionBytes(int sec)
    {
        if (!_sectionBytes.TryGetValue(sec, out var b))
            _sectionBytes[sec] = b = _elf.Sections[sec].Data.ToArray();
        return b;
    }

    private List<PatchSite> SitesIn(int sec, long from, long to)
    {
        var list = new List<PatchSite>();
        if (!_sitesBySection.TryGetValue(sec, out var arr)) return list;
        int lo = 0, hi = arr.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (arr[mid].Offset < from) lo = mid + 1; else hi = mid;
        }
        for (int i = lo; i < arr.Length && arr[i].Offset < to; i++) list.Add(arr[i]);
        return list;
    }

    private static int FirstRelocationAtOrAfter(IReadOnlyList<ElfRelocation> relocs, long offset)
    {
        int lo = 0, hi = relocs.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if ((long)relocs[mid].Offset < offset) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    private static int UpperBound<T>((long Start, long End, T X)[] arr, long offset)
    {
        int lo = 0, hi = arr.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (arr[mid].Start <= offset) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>Blob index of the copied function whose original contains the place, or -1.</summary>
    private int FindCopied(Place p)
    {
        if (p.Kind != PlaceKind.Original || !_copied.TryGetValue(p.Section, out var arr)) return -1;
        int i = UpperBound(arr, p.Offset) - 1;
        return i >= 0 && p.Offset < arr[i].End ? arr[i].Index : -1;
    }

    private int CopyContaining(long c)
    {
        for (int i = 0; i < _blob.Functions.Count; i++)
            if (c >= _blob.Functions[i].CopyOffset && c < (long)_blob.Functions[i].CopyOffset + _blob.Functions[i].CopySize) return i;
        return -1;
    }

    private static Instruction DecodeOriginal(Decoder d, ByteArrayCodeReader reader, long start, long o)
    {
        reader.Position = (int)(o - start);
        d.IP = (ulong)o;
        d.Decode(out var ins);
        return ins;
    }

    private Instruction DecodeCopy(int f, long c)
    {
        var fs = _blob.Functions[f];
        if (c < fs.CopyOffset || c >= (long)fs.CopyOffset + fs.CopySize) return default;
        var reader = new ByteArrayCodeReader(_code, (int)c, (int)((long)fs.CopyOffset + fs.CopySize - c));
        var dec = Decoder.Create(64, reader, (ulong)c);
        dec.Decode(out var ins);
        return ins;
    }

    private void Report(int fi, long origOffset, long copyOffset, string message, string original = "", string copy = "")
    {
        if (_found.Count >= MaxDiscrepanciesPerModule) return;
        string fn = fi >= 0 ? _blob.Functions[fi].Name : "(blob)";
        _found.Add(new Discrepancy(_module, fn, origOffset, copyOffset, message, original, copy));
    }

    // ---------------------------------------------------------------- disassembly for reports

    private static readonly ThreadLocal<GasFormatter> Formatter = new(() => new GasFormatter());

    private string DisOriginal(int sec, long o, long end)
    {
        var b = SectionBytes(sec);
        if (o < 0 || o >= b.Length) return "";
        int len = (int)Math.Min(Math.Max(end - o, 1), Math.Min(15, b.Length - o));
        var d = Decoder.Create(64, new ByteArrayCodeReader(b, (int)o, len), (ulong)o);
        d.Decode(out var ins);
        return Format(ins, b, (int)o, $"{_elf.Sections[sec].Name}+0x{o:x}");
    }

    private string DisCopy(long c, int count)
    {
        if (c < 0 || c >= _code.Length) return "";
        var sb = new StringBuilder();
        var d = Decoder.Create(64, new ByteArrayCodeReader(_code, (int)c, (int)Math.Min(_code.Length - c, 64)), (ulong)c);
        for (int i = 0; i < count && d.IP < (ulong)Math.Min(_code.Length, c + 64); i++)
        {
            d.Decode(out var ins);
            if (i > 0) sb.Append('\n');
            var at = (long)ins.IP;
            string fix = "";
            for (long x = at; x < at + ins.Length; x++)
                if (_fixupAt.TryGetValue(x, out int xi))
                    fix += $"  [fixup {_blob.Fixups[xi].Type} {Show(FixupPlace(_blob.Fixups[xi]))} at +{x - at}]";
            sb.Append(Format(ins, _code, (int)at, $"image+0x{at:x}")).Append(fix);
        }
        return sb.ToString();
    }

    private static string Format(in Instruction ins, byte[] b, int at, string where)
    {
        var output = new StringOutput();
        Formatter.Value!.Format(ins, output);
        var hex = Convert.ToHexString(b, at, Math.Min(ins.Length, b.Length - at)).ToLowerInvariant();
        return $"{where}: {hex,-30} {output.ToStringAndReset()}";
    }

    private string Show(Place p)
    {
        switch (p.Kind)
        {
            case PlaceKind.Original:
            {
                string sec = p.Section < _elf.Sections.Count ? _elf.Sections[p.Section].Name : $"#{p.Section}";
                string fn = "";
                if (_elfFunctions.TryGetValue(p.Section, out var arr))
                {
                    int i = UpperBound(arr, p.Offset) - 1;
                    if (i >= 0 && p.Offset < arr[i].End) fn = $" ({_elf.Symbols[arr[i].Symbol].Name}+0x{p.Offset - arr[i].Start:x})";
                }
                return $"{sec}+0x{p.Offset:x}{fn}";
            }
            case PlaceKind.Image:
            {
                int fi = CopyContaining(p.Offset);
                return fi >= 0 ? $"image+0x{p.Offset:x} (copy of {_blob.Functions[fi].Name}, +0x{p.Offset - _blob.Functions[fi].CopyOffset:x})" : $"image+0x{p.Offset:x}";
            }
            case PlaceKind.External: return $"{p.Name}{p.Offset:+#;-#;+0}";
            case PlaceKind.Helper: return $"helper#{p.Section}{p.Offset:+#;-#;+0}";
            default: return $"abs 0x{p.Offset:x}";
        }
    }
}
