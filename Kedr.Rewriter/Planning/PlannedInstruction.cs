using Iced.Intel;
using Kedr.Rewriter.Encoders;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// Phase-one result for one instruction: what to emit and how big it is. Kept small (the decoded
/// instruction itself is not kept, only the few facts of it that later phases use): a module's
/// planned instructions are written once and read back twice, and their bytes are most of that cost.
/// </summary>
internal struct PlannedInstruction
{
    /// <summary>For branches and jump labels: the target in this module (section, offset), or section -1.</summary>
    public long TargetOffset;
    /// <summary>A RIP-relative memory operand's address (section offset), when <see cref="IpRelative"/>.</summary>
    public long IpRelativeTarget;
    public int TargetSection;
    /// <summary>The target's function in the catalog (-1: none) and instruction index in its plan (-1: not an instruction start), resolved once.</summary>
    public int TargetFunction;
    public int TargetIndex;

    /// <summary>Offset of the original instruction in its section.</summary>
    public int Offset;
    /// <summary>Where in the function's copy the emitted bytes (events first) start; sizes are final once planned.</summary>
    public int OffsetInCopy;
    /// <summary>Relocations inside the instruction: [RelocFirst, RelocFirst + RelocCount) of the section's list.</summary>
    public int RelocFirst;
    /// <summary>
    /// What goes between <c>push %rax</c> and <c>push $site</c> (the LEA computing the address,
    /// after <c>push %reg</c> for a bit offset): bytes [LeaStart, +LeaLength) of the arena's extra bytes.
    /// </summary>
    public int LeaStart;
    /// <summary>A jump label's entry in the section's sites (its key: symbol and addend, low bit the branch flag).</summary>
    public int SiteIndex;

    /// <summary>Bytes emitted for this instruction, events included.</summary>
    public ushort Size;
    /// <summary>Slot length for live-bytes and jump-label slots (original site length for the former).</summary>
    public ushort SlotLength;
    public ushort MemSize;

    public byte Length;
    public byte RelocCount;
    public EmitKind Kind;
    public EventFlags Events;
    /// <summary>The decoded instruction's Iced flow control and, for a jcc, its condition (Iced's ConditionCode - 1).</summary>
    public FlowControl Flow
    {
        readonly get => (FlowControl)_flow;
        set => _flow = (byte)value;
    }
    private byte _flow;
    public byte ConditionNibble;

    /// <summary>The instruction has an exception-table entry (it may fault to a fixup).</summary>
    public bool HasFixup;
    /// <summary>A .return_sites or .retpoline_sites entry: the kernel rewrites it at load time.</summary>
    public bool ThunkSite;
    /// <summary>No status flag's value before the instruction is ever read: helpers may change them.</summary>
    public bool FlagsDead;
    /// <summary>The instruction overwrites %rax without reading it: the event sequence need not save it.</summary>
    public bool RaxDead;
    /// <summary>The instruction has a RIP-relative memory operand.</summary>
    public bool IpRelative;
    /// <summary>int3: execution never continues after it.</summary>
    public bool IsInt3;
    /// <summary>A probe's call (<c>push $site; call</c>) stands before it, after the entry event (<see cref="ProbePlanner"/>).</summary>
    public bool Probe;
    /// <summary>
    /// A locked update whose <see cref="Kedr.Core.Blob.BlobEventKind.LockedDone"/> sequence follows the instruction
    /// (false: it follows the locked-update sequence, before the instruction, because the instruction
    /// overwrites a register of its address).
    /// </summary>
    public bool LockedDoneAfter;

    /// <summary>Memory event of the instruction (kind 0: none) and the sequence that records it.</summary>
    public Kedr.Core.Blob.BlobEventKind MemKind;
    public MemoryClass MemForm;
    public Kedr.Core.Blob.BlobSiteFlags MemFlags;
    public byte LeaLength;
    /// <summary>Displacement offset in the LEA and in the original instruction (-1: none).</summary>
    public sbyte LeaDisplacementOffset;
    public sbyte DisplacementOffset;

    /// <summary>Bytes of the memory-event sequences (before and after the instruction).</summary>
    /// <remarks>Most instructions have none: answered inline, the sequences' sizes out of line.</remarks>
    public readonly int MemoryEventBytes
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        get => MemForm == MemoryClass.None ? 0 : AllSequenceBytes();
    }

    /// <summary>A locked update has two sequences of one size: the update's, and the done one (<see cref="LockedDoneAfter"/>).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private readonly int AllSequenceBytes() => MemKind == Kedr.Core.Blob.BlobEventKind.LockedUpdate ? 2 * SequenceBytes() : SequenceBytes();

    /// <summary>Bytes of the memory-event sequences after the instruction: a string instruction's event, a locked update's done event.</summary>
    private readonly int MemoryEventBytesAfter => MemForm switch
    {
        MemoryClass.None => 0,
        MemoryClass.String => X86Encoding.EventCallSize + X86Encoding.LeaRspSize,
        _ => LockedDoneAfter ? SequenceBytes() : 0,
    };

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private readonly int SequenceBytes() => MemForm switch
    {
        // push %rax; <extra>; push $site; call; pop %rax (no push/pop where %rax is dead)
        MemoryClass.Operand or MemoryClass.Xlat or MemoryClass.Moffs => (RaxDead ? 0 : 2) + LeaLength + X86Encoding.EventCallSize,
        // push %rax; push %reg; lea; push $site; call; lea 8(%rsp),%rsp; pop %rax
        MemoryClass.BitOp => 2 + LeaLength + X86Encoding.EventCallSize + X86Encoding.LeaRspSize,
        // push %rsi; push %rdi; <insn>; push $site; call; lea 16(%rsp),%rsp
        MemoryClass.String => 2 + X86Encoding.EventCallSize + X86Encoding.LeaRspSize,
        _ => 0,
    };

    /// <summary>Bytes before the instruction proper: where it starts is OffsetInCopy + PreBytes.</summary>
    public readonly int PreBytes
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        get => ((Events & EventFlags.Entry) != 0 ? X86Encoding.EventCallSize : 0) + (Probe ? X86Encoding.EventCallSize : 0) +
            (MemForm == MemoryClass.None ? 0 : MemoryEventBytes - MemoryEventBytesAfter) +
            ((Events & EventFlags.Exit) != 0 && Kind != EmitKind.ConditionalTailCall ? X86Encoding.EventCallSize : 0);
    }

    /// <remarks>Asked for every planned instruction: inlined (NativeAOT left it as a call without the hint).</remarks>
    public readonly int EventBytes
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        get => MemoryEventBytes + (Probe ? X86Encoding.EventCallSize : 0) +
            ((Events & EventFlags.Entry) != 0 ? X86Encoding.EventCallSize : 0) +
            ((Events & EventFlags.Exit) != 0 && Kind != EmitKind.ConditionalTailCall ? X86Encoding.EventCallSize : 0);
    }
}
