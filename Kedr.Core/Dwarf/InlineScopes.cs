namespace Kedr.Core.Dwarf;

/// <summary>One frame of a source location: <see cref="Function"/> at <see cref="Position"/>. Frames go from
/// the innermost (the line the code comes from, in the function inlined deepest) out to the function that
/// was compiled.</summary>
public readonly record struct SourceFrame(string Function, SourcePosition Position);

/// <summary>
/// The functions of <c>.debug_info</c> with code (DW_TAG_subprogram with addresses) and the inlined
/// calls inside them (DW_TAG_inlined_subroutine: where the code of an inlined function lies, the
/// function's name through DW_AT_abstract_origin, and DW_AT_call_file/call_line, the line it was
/// called from). Ranges come from DW_AT_low_pc/high_pc or DW_AT_ranges (.debug_rnglists in DWARF 5,
/// .debug_ranges before).
/// </summary>
public sealed class InlineScopes
{
    private const ulong TagSubprogram = 0x2e, TagInlinedSubroutine = 0x1d, TagCompileUnit = 0x11, TagLexicalBlock = 0x0b,
        TagPartialUnit = 0x3c;
    private const int AtSibling = 0x01, AtName = 0x03, AtStmtList = 0x10, AtLowPc = 0x11, AtHighPc = 0x12, AtAbstractOrigin = 0x31,
        AtSpecification = 0x47, AtRanges = 0x55, AtCallFile = 0x58, AtCallLine = 0x59, AtCallColumn = 0x57,
        AtRnglistsBase = 0x74;

    private sealed class Scope
    {
        public int Parent = -1;
        public bool Inlined;
        public ulong Die;
        public int CallFile = -1;
        public uint CallLine, CallColumn;
        public List<(DwarfAddress Start, ulong End)> Ranges = [];
        public List<int> Inlines = [];
    }

    private readonly List<Scope> _scopes = [];
    private readonly Dictionary<ulong, string> _names = [];
    private readonly Dictionary<ulong, ulong> _origins = [];
    private readonly IReadOnlyList<string> _files;
    private readonly Dictionary<string, (ulong Start, ulong End, int Scope)[]> _functions;

    public InlineScopes(DwarfSections dwarf, LineProgram.Result lines)
    {
        _files = lines.Files;
        var abbrevs = new DwarfAbbreviations(dwarf);
        var info = dwarf[".debug_info"];
        var c = new DwarfCursor(info);
        while (!c.AtEnd)
        {
            int unitStart = c.Position;
            ulong length = c.InitialLength(out int offsetSize);
            if (length > (ulong)(c.Length - c.Position)) throw new DwarfFormatException($".debug_info unit at 0x{unitStart:x} runs past the end");
            int end = c.Position + (int)length;
            ReadUnit(dwarf, abbrevs, info[..end], unitStart, c.Position, offsetSize, lines);
            c.Position = end;
        }
        var bySection = new Dictionary<string, List<(ulong, ulong, int)>>(StringComparer.Ordinal);
        for (int i = 0; i < _scopes.Count; i++)
        {
            if (_scopes[i].Inlined || _scopes[i].Parent >= 0) continue;
            foreach (var (start, e) in _scopes[i].Ranges)
            {
                var key = start.Section ?? "";
                if (!bySection.TryGetValue(key, out var l)) bySection[key] = l = [];
                l.Add((start.Value, e, i));
            }
        }
        _functions = bySection.ToDictionary(kv => kv.Key, kv => kv.Value.OrderBy(x => x.Item1).ToArray(), StringComparer.Ordinal);
    }

    public int FunctionCount => _functions.Values.Sum(a => a.Length);
    public int InlinedCount => _scopes.Count(s => s.Inlined);

    /// <summary>The frames at <paramref name="offset"/> of <paramref name="section"/>, innermost first, the
    /// innermost at <paramref name="innermost"/> (the line table's position); empty if no function covers it.</summary>
    public List<SourceFrame> Frames(string? section, ulong offset, SourcePosition innermost)
    {
        var frames = new List<SourceFrame>();
        if (!_functions.TryGetValue(section ?? "", out var fns)) return frames;
        int lo = 0, hi = fns.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (fns[mid].Start <= offset) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        if (found < 0 || offset >= fns[found].End) return frames;
        // The innermost inlined call covering the pc: descend while a child covers it.
        var chain = new List<int> { fns[found].Scope };
        for (bool deeper = true; deeper;)
        {
            deeper = false;
            foreach (int child in _scopes[chain[^1]].Inlines)
                if (Covers(_scopes[child], section, offset)) { chain.Add(child); deeper = true; break; }
        }
        var position = innermost;
        for (int i = chain.Count - 1; i >= 0; i--)
        {
            var s = _scopes[chain[i]];
            frames.Add(new SourceFrame(Name(s.Die) ?? "?", position));
            if (s.Inlined)
                position = new SourcePosition(s.CallFile >= 0 && s.CallFile < _files.Count ? _files[s.CallFile] : "?", s.CallLine, s.CallColumn);
        }
        return frames;
    }

