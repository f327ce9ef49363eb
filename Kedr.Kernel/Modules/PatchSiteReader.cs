using System.Buffers.Binary;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;

namespace Kedr.Kernel.Modules;

/// <summary>
/// Reads the tables in which a 6.1 x86-64 module lists its run-time patch sites.
/// Entries point at code through PC-relative (or, for <c>__mcount_loc</c>, absolute)
/// relocations, so a site is "relocation symbol + addend".
/// </summary>
public static class PatchSiteReader
{
    // Entry sizes, from the 6.1 headers: struct alt_instr, struct jump_entry,
    // struct static_call_site, struct exception_table_entry, struct bug_entry
    // (relative pointers, verbose), and the s32/u64 arrays.
    private const int AltInstrSize = 12, JumpEntrySize = 16, StaticCallSiteSize = 8,
        ExTableEntrySize = 12, BugEntrySize = 12, RelativeSiteSize = 4, McountEntrySize = 8, ParavirtSiteSize = 16;
    private const int AltInstrLenOffset = 10, AltReplLenOffset = 11, ParavirtLenOffset = 9;

    private delegate KedrDiagnostic? TableReader(ElfFile elf, ElfSection sec, List<PatchSite> sites);
    private delegate KedrDiagnostic? EntryReader(ulong offset, int section, long place, RelocationCursor relocations);

    /// <summary>The tables by section name: entry size and how each entry becomes a site.</summary>
    private static readonly Dictionary<string, (int EntrySize, TableReader Read)> Tables = new(StringComparer.Ordinal)
    {
        ["__mcount_loc"] = (McountEntrySize, (e, s, l) => ReadArray(e, s, McountEntrySize, PatchSiteKind.Fentry, 5, l)),
        [".return_sites"] = (RelativeSiteSize, (e, s, l) => ReadArray(e, s, RelativeSiteSize, PatchSiteKind.ReturnThunk, 0, l)),
        [".retpoline_sites"] = (RelativeSiteSize, (e, s, l) => ReadArray(e, s, RelativeSiteSize, PatchSiteKind.Retpoline, 0, l)),
        [".smp_locks"] = (RelativeSiteSize, (e, s, l) => ReadArray(e, s, RelativeSiteSize, PatchSiteKind.SmpLock, 1, l)),
        [".static_call_sites"] = (StaticCallSiteSize, (e, s, l) => ReadArray(e, s, StaticCallSiteSize, PatchSiteKind.StaticCall, 0, l)),
        ["__bug_table"] = (BugEntrySize, ReadBugs),
        ["__jump_table"] = (JumpEntrySize, (e, s, l) => ReadWithTarget(e, s, JumpEntrySize, PatchSiteKind.JumpLabel, l)),
        ["__ex_table"] = (ExTableEntrySize, (e, s, l) => ReadWithTarget(e, s, ExTableEntrySize, PatchSiteKind.ExceptionTable, l)),
        [".altinstructions"] = (AltInstrSize, ReadAlternatives),
        [".parainstructions"] = (ParavirtSiteSize, ReadParavirt),
    };

    /// <summary>Every patch site of the module; a malformed table yields a diagnostic instead.</summary>
    public static bool TryRead(ElfFile elf, out List<PatchSite> sites, out KedrDiagnostic? error)
    {
        // Sized once, from the tables' entry counts.
        long entries = 0;
        var found = new List<(ElfSection Section, TableReader Read)>();
        foreach (var sec in elf.Sections)
        {
            if (!Tables.TryGetValue(sec.Name, out var table)) continue;
            entries += (long)sec.Size / table.EntrySize;
            found.Add((sec, table.Read));
        }
        sites = new List<PatchSite>((int)Math.Min(entries, 1 << 20));
        error = null;
        foreach (var (sec, read) in found)
        {
            error = read(elf, sec, sites);
            if (error is not null) return false;
        }
        return true;
    }

    private const string NoRelocation = "entry has no relocation to a section of the module";

    /// <summary>
    /// Walks a table of <paramref name="entrySize"/>-byte entries whose first field points at code:
    /// checks the size, resolves that field, and hands each entry's offset and place to <paramref name="read"/>,
    /// with the table's relocations for its other fields (asked for in increasing order, as the entries are).
    /// </summary>
    private static KedrDiagnostic? ReadEntries(ElfFile elf, ElfSection sec, int entrySize, EntryReader read)
    {
        if (sec.Size % (ulong)entrySize != 0)
            return Bad(elf, sec, 0, $"size 0x{sec.Size:x} is not a multiple of the entry size {entrySize}");
        var relocations = new RelocationCursor(elf, sec);
        for (ulong off = 0; off < sec.Size; off += (ulong)entrySize)
        {
            if (!TryResolve(elf, relocations, off, out int s, out long o))
                return Bad(elf, sec, off, NoRelocation);
            if (read(off, s, o, relocations) is { } error) return error;
        }
        return null;
    }

