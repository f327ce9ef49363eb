using System.Diagnostics;
using Kedr.Cli.Record;
using Kedr.Tests.Shared;

namespace Kedr.Cli.Tests.Record;

/// <summary>
/// kmod/kedr_raw.h (the mapped reading of per_cpu/cpuN/ring: ioctl numbers, structs, flags) and its C# description
/// <see cref="RawLayout"/> agree: the header is compiled with the host's <c>cc</c> (its userspace branch) and every
/// field's offset and size, every struct's size and every constant's value is compared, both ways.
/// </summary>
public sealed class RawLayoutTests
{
    private static readonly Lazy<CHeaderLayout> s_layout = new(() => CHeaderLayout.Probe(HeaderPath, Check));

    private static string HeaderPath => Path.Combine(Kedr.Cli.Vm.RepositoryPaths.Kmod, "kedr_raw.h");

    [Fact]
    public void The_layout_description_matches_the_C_header_field_by_field()
    {
        var c = s_layout.Value;
        var (fields, sizes) = CLayoutDescription.Read(typeof(RawLayout));
        Assert.Equal(["kedr_raw_info", "kedr_raw_span"], sizes.Keys.Order());
        Assert.Equal(c.Fields.Count, fields.Count);
        var problems = CLayoutDescription.Mismatches(c, fields, sizes, "RawLayout", "kedr_raw.h");
        Assert.True(problems.Count == 0, "RawLayout and kmod/kedr_raw.h disagree:\n" + string.Join("\n", problems));
        Assert.Equal(RawLayout.Info.Size, c.Sizes["kedr_raw_info"]);
        Assert.Equal(RawLayout.Span.Size, c.Sizes["kedr_raw_span"]);
    }

    [Fact]
    public void Constants_match()
    {
        var c = s_layout.Value;
        Assert.Equal(c.Constants.Keys.Order(), RawLayout.Constants.Keys.Order());
        foreach (var (k, v) in RawLayout.Constants)
            Assert.True(c.Constants[k] == v, $"{k} is {c.Constants[k]:x} in C, {v:x} in RawLayout");
    }

    /// <summary>Each field of the description moved, widened or dropped, one added, or a struct resized is caught.</summary>
    [Fact]
    public void A_field_moved_on_the_CSharp_side_fails_the_comparison()
    {
        var c = s_layout.Value;
        var (fields, sizes) = CLayoutDescription.Read(typeof(RawLayout));
        CLayoutDescription.AssertEveryCSharpSideChangeIsCaught(fields, sizes,
            (f, s) => CLayoutDescription.Mismatches(c, f, s, "RawLayout", "kedr_raw.h"), "RawLayout");
    }

    private static string Check(string tool, string why, string[] args)
    {
        var psi = new ProcessStartInfo(tool, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {tool} {why}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} {string.Join(' ', args)} ({why}) exited with {p.ExitCode}: {stderr}");
        return stdout.Result;
    }
}
