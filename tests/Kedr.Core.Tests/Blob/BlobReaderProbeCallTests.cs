using Kedr.Core.Blob;
using Kedr.Tests.Shared;

namespace Kedr.Core.Tests.Blob;

/// <summary>
/// <see cref="BlobReader"/> and <see cref="BlobWriter"/> apply the loader's probe-call rule (kedr_blob.c's
/// kedr_check_probe_calls()): every probe helper call is <c>push $site; call</c> at the place of probe
/// <c>site</c>, the first probe there. Each way of breaking it (<see cref="ProbeCallBlobs"/>) is refused with
/// KEDR3013, naming the fixup. BlobConformanceTests runs the same blobs through the loader's parser.
/// </summary>
public sealed class BlobReaderProbeCallTests
{
    public static TheoryData<string> CaseNames => new(ProbeCallBlobs.Cases.Keys);

    [Fact]
    public void A_blob_whose_probe_call_is_its_probe_s_is_accepted()
    {
        var bytes = BlobWriter.Write(ProbeCallBlobs.Create());
        Assert.True(BlobReader.TryRead(bytes, "probe.kedr", out var blob, out var error), error?.ToString());
        Assert.Single(blob!.Probes);
    }

    [Theory, MemberData(nameof(CaseNames))]
    public void A_probe_helper_call_that_is_no_probe_s_is_refused(string name)
    {
        var c = ProbeCallBlobs.Cases[name];
        var bytes = BlobWriter.WriteUnverified(ProbeCallBlobs.Broken(name));
        Assert.False(BlobReader.TryRead(bytes, "probe.kedr", out _, out var error), $"{name}: accepted");
        int fixups = (int)BitConverter.ToUInt32(bytes, BlobLayout.Header.TableAt(BlobTableId.Fixups) + BlobLayout.Table.Offset);
        Assert.Equal((ProbeCallBlobs.Code, "Fixups", (long)fixups + c.Fixup * BlobFormat.FixupSize + BlobLayout.Fixup.Offset),
            (error!.Code, error.Section, error.Offset));
    }

    [Theory, MemberData(nameof(CaseNames))]
    public void The_writer_refuses_a_probe_helper_call_that_is_no_probe_s(string name) =>
        Assert.Throws<Kedr.Core.Diagnostics.KedrException>(() => BlobWriter.Write(ProbeCallBlobs.Broken(name)));

    public static TheoryData<string> UncalledNames => new(ProbeCallBlobs.UncalledCases.Keys);

    /// <summary>
    /// The converse: every probe that is the first at its place has its call fixed up to the probe helper (a PC32
    /// <see cref="BlobHelper.Probe"/> fixup at its call's field). Otherwise the call goes to whatever the blob's rel32
    /// or another fixup says while the probe is listed, enabled, and never fires. KEDR3014, naming the probe.
    /// </summary>
    [Theory, MemberData(nameof(UncalledNames))]
    public void A_probe_whose_call_is_not_the_probe_helper_s_is_refused(string name)
    {
        var c = ProbeCallBlobs.UncalledCases[name];
        var bytes = BlobWriter.WriteUnverified(ProbeCallBlobs.Uncalled(name));
        Assert.False(BlobReader.TryRead(bytes, "probe.kedr", out _, out var error), $"{name}: accepted");
        int probes = (int)BitConverter.ToUInt32(bytes, BlobLayout.Header.TableAt(BlobTableId.Probes) + BlobLayout.Table.Offset);
        Assert.Equal((ProbeCallBlobs.UncalledCode, "Probes", (long)probes + c.Probe * BlobFormat.ProbeSize + BlobLayout.Probe.CopyOffset),
            (error!.Code, error.Section, error.Offset));
    }

    [Theory, MemberData(nameof(UncalledNames))]
    public void The_writer_refuses_a_probe_whose_call_is_not_the_probe_helper_s(string name) =>
        Assert.Throws<Kedr.Core.Diagnostics.KedrException>(() => BlobWriter.Write(ProbeCallBlobs.Uncalled(name)));
}