    /// <summary>Length 0 means "the instruction at the site".</summary>
    private static KedrDiagnostic? ReadArray(ElfFile elf, ElfSection sec, int entrySize, PatchSiteKind kind, int length, List<PatchSite> sites) =>
        ReadEntries(elf, sec, entrySize, (_, s, o, _) =>
        {
            sites.Add(new PatchSite(kind, s, o, length));
            return null;
        });

    /// <summary>
    /// struct jump_entry { s32 code, target; long key } (key: PC64 to the key, low bits = flags)
    /// and struct exception_table_entry { int insn, fixup, data }.
    /// </summary>
    private static KedrDiagnostic? ReadWithTarget(ElfFile elf, ElfSection sec, int entrySize, PatchSiteKind kind, List<PatchSite> sites)
    {
        return ReadEntries(elf, sec, entrySize, (off, s, o, relocations) =>
        {
            if (!TryResolve(elf, relocations, off + 4, out int ts, out long to))
                return Bad(elf, sec, off, NoRelocation);
            int auxSymbol = 0;
            long auxAddend = 0;
            uint data = 0;
            if (kind == PatchSiteKind.JumpLabel)
            {
                if (!relocations.TryAt(off + 8, out var key) || key.Type != RelocationType.Pc64)
                    return Bad(elf, sec, off, "jump entry has no PC64 relocation to its key");
                (auxSymbol, auxAddend) = (key.SymbolIndex, key.Addend);
            }
            else
            {
                data = BinaryPrimitives.ReadUInt32LittleEndian(sec.Data.Span[((int)off + 8)..]);
            }
            sites.Add(new PatchSite(kind, s, o, 0, ts, to, AuxSymbol: auxSymbol, AuxAddend: auxAddend, Data: data));
            return null;
        });
    }

    /// <summary>struct bug_entry { int bug_addr_disp, file_disp; u16 line, flags } (relative pointers, verbose).</summary>
    private static KedrDiagnostic? ReadBugs(ElfFile elf, ElfSection sec, List<PatchSite> sites)
    {
        return ReadEntries(elf, sec, BugEntrySize, (off, s, o, relocations) =>
        {
            int fileSymbol = 0;
            long fileAddend = 0;
            if (relocations.TryAt(off + 4, out var file) && file.IsPcRelative)
                (fileSymbol, fileAddend) = (file.SymbolIndex, file.Addend);
            uint lineFlags = BinaryPrimitives.ReadUInt32LittleEndian(sec.Data.Span[((int)off + 8)..]);
            sites.Add(new PatchSite(PatchSiteKind.BugTable, s, o, 0, AuxSymbol: fileSymbol, AuxAddend: fileAddend, Data: lineFlags));
            return null;
        });
    }

    /// <summary>struct alt_instr { s32 instr_offset, repl_offset; u16 cpuid; u8 instrlen, replacementlen }.</summary>
    private static KedrDiagnostic? ReadAlternatives(ElfFile elf, ElfSection sec, List<PatchSite> sites)
    {
        return ReadEntries(elf, sec, AltInstrSize, (off, s, o, relocations) =>
        {
            if (!TryResolve(elf, relocations, off + 4, out int rs, out long ro))
                return Bad(elf, sec, off, NoRelocation);
            var d = sec.Data.Span;
            int len = d[(int)off + AltInstrLenOffset], replLen = d[(int)off + AltReplLenOffset];
            uint cpuid = BinaryPrimitives.ReadUInt16LittleEndian(d[((int)off + 8)..]);
            sites.Add(new PatchSite(PatchSiteKind.Alternative, s, o, len, ReplacementSection: rs, ReplacementOffset: ro,
                ReplacementLength: replLen, Data: cpuid));
            return null;
        });
    }

    /// <summary>struct paravirt_patch_site: u8 *instr (absolute), u8 type, u8 len.</summary>
    private static KedrDiagnostic? ReadParavirt(ElfFile elf, ElfSection sec, List<PatchSite> sites) =>
        ReadEntries(elf, sec, ParavirtSiteSize, (off, s, o, _) =>
        {
            sites.Add(new PatchSite(PatchSiteKind.Paravirt, s, o, sec.Data.Span[(int)off + ParavirtLenOffset]));
            return null;
        });

    /// <summary>PC32 stores S + A - P and the kernel adds P back; ABS64 stores S + A: either way the place is S + A.</summary>
    private static bool TryResolve(ElfFile elf, RelocationCursor relocations, ulong fieldOffset, out int section, out long offset)
    {
        section = -1;
        offset = 0;
        if (!relocations.TryAt(fieldOffset, out var r)) return false;
        if (r.Type is not (RelocationType.Pc32 or RelocationType.Plt32 or RelocationType.Abs64)) return false;
        ref readonly var sym = ref elf.Symbol(r.SymbolIndex);
        if (!sym.IsDefinedInSection) return false;
        section = sym.SectionIndex;
        offset = (long)sym.Value + r.Addend;
        return true;
    }

    private static KedrDiagnostic Bad(ElfFile elf, ElfSection sec, ulong offset, string message) =>
        new(DiagnosticCodes.ElfPatchSiteEntry, message, elf.Path, sec.Name, (long)offset);
}
