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

    public MemoryClass Classify(in Instruction instr, out BlobEventKind kind, out ushort size, out BlobSiteFlags flags, out string? reason)
    {
        kind = 0;
        size = 0;
        flags = BlobSiteFlags.None;
        reason = null;
        int memOp = FirstMemoryOperand(instr, out bool isString);
        if (isString) return ClassifyString(instr, out kind, out size, out flags, out reason);
        if (memOp < 0) return MemoryClass.None;

        uint operand = OperandFacts(instr, memOp);
        var access = (OpAccess)(operand & 0xff);
        if (access is OpAccess.NoMemAccess or OpAccess.None) return MemoryClass.None;

        var mnemonic = instr.Mnemonic; // a table look-up each time it is asked
        if (mnemonic == Mnemonic.Xlatb)
        {
            if (instr.MemoryBase != Register.RBX) { reason = "xlat with a 32-bit address"; return MemoryClass.NotInstrumented; }
            kind = BlobEventKind.Read;
            size = 1;
            return MemoryClass.Xlat;
        }
        var index = instr.MemoryIndex;
        if (IsVectorRegister(index)) { reason = "vector-indexed (gather/scatter)"; return MemoryClass.NotInstrumented; }
        var baseReg = instr.MemoryBase;
        if (instr.IsIPRelativeMemoryOperand && baseReg != Register.RIP || baseReg.IsGPR32() || index.IsGPR32())
        {
            reason = "32-bit address";
            return MemoryClass.NotInstrumented;
        }
        bool moffs = instr.Code is Code.Mov_AL_moffs8 or Code.Mov_AX_moffs16 or Code.Mov_EAX_moffs32 or Code.Mov_RAX_moffs64
            or Code.Mov_moffs8_AL or Code.Mov_moffs16_AX or Code.Mov_moffs32_EAX or Code.Mov_moffs64_RAX;
        var seg = instr.MemorySegment;
        if (seg == Register.FS) { reason = "%fs-relative"; return MemoryClass.NotInstrumented; }
        int bytes = (int)(operand >> 8 & 0x7fffff);
        if (bytes <= 0 || bytes > ushort.MaxValue) { reason = "size of " + instr.MemorySize + " not known"; return MemoryClass.NotInstrumented; }

        size = (ushort)bytes;
        if (seg == Register.GS) flags |= BlobSiteFlags.Gs;
        if (baseReg is Register.RSP) flags |= BlobSiteFlags.StackPointer;
        kind = instr.HasLockPrefix || mnemonic == Mnemonic.Xchg ? BlobEventKind.LockedUpdate : access switch
        {
            OpAccess.Read or OpAccess.CondRead => BlobEventKind.Read,
            OpAccess.Write or OpAccess.CondWrite => BlobEventKind.Write,
            _ => BlobEventKind.ReadWrite, // ReadWrite, ReadCondWrite (cmpxchg writes back even on failure)
        };
        if (mnemonic is Mnemonic.Bt or Mnemonic.Bts or Mnemonic.Btr or Mnemonic.Btc && instr.Op1Kind == OpKind.Register)
            return MemoryClass.BitOp; // size: the operand size, which the offset is sign-extended from
        return moffs ? MemoryClass.Moffs : MemoryClass.Operand;
    }

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
        isString = false;
        int at = Memory(instr.Op0Kind, 0, ref isString);
        if (at < 0) at = Memory(instr.Op1Kind, 1, ref isString);
        if (at < 0) at = Memory(instr.Op2Kind, 2, ref isString);
        if (at < 0) at = Memory(instr.Op3Kind, 3, ref isString);
        return at;

        static int Memory(OpKind k, int i, ref bool isString)
        {
            if (k == OpKind.Memory) return i;
            if (k is >= OpKind.MemorySegSI and <= OpKind.MemoryESRDI) { isString = true; return i; }
            return -1;
        }
    }

    /// <summary>
    /// IsXMM() || IsYMM() || IsZMM() without the three calls: XMM0..ZMM31 are one range of Iced's
    /// <see cref="Register"/> (a test checks this for every register).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static bool IsVectorRegister(Register r) => r is >= Register.XMM0 and <= Register.ZMM31;

    /// <summary>The memory operand's access (low byte) and size in bytes (from bit 8; 0: not known).</summary>
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
        int size = Math.Clamp(instr.MemorySize.GetSize(), 0, 0x7fffff);
        uint facts = Known | (uint)size << 8 | (uint)access;
        if (!instr.IsBroadcast) s_operandByCode[(int)instr.Code] = facts;
        return facts;
    }

    /// <summary>Which pointers a string instruction uses and how; the element size.</summary>
    private static MemoryClass ClassifyString(in Instruction instr, out BlobEventKind kind, out ushort size, out BlobSiteFlags flags, out string? reason)
    {
        kind = BlobEventKind.String;
        reason = null;
        size = (ushort)instr.MemorySize.GetSize();
        flags = instr.Mnemonic switch
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
        if (flags == BlobSiteFlags.None || size == 0) { reason = "string instruction " + instr.Mnemonic; return MemoryClass.NotInstrumented; }
        // A segment override applies to the source ([%rsi]) only; %es:(%rdi) cannot be overridden.
        if (instr.SegmentPrefix == Register.GS) flags |= BlobSiteFlags.Gs;
        else if (instr.SegmentPrefix == Register.FS) { reason = "%fs-relative string instruction"; return MemoryClass.NotInstrumented; }
        // 32-bit addressing (0x67) would use %esi/%edi: the helper reads the full registers.
        if (instr.Op0Kind is OpKind.MemorySegESI or OpKind.MemoryESEDI || instr.Op1Kind is OpKind.MemorySegESI or OpKind.MemoryESEDI)
        {
            reason = "string instruction with a 32-bit address";
            return MemoryClass.NotInstrumented;
        }
        return MemoryClass.String;
    }

    /// <summary>
    /// Whether the instruction writes all of %rax (or %eax, which zero-extends) without reading
    /// any part of it, its address included: then %rax before it is dead.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool OverwritesRax(in Instruction instr) =>
        // The loads that do: mov/movzx/movsx/movsxd into %rax or %eax from memory not addressed through %rax.
        instr.Mnemonic is Mnemonic.Mov or Mnemonic.Movzx or Mnemonic.Movsx or Mnemonic.Movsxd
        && instr.OpCount == 2 && instr.Op0Kind == OpKind.Register && instr.Op0Register is Register.RAX or Register.EAX
        && instr.Op1Kind == OpKind.Memory && instr.MemoryBase is not (Register.RAX or Register.EAX)
        && instr.MemoryIndex is not (Register.RAX or Register.EAX);
}
