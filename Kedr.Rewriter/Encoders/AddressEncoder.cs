using Iced.Intel;

namespace Kedr.Rewriter.Encoders;

/// <summary>
/// The encodings a memory event computes an address with: <c>lea M,%rax</c> for an operand, <c>movabs</c> for
/// a moffs address, <c>push %reg</c> for a bit offset. Written into the plan's extra bytes by the planner
/// (their sizes are final there) and copied by the emitter.
/// </summary>
internal static class AddressEncoder
{
    /// <summary><c>lea disp32(%rip), %rax</c>: REX.W 8D /0 with mod 00 rm 101.</summary>
    public static ReadOnlySpan<byte> RipLeaPrefix => [X86Encoding.RexW, X86Encoding.LeaOpcode, X86Encoding.ModRmRaxRip];

    /// <summary>The displacement a fixup fills in.</summary>
    private static ReadOnlySpan<byte> Rel32Placeholder => [0, 0, 0, 0];

    /// <summary>
    /// Encodes <c>lea M, %rax</c> for the instruction's memory operand, as executed after the
    /// sequence pushed <paramref name="pushedBytes"/> (so an %rsp base is that much further).
    /// RIP-relative operands get <see cref="RipLeaPrefix"/> and a fixup instead.
    /// </summary>
    /// <param name="relocatedDisplacement">The original's displacement carries a relocation: keep a disp32 for its fixup.</param>
    /// <returns>Offset of the displacement in the LEA, -1 if it has none.</returns>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static int EncodeLea(in Instruction instr, bool relocatedDisplacement, int pushedBytes, CodeBuffer output)
    {
        if (instr.IsIPRelativeMemoryOperand)
        {
            output.Append(RipLeaPrefix);
            output.Append(Rel32Placeholder);
            return RipLeaPrefix.Length;
        }
        long disp = (long)instr.MemoryDisplacement64;
        if (instr.MemoryBase == Register.RSP) disp += pushedBytes;
        // POP computes an %rsp-based destination after its own increment.
        if (instr.MemoryBase == Register.RSP && instr.Mnemonic == Mnemonic.Pop) disp += instr.StackPointerIncrement;
        return EncodeLeaRax(instr.MemoryBase, instr.MemoryIndex, instr.MemoryIndexScale, disp, relocatedDisplacement, output);
    }

    /// <summary>
    /// <c>lea disp(base,index,scale),%rax</c> for 64-bit registers: REX.W 8D, then ModRM (reg = rax),
    /// a SIB where the base is %rsp/%r12, there is an index or there is no base, then the displacement
    /// (none, 8 or 32 bits; always 32 with <paramref name="disp32"/>, for a fixup). Written here rather
    /// than through Iced's general encoder: this is the rewriter's most frequent encoding, and the
    /// translation validator decodes every one of them with Iced.
    /// </summary>
    /// <returns>Offset of the displacement in the LEA, -1 if it has none.</returns>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static int EncodeLeaRax(Register baseReg, Register index, int scale, long disp, bool disp32, CodeBuffer output)
    {
        if (disp is < int.MinValue or > int.MaxValue)
            throw DoesNotFit("displacement 0x" + disp.ToString("x"));
        if (scale is not (1 or 2 or 4 or 8))
            throw DoesNotFit("scale " + scale);
        int b = baseReg == Register.None ? -1 : Number(baseReg), x = index == Register.None ? -1 : Number(index);
        // At most REX, opcode, ModRM, SIB and a disp32: eight bytes, built in a register and written by one store.
        bool sib = b < 0 || x >= 0 || (b & 7) == 4;
        int mod = b < 0 ? 0                                       // no base: SIB base 101, disp32
            : disp32 || disp is < sbyte.MinValue or > sbyte.MaxValue ? 2
            : disp != 0 || (b & 7) == 5 ? 1                       // %rbp/%r13 have no mod-00 form
            : 0;
        ulong lea = (ulong)(X86Encoding.RexW | (x >= 8 ? X86Encoding.RexXBit : 0) | (b >= 8 ? X86Encoding.RexBBit : 0))
            | (ulong)X86Encoding.LeaOpcode << 8
            | (ulong)((mod << 6) | (sib ? 4 : b & 7)) << 16;
        int n = 3; // REX, opcode, ModRM[, SIB]
        if (sib)
        {
            int ss = System.Numerics.BitOperations.Log2((uint)scale);
            lea |= (ulong)((ss << 6) | ((x < 0 ? 4 : x & 7) << 3) | (b < 0 ? 5 : b & 7)) << 24;
            n = 4;
        }
        int at = n;
        if (mod == 1) lea |= (ulong)(byte)(sbyte)disp << (8 * n++);
        else if (mod == 2 || b < 0)
        {
            lea |= (ulong)(uint)(int)disp << (8 * n);
            n += 4;
        }
        else at = -1;
        output.AppendUInt64(lea, n);
        return at;
    }

    /// <summary>A register's number: the 64-bit GPRs (the usual base and index) by arithmetic, the rest through Iced's table.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int Number(Register r) => r is >= Register.RAX and <= Register.R15 ? r - Register.RAX : r.GetNumber();

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static InvalidOperationException DoesNotFit(string what) => new("KEDR2901: " + what + " does not fit an LEA");

    /// <summary><c>movabs $imm64,%rax</c> (REX.W B8 imm64): a moffs operand's address; the immediate is at 2.</summary>
    public static void EncodeMovabsRax(ulong address, CodeBuffer output)
    {
        var movabs = output.Reserve(MovabsLength);
        movabs[0] = X86Encoding.RexW;
        movabs[1] = X86Encoding.MovImm64RaxOpcode;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(movabs[2..], address);
        output.Advance(MovabsLength);
    }

    private const int MovabsLength = 10;

    /// <summary><c>push %r64</c> of the full register holding a bit offset.</summary>
    public static void EncodePush(Register reg, CodeBuffer output)
    {
        int n = reg.GetFullRegister().GetNumber();
        var push = output.Reserve(2);
        int length = 0;
        if (n >= 8) push[length++] = X86Encoding.RexB;
        push[length++] = (byte)(X86Encoding.PushRax + (n & 7));
        output.Advance(length);
    }
}
