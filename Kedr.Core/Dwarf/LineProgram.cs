namespace Kedr.Core.Dwarf;

/// <summary>One row of a line-number matrix: the code at <see cref="Address"/> (up to the next row)
/// comes from line <see cref="Line"/> of file <see cref="File"/> (an index in <see cref="LineProgram.Files"/>).</summary>
public readonly record struct LineRow(DwarfAddress Address, int File, uint Line, uint Column, bool IsStatement, bool EndSequence);

/// <summary>
/// Runs the line-number programs of <c>.debug_line</c> (DWARF 2 to 5, DWARF 5 §6.2): the header (with
/// DWARF 5's described directory and file entry formats), then the standard, extended and special
/// opcodes, emitting rows. File names of all units go into one list, as full paths where the program
/// gives a directory.
/// </summary>
public static class LineProgram
{
    private const int DW_LNS_copy = 1, DW_LNS_advance_pc = 2, DW_LNS_advance_line = 3, DW_LNS_set_file = 4,
        DW_LNS_set_column = 5, DW_LNS_negate_stmt = 6, DW_LNS_set_basic_block = 7, DW_LNS_const_add_pc = 8,
        DW_LNS_fixed_advance_pc = 9, DW_LNS_set_prologue_end = 10, DW_LNS_set_epilogue_begin = 11, DW_LNS_set_isa = 12;
    private const int DW_LNE_end_sequence = 1, DW_LNE_set_address = 2, DW_LNE_define_file = 3, DW_LNE_set_discriminator = 4;
    private const ulong DW_LNCT_path = 1, DW_LNCT_directory_index = 2;

    /// <summary>Every row of every unit, in program order, and the file names they index.</summary>
    /// <param name="FileBase">For each unit (by its offset in .debug_line, what DW_AT_stmt_list holds): the index in
    /// <paramref name="Files"/> of the unit's file 0 (DWARF 5) or of the slot before its file 1 (DWARF 2-4).</param>
    public sealed record Result(IReadOnlyList<LineRow> Rows, IReadOnlyList<string> Files, IReadOnlyList<string> CompDirs,
        IReadOnlyDictionary<ulong, int> FileBase);

    public static Result Read(DwarfSections dwarf)
    {
        var rows = new List<LineRow>();
        var files = new List<string>();
        var compDirs = new List<string>();
        var fileBase = new Dictionary<ulong, int>();
        var data = dwarf[".debug_line"];
        var c = new DwarfCursor(data);
        while (!c.AtEnd)
        {
            int start = c.Position;
            ulong length = c.InitialLength(out int offsetSize);
            if (length > (ulong)(c.Length - c.Position)) throw new DwarfFormatException($".debug_line unit at 0x{start:x} runs past the end");
            int end = c.Position + (int)length;
            fileBase[(ulong)start] = files.Count;
            ReadUnit(dwarf, data[..end], c.Position, offsetSize, rows, files, compDirs);
            c.Position = end;
        }
        return new Result(rows, files, compDirs, fileBase);
    }

