using System.Buffers.Binary;
using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;
using Kedr.Rewriter.Tests.Support;
using static Kedr.Rewriter.Tests.Support.HandAssembled;

namespace Kedr.Rewriter.Tests.Planning;

/// <summary>
/// <c>kedr instrument --probe FUNC+OFF</c> (ProbePlanner, CopyEmitter.Probe.cs) on a hand-assembled module: the
/// instruction boundaries and sizes are read off the assembly below, the call sequence off kedr_blob.h
/// (<c>push $site</c> 68 imm32, <c>call</c> e8 rel32 with a helper fixup, KEDR_HELPER_PROBE = 5).
/// </summary>
public sealed class ProbePlannerTests
{
    private static readonly string Source =
        "\t.text\n" +
        Function("f",
            "\tmovl (%rdi), %eax\n" +    // +0x0: 8b 07, a read (entry event, memory event)
            "\tmovq %rdx, %rcx\n" +      // +0x2: 48 89 d1
            "\taddl $1, %eax\n" +        // +0x5: 83 c0 01
            "\tret\n") +                 // +0x8: c3 (9 bytes)
        Function("g", "\tnop\n\tnop\n\tnop\n\tnop\n\tret\n") +
        Function("h", "\t.byte 0xd6\n\tret\n\tnop\n\tnop\n\tnop\n");   // d6: no instruction in 64-bit mode

    private static KedrBlob Rewrite(params string[] probes)
    {
        var m = From(Source);
        Assert.True(ModuleRewriter.TryRewrite(m.Elf, null, new RewriteOptions { Probes = probes }, out var result, out var error), error?.ToString());
        return result!.Blob;
    }

    private static KedrDiagnostic Refused(string probe)
    {
        var m = From(Source);
        Assert.False(ModuleRewriter.TryRewrite(m.Elf, null, new RewriteOptions { Probes = [probe] }, out _, out var error));
        return error!;
    }

    private static void AssertProbeCall(KedrBlob b, in BlobProbe p)
    {
        int at = (int)p.CopyOffset;
        Assert.Equal(0x68, b.Code[at]);
        Assert.Equal(p.Site, BinaryPrimitives.ReadUInt32LittleEndian(b.Code.AsSpan(at + 1)));
        Assert.Equal(0xe8, b.Code[at + 5]);
        Assert.Contains(b.Fixups, x => x.Offset == at + 6 && x.Target == BlobFixupTarget.Helper && x.Index == (uint)BlobHelper.Probe);
    }

    [Fact]
    public void Probes_at_one_instruction_share_one_call_right_before_its_copy()
    {
        var b = Rewrite("f+0x2", "f+0x2", "f+5");
        Assert.Equal(3, b.Probes.Count);
        int f = b.Functions.FindIndex(x => x.Name == "f");
        var (p0, p1, p2) = (b.Probes[0], b.Probes[1], b.Probes[2]);
        Assert.Equal(new BlobProbe((uint)f, 2, p0.CopyOffset, 0, 3), p0);
        Assert.Equal(p0, p1);
        Assert.Equal(new BlobProbe((uint)f, 5, p2.CopyOffset, 2, 3), p2);
        AssertProbeCall(b, p0);
        AssertProbeCall(b, p2);
        // The probed instruction follows its call, as in the original.
        Assert.Equal(new byte[] { 0x48, 0x89, 0xd1 }, b.Code.AsSpan((int)p0.CopyOffset + 10, 3).ToArray());
        Assert.Equal(new byte[] { 0x83, 0xc0, 0x01 }, b.Code.AsSpan((int)p2.CopyOffset + 10, 3).ToArray());
        // 20 bytes more than the copy without probes, in f only.
        var plain = Rewrite();
        Assert.Equal(plain.Functions[f].CopySize + 20, b.Functions[f].CopySize);
        Assert.Null(BlobRules.Verify(b));
        // Written and read back (the loader's rules of kedr_blob.c, mirrored by BlobRules).
        Assert.True(BlobReader.TryRead(BlobWriter.Write(b), "probes.kedr", out var back, out var error), error?.ToString());
        Assert.Equal(b.Probes, back!.Probes);
    }

    [Fact]
    public void A_probe_at_the_entry_comes_after_the_entry_event_and_before_the_memory_event()
    {
        var b = Rewrite("f+0x0");
        var f = b.Functions.Single(x => x.Name == "f");
        var p = b.Probes.Single();
        Assert.Equal(f.CopyOffset + 10, p.CopyOffset);       // after push $site; call (entry)
        AssertProbeCall(b, p);
        // The read's event: movl (%rdi), %eax overwrites %rax without reading it, so no push %rax: lea (%rdi), %rax.
        Assert.Equal(new byte[] { 0x48, 0x8d, 0x07 }, b.Code.AsSpan((int)p.CopyOffset + 10, 3).ToArray());
    }

    [Fact]
    public void Without_probes_the_blob_is_the_same()
    {
        var m = From(Source);
        var a = BlobWriter.Write(ModuleRewriter.Rewrite(m.Elf).Blob);
        Assert.True(ModuleRewriter.TryRewrite(m.Elf, null, RewriteOptions.Default, out var r, out _));
        Assert.Equal(a, BlobWriter.Write(r!.Blob));
        Assert.Empty(r.Blob.Probes);
    }

    [Theory]
    [InlineData("f+0x3", "KEDR2003", "nearest instructions start at f+0x2 and f+0x5")]
    [InlineData("f+0x1", "KEDR2003", "nearest instructions start at f+0x0 and f+0x2")]
    [InlineData("f+9", "KEDR2003", "past the end of 'f' (0x9 bytes)")]
    [InlineData("nosuch+0x1", "KEDR2002", "no function 'nosuch'")]
    [InlineData("h+0x0", "KEDR2002", "left out of instrumentation")]
    [InlineData("f", "KEDR2001", "expected FUNCTION+OFFSET")]
    [InlineData("f+0xzz", "KEDR2001", "expected FUNCTION+OFFSET")]
    [InlineData("+0x2", "KEDR2001", "expected FUNCTION+OFFSET")]
    public void A_bad_probe_is_refused_naming_it(string probe, string code, string why)
    {
        var e = Refused(probe);
        Assert.Equal(code, e.Code);
        Assert.Contains($"'{probe}'", e.Message);
        Assert.Contains(why, e.Message);
    }
}
