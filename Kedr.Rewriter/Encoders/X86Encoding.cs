using System.Buffers.Binary;

namespace Kedr.Rewriter.Encoders;


/// <summary>
/// The few fixed encodings the copies are built from, with their sizes: every byte the emitter writes
/// that is not the original's is named here (or built by <see cref="AddressEncoder"/>).
/// </summary>
internal static class X86Encoding
{
    /// <summary>REX with W (64-bit operand); the X and B bits extend SIB.index and ModRM.rm/SIB.base.</summary>
    public const byte RexW = 0x48, RexXBit = 0x02, RexBBit = 0x01;
    /// <summary>REX.B alone: <c>push %r8</c>-<c>%r15</c>.</summary>
    public const byte RexB = 0x41;
    public const byte LeaOpcode = 0x8d;
    /// <summary>ModRM of <c>lea disp32(%rip),%rax</c>: mod 00, reg rax, rm 101.</summary>
    public const byte ModRmRaxRip = 0x05;
    /// <summary><c>mov $imm64,%rax</c> (with REX.W: movabs).</summary>
    public const byte MovImm64RaxOpcode = 0xb8;
    /// <summary><c>xbegin rel32</c>: C7 F8 cd.</summary>
    public static ReadOnlySpan<byte> XbeginRel32Prefix => [0xc7, 0xf8];
    /// <summary><c>cmpl $imm8, disp32(%rip)</c>: 83 /7 ib with ModRM mod 00 rm 101; disp32 and imm8 follow.</summary>
    public static ReadOnlySpan<byte> CmplImm8RipPrefix => [0x83, 0x3d];
    /// <summary>Condition nibbles (the low four bits of Jcc): less or equal, greater.</summary>
    public const byte ConditionLe = 0xe, ConditionG = 0xf;

    public const byte CallRel32Opcode = 0xe8;
    public const byte JmpRel32Opcode = 0xe9;
    public const byte JmpRel8Opcode = 0xeb;
    public const byte JccRel32Escape = 0x0f;
    public const byte JccRel32Base = 0x80;
    public const byte JccRel8Base = 0x70;
    public const byte PushImm32Opcode = 0x68;
    public const byte Int3Opcode = 0xcc;

    public const int Rel32Size = 4;
    /// <summary><c>lea N(%rsp),%rsp</c> (48 8d 64 24 N): drops N bytes of stack, flags untouched.</summary>
    public const int LeaRspSize = 5;
    public static ReadOnlySpan<byte> LeaRspPrefix => [0x48, 0x8d, 0x64, 0x24];
    public const byte PushRax = 0x50, PopRax = 0x58, PushRsi = 0x56, PushRdi = 0x57;
    /// <summary><c>movzbl %al,%eax; lea (%rbx,%rax),%rax</c>: XLAT's address, flags untouched.</summary>
    public static ReadOnlySpan<byte> XlatAddress => [0x0f, 0xb6, 0xc0, 0x48, 0x8d, 0x04, 0x03];
    public const int CallRel32Size = 5;
    public const int JmpRel32Size = 5;
    public const int JccRel32Size = 6;
    public const int JccRel8Size = 2;
    public const int JmpRel8Size = 2;
    public const int PushImm32Size = 5;
    public const int XbeginRel32Size = 6;

    /// <summary>
    /// A jump label that tests its key: <c>pushf; cmpl $0,key(%rip); jg/jle 1f; popf; jmp 2f;
    /// 1: popf; jmp target; 2:</c>.
    /// </summary>
    public const int JumpLabelTestSize = 1 + 7 + 2 + 1 + 2 + 1 + JmpRel32Size;
    public const byte Pushf = 0x9c, Popf = 0x9d;

    /// <summary><c>push $site; call helper</c>: how a copy reports an event.</summary>
    public const int EventCallSize = PushImm32Size + CallRel32Size;

    /// <summary>loop/jrcxz have only a rel8 form: <c>loop 1f; jmp 2f; 1: jmp target; 2:</c>; this is what follows the loop.</summary>
    public const int LoopDetourSize = JccRel8Size + JmpRel32Size;

    /// <summary><c>j!cc 1f; push; call exit; jmp target; 1:</c>: a conditional tail call.</summary>
    public const int ConditionalTailCallSize = JccRel8Size + EventCallSize + JmpRel32Size;

    public static void WriteRel32(Span<byte> dest, int value) => BinaryPrimitives.WriteInt32LittleEndian(dest, value);
}