    private static void ReadUnit(DwarfSections dwarf, ReadOnlySpan<byte> data, int pos, int offsetSize,
        List<LineRow> rows, List<string> files, List<string> compDirs)
    {
        var c = new DwarfCursor(data, pos);
        ushort version = c.U16();
        if (version is < 2 or > 5) throw new DwarfFormatException($".debug_line version {version} at 0x{pos:x}");
        int addressSize = 8;
        if (version >= 5)
        {
            addressSize = c.U8();
            c.U8(); // segment_selector_size
        }
        ulong headerLength = c.Unsigned(offsetSize);
        int programStart = checked(c.Position + (int)headerLength);
        byte minInst = c.U8();
        if (version >= 4) c.U8(); // maximum_operations_per_instruction: 1 on x86
        bool defaultIsStmt = c.U8() != 0;
        sbyte lineBase = (sbyte)c.U8();
        byte lineRange = c.U8();
        byte opcodeBase = c.U8();
        if (lineRange == 0) throw new DwarfFormatException($".debug_line unit at 0x{pos:x}: line_range 0");
        var opLengths = new byte[opcodeBase];
        for (int i = 1; i < opcodeBase; i++) opLengths[i] = c.U8();

        var dirs = new List<string>();
        var unitFiles = new List<string>();
        if (version >= 5)
        {
            foreach (var e in EntryList(dwarf, ref c, offsetSize)) dirs.Add(e.Path ?? "");
            foreach (var e in EntryList(dwarf, ref c, offsetSize)) unitFiles.Add(Join(dirs, e.DirIndex, e.Path ?? "?"));
        }
        else
        {
            dirs.Add("");
            for (string d; (d = c.CString()).Length > 0;) dirs.Add(d);
            unitFiles.Add("?"); // DWARF 2-4 files count from 1
            for (string f; (f = c.CString()).Length > 0;)
            {
                ulong dir = c.Uleb();
                c.Uleb();
                c.Uleb();
                unitFiles.Add(Join(dirs, dir, f));
            }
        }
        if (unitFiles.Count == 0) unitFiles.Add("?"); // rows then name no file, but index one
        compDirs.Add(dirs.Count > 0 ? dirs[0] : "");
        int fileBase = files.Count;
        files.AddRange(unitFiles);

        c.Position = programStart;
        // State machine registers (§6.2.2).
        DwarfAddress address = default;
        int file = 1;
        uint line = 1, column = 0;
        bool isStmt = defaultIsStmt;
        void Emit(bool end) => rows.Add(new LineRow(address, fileBase + Math.Clamp(file, 0, Math.Max(unitFiles.Count - 1, 0)), line, column, isStmt, end));
        void Reset() { address = default; file = 1; line = 1; column = 0; isStmt = defaultIsStmt; }

        while (!c.AtEnd)
        {
            byte op = c.U8();
            if (op >= opcodeBase)
            {
                int adj = op - opcodeBase;
                address = address.Plus((ulong)(adj / lineRange * minInst));
                line = (uint)((long)line + lineBase + adj % lineRange);
                Emit(false);
                continue;
            }
            switch (op)
            {
                case 0:
                {
                    ulong len = c.Uleb();
                    if (len == 0) break;
                    int next = checked(c.Position + (int)len);
                    byte sub = c.U8();
                    switch (sub)
                    {
                        case DW_LNE_end_sequence:
                            Emit(true);
                            Reset();
                            break;
                        case DW_LNE_set_address:
                            int at = c.Position;
                            ulong v = c.Unsigned(next - at == 4 ? 4 : addressSize);
                            address = dwarf.Address(".debug_line", at, v);
                            break;
                        case DW_LNE_define_file:
                            unitFiles.Add(Join(dirs, 0, c.CString()));
                            files.Add(unitFiles[^1]);
                            break;
                        case DW_LNE_set_discriminator:
                            break;
                    }
                    c.Position = next;
                    break;
                }
                case DW_LNS_copy: Emit(false); break;
                case DW_LNS_advance_pc: address = address.Plus(c.Uleb() * minInst); break;
                case DW_LNS_advance_line: line = (uint)((long)line + c.Sleb()); break;
                case DW_LNS_set_file: file = (int)Math.Min(c.Uleb(), int.MaxValue); break;
                case DW_LNS_set_column: column = (uint)c.Uleb(); break;
                case DW_LNS_negate_stmt: isStmt = !isStmt; break;
                case DW_LNS_set_basic_block: break;
                case DW_LNS_const_add_pc: address = address.Plus((ulong)((255 - opcodeBase) / lineRange * minInst)); break;
                case DW_LNS_fixed_advance_pc: address = address.Plus(c.U16()); break;
                case DW_LNS_set_prologue_end: break;
                case DW_LNS_set_epilogue_begin: break;
                case DW_LNS_set_isa: c.Uleb(); break;
                default:
                    for (int i = 0; i < opLengths[op]; i++) c.Uleb();
                    break;
            }
        }
    }

    private readonly record struct Entry(string? Path, ulong DirIndex);

    /// <summary>A DWARF 5 directory or file-name table: its entry format, then its entries.</summary>
    private static List<Entry> EntryList(DwarfSections dwarf, ref DwarfCursor c, int offsetSize)
    {
        int formatCount = c.U8();
        var format = new (ulong Type, ulong Form)[formatCount];
        for (int i = 0; i < formatCount; i++) format[i] = (c.Uleb(), c.Uleb());
        ulong count = c.Uleb();
        if (formatCount == 0 && count > 0) throw new DwarfFormatException($"{count} entries without a format at 0x{c.Position:x} of .debug_line");
        var list = new List<Entry>();
        for (ulong n = 0; n < count; n++)
        {
            string? path = null;
            ulong dir = 0;
            foreach (var (type, form) in format)
            {
                var v = DwarfForm.Read(ref c, (int)form, offsetSize, 8, 0, dwarf, ".debug_line");
                if (type == DW_LNCT_path) path = DwarfForm.StringOf(dwarf, v);
                else if (type == DW_LNCT_directory_index) dir = v.Value;
            }
            list.Add(new Entry(path, dir));
        }
        return list;
    }

    private static string Join(List<string> dirs, ulong dirIndex, string file)
    {
        if (file.StartsWith('/') || dirIndex >= (ulong)dirs.Count) return file;
        var dir = dirs[(int)dirIndex];
        if (dir.Length == 0) return file;
        if (!dir.StartsWith('/') && dirs.Count > 0 && dirs[0].StartsWith('/')) dir = dirs[0] + "/" + dir;
        return dir + "/" + file;
    }
}
