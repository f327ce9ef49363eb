using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Kedr.Core.Diagnostics;

namespace Kedr.Core.Elf;

/// <summary>
/// A relocatable x86-64 ELF object (a kernel module), read and checked in full:
/// every header, table and string is inside the file, every index is in range.
/// Bad input gives a <see cref="KedrDiagnostic"/>, never an unhandled exception.
/// </summary>
public sealed class ElfFile
{
    private readonly RelocationTable[] _relocationsBySection;
    /// <summary><see cref="GetRelocations"/>'s lists, made when first asked for.</summary>
    private RelocationList?[]? _relocationLists;

    private ElfFile(string path, ReadOnlyMemory<byte> data, ElfSection[] sections, ElfSymbol[] symbols,
        int symtabIndex, RelocationTable[] relocations, ElfModInfo modInfo, byte[] buildId)
    {
        Path = path; Data = data; Sections = _sections = sections; Symbols = _symbols = symbols; SymtabIndex = symtabIndex;
        _relocationsBySection = relocations; _modInfo = modInfo; BuildId = buildId;
    }

    public string Path { get; }
    public ReadOnlyMemory<byte> Data { get; }
    public IReadOnlyList<ElfSection> Sections { get; }
    private readonly ElfSection[] _sections;

    /// <summary>Section <paramref name="index"/> of <see cref="Sections"/>, without an interface call.</summary>
    public ElfSection Section(int index) => _sections[index];
    /// <summary><c>.symtab</c> in file order; entry 0 is the null symbol.</summary>
    public IReadOnlyList<ElfSymbol> Symbols { get; }
    private readonly ElfSymbol[] _symbols;

    /// <summary>Symbol <paramref name="index"/> of <see cref="Symbols"/>, without an interface call (for per-instruction look-ups).</summary>
    public ref readonly ElfSymbol Symbol(int index) => ref _symbols[index];
    public int SymtabIndex { get; }
    /// <summary><c>.modinfo</c> keys with their values, in file order (keys such as alias repeat).</summary>
    public IReadOnlyDictionary<string, List<string>> ModInfoEntries => _modInfo.All;
    private readonly ElfModInfo _modInfo;
    /// <summary>The NT_GNU_BUILD_ID descriptor, empty if none.</summary>
    public byte[] BuildId { get; }

    /// <summary>The module name as the kernel sees it: <c>.modinfo</c> name, else the file name with '-' as '_'.</summary>
    public string ModuleName => ModInfo("name")
        ?? System.IO.Path.GetFileNameWithoutExtension(Path).Replace('-', '_');

    /// <summary>The first value of <paramref name="key"/> in <c>.modinfo</c>, null if none.</summary>
    public string? ModInfo(string key) => _modInfo.First(key);

    public ElfSection? FindSection(string name)
    {
        foreach (var s in Sections)
            if (s.Name == name) return s;
        return null;
    }

    /// <summary>The RELA relocations that apply to <paramref name="section"/>, sorted by offset.</summary>
    public IReadOnlyList<ElfRelocation> GetRelocations(ElfSection section) =>
        (_relocationLists ??= new RelocationList?[_sections.Length])[section.Index] ??= new RelocationList(this, section);

    /// <summary><see cref="GetRelocations"/> as a span, for loops that run once per instruction.</summary>
    public ReadOnlySpan<ElfRelocation> RelocationSpan(ElfSection section) => _relocationsBySection[section.Index].Span;

