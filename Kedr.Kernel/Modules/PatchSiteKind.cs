namespace Kedr.Kernel.Modules;

/// <summary>Places in a module's code that the kernel rewrites at load time or later.</summary>
public enum PatchSiteKind
{
    /// <summary><c>__mcount_loc</c>: <c>call __fentry__</c>, a NOP until ftrace enables it.</summary>
    Fentry,
    /// <summary><c>.return_sites</c>: <c>jmp __x86_return_thunk</c>, maybe <c>ret; int3</c> at run time.</summary>
    ReturnThunk,
    /// <summary><c>.retpoline_sites</c>: call/jmp to <c>__x86_indirect_thunk_*</c>, maybe an indirect branch at run time.</summary>
    Retpoline,
    /// <summary><c>.altinstructions</c>: original bytes replaced by a CPU-feature dependent alternative.</summary>
    Alternative,
    /// <summary><c>__jump_table</c>: a 2- or 5-byte jmp or NOP flipped with its static key.</summary>
    JumpLabel,
    /// <summary><c>.static_call_sites</c>: call/jmp to a static-call trampoline, retargeted at run time.</summary>
    StaticCall,
    /// <summary><c>.parainstructions</c>: a paravirt call, replaced by native code at load time.</summary>
    Paravirt,
    /// <summary><c>.smp_locks</c>: a LOCK prefix, turned into a DS prefix on a uniprocessor.</summary>
    SmpLock,
    /// <summary><c>__ex_table</c>: an instruction allowed to fault, with its fixup.</summary>
    ExceptionTable,
    /// <summary><c>__bug_table</c>: a <c>ud2</c> reported as BUG or WARN.</summary>
    BugTable,
}
