using Iced.Intel;
using Kedr.Core.Blob;
using Kedr.Core.Elf;
using Kedr.Rewriter.Encoders;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// The import stubs (blob 1.4): one per kernel function the copies call or tail-call directly, at the start
/// of the code image, before the first copy. Such a branch (its rel32 relocation names an undefined symbol
/// with addend -4, i.e. the function's start) goes to the function's stub instead of to the function; the
/// loader writes each stub (a jmp to the function, or on through its dispatch slot once claimed,
/// kmod/kedr_payload.h), so a payload can claim the function after the copies are in place. The stubs are
/// int3 in the blob. A planning
/// decision, read-only once collected: the layout places the stubs, the emitter routes branches to them.
/// </summary>
/// <remarks>
/// Functions with a calling convention of their own are never routed through a stub, since the stub uses
/// <c>%r11</c>, which only the C ABI lets a call clobber: the kernel's thunks (retpoline, return, call
/// depth), <c>__fentry__</c>, the uaccess helpers
/// <c>__get_user_*</c> / <c>__put_user_*</c> (arch/x86/lib/getuser.S, putuser.S: registers in, only some
/// clobbered), and the sanitizers' hooks.
/// </remarks>
internal sealed class ImportStubs
{
    /// <summary>
    /// Per symbol index, its stub's offset plus one (0: none). An array, not a dictionary: every branch out of
    /// the copies asks, twice (here and in emission), and the symbol table's size bounds it.
    /// </summary>
    private readonly int[] _stubBySymbol;
    private readonly List<BlobImport> _imports = [];

    /// <summary>No stubs (calls left direct).</summary>
    public ImportStubs() : this(0) { }

    private ImportStubs(int symbolCount) => _stubBySymbol = new int[symbolCount];

    private bool TryGetStub(int symbol, out int stub)
    {
        stub = _stubBySymbol[symbol] - 1;
        return stub >= 0;
    }

    private void AddStub(int symbol, BlobImport import)
    {
        _stubBySymbol[symbol] = (int)import.StubOffset + 1;
        _imports.Add(import);
    }

    /// <summary>Bytes the stubs take at the start of the code image (0: none).</summary>
    public int Size => _imports.Count * BlobFormat.StubSize;

    public int Count => _imports.Count;

    /// <summary>The imports of the copied functions' direct calls and tail calls, in order of first use.</summary>
    public static ImportStubs Collect(ModulePlans plans)
    {
        var elf = plans.Module.Elf;
        var stubs = new ImportStubs(elf.Symbols.Count);
        foreach (var plan in plans.All)
        {
            if (!plans.IsCopied(plan.Function.Id)) continue;
            // Only the branches the planner listed (the rest cannot name a kernel function): not every instruction again.
            foreach (int slot in plan.ImportCandidates)
            {
                ref readonly var p = ref plan.InArena(slot);
                if (!IsDirectBranchOut(p)) continue;
                ref readonly var r = ref plan.Code.Relocations[p.RelocFirst];
                if (!IsCallToStart(p, r)) continue;
                ref readonly var sym = ref elf.Symbol(r.SymbolIndex);
                if (stubs.TryGetStub(r.SymbolIndex, out _)) continue;
                var name = sym.Name;
                var flags = IsStaticCallTrampoline(name) ? BlobImportFlags.StaticCall : BlobImportFlags.None;
                if (flags == BlobImportFlags.None && (!sym.IsUndefined || !IsInterceptable(name))) continue;
                stubs.AddStub(r.SymbolIndex, new BlobImport(name, (uint)r.SymbolIndex, (uint)stubs.Size, flags));
            }
        }
        stubs.AddAddressTaken(elf);
        return stubs;
    }

    /// <summary>
    /// Blob 1.6: the kernel functions whose address the target's own data holds (an <c>R_X86_64_64</c> with addend
    /// 0 against an undefined symbol in a <c>.data*</c> or <c>.rodata*</c> section: an ops table, a function
    /// pointer) are flagged <see cref="BlobImportFlags.AddressTaken"/>, and listed (after the called ones) if the
    /// copies never call them directly, so that the loader can route the copies' indirect calls to them through
    /// the import's dispatch slot (kmod/kedr_sample/kedr_indirect.c). The same name rule applies.
    /// </summary>
    private void AddAddressTaken(ElfFile elf)
    {
        foreach (var section in elf.Sections)
        {
            if (!IsDataSection(section)) continue;
            foreach (ref readonly var r in elf.RelocationSpan(section))
            {
                if (r.Type != RelocationType.Abs64 || r.Addend != 0 || r.SymbolIndex <= 0 || r.SymbolIndex >= elf.Symbols.Count) continue;
                ref readonly var sym = ref elf.Symbol(r.SymbolIndex);
                if (!sym.IsUndefined || !IsInterceptable(sym.Name)) continue;
                if (TryGetStub(r.SymbolIndex, out int stub))
                {
                    int i = (int)ImportIndex(stub);
                    _imports[i] = _imports[i] with { Flags = _imports[i].Flags | BlobImportFlags.AddressTaken };
                    continue;
                }
                AddStub(r.SymbolIndex, new BlobImport(sym.Name, (uint)r.SymbolIndex, (uint)Size, BlobImportFlags.AddressTaken));
            }
        }
    }

    /// <summary>A section of the module's data proper (not a table the kernel reads: those have other names).</summary>
    private static bool IsDataSection(ElfSection s) =>
        s.IsAlloc && !s.IsExecutable
        && (s.Name == ".data" || s.Name == ".rodata" || s.Name.StartsWith(".data.", StringComparison.Ordinal)
            || s.Name.StartsWith(".rodata.", StringComparison.Ordinal));

    /// <summary>Where the branch <paramref name="p"/> of <paramref name="plan"/> goes instead of its kernel function, or -1.</summary>
    public int StubFor(FunctionPlan plan, in PlannedInstruction p)
    {
        if (_imports.Count == 0 || !IsDirectBranchOut(p)) return -1;
        ref readonly var r = ref plan.Code.Relocations[p.RelocFirst];
        return IsCallToStart(p, r) && TryGetStub(r.SymbolIndex, out int stub) ? stub : -1;
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

    /// <summary>
    /// A static call trampoline (<c>__SCT__*</c>, the kernel's or the module's own in <c>.static_call.text</c>): blob
    /// 1.6 routes the copies' calls to it through a stub flagged <see cref="BlobImportFlags.StaticCall"/>, which the
    /// loader writes as a jump to the trampoline, or to a payload when the trampoline's current destination is a
    /// claimed import (kmod/kedr_sample/kedr_routing.c). A static call's function has the C convention, so the
    /// stub may use <c>%r11</c>.
    /// </summary>
    public static bool IsStaticCallTrampoline(string name) => name.StartsWith("__SCT__", StringComparison.Ordinal);

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