    /// <summary>Index in <see cref="GetRelocations"/> of the first relocation at or after <paramref name="offset"/>.</summary>
    public int FirstRelocationAtOrAfter(ElfSection section, long offset)
    {
        var relocs = RelocationSpan(section);
        int lo = 0, hi = relocs.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if ((long)relocs[mid].Offset < offset) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>
    /// The relocation of <paramref name="section"/> at exactly <paramref name="offset"/> (of several there,
    /// which valid files never have, the last in file order).
    /// </summary>
    public bool TryGetRelocationAt(ElfSection section, ulong offset, out ElfRelocation relocation)
    {
        var relocs = RelocationSpan(section);
        int i = FirstRelocationAtOrAfter(section, (long)offset);
        if (i < relocs.Length && relocs[i].Offset == offset)
        {
            while (i + 1 < relocs.Length && relocs[i + 1].Offset == offset) i++;
            relocation = relocs[i];
            return true;
        }
        relocation = default;
        return false;
    }

    public static ElfFile Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KedrException(new KedrDiagnostic(DiagnosticCodes.ElfCannotRead, $"cannot read: {e.Message}", path));
        }
        return TryRead(bytes, path, out var file, out var error) ? file! : throw new KedrException(error!);
    }

    /// <summary>
    /// <see cref="Read(string)"/> into <paramref name="buffer"/>, grown to the largest file so far and reused from
    /// call to call instead of a fresh zeroed array per file (a worker reading many modules in turn). The file
    /// returned reads the buffer: it is valid only until the next call with the same buffer.
    /// </summary>
    public static ElfFile Read(string path, ref byte[]? buffer)
    {
        int length = 0;
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
            long size = RandomAccess.GetLength(handle);
            if (size <= 0 || size > Array.MaxLength) return Read(path); // no length known (not a regular file), or too large
            if (buffer is null || buffer.Length < size) buffer = GC.AllocateUninitializedArray<byte>((int)size);
            while (length < size)
            {
                int n = RandomAccess.Read(handle, buffer.AsSpan(length, (int)size - length), length);
                if (n == 0) throw new EndOfStreamException("the file ended before its size"); // as File.ReadAllBytes
                length += n;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KedrException(new KedrDiagnostic(DiagnosticCodes.ElfCannotRead, $"cannot read: {e.Message}", path));
        }
        return TryRead(buffer.AsMemory(0, length), path, out var file, out var error) ? file! : throw new KedrException(error!);
    }

    public static bool TryRead(ReadOnlyMemory<byte> data, string path, out ElfFile? file, out KedrDiagnostic? error)
    {
        file = null;
        var reader = new Reader(data, path);
        error = reader.Run(out file);
        return error is null;
    }

    /// <summary>Parses in the order headers, sections, symbols, relocations, notes; stops at the first problem.</summary>
    private sealed class Reader(ReadOnlyMemory<byte> data, string path)
    {
        private ReadOnlySpan<byte> Span => data.Span;

        private KedrDiagnostic Fail(DiagnosticCode code, string message, string? section = null, long? offset = null) =>
            new(code, message, path, section, offset);

        /// <summary>Elf64_Shdr field offsets, for diagnostics that name a section header's field in the file.</summary>
        private const int ShType = 4, ShSize = 32, ShLink = 40, ShInfo = 44, ShEntsize = 56;

        /// <summary>e_shoff, once read.</summary>
        private ulong _shoff;

        /// <summary>The file offset of <paramref name="field"/> of <paramref name="sec"/>'s section header.</summary>
        private long Header(ElfSection sec, int field) => (long)_shoff + (long)sec.Index * ElfConstants.SectionHeaderSize + field;

        public KedrDiagnostic? Run(out ElfFile? file)
        {
            file = null;
            var s = Span;
            if (s.Length < ElfConstants.HeaderSize)
                return Fail(DiagnosticCodes.ElfTooSmall, $"file is {s.Length} bytes, too small for an ELF header (64)", offset: s.Length);
            if (s[0] != 0x7f || s[1] != (byte)'E' || s[2] != (byte)'L' || s[3] != (byte)'F')
                return Fail(DiagnosticCodes.ElfBadMagic, "not an ELF file (bad magic)", offset: 0);
            if (s[4] != ElfConstants.ElfClass64 || s[5] != ElfConstants.ElfData2Lsb)
                return Fail(DiagnosticCodes.ElfNotElf64Le, "not a 64-bit little-endian ELF file", offset: 4);
            ushort type = U16(s, 16), machine = U16(s, 18);
            if (type != ElfConstants.EtRel || machine != ElfConstants.EmX86_64)
                return Fail(DiagnosticCodes.ElfNotRelocatableX8664, $"not a relocatable x86-64 object (e_type {type}, e_machine {machine})", offset: 16);

            ulong shoff = _shoff = U64(s, 0x28);
            ushort shentsize = U16(s, 0x3a), shnum = U16(s, 0x3c), shstrndx = U16(s, 0x3e);
            if (shnum == 0)
                return Fail(DiagnosticCodes.ElfNoSectionHeaders, "no section headers", offset: 0x3c);
            if (shentsize != ElfConstants.SectionHeaderSize)
                return Fail(DiagnosticCodes.ElfSectionHeaderSize, $"section header size {shentsize}, expected 64", offset: 0x3a);
            if (!Fits(shoff, (ulong)shnum * ElfConstants.SectionHeaderSize))
                return Fail(DiagnosticCodes.ElfSectionHeadersOutside, $"section header table ({shnum} entries at 0x{shoff:x}) runs past the end of the file ({s.Length} bytes)", offset: 0x28);
            if (shstrndx >= shnum)
                return Fail(DiagnosticCodes.ElfSectionNameTableIndex, $"section name table index {shstrndx} out of range ({shnum} sections)", offset: 0x3e);

            // Headers first, names once the name table is known to be sound.
            var raw = new (uint name, uint type, ulong flags, ulong off, ulong size, uint link, uint info, ulong align, ulong entsize)[shnum];
            for (int i = 0; i < shnum; i++)
            {
                int h = checked((int)shoff + i * ElfConstants.SectionHeaderSize);
                raw[i] = (U32(s, h), U32(s, h + 4), U64(s, h + 8), U64(s, h + 24), U64(s, h + 32),
                    U32(s, h + 40), U32(s, h + 44), U64(s, h + 48), U64(s, h + 56));
                if (raw[i].type != ElfConstants.ShtNobits && raw[i].type != ElfConstants.ShtNull && !Fits(raw[i].off, raw[i].size))
                    return Fail(DiagnosticCodes.ElfSectionOutside, $"section {i} contents (0x{raw[i].size:x} bytes at 0x{raw[i].off:x}) run past the end of the file ({s.Length} bytes)", offset: h);
            }
            var shstr = raw[shstrndx];
            if (shstr.type != ElfConstants.ShtStrtab)
                return Fail(DiagnosticCodes.ElfSectionNameTableType, $"section name table (section {shstrndx}) is not a string table (sh_type {shstr.type})",
                    offset: (long)shoff + shstrndx * ElfConstants.SectionHeaderSize + ShType);
            var shstrData = data.Slice((int)shstr.off, (int)shstr.size);

            var sections = new ElfSection[shnum];
            for (int i = 0; i < shnum; i++)
            {
                var r = raw[i];
                if (!ElfStrings.TryGet(shstrData.Span, r.name, out var name))
                    return Fail(DiagnosticCodes.ElfNameOutside, $"name of section {i} at 0x{r.name:x} is outside the name table or unterminated", ".shstrtab", r.name);
                var contents = r.type is ElfConstants.ShtNobits or ElfConstants.ShtNull
                    ? ReadOnlyMemory<byte>.Empty : data.Slice((int)r.off, (int)r.size);
                sections[i] = new ElfSection(i, name, r.type, r.flags, r.off, r.size, r.link, r.info, r.align, r.entsize, contents);
            }

            var err = ReadSymbols(sections, out var symbols, out int symtabIndex);
            if (err is not null) return err;
            err = ReadRelocations(sections, symbols.Length, out var relocations);
            if (err is not null) return err;
            err = ReadModInfo(sections, out var modInfo);
            if (err is not null) return err;
            err = ReadBuildId(sections, out var buildId);
            if (err is not null) return err;

            file = new ElfFile(path, data, sections, symbols, symtabIndex, relocations, modInfo, buildId);
            return null;
        }

        private KedrDiagnostic? ReadSymbols(ElfSection[] sections, out ElfSymbol[] symbols, out int symtabIndex)
        {
            symbols = [];
            symtabIndex = -1;
            foreach (var sec in sections)
            {
                if (sec.Type != ElfConstants.ShtSymtab) continue;
                if (symtabIndex >= 0)
                    return Fail(DiagnosticCodes.ElfTwoSymbolTables, $"more than one symbol table (sections {symtabIndex} and {sec.Index} '{sec.Name}')", offset: Header(sec, ShType));
                symtabIndex = sec.Index;
            }
            if (symtabIndex < 0)
                return Fail(DiagnosticCodes.ElfNoSymbolTable, "no symbol table (.symtab) in the section header table; a stripped module cannot be instrumented", offset: (long)_shoff);
            var symtab = sections[symtabIndex];
            if (symtab.EntrySize != ElfConstants.SymbolSize || symtab.Size % ElfConstants.SymbolSize != 0)
                return Fail(DiagnosticCodes.ElfSymbolTableSize, $"symbol table '{symtab.Name}': entry size {symtab.EntrySize} / size {symtab.Size} is not a multiple of 24",
                    offset: Header(symtab, symtab.EntrySize != ElfConstants.SymbolSize ? ShEntsize : ShSize));
            if (symtab.Link >= sections.Length || sections[symtab.Link].Type != ElfConstants.ShtStrtab)
                return Fail(DiagnosticCodes.ElfSymbolStringTable, $"symbol table '{symtab.Name}' links to section {symtab.Link}, which is not a string table",
                    offset: Header(symtab, ShLink));
            var strtabMemory = sections[symtab.Link].Data;
            var strtab = strtabMemory.Span;
            var d = symtab.Data.Span;
            int count = (int)(symtab.Size / ElfConstants.SymbolSize);
            symbols = new ElfSymbol[count];
            var names = new ElfSymbolNames(strtabMemory, count);
            // A table that ends in NUL terminates every name that starts inside it; otherwise each is looked at.
            bool terminated = strtab.Length > 0 && strtab[^1] == 0;
            for (int i = 0; i < count; i++)
            {
                int o = i * ElfConstants.SymbolSize;
                uint nameOff = U32(d, o);
                // Checked now, decoded when first asked for.
                if (terminated ? nameOff >= (uint)strtab.Length : !ElfStrings.TryGetBytes(strtab, nameOff, out _))
                    return Fail(DiagnosticCodes.ElfNameOutside, $"name of symbol {i} at 0x{nameOff:x} is outside the string table or unterminated", symtab.Name, o);
                ushort shndx = U16(d, o + 6);
                if (shndx != ElfConstants.ShnUndef && shndx < ElfConstants.ShnLoReserve && shndx >= sections.Length)
                    return Fail(DiagnosticCodes.ElfSymbolSection, $"symbol {i} '{names.Get(i, nameOff)}' is in section {shndx}, which does not exist", symtab.Name, o);
                if (shndx == ElfConstants.ShnXIndex)
                    return Fail(DiagnosticCodes.ElfExtendedSectionIndex, $"symbol {i} '{names.Get(i, nameOff)}' uses extended section indices, which modules never need", symtab.Name, o);
                symbols[i] = new ElfSymbol(i, names, nameOff, U64(d, o + 8), U64(d, o + 16), d[o + 4], d[o + 5], shndx);
            }
            return null;
        }

        private KedrDiagnostic? ReadRelocations(ElfSection[] sections, int symbolCount, out RelocationTable[] bySection)
        {
            bySection = new RelocationTable[sections.Length];
            Array.Fill(bySection, RelocationTable.Empty);
            foreach (var sec in sections)
            {
                if (sec.Type == ElfConstants.ShtRel)
                    return Fail(DiagnosticCodes.ElfRelNotRela, $"section {sec.Index} '{sec.Name}' holds SHT_REL relocations; x86-64 modules use SHT_RELA", offset: Header(sec, ShType));
                if (sec.Type != ElfConstants.ShtRela) continue;
                if (sec.EntrySize != ElfConstants.RelaSize || sec.Size % ElfConstants.RelaSize != 0)
                    return Fail(DiagnosticCodes.ElfRelocationTableSize, $"relocation section '{sec.Name}': entry size {sec.EntrySize} / size {sec.Size} is not a multiple of 24",
                        offset: Header(sec, sec.EntrySize != ElfConstants.RelaSize ? ShEntsize : ShSize));
                if (sec.Info == 0 || sec.Info >= sections.Length)
                    return Fail(DiagnosticCodes.ElfRelocationTarget, $"relocation section '{sec.Name}' applies to section {sec.Info}, which does not exist",
                        offset: Header(sec, ShInfo));
                var target = sections[sec.Info];
                // Entries viewed in place (the size is a multiple of 24, checked above): no bounds check per field.
                var entries = MemoryMarshal.Cast<byte, RawRela>(sec.Data.Span);
                var earlier = bySection[sec.Info].Span;
                bool sorted = true;
                // Offsets are unsigned: an empty start (0) is never above the first.
                ulong previous = earlier.IsEmpty ? 0 : earlier[^1].Offset, size = target.Size;
                for (int k = 0; k < entries.Length; k++)
                {
                    ref readonly var e = ref entries[k];
                    ulong off = Le(e.Offset), info = Le(e.Info);
                    if (info >> 32 >= (ulong)symbolCount)
                        return Fail(DiagnosticCodes.ElfRelocationSymbol, $"relocation uses symbol {info >> 32}, the symbol table has {symbolCount}", sec.Name, k * ElfConstants.RelaSize);
                    int width = new ElfRelocation(off, (RelocationType)(uint)info, 0, 0).Width;
                    if (off > size || (ulong)width > size - off)
                        return Fail(DiagnosticCodes.ElfRelocationOutside, $"relocation at 0x{off:x} ({width} bytes) is outside {target.Name} (0x{target.Size:x} bytes)", sec.Name, k * ElfConstants.RelaSize);
                    sorted &= previous <= off;
                    previous = off;
                }
                // Usually the only RELA section for its target, sorted, in the host's byte order: read where it lies.
                if (earlier.IsEmpty && sorted && BitConverter.IsLittleEndian && MemoryMarshal.TryGetArray(sec.Data, out var inFile))
                {
                    bySection[sec.Info] = new RelocationTable(inFile.Array!, inFile.Offset, entries.Length);
                    continue;
                }
                // Otherwise a copy: a second section appended to the first, then a stable sort (equal offsets,
                // never in valid input, keep their file order).
                var list = new ElfRelocation[earlier.Length + entries.Length];
                earlier.CopyTo(list);
                for (int k = 0; k < entries.Length; k++)
                {
                    ref readonly var e = ref entries[k];
                    ulong info = Le(e.Info);
                    list[earlier.Length + k] = new ElfRelocation(Le(e.Offset), (RelocationType)(uint)info, (int)(info >> 32), (long)Le(e.Addend));
                }
                if (!sorted) list = list.OrderBy(r => r.Offset).ToArray();
                bySection[sec.Info] = RelocationTable.Copy(list);
            }
            return null;
        }

        /// <summary>Checks <c>.modinfo</c>'s entries (terminated; a name that can be a file name); decoded when asked for.</summary>
        private KedrDiagnostic? ReadModInfo(ElfSection[] sections, out ElfModInfo modInfo)
        {
            modInfo = ElfModInfo.None;
            var sec = Array.Find(sections, x => x.Name == ".modinfo");
            if (sec is null || sec.Type == ElfConstants.ShtNobits) return null;
            var d = sec.Data.Span;
            int pos = 0, found;
            while ((found = ElfModInfo.Next(d, ref pos, out var entry)) != 0)
            {
                if (found < 0)
                    return Fail(DiagnosticCodes.ElfModInfoUnterminated, "entry is not NUL-terminated", sec.Name, pos);
                ElfModInfo.Split(entry, out var key, out var value);
                // The name makes file names (NAME.kedr under --out, the firmware folder): never a path.
                if (key.SequenceEqual("name"u8) && (value.IsEmpty || value.Contains((byte)'/')))
                    return Fail(DiagnosticCodes.ElfModuleName, $"module name '{Encoding.UTF8.GetString(value)}' is empty or holds '/'", sec.Name, pos - entry.Length - 1);
            }
            modInfo = new ElfModInfo(sec.Data);
            return null;
        }

        private KedrDiagnostic? ReadBuildId(ElfSection[] sections, out byte[] buildId)
        {
            buildId = [];
            foreach (var sec in sections)
            {
                if (sec.Type != ElfConstants.ShtNote) continue;
                var d = sec.Data.Span;
                int pos = 0;
                while (pos + 12 <= d.Length)
                {
                    uint namesz = U32(d, pos), descsz = U32(d, pos + 4), type = U32(d, pos + 8);
                    long nameEnd = pos + 12 + Align4(namesz), descEnd = nameEnd + Align4(descsz);
                    if (descEnd > d.Length)
                        return Fail(DiagnosticCodes.ElfNoteOutside, $"note (name {namesz} bytes, descriptor {descsz} bytes) runs past the section end", sec.Name, pos);
                    if (type == ElfConstants.NtGnuBuildId && namesz == 4 && d.Slice(pos + 12, 3).SequenceEqual("GNU"u8))
                        buildId = d.Slice((int)nameEnd, (int)descsz).ToArray();
                    pos = (int)descEnd;
                }
            }
            return null;
        }

        private bool Fits(ulong offset, ulong size) => offset <= (ulong)Span.Length && size <= (ulong)Span.Length - offset;

        private static long Align4(uint n) => (n + 3L) & ~3L;

        private static ushort U16(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt16LittleEndian(s[o..]);
        private static uint U32(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt32LittleEndian(s[o..]);
        private static ulong U64(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt64LittleEndian(s[o..]);

        /// <summary>An Elf64_Rela as stored (little-endian fields).</summary>
        private readonly struct RawRela
        {
            public readonly ulong Offset, Info, Addend;
        }

        private static ulong Le(ulong stored) => BitConverter.IsLittleEndian ? stored : BinaryPrimitives.ReverseEndianness(stored);
    }
}
