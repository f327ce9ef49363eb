using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kedr.Core.Diagnostics;
using static Kedr.Core.Blob.BlobLayout;

namespace Kedr.Core.Blob;

/// <summary>
/// The loader's rules for a blob's contents (kmod/kedr_sample/kedr_blob.c), record by record: written once,
/// applied by <see cref="BlobReader"/> to the records it reads (the conformance tests hold it equal to
/// kedr_blob.c) and by <see cref="BlobWriter"/> to a blob before it writes it (<see cref="Verify"/>).
/// The parsing rules (sizes, descriptors, strings, checksum) are the reader's alone: the writer makes them true.
/// </summary>
public static class BlobRules
{
    /// <summary>A landing pad is a jmp rel32 (<c>JMP32_INSN_SIZE</c>) written into the original.</summary>
    public const int LandingPadLength = 5;

    /// <summary>A call through an import stub is a <c>call rel32</c> (<c>CALL_INSN_SIZE</c>).</summary>
    public const int StubCallLength = 5;

    /// <summary>The shortest function the loader redirects (a jmp rel32 over its entry).</summary>
    public const int MinimumFunctionSize = 5;

    /// <summary>A helper call is <c>push $imm32; call rel32</c>: its fixup (the rel32) is this far past the push's opcode.</summary>
    private const int HelperCallFixupFromPush = 6;
    private const int HelperCallFixupFromCall = 1;
    private const byte PushImm32Opcode = 0x68, CallRel32Opcode = 0xe8;

    public static BlobViolation? HeaderFlags(BlobHeaderFlags flags) =>
        (flags & ~BlobFormat.KnownHeaderFlags) != 0
            ? BlobViolation.InHeader(DiagnosticCodes.BlobHeaderFlags, $"unknown flags 0x{(uint)(flags & ~BlobFormat.KnownHeaderFlags):x}", Header.Flags)
            : null;

    public static BlobViolation? BuildIdLength(uint length) =>
        length > BlobFormat.BuildIdMax
            ? BlobViolation.InHeader(DiagnosticCodes.BlobStringOrHeaderField, $"build-id length {length} exceeds {BlobFormat.BuildIdMax}", Header.TargetBuildIdLength)
            : null;

    public static BlobViolation? CodeAlign(uint align) =>
        align == 0 || (align & (align - 1)) != 0 || align > 4096
            ? BlobViolation.InHeader(DiagnosticCodes.BlobStringOrHeaderField, $"code alignment {align} is not a power of two up to 4096", Header.CodeAlign)
            : null;

    public static BlobViolation? SymbolCount(uint count) =>
        count == 0 ? BlobViolation.InHeader(DiagnosticCodes.BlobStringOrHeaderField, "target_num_symtab is 0", Header.TargetNumSymtab) : null;

    public static BlobViolation? CodeSize(uint length) =>
        length > BlobFormat.MaxCodeSize
            ? BlobViolation.InHeader(DiagnosticCodes.BlobOutOfRange, $"code image of {length} bytes, the loader's code area holds {BlobFormat.MaxCodeSize}", Header.TableAt(BlobTableId.Code) + Table.Count)
            : null;

    /// <summary>Function <paramref name="i"/> on its own (its owner is checked once all are known, <see cref="Owner"/>).</summary>
    public static BlobViolation? Function(in BlobFunction f, int i, uint symbolCount, uint codeLength, int maskCount, int functionCount)
    {
        BlobViolation Bad(DiagnosticCode code, string message, int field) => new(code, message, BlobTableId.Functions, i, field);
        if (f.SymbolIndex == 0 || f.SymbolIndex >= symbolCount)
            return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{f.Name}': symbol {f.SymbolIndex} out of range ({symbolCount})", BlobLayout.Function.SymbolIndex);
        if (f.Size < MinimumFunctionSize)
            return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{f.Name}': size {f.Size} is below {MinimumFunctionSize}", BlobLayout.Function.OriginalSize);
        if (f.CopySize == 0 || (ulong)f.CopyOffset + f.CopySize > codeLength)
            return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{f.Name}': copy [0x{f.CopyOffset:x}, +0x{f.CopySize:x}) is empty or outside the code (0x{codeLength:x})", BlobLayout.Function.CopyOffset);
        if ((ulong)f.MaskFirst + f.MaskCount > (ulong)maskCount)
            return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{f.Name}': masks [{f.MaskFirst}, +{f.MaskCount}) out of range ({maskCount})", BlobLayout.Function.MaskFirst);
        if ((f.Flags & ~(BlobFunctionFlags.Init | BlobFunctionFlags.Part)) != 0)
            return Bad(DiagnosticCodes.BlobUnknownValue, $"function {i} '{f.Name}': unknown flags 0x{(uint)f.Flags:x}", BlobLayout.Function.Flags);
        if (f.Owner >= functionCount)
            return Bad(DiagnosticCodes.BlobOutOfRange, $"function {i} '{f.Name}': owner {f.Owner} out of range", BlobLayout.Function.Owner);
        return null;
    }

