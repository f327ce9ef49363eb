using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iced.Intel;
using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Rewriter.Catalog;

namespace Kedr.Benchmarks;

/// <summary>
/// The floor (issue 14 item 6): the least a rewriter producing the blob's code must do, as one pass per module.
/// Not product code and not a loadable copy: no test runs it (benchmarks/README.md, session 16, says how its output was checked).
/// <para>Per module: <see cref="ElfFile.TryRead"/>; the product's <see cref="FunctionCatalog"/> (functions of at least
/// 5 bytes, sorted, aliases dropped, <c>.cold</c> parts tied); then per function, with one Iced <see cref="Decoder"/>
/// per thread moved from function to function: decode every instruction and copy its bytes to a growing per-thread
/// buffer; a relocation inside an instruction becomes a fixup record (<see cref="BlobFixup"/>), as does a RIP-relative
/// operand. A relative call, jmp or jcc is written in its rel32 form, aimed through a target record resolved at the
/// function's end (in the function) or a fixup (elsewhere, or its own relocation). An explicit memory operand that
/// accesses memory (Iced's operand access, cached per Code as the product does: not LEA, NOP, PREFETCH) gets
/// <c>push %rax; lea M,%rax; push $site; call rel32; pop %rax</c> before the instruction (the LEA from Iced's operand),
/// one helper-call fixup, one <see cref="BlobSite"/> (with the access's kind and size) and two <see cref="BlobOrc"/> rows.</para>
/// <para>Left out (the product does them, the blob needs most of them): the patch sites and their sort, import stubs,
/// the original's ORC state at every instruction, flags and %rax liveness, string/bit-test/xlat/moffs/locked forms,
/// entry and exit events, jump labels, landing pads, exception and bug tables, masks and digests, function records
/// and names, the report, serialisation. Always saves %rax (the product does not where the instruction overwrites it).</para>
/// </summary>
public static class RewriterFloor
{
    /// <summary>How much of the floor to run: to measure its parts by difference.</summary>
    public enum Level { Elf, Catalog, Copy, Full }

    /// <summary>Counts over every module processed (for comparison with the product's report).</summary>
    public static long Instructions, Events, Branches, Fixups, Sites, OrcRows, CodeBytes;

    private sealed class State
    {
        public readonly RewriterThroughput.MovableReader Reader = new();
        public readonly Decoder Decoder;
        public readonly InstructionInfoFactory Info = new();
        public byte[] Code = new byte[1 << 16];
        public int[] Map = new int[1 << 12];
        public readonly List<BlobFixup> Fixups = [];
        public readonly List<BlobSite> Sites = [];
        public readonly List<BlobOrc> Orc = [];
        public readonly List<(int Field, int Target)> Targets = [];
        public State() => Decoder = Decoder.Create(64, Reader, 0, DecoderOptions.None);
    }

    [ThreadStatic] private static State? t_state;

    /// <summary>Per Code: 1 | event kind &lt;&lt; 8 (0: no access) | size &lt;&lt; 16 of its memory operand (0: not yet known).</summary>
    private static readonly uint[] s_facts = new uint[Enum.GetValues<Code>().Length];

    public static long Module(ModuleInput m) => Module(m, Level.Full);

