namespace Kedr.Cli.Tests.Exactness;

/// <summary>The three kinds of memory event, named as the output names them.</summary>
internal enum AccessKind { Read, Write, LockedUpdate }

/// <summary>
/// One event the target must give: the instruction (a kxl_* label of the exactness target,
/// its address from the guest's kallsyms), the kind, the linear address and the size.
/// <paramref name="SpBased"/>: the instruction addresses memory through %rsp, so the event
/// is expected only with process_sp_accesses=1.
/// </summary>
internal sealed record Access(string Label, AccessKind Kind, ulong Addr, ulong Size, bool SpBased = false)
{
    public string OutputKind => Kind switch
    {
        AccessKind.Read => "read",
        AccessKind.Write => "write",
        _ => "locked update",
    };

    public override string ToString() => $"{OutputKind} {Label} addr=0x{Addr:x} size={Size}{(SpBased ? " (rsp-based)" : "")}";
}

internal enum StringOp { Lods, Stos, Scas, Movs, Cmps, Ins, Outs }

internal enum BitOp { Bt, Bts, Btr, Btc }

/// <summary>
/// What an instruction accesses, written down from the issue's semantics (and the SDM), not
/// from the recorder: these functions are the expected-event generator.
/// </summary>
internal static class Semantics
{
    /// <summary>A load: MOV, MOVSX/MOVZX, MOVBE, CMP, TEST, CMOVcc (whatever the condition), x87/SSE/AVX loads.</summary>
    public static Access[] Read(string label, ulong addr, ulong size, bool sp = false) =>
        [new(label, AccessKind.Read, addr, size, sp)];

    /// <summary>A store: MOV, SETcc (whatever the condition), POP m, vector stores.</summary>
    public static Access[] Write(string label, ulong addr, ulong size, bool sp = false) =>
        [new(label, AccessKind.Write, addr, size, sp)];

    /// <summary>Read-modify-write without LOCK (and CMPXCHG, which writes back even when it fails): a read and a write, same pc.</summary>
    public static Access[] ReadWrite(string label, ulong addr, ulong size, bool sp = false) =>
        [new(label, AccessKind.Read, addr, size, sp), new(label, AccessKind.Write, addr, size, sp)];

    /// <summary>LOCK-prefixed, or XCHG with memory (implicitly locked): one locked update.</summary>
    public static Access[] Locked(string label, ulong addr, ulong size, bool sp = false) =>
        [new(label, AccessKind.LockedUpdate, addr, size, sp)];

    /// <summary>
    /// A string instruction that ran <paramref name="iterations"/> times (1 without REP; for
    /// REPE/REPNE up to and including the element that stopped it; 0 for a zero count) from
    /// %rsi = <paramref name="rsi"/>, %rdi = <paramref name="rdi"/>: one event per operand
    /// covering every byte touched, the [%rsi] one first; with DF=1 the elements go down, so
    /// the range ends at the start pointer's element. Linear addresses: for a %gs-relative
    /// [%rsi], pass the GS base plus %rsi.
    /// </summary>
    public static Access[] String(string label, StringOp op, ulong elem, ulong iterations, bool df, ulong rsi, ulong rdi)
    {
        if (iterations == 0) return [];
        ulong bytes = elem * iterations;
        ulong Low(ulong start) => df ? start - bytes + elem : start;
        var events = new List<Access>();
        if (op is StringOp.Lods or StringOp.Movs or StringOp.Cmps or StringOp.Outs)
            events.Add(new(label, AccessKind.Read, Low(rsi), bytes));
        if (op is StringOp.Scas or StringOp.Cmps)
            events.Add(new(label, AccessKind.Read, Low(rdi), bytes));
        if (op is StringOp.Stos or StringOp.Movs or StringOp.Ins)
            events.Add(new(label, AccessKind.Write, Low(rdi), bytes));
        return [.. events];
    }

    /// <summary>
    /// BT/BTS/BTR/BTC with the bit offset in a register: the offset is a signed number of the
    /// operand's size (<paramref name="operandSize"/> bytes of the register value, the rest
    /// ignored), and the CPU accesses the operand-size unit that holds the bit: the Intel SDM
    /// (BT) gives "Effective Address + (4 * (BitOffset DIV 32))" for a 32-bit operand and
    /// "+ (2 * (BitOffset DIV 16))" for a 16-bit one, DIV rounding towards minus infinity (a
    /// negative offset reaches the unit below); a 64-bit operand is the same with 8 and 64.
    /// BT reads; the others read and write, or with LOCK make a locked update.
    /// </summary>
    public static Access[] BitInRegister(string label, BitOp op, bool locked, ulong baseAddr, ulong register, int operandSize,
        bool sp = false)
    {
        long offset = operandSize switch
        {
            2 => (short)register,
            4 => (int)register,
            8 => (long)register,
            _ => throw new ArgumentOutOfRangeException(nameof(operandSize)),
        };
        long bitsPerUnit = 8L * operandSize;
        // Floor division written out (C#'s / truncates towards zero).
        long unit = offset >= 0 ? offset / bitsPerUnit : -((-offset + bitsPerUnit - 1) / bitsPerUnit);
        ulong addr = baseAddr + (ulong)(unit * operandSize);
        ulong size = (ulong)operandSize;
        if (op == BitOp.Bt) return Read(label, addr, size, sp);
        return locked ? Locked(label, addr, size, sp) : ReadWrite(label, addr, size, sp);
    }

    /// <summary>BT/BTS/BTR/BTC with an immediate offset: the operand at M (the offset is taken modulo its size).</summary>
    public static Access[] BitImmediate(string label, BitOp op, bool locked, ulong addr, ulong operandSize, bool sp = false) =>
        op == BitOp.Bt ? Read(label, addr, operandSize, sp)
        : locked ? Locked(label, addr, operandSize, sp) : ReadWrite(label, addr, operandSize, sp);
}
