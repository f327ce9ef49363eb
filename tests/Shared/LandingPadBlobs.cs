using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;

namespace Kedr.Tests.Shared;

/// <summary>
/// A small valid blob with landing pads into a copy of real instructions, and each rule the loader's parser
/// (kmod/kedr_sample/kedr_blob.c) applies to landing pads broken on its own. The instruction lengths are the
/// architecture's (Intel SDM encodings, written out below), not a decoder's.
/// </summary>
public static class LandingPadBlobs
{
    /// <summary>
    /// Function 0's copy, 26 bytes; a 6-byte live-bytes slot at 9 (its bytes, not filled yet, are no
    /// instruction: the walk must take the slot whole). Instruction starts: 0 1 4 9(slot) 15 19 24 25.
    /// </summary>
    private static readonly byte[] Copy0 =
    [
        0x55,                               // 0: push %rbp
        0x48, 0x89, 0xe5,                   // 1: mov %rsp,%rbp
        0x0f, 0x1f, 0x44, 0x00, 0x00,       // 4: nopl 0x0(%rax,%rax,1)
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // 9: slot of patch 0
        0x48, 0x8b, 0x47, 0x08,             // 15: mov 0x8(%rdi),%rax
        0xb8, 0x01, 0x00, 0x00, 0x00,       // 19: mov $0x1,%eax
        0x5d,                               // 24: pop %rbp
        0xc3,                               // 25: ret
    ];

    /// <summary>Function 1's copy, at 26: 6 bytes.</summary>
    private static readonly byte[] Copy1 =
    [
        0x31, 0xc0,                         // 26: xor %eax,%eax
        0x66, 0x90,                         // 28: xchg %ax,%ax
        0x90,                               // 30: nop
        0xc3,                               // 31: ret
    ];

    public const int PadA = 1, PadB = 2, Slot = 0;

    /// <summary>The valid blob: function 0 (32 bytes) with pads at 10 → copy 15 and 20 → copy 19.</summary>
    public static KedrBlob Create() => new()
    {
        Target = new BlobTarget("pads_mod", "00112233445566778899AAB", 20, []),
        Code = [.. Copy0, .. Copy1],
        Functions =
        [
            new("gamma", 3, 32, 0, (uint)Copy0.Length, 0, 0, BlobFunctionFlags.None, 0, 0),
            new("delta", 4, 8, (uint)Copy0.Length, (uint)Copy1.Length, 0, 0, BlobFunctionFlags.None, 0, 1),
        ],
        Patches =
        [
            new(9, 0, 6, 4, 6, BlobPatchKind.LiveBytes, 0),
            new(15, 0, 10, 5, 0, BlobPatchKind.Landing, 0),
            new(19, 0, 20, 5, 0, BlobPatchKind.Landing, 0),
        ],
    };

    /// <summary>One rule broken: how, the code BlobReader reports, and the patch entry (and field offset in it) named.</summary>
    public sealed record Case(Action<KedrBlob> Change, DiagnosticCode Code, int Patch, int Field);

    private static Action<KedrBlob> Patch(int i, Func<BlobPatch, BlobPatch> f) => b => b.Patches[i] = f(b.Patches[i]);

    public static readonly IReadOnlyDictionary<string, Case> Cases = new Dictionary<string, Case>
    {
        ["landing pad of 4 bytes"] = new(Patch(PadA, p => p with { Length = 4 }), DiagnosticCodes.BlobOutOfRange, PadA, 12),
        ["landing pad with a slot"] = new(Patch(PadA, p => p with { SlotLength = 5 }), DiagnosticCodes.BlobOutOfRange, PadA, 12),
        ["landing pad in the function's first 5 bytes"] = new(Patch(PadA, p => p with { OriginalOffset = 4 }), DiagnosticCodes.BlobOutOfRange, PadA, 8),
        ["landing pad past the function's end"] = new(Patch(PadB, p => p with { OriginalOffset = 28 }), DiagnosticCodes.BlobOutOfRange, PadB, 8),
        ["landing pad of a function out of range"] = new(Patch(PadB, p => p with { Function = 2 }), DiagnosticCodes.BlobOutOfRange, PadB, 4),
        ["destination in another function's copy"] = new(Patch(PadA, p => p with { CopyOffset = 28 }), DiagnosticCodes.BlobOutOfRange, PadA, 0),
        ["destination past the code"] = new(Patch(PadA, p => p with { CopyOffset = 0xffffffff }), DiagnosticCodes.BlobOutOfRange, PadA, 0),
        ["two landing pads overlapping"] = new(Patch(PadB, p => p with { OriginalOffset = 14 }), DiagnosticCodes.BlobLandingPadsOverlap, PadB, 8),
        ["two landing pads at one place"] = new(Patch(PadB, p => p with { OriginalOffset = 10 }), DiagnosticCodes.BlobLandingPadsOverlap, PadB, 8),
        ["destination inside an instruction"] = new(Patch(PadA, p => p with { CopyOffset = 17 }), DiagnosticCodes.BlobLandingPadNotAtInstruction, PadA, 0),
        ["destination inside a slot"] = new(Patch(PadA, p => p with { CopyOffset = 11 }), DiagnosticCodes.BlobLandingPadNotAtInstruction, PadA, 0),
        ["copy with an opcode invalid in 64-bit mode"] = new(b => b.Code[19] = 0x06, DiagnosticCodes.BlobCopyNotWalkable, PadA, 0),
        ["copy ending inside an instruction"] = new(b => b.Code[25] = 0xe8, DiagnosticCodes.BlobCopyNotWalkable, PadA, 0),
        ["slot starting inside an instruction"] = new(Patch(Slot, p => p with { CopyOffset = 5 }), DiagnosticCodes.BlobCopyNotWalkable, Slot, 0),
    };

    /// <summary>The blob with one rule broken.</summary>
    public static KedrBlob Broken(string name)
    {
        var b = Create();
        Cases[name].Change(b);
        return b;
    }
}
