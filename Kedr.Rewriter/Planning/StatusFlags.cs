using Iced.Intel;

namespace Kedr.Rewriter.Planning;

/// <summary>
/// What an instruction does to the six status flags (OF, SF, ZF, AF, CF, PF), which the memory-event
/// helpers may clobber where they are dead. Iced computes this per instruction; it depends on the
/// instruction's Code alone except for shifts and rotates (a count of 0 touches no flag), so the
/// answer is kept per Code for all others.
/// </summary>
internal static class StatusFlags
{
    public const RflagsBits Mask = RflagsBits.OF | RflagsBits.SF | RflagsBits.ZF | RflagsBits.AF | RflagsBits.CF | RflagsBits.PF;

    private const byte Known = 1, Reads = 2, WritesAll = 4;

    /// <summary>Per Code: 0 not yet asked, else <see cref="Known"/> with the facts. Races only ever write the same value.</summary>
    private static readonly byte[] ByCode = new byte[Enum.GetValues<Code>().Length];

    /// <summary>Whether the instruction reads any status flag, and whether it writes all of them.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static (bool ReadsAny, bool WritesAll) Of(in Instruction instr)
    {
        byte facts = ByCode[(int)instr.Code];
        if (facts == 0)
        {
            facts = Compute(instr);
            if (!DependsOnOperands(instr.Mnemonic)) ByCode[(int)instr.Code] = facts;
        }
        return ((facts & Reads) != 0, (facts & WritesAll) != 0);
    }

    private static byte Compute(in Instruction instr) => (byte)(Known
        | ((instr.RflagsRead & Mask) != 0 ? Reads : 0)
        | ((instr.RflagsModified & Mask) == Mask ? WritesAll : 0));

    /// <summary>
    /// Shift and rotate counts decide which flags change. (Xor/sub of a register with itself set the
    /// flags to fixed values rather than computing them, which Iced tells apart, but the facts asked
    /// here, reads any and writes all, are the same: cached.)
    /// </summary>
    private static bool DependsOnOperands(Mnemonic m) => m is Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr
        or Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Shld or Mnemonic.Shrd;
}
