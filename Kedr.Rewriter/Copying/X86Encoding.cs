using System.Buffers.Binary;

namespace Kedr.Rewriter.Copying;

/// <summary>The few fixed encodings the copies are built from, with their sizes.</summary>
internal static class X86Encoding
{
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