    /// <summary>A part's owner is another function that is no part; anything else owns itself.</summary>
    public static BlobViolation? Owner(ReadOnlySpan<BlobFunction> functions, int i)
    {
        ref readonly var f = ref functions[i];
        bool part = (f.Flags & BlobFunctionFlags.Part) != 0;
        if (part ? f.Owner == i || (functions[(int)f.Owner].Flags & BlobFunctionFlags.Part) != 0 : f.Owner != i)
            return new(DiagnosticCodes.BlobOutOfRange, $"function {i} '{f.Name}': owner {f.Owner} with flags 0x{(uint)f.Flags:x}: a part's owner is another function that is no part, anything else owns itself",
                BlobTableId.Functions, i, BlobLayout.Function.Owner);
        return null;
    }

    /// <summary>Each function's masks are non-empty, sorted, apart and inside it, and no mask belongs to two functions.</summary>
    public static BlobViolation? Masks(ReadOnlySpan<BlobFunction> functions, ReadOnlySpan<BlobMask> masks)
    {
        // Each mask belongs to one function at most: the walk is linear in the table.
        var used = new bool[masks.Length];
        for (int i = 0; i < functions.Length; i++)
        {
            ref readonly var f = ref functions[i];
            uint prevEnd = 0;
            for (uint m = f.MaskFirst; m < f.MaskFirst + f.MaskCount; m++)
            {
                ref readonly var mask = ref masks[(int)m];
                if (used[m])
                    return new(DiagnosticCodes.BlobOutOfRange, $"function {i} '{f.Name}': mask {m} belongs to another function too", BlobTableId.Masks, m, 0);
                used[m] = true;
                if (mask.Length == 0 || mask.Offset < prevEnd || (ulong)mask.Offset + mask.Length > f.Size)
                    return new(DiagnosticCodes.BlobOutOfRange, $"function {i} '{f.Name}': mask {m} [0x{mask.Offset:x}, +{mask.Length}) empty, unsorted, overlapping or outside the function", BlobTableId.Masks, m, 0);
                prevEnd = mask.Offset + mask.Length;
            }
        }
        return null;
    }

    // Fixups, sites and ORC entries are most of a blob's records: their rules decide inline, the message is made
    // out of line (where a rule is broken), so that verifying a blob before it is written costs little.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BlobViolation? Fixup(in BlobFixup x, int i, uint symbolCount, BlobHeaderFlags flags, ReadOnlySpan<byte> code)
    {
        int width = x.Type switch { BlobFixupType.Pc32 or BlobFixupType.Abs32S => 4, BlobFixupType.Abs64 => 8, _ => 0 };
        FixupRule broken =
            width == 0 ? FixupRule.Type
            : (ulong)x.Offset + (ulong)width > (ulong)code.Length ? FixupRule.Field
            : x.Target == BlobFixupTarget.Symbol ? x.Index == 0 || x.Index >= symbolCount ? FixupRule.Target : FixupRule.None
            : x.Target != BlobFixupTarget.Helper || x.Index >= BlobFormat.HelperCount ? FixupRule.Target
            // With CallOrc the loader adds the call's ORC entries: it must be `push $imm32; call rel32`.
            : (flags & BlobHeaderFlags.CallOrc) != 0
              && (x.Offset < HelperCallFixupFromPush || code[(int)x.Offset - HelperCallFixupFromPush] != PushImm32Opcode
                  || code[(int)x.Offset - HelperCallFixupFromCall] != CallRel32Opcode) ? FixupRule.HelperCall
            : FixupRule.None;
        return broken == FixupRule.None ? null : FixupBroken(broken, x, i);
    }