    private static bool Covers(Scope s, string? section, ulong offset)
    {
        foreach (var (start, end) in s.Ranges)
            if (start.Section == section && offset >= start.Value && offset < end) return true;
        return false;
    }

    private string? Name(ulong die)
    {
        for (int hops = 0; hops < 8; hops++)
        {
            if (_names.TryGetValue(die, out var n)) return n;
            if (!_origins.TryGetValue(die, out die)) return null;
        }
        return null;
    }

    private void ReadUnit(DwarfSections dwarf, DwarfAbbreviations abbrevs, ReadOnlySpan<byte> info, int unitStart, int pos,
        int offsetSize, LineProgram.Result lines)
    {
        var c = new DwarfCursor(info, pos);
        ushort version = c.U16();
        int addressSize;
        ulong abbrevOffset;
        if (version >= 5)
        {
            byte unitType = c.U8();
            addressSize = c.U8();
            abbrevOffset = c.Unsigned(offsetSize);
            if (unitType is 4 or 5) c.U64();                   // skeleton, split_compile: dwo_id
            else if (unitType is 2 or 6) { c.U64(); c.Unsigned(offsetSize); } // type units: signature, type_offset
        }
        else if (version is >= 2 and <= 4)
        {
            abbrevOffset = c.Unsigned(offsetSize);
            addressSize = c.U8();
        }
        else throw new DwarfFormatException($".debug_info version {version} at 0x{unitStart:x}");
        var table = abbrevs.At(abbrevOffset);

        int fileBase = -1;
        ulong rnglistsBase = 0;
        DwarfAddress unitBase = default;
        var stack = new List<int>(); // per depth: the enclosing scope (-1 if none)
        int depth = 0;
        bool first = true;
        while (!c.AtEnd)
        {
            ulong dieOffset = (ulong)c.Position;
            ulong code = c.Uleb();
            if (code == 0)
            {
                if (depth > 0) { depth--; stack.RemoveAt(stack.Count - 1); }
                continue;
            }
            if (!table.TryGetValue(code, out var ab))
                throw new DwarfFormatException($"unknown abbreviation {code} at 0x{dieOffset:x} of .debug_info");
            bool isScope = ab.Tag is TagSubprogram or TagInlinedSubroutine;
            Scope? scope = isScope ? new Scope { Inlined = ab.Tag == TagInlinedSubroutine, Die = dieOffset } : null;
            DwarfAddress low = default;
            bool hasLow = false;
            ulong highValue = 0;
            int highKind = 0; // 1: address, 2: offset from low
            ulong rangesOffset = ulong.MaxValue;
            bool rangesIndexed = false;
            ulong sibling = 0;
            foreach (var (name, form, implicitConst) in ab.Attributes)
            {
                var v = DwarfForm.Read(ref c, form, offsetSize, addressSize, implicitConst, dwarf, ".debug_info");
                switch (name)
                {
                    case AtSibling when v.Kind == DwarfValueKind.UnitReference:
                        sibling = (ulong)unitStart + v.Value;
                        break;
                    case AtName when ab.Tag == TagSubprogram:
                        if (DwarfForm.StringOf(dwarf, v) is { } s) _names[dieOffset] = s;
                        break;
                    case AtAbstractOrigin or AtSpecification when isScope:
                        ulong target = v.Kind == DwarfValueKind.UnitReference ? (ulong)unitStart + v.Value : v.Value;
                        _origins.TryAdd(dieOffset, target);
                        break;
                    case AtLowPc when v.Kind == DwarfValueKind.Address:
                        low = v.Address; hasLow = true;
                        break;
                    case AtHighPc:
                        if (v.Kind == DwarfValueKind.Address) { highValue = v.Address.Value; highKind = 1; }
                        else if (v.Kind == DwarfValueKind.Constant) { highValue = v.Value; highKind = 2; }
                        break;
                    case AtRanges:
                        rangesOffset = v.Value;
                        rangesIndexed = v.Kind == DwarfValueKind.Index;
                        break;
                    case AtCallFile when scope is not null:
                        scope.CallFile = (int)Math.Min(v.Value, int.MaxValue);
                        break;
                    case AtCallLine when scope is not null:
                        scope.CallLine = (uint)v.Value;
                        break;
                    case AtCallColumn when scope is not null:
                        scope.CallColumn = (uint)v.Value;
                        break;
                    case AtStmtList when first:
                        fileBase = lines.FileBase.TryGetValue(v.Value, out int fb) ? fb : -1;
                        break;
                    case AtRnglistsBase when first:
                        rnglistsBase = v.Value;
                        break;
                }
            }
            if (first)
            {
                first = false;
                if (hasLow) unitBase = low;
            }
            int parent = stack.Count > 0 ? stack[^1] : -1;
            int self = parent;
            if (scope is not null)
            {
                if (hasLow && highKind != 0)
                {
                    ulong endValue = highKind == 1 ? highValue : low.Value + highValue;
                    if (endValue > low.Value) scope.Ranges.Add((low, endValue));
                }
                else if (rangesOffset != ulong.MaxValue)
                    ReadRanges(dwarf, version, rangesOffset, rangesIndexed, rnglistsBase, offsetSize, addressSize, unitBase, scope.Ranges);
                if (scope.CallFile >= 0) scope.CallFile = fileBase >= 0 ? fileBase + scope.CallFile : -1;
                if (scope.Ranges.Count > 0 && (scope.Inlined ? parent >= 0 : true))
                {
                    scope.Parent = scope.Inlined ? parent : -1;
                    self = _scopes.Count;
                    _scopes.Add(scope);
                    if (scope.Inlined) _scopes[parent].Inlines.Add(self);
                }
            }
            // A type, a variable, a parameter list...: nothing inside holds code, so its children are skipped.
            if (ab.HasChildren && !isScope && ab.Tag is not (TagCompileUnit or TagLexicalBlock or TagPartialUnit)
                && sibling > dieOffset && sibling < (ulong)info.Length)
            {
                c.Position = (int)sibling;
                continue;
            }
            if (ab.HasChildren) { depth++; stack.Add(self); }
        }
    }

