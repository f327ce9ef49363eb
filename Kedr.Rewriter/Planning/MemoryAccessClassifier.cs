using Iced.Intel;
using Kedr.Core.Blob;

namespace Kedr.Rewriter.Planning;

/// <summary>What an instruction does to memory, and so which event sequence records it.</summary>
internal enum MemoryClass : byte
{
    /// <summary>No data access (also LEA, NOP r/m, PREFETCH: an operand but no access).</summary>
    None,
    /// <summary>One explicit memory operand: <c>push %rax; lea M,%rax; push $site; call; pop %rax</c> before it.</summary>
    Operand,
    /// <summary>A string instruction: pointers saved before it, the helper called after it.</summary>
    String,
    /// <summary>BT/BTS/BTR/BTC with the bit offset in a register: the offset is passed too.</summary>
    BitOp,
    /// <summary>XLAT: the address is %rbx + %al.</summary>
    Xlat,
    /// <summary>MOV with a 64-bit absolute address (moffs): <c>movabs $addr,%rax</c> gives it.</summary>
    Moffs,
    /// <summary>Accesses memory, but this version does not record it (the reason says why).</summary>
    NotInstrumented,
}

/// <summary>
/// Classifies instructions with Iced's <see cref="InstructionInfoFactory"/> (operand access); the
/// sequences that compute an operand's address are encoded by <see cref="Encoders.AddressEncoder"/>.
/// </summary>
internal sealed class MemoryAccessClassifier
{
    private readonly InstructionInfoFactory _info = new();
    /// <summary>
    /// An explicit memory operand's access and size depend only on the instruction's Code (the size also
    /// on EVEX broadcast, which is not cached; the decoder makes no MVEX codes): cached per Code as
    /// <see cref="Known"/> | size &lt;&lt; 8 | access (0: not yet), for every module and thread. A race
    /// writes the same value twice.
    /// </summary>
    private static readonly uint[] s_operandByCode = new uint[Enum.GetValues<Code>().Length];
    private const uint Known = 1u << 31;
    /// <summary>The size in bytes, at most 0x10000 (more is as unknown as 0: neither fits a site).</summary>
    private const int SizeShift = 8;
    private const uint SizeMask = 0x1ffff;
    /// <summary>Facts of the mnemonic, kept beside the operand's: xlat, bt/bts/btr/btc, xchg, mov with a moffs address, a two-operand mov/movzx/movsx/movsxd.</summary>
    private const uint XlatFact = 1u << 25, BitTestFact = 1u << 26, XchgFact = 1u << 27, MoffsFact = 1u << 28, MovLoadFact = 1u << 29;

    /// <summary>The classification with its parts apart and the reason as text (null where there is none).</summary>
    public MemoryClass Classify(in Instruction instr, out BlobEventKind kind, out ushort size, out BlobSiteFlags flags, out string? reason)
    {
        var access = Classify(instr);
        (kind, size, flags) = (access.Kind, access.Size, access.Flags);
        reason = access.Reason == NotInstrumentedReason.None ? null : Describe(access.Reason, instr);
        return access.Class;
    }

    /// <summary>
    /// What the instruction does to memory. The facts that depend only on its Code (the operand's access and
    /// size, which mnemonic family it is) come from one table look-up.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public MemoryAccess Classify(in Instruction instr)
    {
        int memOp = FirstMemoryOperand(instr, out bool isString);
        if (isString) return ClassifyString(instr);
        if (memOp < 0) return default;

        uint facts = OperandFacts(instr, memOp);
        var access = (OpAccess)(facts & 0xff);
        if (access is OpAccess.NoMemAccess or OpAccess.None) return default;

        var baseReg = instr.MemoryBase;
        if ((facts & XlatFact) != 0)
        {
            if (baseReg != Register.RBX) return MemoryAccess.Refused(NotInstrumentedReason.XlatAddress32);
            return new MemoryAccess(MemoryClass.Xlat, BlobEventKind.Read, BlobSiteFlags.None, 1);
        }
        var index = instr.MemoryIndex;
        if (IsVectorRegister(index)) return MemoryAccess.Refused(NotInstrumentedReason.VectorIndexed);
        // EIP: RIP-relative with a 32-bit address.
        if (baseReg == Register.EIP || baseReg.IsGPR32() || index.IsGPR32())
            return MemoryAccess.Refused(NotInstrumentedReason.Address32);
        // %fs and %gs are only ever an override: no instruction's default segment.
        var seg = instr.SegmentPrefix;
        if (seg == Register.FS) return MemoryAccess.Refused(NotInstrumentedReason.FsRelative);
        int bytes = (int)(facts >> SizeShift & SizeMask);
        if (bytes <= 0 || bytes > ushort.MaxValue) return MemoryAccess.Refused(NotInstrumentedReason.SizeNotKnown);

        var flags = (seg == Register.GS ? BlobSiteFlags.Gs : BlobSiteFlags.None) | (baseReg == Register.RSP ? BlobSiteFlags.StackPointer : BlobSiteFlags.None);
        var kind = instr.HasLockPrefix || (facts & XchgFact) != 0 ? BlobEventKind.LockedUpdate : access switch
        {
            OpAccess.Read or OpAccess.CondRead => BlobEventKind.Read,
            OpAccess.Write or OpAccess.CondWrite => BlobEventKind.Write,
            _ => BlobEventKind.ReadWrite, // ReadWrite, ReadCondWrite (cmpxchg writes back even on failure)
        };
        if ((facts & BitTestFact) != 0 && instr.Op1Kind == OpKind.Register)
            return new MemoryAccess(MemoryClass.BitOp, kind, flags, (ushort)bytes); // size: the operand size, which the offset is sign-extended from
        if ((facts & MoffsFact) != 0)
            return new MemoryAccess(MemoryClass.Moffs, kind, flags, (ushort)bytes);
        bool overwritesRax = (facts & MovLoadFact) != 0 && kind != BlobEventKind.LockedUpdate && OverwritesRax(instr);
        return new MemoryAccess(MemoryClass.Operand, kind, flags, (ushort)bytes, overwritesRax);
    }