    private enum FixupRule { None, Type, Field, Target, HelperCall }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BlobViolation FixupBroken(FixupRule rule, in BlobFixup x, int i) => rule switch
    {
        FixupRule.Type => new(DiagnosticCodes.BlobUnknownValue, $"fixup {i}: unknown type {(byte)x.Type}", BlobTableId.Fixups, i, BlobLayout.Fixup.Type),
        FixupRule.Field => new(DiagnosticCodes.BlobOutOfRange, $"fixup {i}: field at 0x{x.Offset:x} is outside the code", BlobTableId.Fixups, i, BlobLayout.Fixup.Offset),
        FixupRule.Target => new(DiagnosticCodes.BlobUnknownValue, $"fixup {i}: target {(byte)x.Target} index {x.Index} is not valid", BlobTableId.Fixups, i, BlobLayout.Fixup.Target),
        _ => new(DiagnosticCodes.BlobOutOfRange, $"fixup {i}: helper call at 0x{x.Offset:x} is not push $imm32; call rel32", BlobTableId.Fixups, i, BlobLayout.Fixup.Offset),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BlobViolation? Site(in BlobSite x, int i, ReadOnlySpan<BlobFunction> functions)
    {
        if (x.Function >= functions.Length || x.Offset >= functions[(int)x.Function].Size)
            return SiteBroken(x, i, outOfRange: true);
        const BlobSiteFlags memFlags = BlobSiteFlags.Gs | BlobSiteFlags.StackPointer;
        bool ok = x.Kind switch
        {
            BlobEventKind.Entry or BlobEventKind.Exit => x.Flags == 0 && x.Size == 0,
            BlobEventKind.Read or BlobEventKind.Write or BlobEventKind.LockedUpdate or BlobEventKind.ReadWrite or BlobEventKind.LockedDone => (x.Flags & ~memFlags) == 0,
            BlobEventKind.String => (x.Flags & ~memFlags) is BlobSiteFlags.StringSourceRead or BlobSiteFlags.StringDestinationRead
                or BlobSiteFlags.StringDestinationWrite or (BlobSiteFlags.StringSourceRead | BlobSiteFlags.StringDestinationWrite)
                or (BlobSiteFlags.StringSourceRead | BlobSiteFlags.StringDestinationRead) && x.Size is 1 or 2 or 4 or 8,
            _ => false,
        };
        return ok ? null : SiteBroken(x, i, outOfRange: false);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BlobViolation SiteBroken(in BlobSite x, int i, bool outOfRange) => outOfRange
        ? new(DiagnosticCodes.BlobOutOfRange, $"site {i}: function {x.Function} offset 0x{x.Offset:x} out of range", BlobTableId.Sites, i, BlobLayout.Site.Function)
        : new(DiagnosticCodes.BlobUnknownValue, $"site {i}: event kind {(byte)x.Kind} with flags 0x{(byte)x.Flags:x} and size {x.Size} is not valid", BlobTableId.Sites, i, BlobLayout.Site.Kind);

    public static BlobViolation? Patch(in BlobPatch x, int i, ReadOnlySpan<BlobFunction> functions, uint codeLength)
    {
        BlobViolation Bad(DiagnosticCode code, string message, int field) => new(code, message, BlobTableId.Patches, i, field);
        if (x.Function >= functions.Length)
            return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: function {x.Function} out of range ({functions.Length})", BlobLayout.Patch.Function);
        ref readonly var f = ref functions[(int)x.Function];
        if (x.Kind == BlobPatchKind.Landing)
        {
            // A jmp rel32 written into the original, clear of the entry jump, to an address of the copy.
            if (x.Length != LandingPadLength || x.SlotLength != 0)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: landing pad of {x.Length} bytes with a {x.SlotLength}-byte slot, {LandingPadLength} and none expected", BlobLayout.Patch.Length);
            if (x.OriginalOffset < LandingPadLength || (ulong)x.OriginalOffset + x.Length > f.Size)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: landing pad [0x{x.OriginalOffset:x}, +{x.Length}) not inside function {x.Function} '{f.Name}' ({f.Size} bytes) past its first {LandingPadLength}", BlobLayout.Patch.OriginalOffset);
            if (x.CopyOffset - f.CopyOffset >= f.CopySize)
                return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: landing pad destination 0x{x.CopyOffset:x} not inside the copy of function {x.Function} '{f.Name}' [0x{f.CopyOffset:x}, +0x{f.CopySize:x})", BlobLayout.Patch.CopyOffset);
            return null;
        }
        if (x.Length == 0 || (ulong)x.OriginalOffset + x.Length > f.Size)
            return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: original site out of range", BlobLayout.Patch.Function);
        if (x.SlotLength < x.Length || (ulong)x.CopyOffset + x.SlotLength > codeLength)
            return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: slot [0x{x.CopyOffset:x}, +{x.SlotLength}) out of range", BlobLayout.Patch.CopyOffset);
        if (x.Kind == BlobPatchKind.JumpLabel && (x.Length is not (2 or 5) || x.SlotLength < 5 || x.TargetCopyOffset >= codeLength))
            return Bad(DiagnosticCodes.BlobOutOfRange, $"patch {i}: jump label of {x.Length} bytes in a {x.SlotLength}-byte slot, or its target 0x{x.TargetCopyOffset:x} out of range", BlobLayout.Patch.CopyOffset);
        if (x.Kind is not (BlobPatchKind.LiveBytes or BlobPatchKind.JumpLabel))
            return Bad(DiagnosticCodes.BlobUnknownValue, $"patch {i}: unknown kind {(byte)x.Kind}", BlobLayout.Patch.Kind);
        return null;
    }

    public static BlobViolation? ExTableEntry(in BlobExTableEntry x, int i, uint symbolCount, uint codeLength)
    {
        if (x.InsnCopy >= codeLength || x.FixupCopy != BlobFormat.NoCopy && x.FixupCopy >= codeLength
            || x.FixupCopy == BlobFormat.NoCopy && (x.FixupSymbol == 0 || x.FixupSymbol >= symbolCount))
            return new(DiagnosticCodes.BlobOutOfRange, $"exception entry {i}: instruction, fixup or symbol out of range", BlobTableId.ExTable, i, BlobLayout.ExTable.InsnCopy);
        if (!BlobFormat.IsExDataAccepted(x.Data))
            return new(DiagnosticCodes.BlobUnknownValue, $"exception entry {i}: data 0x{x.Data:x}: handler type {x.Data & BlobFormat.ExTypeMask} or its flags are not ones the kernel handles", BlobTableId.ExTable, i, BlobLayout.ExTable.Data);
        return null;
    }

    /// <summary>The length of the ud2 a BUG entry points at.</summary>
    private const int Ud2Length = 2;

    public static BlobViolation? Bug(in BlobBug x, int i, uint symbolCount, uint codeLength)
    {
        if ((ulong)x.CopyOffset + Ud2Length > codeLength || x.FileSymbol == 0 || x.FileSymbol >= symbolCount)
            return new(DiagnosticCodes.BlobOutOfRange, $"bug entry {i}: site or file symbol out of range", BlobTableId.Bugs, i, BlobLayout.Bug.CopyOffset);
        if (!BlobFormat.IsBugFlagsAccepted(x.Flags))
            return new(DiagnosticCodes.BlobUnknownValue, $"bug entry {i}: flags 0x{x.Flags:x}: unknown flags or taint", BlobTableId.Bugs, i, BlobLayout.Bug.Flags);
        return null;
    }

    /// <param name="previous">The previous entry's copy offset (0 for the first).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BlobViolation? Orc(in BlobOrc x, int i, uint previous, uint codeLength) =>
        x.CopyOffset > codeLength || x.CopyOffset < previous ? OrcBroken(x, i) : null;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BlobViolation OrcBroken(in BlobOrc x, int i) =>
        new(DiagnosticCodes.BlobOutOfRange, $"ORC entry {i}: offset 0x{x.CopyOffset:x} unsorted or outside the code", BlobTableId.Orc, i, BlobLayout.Orc.CopyOffset);

    /// <summary>Where the first copy starts (the import stubs come before it): the code's end if there is none.</summary>
    public static uint FirstCopy(ReadOnlySpan<BlobFunction> functions, uint codeLength)
    {
        uint first = codeLength;
        foreach (ref readonly var f in functions) first = Math.Min(first, f.CopyOffset);
        return first;
    }

    /// <summary>Import stubs (1.4): a symbol of the target, stubs sorted and disjoint (<paramref name="previousEnd"/>: where the last one ended), before the first copy; only known flags (1.6).</summary>
    public static BlobViolation? Import(in BlobImport x, int i, uint symbolCount, ulong previousEnd, uint firstCopy)
    {
        if (x.SymbolIndex == 0 || x.SymbolIndex >= symbolCount)
            return new(DiagnosticCodes.BlobOutOfRange, $"import {i} '{x.Name}': symbol {x.SymbolIndex} out of range ({symbolCount})", BlobTableId.Imports, i, BlobLayout.Import.SymbolIndex);
        if (x.StubOffset < previousEnd || (ulong)x.StubOffset + BlobFormat.StubSize > firstCopy)
            return new(DiagnosticCodes.BlobOutOfRange, $"import {i} '{x.Name}': stub [0x{x.StubOffset:x}, +{BlobFormat.StubSize}) unsorted, overlapping, or not before the first copy (0x{firstCopy:x})", BlobTableId.Imports, i, BlobLayout.Import.StubOffset);
        if ((x.Flags & ~BlobFormat.KnownImportFlags) != 0)
            return new(DiagnosticCodes.BlobOutOfRange, $"import {i} '{x.Name}': unknown flags 0x{(uint)x.Flags:x}", BlobTableId.Imports, i, BlobLayout.Import.Flags);
        return null;
    }

    /// <summary>Calls through stubs (1.4): sorted by return offset, each a <c>call rel32</c> of its function's copy to its import's stub.</summary>
    public static BlobViolation? Call(in BlobImportCall x, int i, uint previousReturn, ReadOnlySpan<BlobFunction> functions, ReadOnlySpan<BlobImport> imports, ReadOnlySpan<byte> code)
    {
        if (x.Function >= (uint)functions.Length || x.Import >= (uint)imports.Length)
            return new(DiagnosticCodes.BlobOutOfRange, $"call {i}: function {x.Function} or import {x.Import} out of range", BlobTableId.Calls, i, BlobLayout.Call.Function);
        ref readonly var f = ref functions[(int)x.Function];
        if (x.ReturnOffset <= previousReturn || x.OriginalOffset >= f.Size || x.ReturnOffset < f.CopyOffset + (ulong)StubCallLength
            || x.ReturnOffset > (ulong)f.CopyOffset + f.CopySize)
            return new(DiagnosticCodes.BlobOutOfRange, $"call {i}: return offset 0x{x.ReturnOffset:x} unsorted or not in the copy of function {x.Function} '{f.Name}', or original offset 0x{x.OriginalOffset:x} outside it", BlobTableId.Calls, i, BlobLayout.Call.ReturnOffset);
        int at = (int)x.ReturnOffset - StubCallLength;
        if (code[at] != CallRel32Opcode || x.ReturnOffset + System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(code[(at + 1)..]) != imports[(int)x.Import].StubOffset)
            return new(DiagnosticCodes.BlobOutOfRange, $"call {i}: the code at 0x{at:x} is not a call to the stub of import {x.Import}", BlobTableId.Calls, i, BlobLayout.Call.ReturnOffset);
        return null;
    }

    /// <summary>The longest x86 instruction (<c>MAX_INSN_SIZE</c>).</summary>
    private const int MaxInstructionLength = 15;

    /// <summary>
    /// Probes (1.5): the instruction and the helper call inside their function (original and copy), the
    /// call <c>push $site; call</c>, and <see cref="BlobProbe.Site"/> the first probe at the same place.
    /// </summary>
    public static BlobViolation? Probe(in BlobProbe x, int i, ReadOnlySpan<BlobFunction> functions, ReadOnlySpan<BlobProbe> earlier, ReadOnlySpan<byte> code)
    {
        if (x.Function >= (uint)functions.Length || x.Site > (uint)i)
            return new(DiagnosticCodes.BlobOutOfRange, $"probe {i}: function {x.Function} or site {x.Site} out of range", BlobTableId.Probes, i, BlobLayout.Probe.Function);
        ref readonly var f = ref functions[(int)x.Function];
        if (x.Length == 0 || x.Length > MaxInstructionLength || (ulong)x.Offset + x.Length > f.Size
            || x.CopyOffset < f.CopyOffset || (ulong)x.CopyOffset + BlobFormat.ProbeCallSize > (ulong)f.CopyOffset + f.CopySize)
            return new(DiagnosticCodes.BlobOutOfRange, $"probe {i}: instruction [0x{x.Offset:x}, +{x.Length}) or call at 0x{x.CopyOffset:x} not in function {x.Function} '{f.Name}'", BlobTableId.Probes, i, BlobLayout.Probe.Offset);
        if (x.Site < (uint)i)
        {
            ref readonly var first = ref earlier[(int)x.Site];
            if (first.Site != x.Site || first.Function != x.Function || first.Offset != x.Offset || first.CopyOffset != x.CopyOffset)
                return new(DiagnosticCodes.BlobOutOfRange, $"probe {i}: site {x.Site} is not the first probe at its place", BlobTableId.Probes, i, BlobLayout.Probe.Site);
        }
        int at = (int)x.CopyOffset;
        if (code[at] != PushImm32Opcode || System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(code[(at + 1)..]) != x.Site || code[at + 5] != CallRel32Opcode)
            return new(DiagnosticCodes.BlobOutOfRange, $"probe {i}: the code at 0x{at:x} is not push ${x.Site}; call", BlobTableId.Probes, i, BlobLayout.Probe.CopyOffset);
        return null;
    }

    /// <summary>
    /// Every probe helper call (a <see cref="BlobHelper.Probe"/> fixup) is a probe's (1.5): <c>push $site; call</c>
    /// with the site a probe that is the first at its place (its <see cref="BlobProbe.Site"/> itself) and whose
    /// <see cref="BlobProbe.CopyOffset"/> is that push. The helper indexes a table by the pushed site unchecked.
    /// Checked once the probes are read; the fixups' own rules hold (their fields are inside the code).
    /// Conversely, every probe that is the first at its place has its call fixed up to the probe helper (a
    /// <see cref="BlobFixupType.Pc32"/> <see cref="BlobHelper.Probe"/> fixup at its call's field): otherwise the call
    /// goes wherever the image's rel32 or another fixup says, while the probe is listed and never fires (KEDR3014);
    /// the fixups are applied in order, so no later fixup may write over that rel32 either.
    /// </summary>
    public static BlobViolation? ProbeCalls(ReadOnlySpan<BlobFixup> fixups, ReadOnlySpan<BlobProbe> probes, ReadOnlySpan<byte> code)
    {
        Span<bool> called = probes.Length <= 256 ? stackalloc bool[probes.Length] : new bool[probes.Length];
        called.Clear();
        for (int i = 0; i < fixups.Length; i++)
        {
            ref readonly var x = ref fixups[i];
            MarkProbeCalls(x, probes, code, called);
            if (x.Target != BlobFixupTarget.Helper || x.Index != (uint)BlobHelper.Probe) continue;
            uint site = uint.MaxValue;
            if (x.Offset >= HelperCallFixupFromPush && code[(int)x.Offset - HelperCallFixupFromPush] == PushImm32Opcode
                && code[(int)x.Offset - HelperCallFixupFromCall] == CallRel32Opcode)
                site = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(code[((int)x.Offset - HelperCallFixupFromPush + 1)..]);
            if (site >= (uint)probes.Length || probes[(int)site].Site != site
                || (ulong)probes[(int)site].CopyOffset + HelperCallFixupFromPush != x.Offset)
                return new(DiagnosticCodes.BlobProbeCallNotAProbe,
                    $"fixup {i}: probe helper call at 0x{x.Offset:x} is not the call of a probe (push $site; call: site {site}, {probes.Length} probes)",
                    BlobTableId.Fixups, i, BlobLayout.Fixup.Offset);
        }
        for (int i = 0; i < probes.Length; i++)
            if (probes[i].Site == (uint)i && !called[i])
                return new(DiagnosticCodes.BlobProbeNotCalled,
                    $"probe {i}: the call at 0x{probes[i].CopyOffset + HelperCallFixupFromPush - HelperCallFixupFromCall:x} is not fixed up to the probe helper (no pc32 KEDR_HELPER_PROBE fixup at 0x{probes[i].CopyOffset + HelperCallFixupFromPush:x}, or a later fixup over it)",
                    BlobTableId.Probes, i, BlobLayout.Probe.CopyOffset);
        return null;
    }

    /// <summary>The first probe at its place whose call's rel32 is at <paramref name="field"/>, or -1.</summary>
    private static int ProbeCallAt(long field, ReadOnlySpan<BlobProbe> probes, ReadOnlySpan<byte> code)
    {
        if (field < HelperCallFixupFromPush || field + 4 > code.Length) return -1;
        int push = (int)field - HelperCallFixupFromPush;
        if (code[push] != PushImm32Opcode || code[(int)field - HelperCallFixupFromCall] != CallRel32Opcode) return -1;
        uint site = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(code[(push + 1)..]);
        if (site >= (uint)probes.Length || probes[(int)site].Site != site || (long)probes[(int)site].CopyOffset + HelperCallFixupFromPush != field)
            return -1;
        return (int)site;
    }

    /// <summary>
    /// Fixup <paramref name="x"/> leaves the rel32 of each probe call it writes over called (a PC32 probe helper
    /// fixup at that rel32) or not (any other), as kedr_mark_probe_calls() in kedr_blob.c.
    /// </summary>
    private static void MarkProbeCalls(in BlobFixup x, ReadOnlySpan<BlobProbe> probes, ReadOnlySpan<byte> code, Span<bool> called)
    {
        long end = (long)x.Offset + (x.Type == BlobFixupType.Abs64 ? 8 : 4);
        for (long at = (long)x.Offset - 3; at < end; at++)
        {
            int site = ProbeCallAt(at, probes, code);
            if (site < 0) continue;
            called[site] = at == x.Offset && x.Type == BlobFixupType.Pc32 && x.Target == BlobFixupTarget.Helper
                && x.Index == (uint)BlobHelper.Probe;
        }
    }

    /// <summary>
    /// Every rule of this class over a blob in memory, in the reader's order: what the loader would refuse
    /// in it once written (the first rule broken), or null.
    /// </summary>
    public static BlobViolation? Verify(KedrBlob b)
    {
        uint symbolCount = b.Target.SymbolCount, codeLength = (uint)b.Code.Length;
        if ((HeaderFlags(b.Flags) ?? BuildIdLength((uint)b.Target.BuildId.Length) ?? CodeAlign(b.CodeAlign)
            ?? SymbolCount(symbolCount) ?? CodeSize(codeLength)) is { } header) return header;
        ReadOnlySpan<BlobFunction> fs = CollectionsMarshal.AsSpan(b.Functions);
        for (int i = 0; i < fs.Length; i++)
            if (Function(fs[i], i, symbolCount, codeLength, b.Masks.Count, fs.Length) is { } v) return v;
        for (int i = 0; i < fs.Length; i++)
            if (Owner(fs, i) is { } v) return v;
        if (Masks(fs, CollectionsMarshal.AsSpan(b.Masks)) is { } badMask) return badMask;
        var fixups = CollectionsMarshal.AsSpan(b.Fixups);
        for (int i = 0; i < fixups.Length; i++)
            if (Fixup(fixups[i], i, symbolCount, b.Flags, b.Code) is { } v) return v;
        var sites = CollectionsMarshal.AsSpan(b.Sites);
        for (int i = 0; i < sites.Length; i++)
            if (Site(sites[i], i, fs) is { } v) return v;
        var patches = CollectionsMarshal.AsSpan(b.Patches);
        for (int i = 0; i < patches.Length; i++)
            if (Patch(patches[i], i, fs, codeLength) is { } v) return v;
        if (LandingPads(b) is { } badPad) return badPad;
        var exTable = CollectionsMarshal.AsSpan(b.ExTable);
        for (int i = 0; i < exTable.Length; i++)
            if (ExTableEntry(exTable[i], i, symbolCount, codeLength) is { } v) return v;
        var bugs = CollectionsMarshal.AsSpan(b.Bugs);
        for (int i = 0; i < bugs.Length; i++)
            if (Bug(bugs[i], i, symbolCount, codeLength) is { } v) return v;
        var orc = CollectionsMarshal.AsSpan(b.Orc);
        uint previous = 0;
        for (int i = 0; i < orc.Length; i++)
        {
            if (Orc(orc[i], i, previous, codeLength) is { } v) return v;
            previous = orc[i].CopyOffset;
        }
        uint firstCopy = FirstCopy(fs, codeLength);
        var imports = CollectionsMarshal.AsSpan(b.Imports);
        for (int i = 0; i < imports.Length; i++)
            if (Import(imports[i], i, symbolCount, i > 0 ? imports[i - 1].StubOffset + (ulong)BlobFormat.StubSize : 0, firstCopy) is { } v) return v;
        var calls = CollectionsMarshal.AsSpan(b.Calls);
        for (int i = 0; i < calls.Length; i++)
            if (Call(calls[i], i, i > 0 ? calls[i - 1].ReturnOffset : 0, fs, imports, b.Code) is { } v) return v;
        var probes = CollectionsMarshal.AsSpan(b.Probes);
        for (int i = 0; i < probes.Length; i++)
            if (Probe(probes[i], i, fs, probes, b.Code) is { } v) return v;
        if (ProbeCalls(fixups, probes, b.Code) is { } badProbeCall) return badProbeCall;
        return null;
    }

    /// <summary>
    /// kedr_blob.c's kedr_check_landing_pads(): taken by function and original offset (then table order), no two
    /// landing pads of a function overlap, and each goes to an instruction boundary of the function's copy, as the
    /// loader's length decoder (<see cref="LoaderInstructionLength"/>) walks it from its start, taking patch slots
    /// (taken by copy offset, then table order) whole.
    /// </summary>
    public static BlobViolation? LandingPads(KedrBlob b)
    {
        var pads = new List<int>();
        var slots = new List<int>();
        for (int i = 0; i < b.Patches.Count; i++) (b.Patches[i].Kind == BlobPatchKind.Landing ? pads : slots).Add(i);
        if (pads.Count == 0) return null;
        uint codeLen = (uint)b.Code.Length;
        pads.Sort((x, y) => (b.Patches[x].Function, b.Patches[x].OriginalOffset, x).CompareTo((b.Patches[y].Function, b.Patches[y].OriginalOffset, y)));
        slots.Sort((x, y) => (b.Patches[x].CopyOffset, x).CompareTo((b.Patches[y].CopyOffset, y)));
        var starts = new bool[codeLen];
        for (int k = 0; k < pads.Count; k++)
        {
            var p = b.Patches[pads[k]];
            bool first = k == 0 || b.Patches[pads[k - 1]].Function != p.Function;
            var q = k > 0 ? b.Patches[pads[k - 1]] : default;
            if (!first && q.OriginalOffset + q.Length > p.OriginalOffset)
                return new(DiagnosticCodes.BlobLandingPadsOverlap,
                    $"patches {pads[k - 1]} and {pads[k]}: landing pads at 0x{q.OriginalOffset:x} and 0x{p.OriginalOffset:x} of function {p.Function} '{b.Functions[(int)p.Function].Name}' overlap",
                    BlobTableId.Patches, pads[k], BlobLayout.Patch.OriginalOffset);
            if (first && MarkInstructions(b, (int)p.Function, pads[k], slots, starts) is { } error)
                return error;
            if (!starts[p.CopyOffset])
                return new(DiagnosticCodes.BlobLandingPadNotAtInstruction,
                    $"patch {pads[k]}: landing pad destination 0x{p.CopyOffset:x} is not an instruction boundary of the copy of function {p.Function} '{b.Functions[(int)p.Function].Name}'",
                    BlobTableId.Patches, pads[k], BlobLayout.Patch.CopyOffset);
        }
        return null;
    }

    /// <summary>kedr_blob.c's kedr_mark_insns(): marks where the instructions of function <paramref name="fi"/>'s copy start.</summary>
    private static BlobViolation? MarkInstructions(KedrBlob b, int fi, int pad, List<int> slots, bool[] starts)
    {
        var f = b.Functions[fi];
        uint pos = f.CopyOffset, end = f.CopyOffset + f.CopySize;
        // The first slot at or after the copy's start.
        int lo = 0, hi = slots.Count;
        while (lo < hi)
        {
            int mid = lo + (hi - lo) / 2;
            if (b.Patches[slots[mid]].CopyOffset < pos) lo = mid + 1;
            else hi = mid;
        }
        while (pos < end)
        {
            BlobPatch? slot = lo < slots.Count ? b.Patches[slots[lo]] : null;
            starts[pos] = true;
            if (slot?.CopyOffset == pos)
            {
                pos += slot.Value.SlotLength;
                lo++;
                continue;
            }
            int len = LoaderInstructionLength.Of(b.Code.AsSpan((int)pos, (int)(end - pos)));
            if (len < 0)
                return new(DiagnosticCodes.BlobCopyNotWalkable,
                    $"patch {pad}: the copy of function {fi} '{f.Name}' cannot be decoded at 0x{pos:x} ({Convert.ToHexString(b.Code, (int)pos, (int)Math.Min(end - pos, 8))}) to check its landing pads",
                    BlobTableId.Patches, pad, BlobLayout.Patch.CopyOffset);
            pos += (uint)len;
            if (slot?.CopyOffset < pos)
                return new(DiagnosticCodes.BlobCopyNotWalkable,
                    $"patch {slots[lo]}: slot at 0x{slot.Value.CopyOffset:x} is inside an instruction of the copy of function {fi} '{f.Name}'",
                    BlobTableId.Patches, slots[lo], BlobLayout.Patch.CopyOffset);
        }
        return null;
    }
}