    /// <summary>Appends the ranges of a DW_AT_ranges value.</summary>
    private static void ReadRanges(DwarfSections dwarf, int version, ulong value, bool indexed, ulong rnglistsBase,
        int offsetSize, int addressSize, DwarfAddress unitBase, List<(DwarfAddress, ulong)> ranges)
    {
        if (version < 5)
        {
            var data = dwarf[".debug_ranges"];
            if (value >= (ulong)data.Length) return;
            var c = new DwarfCursor(data, (int)value);
            var b = unitBase;
            ulong max = addressSize == 4 ? uint.MaxValue : ulong.MaxValue;
            for (;;)
            {
                int at = c.Position;
                var start = dwarf.Address(".debug_ranges", at, c.Unsigned(addressSize));
                ulong end = c.Unsigned(addressSize);
                if (start.Value == 0 && end == 0 && start.Section is null) return;
                if (start.Value == max) { b = dwarf.Address(".debug_ranges", at + addressSize, end); continue; }
                if (start.Section is not null) ranges.Add((start, end));
                else ranges.Add((b.Plus(start.Value), b.Value + end));
            }
        }
        var rl = dwarf[".debug_rnglists"];
        ulong offset = value;
        if (indexed)
        {
            ulong slot = rnglistsBase + value * (ulong)offsetSize;
            if (slot + (ulong)offsetSize > (ulong)rl.Length) return;
            var ic = new DwarfCursor(rl, (int)slot);
            offset = rnglistsBase + ic.Unsigned(offsetSize);
        }
        if (offset >= (ulong)rl.Length) return;
        var r = new DwarfCursor(rl, (int)offset);
        var basis = unitBase;
        for (;;)
        {
            byte kind = r.U8();
            switch (kind)
            {
                case 0: return; // DW_RLE_end_of_list
                case 1: r.Uleb(); return; // base_addressx: needs .debug_addr, which non-split units do not use
                case 2: r.Uleb(); r.Uleb(); break; // startx_endx
                case 3: r.Uleb(); r.Uleb(); break; // startx_length
                case 4: // offset_pair
                {
                    ulong s = r.Uleb(), e = r.Uleb();
                    ranges.Add((basis.Plus(s), basis.Value + e));
                    break;
                }
                case 5: // base_address
                {
                    int at = r.Position;
                    basis = dwarf.Address(".debug_rnglists", at, r.Unsigned(addressSize));
                    break;
                }
                case 6: // start_end
                {
                    int at = r.Position;
                    var s = dwarf.Address(".debug_rnglists", at, r.Unsigned(addressSize));
                    ulong e = r.Unsigned(addressSize);
                    ranges.Add((s, e));
                    break;
                }
                case 7: // start_length
                {
                    int at = r.Position;
                    var s = dwarf.Address(".debug_rnglists", at, r.Unsigned(addressSize));
                    ranges.Add((s, s.Value + r.Uleb()));
                    break;
                }
                default: throw new DwarfFormatException($"unknown range list entry {kind} at 0x{r.Position - 1:x} of .debug_rnglists");
            }
        }
    }
}