    /// <summary>The text of a reason, with what it names of the instruction.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    public static string Describe(NotInstrumentedReason reason, in Instruction instr) => reason switch
    {
        NotInstrumentedReason.XlatAddress32 => "xlat with a 32-bit address",
        NotInstrumentedReason.VectorIndexed => "vector-indexed (gather/scatter)",
        NotInstrumentedReason.Address32 => "32-bit address",
        NotInstrumentedReason.FsRelative => "%fs-relative",
        NotInstrumentedReason.SizeNotKnown => "size of " + instr.MemorySize + " not known",
        NotInstrumentedReason.StringNotKnown => "string instruction " + instr.Mnemonic,
        NotInstrumentedReason.StringFsRelative => "%fs-relative string instruction",
        NotInstrumentedReason.StringAddress32 => "string instruction with a 32-bit address",
        NotInstrumentedReason.StringWithFixup => "string instruction with an exception fixup",
        _ => throw new ArgumentOutOfRangeException(nameof(reason)),
    };

    /// <summary>
    /// Whether the instruction writes (even conditionally: <c>cmpxchg</c>'s accumulator) a register its
    /// memory operand's address is computed from: then the address cannot be computed again after it.
    /// </summary>
    public bool WritesAddressRegister(in Instruction instr)
    {
        var baseReg = instr.MemoryBase is Register.RIP ? Register.None : instr.MemoryBase.GetFullRegister();
        var index = instr.MemoryIndex.GetFullRegister();
        if (baseReg == Register.None && index == Register.None) return false;
        foreach (var u in _info.GetInfo(instr).GetUsedRegisters())
        {
            if (u.Access is not (OpAccess.Write or OpAccess.CondWrite or OpAccess.ReadWrite or OpAccess.ReadCondWrite)) continue;
            var full = u.Register.GetFullRegister();
            if (full != Register.None && (full == baseReg || full == index)) return true;
        }
        return false;
    }

    /// <summary>
    /// Whether any operand is memory (explicit or a string instruction's): most instructions have none,
    /// and this check is cheaper than <see cref="Classify"/>'s call.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool HasMemoryOperand(in Instruction instr) =>
        IsMemory(instr.Op0Kind) || IsMemory(instr.Op1Kind) || IsMemory(instr.Op2Kind) || IsMemory(instr.Op3Kind);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsMemory(OpKind k) => (uint)(k - OpKind.MemorySegSI) <= OpKind.Memory - OpKind.MemorySegSI;

    /// <summary>
    /// The first operand that is memory (-1: none), or whether it is a string instruction's. Only the
    /// first four can be (Iced: Op4Kind is always an immediate), and unused ones read as Register.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int FirstMemoryOperand(in Instruction instr, out bool isString)
    {
        OpKind k;
        int at;
        if (IsMemory(k = instr.Op0Kind)) at = 0;
        else if (IsMemory(k = instr.Op1Kind)) at = 1;
        else if (IsMemory(k = instr.Op2Kind)) at = 2;
        else if (IsMemory(k = instr.Op3Kind)) at = 3;
        else
        {
            isString = false;
            return -1;
        }
        // Memory is the last of the memory kinds; the others are a string instruction's.
        isString = k != OpKind.Memory;
        return at;
    }

    /// <summary>
    /// IsXMM() || IsYMM() || IsZMM() without the three calls: XMM0..ZMM31 are one range of Iced's
    /// <see cref="Register"/> (a test checks this for every register).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static bool IsVectorRegister(Register r) => r is >= Register.XMM0 and <= Register.ZMM31;

