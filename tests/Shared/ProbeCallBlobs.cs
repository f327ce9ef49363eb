using Kedr.Core.Blob;

namespace Kedr.Tests.Shared;

/// <summary>
/// A small valid blob with one probe (its <c>push $0; call</c> at the start of function 0's copy, the call a
/// <see cref="BlobHelper.Probe"/> fixup), and each way a probe helper call can be no probe's: the loader
/// (kmod/kedr_sample/kedr_blob.c) and <see cref="BlobRules"/> refuse them all, naming the fixup.
/// </summary>
public static class ProbeCallBlobs
{
    /// <summary>Function 0's copy, 24 bytes: push $0; call (probe 0), then room for a second helper call, then ret.</summary>
    private static byte[] CopyCode() =>
    [
        0x68, 0x00, 0x00, 0x00, 0x00,       // 0: push $0 (probe 0's site)
        0xe8, 0x00, 0x00, 0x00, 0x00,       // 5: call kedr_helper_probe (fixup 0 at 6)
        0x90, 0x90, 0x90, 0x90, 0x90,       // 10: room for another push $imm32
        0x90, 0x90, 0x90, 0x90, 0x90,       // 15: and call rel32
        0x90, 0x90, 0x90,                   // 20
        0xc3,                               // 23: ret
    ];

    /// <summary>Where the fixup field of a second helper call written at 10 is.</summary>
    private const uint SecondField = 16;

    public static KedrBlob Create(BlobHeaderFlags flags = BlobHeaderFlags.WordDigest | BlobHeaderFlags.CallOrc) => new()
    {
        Flags = flags,
        Target = new BlobTarget("probe_mod", "00112233445566778899AAB", 20, []),
        Code = CopyCode(),
        Functions = [new("zeta", 3, 16, 0, 24, 0, 0, BlobFunctionFlags.None, 0, 0)],
        Fixups = [new(6, BlobFixupType.Pc32, BlobFixupTarget.Helper, (uint)BlobHelper.Probe, -4)],
        Probes = [new(0, 0, 0, 0, 1)],
    };

    /// <summary>A second probe helper call at 10: <c>push $site; call</c>, its fixup the blob's second.</summary>
    private static void SecondCall(KedrBlob b, uint site)
    {
        b.Code[10] = 0x68;
        BitConverter.TryWriteBytes(b.Code.AsSpan(11), site);
        b.Code[15] = 0xe8;
        b.Fixups.Add(new(SecondField, BlobFixupType.Pc32, BlobFixupTarget.Helper, (uint)BlobHelper.Probe, -4));
    }

    /// <summary>
    /// One rule broken: how, and the fixup the loader and BlobRules name; <paramref name="WithoutCallOrc"/>: in a
    /// blob without <see cref="BlobHeaderFlags.CallOrc"/>, whose fixup rules take a helper call anywhere.
    /// </summary>
    public sealed record Case(Action<KedrBlob> Change, int Fixup, bool WithoutCallOrc = false);

    public static readonly IReadOnlyDictionary<string, Case> Cases = new Dictionary<string, Case>
    {
        ["the probe dropped from the table"] = new(b => b.Probes.Clear(), 0),
        ["a call for a site past the probes"] = new(b => SecondCall(b, 7), 1),
        ["a second call for probe 0, not at its place"] = new(b => SecondCall(b, 0), 1),
        ["a call for site 0xfffffff0"] = new(b => SecondCall(b, 0xfffffff0), 1),
        ["a call not after a push"] = new(b =>
        {
            b.Code[15] = 0xe8;
            b.Fixups.Add(new(SecondField, BlobFixupType.Pc32, BlobFixupTarget.Helper, (uint)BlobHelper.Probe, -4));
        }, 1, WithoutCallOrc: true),
        ["a probe call field that is no call"] = new(b =>
            b.Fixups.Add(new(SecondField, BlobFixupType.Pc32, BlobFixupTarget.Helper, (uint)BlobHelper.Probe, -4)), 1, WithoutCallOrc: true),
    };

    /// <summary>The code BlobReader reports for each case (DiagnosticCodes.BlobProbeCallNotAProbe); the loader's line names the same fixup.</summary>
    public const string Code = "KEDR3013";

    /// <summary>The blob with one rule broken.</summary>
    public static KedrBlob Broken(string name)
    {
        var c = Cases[name];
        var b = c.WithoutCallOrc ? Create(BlobHeaderFlags.WordDigest) : Create();
        c.Change(b);
        return b;
    }

    /// <summary>
    /// The converse rule broken: a probe, the first at its place, whose <c>push $site; call</c> is not a call of
    /// the probe helper (no <see cref="BlobHelper.Probe"/> PC32 fixup at its call's field): how, and the probe the
    /// loader and BlobRules name.
    /// </summary>
    public sealed record UncalledCase(Action<KedrBlob> Change, int Probe, bool WithoutCallOrc = false);

    public static readonly IReadOnlyDictionary<string, UncalledCase> UncalledCases = new Dictionary<string, UncalledCase>
    {
        ["the probe's fixup dropped"] = new(b => b.Fixups.Clear(), 0),
        ["the probe's call fixed up to another helper"] = new(b => b.Fixups[0] = b.Fixups[0] with { Index = (uint)BlobHelper.MemEvent }, 0),
        ["the probe's call fixed up to a symbol"] = new(b => b.Fixups[0] = b.Fixups[0] with { Target = BlobFixupTarget.Symbol, Index = 3 }, 0),
        ["the probe's call fixed up as an absolute value"] = new(b => b.Fixups[0] = b.Fixups[0] with { Type = BlobFixupType.Abs32S, Addend = 0 }, 0, WithoutCallOrc: true),
        ["the probe's call fixed up again, to a symbol"] = new(b =>
            b.Fixups.Add(new(6, BlobFixupType.Pc32, BlobFixupTarget.Symbol, 3, -4)), 0),
        ["the probe's call written over by a later absolute field"] = new(b =>
            b.Fixups.Add(new(2, BlobFixupType.Abs64, BlobFixupTarget.Symbol, 3, 0)), 0),
        ["the probe's call fixed up again, as an absolute value"] = new(b =>
            b.Fixups.Add(new(6, BlobFixupType.Abs32S, BlobFixupTarget.Helper, (uint)BlobHelper.Probe, 0)), 0, WithoutCallOrc: true),
        ["a second place's call with no fixup"] = new(b =>
        {
            b.Code[10] = 0x68;
            BitConverter.TryWriteBytes(b.Code.AsSpan(11), 1u);
            b.Code[15] = 0xe8;
            b.Probes.Add(new(0, 2, 10, 1, 1));
        }, 1),
    };

    /// <summary>The code for a probe whose call is not the probe helper's (DiagnosticCodes.BlobProbeNotCalled).</summary>
    public const string UncalledCode = "KEDR3014";

    /// <summary>The blob with the converse rule broken.</summary>
    public static KedrBlob Uncalled(string name)
    {
        var c = UncalledCases[name];
        var b = c.WithoutCallOrc ? Create(BlobHeaderFlags.WordDigest) : Create();
        c.Change(b);
        return b;
    }
}
