namespace Kedr.Rewriter.Planning;

/// <summary>How one original instruction appears in the copy (each kind is emitted by its own <c>Emission/CopyEmitter.&lt;Kind&gt;.cs</c>).</summary>
internal enum EmitKind : byte
{
    /// <summary>Same bytes; relocations and RIP-relative displacements become fixups.</summary>
    Verbatim,
    /// <summary>A relative call/jmp/jcc re-emitted in its rel32 form.</summary>
    Branch,
    /// <summary>loop/loope/loopne/jrcxz/jecxz, which only have rel8: a short detour.</summary>
    LoopBranch,
    /// <summary>A jcc that leaves the function: exit event only on the taken path.</summary>
    ConditionalTailCall,
    /// <summary>xbegin rel32.</summary>
    Xbegin,
    /// <summary>The fentry call: the kernel NOPs it; the entry event takes its place.</summary>
    Drop,
    /// <summary>An alternative's site: a slot the loader fills with the live bytes.</summary>
    LiveBytesSlot,
    /// <summary>A later instruction inside an alternative's site (emitted by the slot).</summary>
    Absorbed,
    /// <summary>A jump label: a 5-byte slot, jmp or NOP as the live key says (format 1.0 loaders).</summary>
    JumpLabelSlot,
    /// <summary>A jump label that reads its static key each time, so key flips need no patching.</summary>
    JumpLabelTest,
}

[Flags]
internal enum EventFlags : byte
{
    None = 0,
    /// <summary>Entry event before the instruction (first instruction of a function that is not a part).</summary>
    Entry = 1,
    /// <summary>Exit event before the instruction (ret, tail call).</summary>
    Exit = 2,
}
