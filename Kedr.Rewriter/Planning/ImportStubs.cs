using Iced.Intel;
using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Rewriter.Encoders;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// The import stubs (blob 1.4): one per kernel function the copies call or tail-call directly, at the start
/// of the code image, before the first copy. Such a branch (its rel32 relocation names an undefined symbol
/// with addend -4, i.e. the function's start) goes to the function's stub instead of to the function; the
/// loader writes each stub (a jump through the function's dispatch slot, kmod/kedr_payload.h), so a payload
/// can claim the function after the copies are in place. The stubs are int3 in the blob. A planning
/// decision, read-only once collected: the layout places the stubs, the emitter routes branches to them.
/// </summary>
/// <remarks>
/// Functions with a calling convention of their own are never routed through a stub, since the stub uses
/// <c>%r11</c>, which only the C ABI lets a call clobber: the kernel's thunks (retpoline, return, call
/// depth), <c>__fentry__</c>, static call trampolines (<c>__SCT__</c>), the uaccess helpers
/// <c>__get_user_*</c> / <c>__put_user_*</c> (arch/x86/lib/getuser.S, putuser.S: registers in, only some
/// clobbered), and the sanitizers' hooks.
/// </remarks>
internal sealed class ImportStubs
{
    private readonly Dictionary<int, int> _stubBySymbol = [];
    private readonly List<BlobImport> _imports = [];

    /// <summary>Bytes the stubs take at the start of the code image (0: none).</summary>
    public int Size => _imports.Count * BlobFormat.StubSize;

    public int Count => _imports.Count;

    /// <summary>The imports of the copied functions' direct calls and tail calls, in order of first use.</summary>
    public static ImportStubs Collect(ModulePlans plans)
    {
        var elf = plans.Module.Elf;
        var stubs = new ImportStubs();
        foreach (var plan in plans.All)
        {
            if (!plans.IsCopied(plan.Function.Id)) continue;
            // Only the branches the planner listed (the rest cannot name a kernel function): not every instruction again.
            var instructions = plan.Arena.Instructions;
            foreach (int slot in plan.ImportCandidates)
            {
                ref readonly var p = ref instructions[slot];
                if (!IsDirectBranchOut(p)) continue;
                ref readonly var r = ref plan.Code.Relocations[p.RelocFirst];
                if (!IsCallToStart(p, r)) continue;
                ref readonly var sym = ref elf.Symbol(r.SymbolIndex);
                if (!sym.IsUndefined || stubs._stubBySymbol.ContainsKey(r.SymbolIndex)) continue;
                var name = sym.Name;
                if (!IsInterceptable(name)) continue;
                stubs._stubBySymbol[r.SymbolIndex] = stubs.Size;
                stubs._imports.Add(new BlobImport(name, (uint)r.SymbolIndex, (uint)stubs.Size));
            }
        }
        return stubs;
    }

    /// <summary>Where the branch <paramref name="p"/> of <paramref name="plan"/> goes instead of its kernel function, or -1.</summary>
    public int StubFor(FunctionPlan plan, in PlannedInstruction p)
    {
        if (_imports.Count == 0 || !IsDirectBranchOut(p)) return -1;
        ref readonly var r = ref plan.Code.Relocations[p.RelocFirst];
        return IsCallToStart(p, r) && _stubBySymbol.TryGetValue(r.SymbolIndex, out int stub) ? stub : -1;
    }

    /// <summary>Whether the branch to a stub is a call, which the calls table lists (a tail call has no return address there).</summary>
    public static bool IsListedCall(in PlannedInstruction p) => p.Kind == EmitKind.Branch && p.Flow == FlowControl.Call;

    /// <summary>The import of the stub at <paramref name="stub"/>.</summary>
    public static uint ImportIndex(int stub) => (uint)(stub / BlobFormat.StubSize);

    /// <summary>The import table, and the ORC state of the stubs (entered by a call or a tail call: the return address on top).</summary>
    /// <remarks>Before the copies are emitted: the stubs' ORC entry is the first of the sorted table.</remarks>
    public void AddTo(KedrBlob blob, bool hasOrc)
    {
        blob.Imports.AddRange(_imports);
        if (hasOrc && _imports.Count > 0) blob.Orc.Add(new BlobOrc(0, CallEntryState));
    }

    /// <summary>struct orc_entry of a function's first instruction: sp_offset 8, sp_reg ORC_REG_SP (5), type CALL (0).</summary>
    internal const ulong CallEntryState = 8 | 5UL << 32;

    /// <summary>A call, jmp or jcc re-emitted as rel32 whose own relocation names where it goes (outside the module).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsDirectBranchOut(in PlannedInstruction p) =>
        p.TargetFunction < 0 && p.RelocCount > 0
        && (p.Kind == EmitKind.ConditionalTailCall
            || p.Kind == EmitKind.Branch && p.Flow is FlowControl.Call or FlowControl.UnconditionalBranch or FlowControl.ConditionalBranch);

    /// <summary>The relocation is the rel32 at the end of the instruction and names the symbol's start.</summary>
    private static bool IsCallToStart(in PlannedInstruction p, in ElfRelocation r) =>
        r.IsPcRelative && r.Addend == -X86Encoding.Rel32Size && (long)r.Offset == p.Offset + p.Length - X86Encoding.Rel32Size;

    /// <summary>Whether calls to the kernel function <paramref name="name"/> may go through a stub (see the remarks).</summary>
    public static bool IsInterceptable(string name) =>
        !name.StartsWith("__x86_", StringComparison.Ordinal)
        && !name.StartsWith("__SCT__", StringComparison.Ordinal)
        && !name.StartsWith("__get_user_", StringComparison.Ordinal)
        && !name.StartsWith("__put_user_", StringComparison.Ordinal)
        && !name.StartsWith("__fentry__", StringComparison.Ordinal)
        && !name.StartsWith("__ubsan_", StringComparison.Ordinal)
        && !name.StartsWith("__asan_", StringComparison.Ordinal)
        && !name.StartsWith("__kasan_", StringComparison.Ordinal)
        && !name.StartsWith("__tsan_", StringComparison.Ordinal)
        && !name.StartsWith("__kcsan_", StringComparison.Ordinal)
        && !name.StartsWith("__sanitizer_", StringComparison.Ordinal)
        && !name.StartsWith("__cfi_", StringComparison.Ordinal);
}