    /// <summary>The memory operand's access (low byte), size in bytes (from bit 8; 0: not known) and the mnemonic's facts.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private uint OperandFacts(in Instruction instr, int memOp)
    {
        uint cached = s_operandByCode[(int)instr.Code];
        if (cached != 0 && !instr.IsBroadcast) return cached;
        return ComputeOperandFacts(instr, memOp);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private uint ComputeOperandFacts(in Instruction instr, int memOp)
    {
        var access = _info.GetInfo(instr, InstructionInfoOptions.NoRegisterUsage).GetOpAccess(memOp);
        int size = Math.Clamp(instr.MemorySize.GetSize(), 0, ushort.MaxValue + 1);
        var mnemonic = instr.Mnemonic;
        uint facts = Known | (uint)size << SizeShift | (uint)access
            | (mnemonic == Mnemonic.Xlatb ? XlatFact : 0)
            | (mnemonic is Mnemonic.Bt or Mnemonic.Bts or Mnemonic.Btr or Mnemonic.Btc ? BitTestFact : 0)
            | (mnemonic == Mnemonic.Xchg ? XchgFact : 0)
            | (instr.Code is Code.Mov_AL_moffs8 or Code.Mov_AX_moffs16 or Code.Mov_EAX_moffs32 or Code.Mov_RAX_moffs64
                or Code.Mov_moffs8_AL or Code.Mov_moffs16_AX or Code.Mov_moffs32_EAX or Code.Mov_moffs64_RAX ? MoffsFact : 0)
            | (mnemonic is Mnemonic.Mov or Mnemonic.Movzx or Mnemonic.Movsx or Mnemonic.Movsxd && instr.OpCount == 2 ? MovLoadFact : 0);
        if (!instr.IsBroadcast) s_operandByCode[(int)instr.Code] = facts;
        return facts;
    }

    /// <summary>Which pointers a string instruction uses and how; the element size.</summary>
    private static MemoryAccess ClassifyString(in Instruction instr)
    {
        var size = (ushort)instr.MemorySize.GetSize();
        var flags = instr.Mnemonic switch
        {
            Mnemonic.Lodsb or Mnemonic.Lodsw or Mnemonic.Lodsd or Mnemonic.Lodsq or
            Mnemonic.Outsb or Mnemonic.Outsw or Mnemonic.Outsd => BlobSiteFlags.StringSourceRead,
            Mnemonic.Stosb or Mnemonic.Stosw or Mnemonic.Stosd or Mnemonic.Stosq or
            Mnemonic.Insb or Mnemonic.Insw or Mnemonic.Insd => BlobSiteFlags.StringDestinationWrite,
            Mnemonic.Scasb or Mnemonic.Scasw or Mnemonic.Scasd or Mnemonic.Scasq => BlobSiteFlags.StringDestinationRead,
            Mnemonic.Movsb or Mnemonic.Movsw or Mnemonic.Movsd or Mnemonic.Movsq => BlobSiteFlags.StringSourceRead | BlobSiteFlags.StringDestinationWrite,
            Mnemonic.Cmpsb or Mnemonic.Cmpsw or Mnemonic.Cmpsd or Mnemonic.Cmpsq => BlobSiteFlags.StringSourceRead | BlobSiteFlags.StringDestinationRead,
            _ => BlobSiteFlags.None,
        };
        if (flags == BlobSiteFlags.None || size == 0) return MemoryAccess.Refused(NotInstrumentedReason.StringNotKnown);
        // A segment override applies to the source ([%rsi]) only; %es:(%rdi) cannot be overridden.
        if (instr.SegmentPrefix == Register.GS) flags |= BlobSiteFlags.Gs;
        else if (instr.SegmentPrefix == Register.FS) return MemoryAccess.Refused(NotInstrumentedReason.StringFsRelative);
        // 32-bit addressing (0x67) would use %esi/%edi: the helper reads the full registers.
        if (instr.Op0Kind is OpKind.MemorySegESI or OpKind.MemoryESEDI || instr.Op1Kind is OpKind.MemorySegESI or OpKind.MemoryESEDI)
            return MemoryAccess.Refused(NotInstrumentedReason.StringAddress32);
        return new MemoryAccess(MemoryClass.String, BlobEventKind.String, flags, size);
    }

    /// <summary>
    /// Whether the instruction writes all of %rax (or %eax, which zero-extends) without reading
    /// any part of it, its address included: then %rax before it is dead.
    /// </summary>
    /// <remarks>Asked only where the Code is a two-operand mov/movzx/movsx/movsxd (<see cref="MovLoadFact"/>).</remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool OverwritesRax(in Instruction instr) =>
        // The loads that do: mov/movzx/movsx/movsxd into %rax or %eax from memory not addressed through %rax.
        instr.Op0Kind == OpKind.Register && instr.Op0Register is Register.RAX or Register.EAX
        && instr.Op1Kind == OpKind.Memory && instr.MemoryBase is not (Register.RAX or Register.EAX)
        && instr.MemoryIndex is not (Register.RAX or Register.EAX);
}