    /// <summary>The floor for one module; returns the code bytes written (so nothing is optimised away).</summary>
    public static long Module(ModuleInput m, Level level)
    {
        if (!ElfFile.TryRead(m.File, m.Path, out var elf, out _)) return 0;
        if (level == Level.Elf) return elf!.Sections.Count;
        var catalog = new FunctionCatalog(elf!);
        if (level == Level.Catalog) return catalog.Functions.Count;
        var s = t_state ??= new State();
        var (decoder, code, fixups, factsByCode) = (s.Decoder, s.Code, s.Fixups, s_facts);
        fixups.Clear(); s.Sites.Clear(); s.Orc.Clear();
        bool events = level == Level.Full;
        int pos = 0;
        long instructions = 0, eventCount = 0, branches = 0;
        var functions = catalog.Functions;
        for (int fi = 0; fi < functions.Count; fi++)
        {
            var f = functions[fi];
            if (!MemoryMarshal.TryGetArray(f.Section.Data, out var seg)) continue;
            byte[] file = seg.Array!;
            int fStart = (int)f.Start, fLength = f.Size, fileStart = seg.Offset + fStart;
            uint symbol = (uint)f.Symbol.Index;
            var relocs = elf!.RelocationSpan(f.Section);
            int r = elf.FirstRelocationAtOrAfter(f.Section, fStart);
            if (s.Map.Length < fLength) s.Map = new int[Math.Max(fLength, 2 * s.Map.Length)];
            var map = s.Map;
            map.AsSpan(0, fLength).Fill(-1);
            s.Targets.Clear();
            s.Reader.MoveTo(file, fileStart, fileStart + fLength);
            decoder.IP = (ulong)fStart;
            while (decoder.IP < (ulong)(fStart + fLength))
            {
                decoder.Decode(out var instr);
                if (instr.IsInvalid) break;
                instructions++;
                int off = (int)instr.IP - fStart, len = instr.Length, at = fileStart + off;
                map[off] = pos;
                if (pos + 64 > code.Length) Array.Resize(ref s.Code, 2 * code.Length);
                code = s.Code;
                while (r < relocs.Length && (long)relocs[r].Offset < fStart + off) r++;
                bool reloc = r < relocs.Length && (long)relocs[r].Offset < fStart + off + len;
                var baseReg = instr.MemoryBase;
                if (events && HasMemoryOperand(instr) && factsByCode[(int)instr.Code] is var facts
                    && ((facts != 0 ? facts : facts = Facts(s, instr)) >> 8 & 0xff) != 0)
                {
                    eventCount++;
                    code[pos++] = 0x50; // push %rax
                    s.Orc.Add(new BlobOrc((uint)pos, 8));
                    int lea = pos;
                    pos = Lea(instr, code, pos, out int disp);
                    if (disp >= 0 && (reloc || baseReg == Register.RIP))
                        fixups.Add(new BlobFixup((uint)(lea + disp), BlobFixupType.Pc32, BlobFixupTarget.Symbol, symbol, off));
                    // push $site; call rel32 (the loader's fixup fills it); pop %rax
                    BinaryPrimitives.WriteUInt64LittleEndian(code.AsSpan(pos), 0x68UL | (ulong)(uint)s.Sites.Count << 8 | 0xe8UL << 40);
                    BinaryPrimitives.WriteUInt16LittleEndian(code.AsSpan(pos + 8), 0);
                    fixups.Add(new BlobFixup((uint)(pos + 6), BlobFixupType.Pc32, BlobFixupTarget.Helper, (uint)BlobHelper.MemEvent, -4));
                    pos += 10;
                    code[pos++] = 0x58; // pop %rax
                    s.Orc.Add(new BlobOrc((uint)pos, 0));
                    s.Sites.Add(new BlobSite((uint)fi, (uint)off, (BlobEventKind)(byte)(facts >> 8),
                        baseReg == Register.RSP ? BlobSiteFlags.StackPointer : BlobSiteFlags.None, (ushort)(facts >> 16)));
                }
                int field = -1;
                if (instr.Op0Kind == OpKind.NearBranch64)
                {
                    var flow = instr.FlowControl;
                    if (flow == FlowControl.Call) code[field = pos] = 0xe8;
                    else if (flow == FlowControl.UnconditionalBranch) code[field = pos] = 0xe9;
                    else if (instr.IsJccShortOrNear)
                    {
                        code[pos++] = 0x0f;
                        code[field = pos] = (byte)(0x7f + (int)instr.ConditionCode); // ConditionCode.o is 1
                    }
                }
                if (field >= 0)
                {
                    // rel32: aimed by its own relocation, a target record (in the function) or a fixup; 0 until then.
                    branches++;
                    pos = ++field + 4;
                    BinaryPrimitives.WriteInt32LittleEndian(code.AsSpan(field), 0);
                    if (reloc)
                    {
                        var rel = relocs[r++];
                        fixups.Add(new BlobFixup((uint)field, BlobFixupType.Pc32, BlobFixupTarget.Symbol, (uint)rel.SymbolIndex, rel.Addend));
                    }
                    else
                    {
                        long target = (long)instr.NearBranchTarget - fStart;
                        if ((ulong)target < (ulong)fLength) s.Targets.Add((field, (int)target));
                        else fixups.Add(new BlobFixup((uint)field, BlobFixupType.Pc32, BlobFixupTarget.Symbol, symbol, target - 4));
                    }
                    continue;
                }
                // Verbatim: 16 bytes at once where both ends have room (instructions are at most 15).
                if (at + 16 <= file.Length)
                    Unsafe.WriteUnaligned(ref code[pos], Unsafe.ReadUnaligned<System.Runtime.Intrinsics.Vector128<byte>>(ref file[at]));
                else
                    file.AsSpan(at, len).CopyTo(code.AsSpan(pos));
                for (; reloc && r < relocs.Length && (long)relocs[r].Offset < fStart + off + len; r++)
                {
                    var rel = relocs[r];
                    var type = rel.IsPcRelative ? BlobFixupType.Pc32 : rel.Type == RelocationType.Abs64 ? BlobFixupType.Abs64 : BlobFixupType.Abs32S;
                    fixups.Add(new BlobFixup((uint)(pos + (int)((long)rel.Offset - fStart - off)), type, BlobFixupTarget.Symbol, (uint)rel.SymbolIndex, rel.Addend));
                }
                if (!reloc && baseReg == Register.RIP)
                    fixups.Add(new BlobFixup((uint)(pos + len - 4), BlobFixupType.Pc32, BlobFixupTarget.Symbol, symbol, off));
                pos += len;
            }
            foreach (var (field, target) in s.Targets)
            {
                int copy = map[target];
                if (copy >= 0) BinaryPrimitives.WriteInt32LittleEndian(code.AsSpan(field), copy - (field + 4));
                else fixups.Add(new BlobFixup((uint)field, BlobFixupType.Pc32, BlobFixupTarget.Symbol, symbol, target - 4)); // into an instruction
            }
        }
        Interlocked.Add(ref Instructions, instructions);
        Interlocked.Add(ref Events, eventCount);
        Interlocked.Add(ref Branches, branches);
        Interlocked.Add(ref Fixups, fixups.Count);
        Interlocked.Add(ref Sites, s.Sites.Count);
        Interlocked.Add(ref OrcRows, s.Orc.Count);
        Interlocked.Add(ref CodeBytes, pos);
        return pos;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool HasMemoryOperand(in Instruction i) =>
        i.Op0Kind == OpKind.Memory || i.Op1Kind == OpKind.Memory || i.Op2Kind == OpKind.Memory || i.Op3Kind == OpKind.Memory;

    /// <summary>The memory operand's facts of <paramref name="instr"/>'s Code, computed once per Code (a race writes the same value).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static uint Facts(State s, in Instruction instr)
    {
        int op = instr.Op0Kind == OpKind.Memory ? 0 : instr.Op1Kind == OpKind.Memory ? 1 : instr.Op2Kind == OpKind.Memory ? 2 : 3;
        var access = s.Info.GetInfo(instr, InstructionInfoOptions.NoRegisterUsage).GetOpAccess(op);
        var kind = access switch
        {
            OpAccess.None or OpAccess.NoMemAccess => (BlobEventKind)0,
            OpAccess.Read or OpAccess.CondRead => BlobEventKind.Read,
            OpAccess.Write or OpAccess.CondWrite => BlobEventKind.Write,
            _ => BlobEventKind.ReadWrite,
        };
        uint size = (uint)Math.Clamp(instr.MemorySize.GetSize(), 0, ushort.MaxValue);
        return s_facts[(int)instr.Code] = 1 | (uint)kind << 8 | size << 16;
    }

    /// <summary>
    /// <c>lea M,%rax</c> at <paramref name="pos"/> from Iced's operand (base, index, scale, displacement), in its shortest
    /// form; %rsp-based: 8 more (our push). <paramref name="disp"/>: the displacement's offset in the LEA (-1: none).
    /// </summary>
    /// <remarks>Copying the original's ModRM, SIB and displacement bytes (found with <see cref="Decoder.GetConstantOffsets"/>)
    /// measured about 30 instructions more per event under callgrind.</remarks>
    private static int Lea(in Instruction instr, byte[] code, int pos, out int disp)
    {
        var b = instr.MemoryBase;
        var x = instr.MemoryIndex;
        int bn = (uint)(b - Register.RAX) <= 15 ? b - Register.RAX : 0, xn = (uint)(x - Register.RAX) <= 15 ? x - Register.RAX : 4;
        long d = (long)instr.MemoryDisplacement64 + (b == Register.RSP ? 8 : 0);
        code[pos] = (byte)(0x48 | (xn >> 3) << 1 | bn >> 3);
        code[pos + 1] = 0x8d;
        if (b == Register.RIP)
        {
            code[pos + 2] = 0x05;
            BinaryPrimitives.WriteInt32LittleEndian(code.AsSpan(pos + 3), (int)d);
            disp = 3;
            return pos + 7;
        }
        // mod 00: no displacement (not for %rbp/%r13, nor without a base: then disp32), 01: disp8, 10: disp32.
        int mod = b == Register.None || d == 0 && (bn & 7) != 5 ? 0 : (sbyte)d == d ? 1 : 2;
        int p = pos + 2;
        if (x != Register.None || b == Register.None || (bn & 7) == 4)
        {
            code[p++] = (byte)(mod << 6 | 4);
            int scale = x == Register.None ? 0 : System.Numerics.BitOperations.Log2((uint)instr.MemoryIndexScale);
            code[p++] = (byte)(scale << 6 | (xn & 7) << 3 | (b == Register.None ? 5 : bn & 7));
        }
        else code[p++] = (byte)(mod << 6 | (bn & 7));
        disp = p - pos;
        if (mod == 1) code[p++] = (byte)d;
        else if (mod == 2 || b == Register.None)
        {
            BinaryPrimitives.WriteInt32LittleEndian(code.AsSpan(p), (int)d);
            p += 4;
        }
        else disp = -1;
        return p;
    }

    /// <summary>
    /// <c>floor [elf|catalog|copy|full|decode|rewrite] [ROUNDS]</c>: the floor (or its parts, or DecodeOnly, or Rewrite)
    /// over every module of the <c>all</c> set, one thread, for callgrind (<see cref="Measure"/> is the measured part).
    /// </summary>
    public static int Run(string[] args)
    {
        string mode = args.Length > 0 ? args[0] : "full";
        int rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1;
        var corpus = Corpus.Get(Corpus.All);
        Console.WriteLine($"{corpus.Description}: {corpus.FunctionCount:N0} functions, {corpus.FunctionBytes / 1e6:F2} MB; {mode}, {rounds} round(s)");
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        long result = Measure(mode, corpus.Modules, rounds);
        watch.Stop();
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        Console.WriteLine($"result {result:N0}; {watch.Elapsed.TotalSeconds:F3} s wall, {cpu.TotalSeconds:F3} s CPU, {corpus.FunctionBytes * rounds / 1e6 / watch.Elapsed.TotalSeconds:F1} MB/s");
        if (mode is "copy" or "full")
            Console.WriteLine($"per round: {Instructions / rounds:N0} instructions, {Events / rounds:N0} memory events, {Branches / rounds:N0} rel32 branches, " +
                $"{Fixups / rounds:N0} fixups, {Sites / rounds:N0} sites, {OrcRows / rounds:N0} ORC rows, {CodeBytes / rounds:N0} code bytes");
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long Measure(string mode, ModuleInput[] modules, int rounds)
    {
        var rewriter = new RewriterThroughput();
        Func<ModuleInput, long> work = mode switch
        {
            "elf" => m => Module(m, Level.Elf),
            "catalog" => m => Module(m, Level.Catalog),
            "copy" => m => Module(m, Level.Copy),
            "full" => m => Module(m, Level.Full),
            "decode" => RewriterThroughput.DecodeModule,
            "rewrite" => rewriter.RewriteModule,
            _ => throw new ArgumentException($"unknown floor mode '{mode}' (elf, catalog, copy, full, decode, rewrite)"),
        };
        long sum = 0;
        for (int i = 0; i < rounds; i++)
            foreach (var m in modules) sum += work(m);
        return sum;
    }
}
