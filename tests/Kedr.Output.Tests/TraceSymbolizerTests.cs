using Kedr.Core.Diagnostics;
using Kedr.Output.Tests.Support;

namespace Kedr.Output.Tests;

public sealed class TraceSymbolizerTests
{
    private static (TraceSymbolizer S, List<KedrDiagnostic> W) Symbolize(TraceBuilder b)
    {
        Assert.True(TraceReader.TryRead(b.Build(), "t.bin", out var trace, out var error), error?.ToString());
        var warnings = new List<KedrDiagnostic>();
        return (TraceSymbolizer.Create(SampleModule.Elf, trace!, warnings), warnings);
    }

    [Fact]
    public void Core_sections_are_laid_out_in_header_order_with_their_alignment()
    {
        var layout = TraceSymbolizer.Layout(SampleModule.Elf, init: false, out var size);
        Assert.Equal([(".text", 0x0UL), (".text.unlikely", 0x58UL), (".exit.text", 0x68UL)], layout.Select(l => (l.Section.Name, l.Offset)));
        Assert.Equal(0x73UL, size);
        var init = TraceSymbolizer.Layout(SampleModule.Elf, init: true, out var initSize);
        Assert.Equal([(".init.text", 0x0UL)], init.Select(l => (l.Section.Name, l.Offset)));
        Assert.Equal(0x38UL, initSize);
    }

    [Fact]
    public void Pcs_resolve_with_the_header_core_base_and_the_init_base_found_from_entries()
    {
        var (s, w) = Symbolize(Scenario.Builder());
        Assert.Empty(w);
        Assert.Equal(Scenario.Core, s.CoreBase);
        Assert.Equal(Scenario.Init, s.InitBase);
        Assert.Equal(new ResolvedPc("demo_open", 0, 0x30, "demo_mod"), s.Resolve(Scenario.Core));
        Assert.Equal(new ResolvedPc("demo_helper", 0x20, 0x21, "demo_mod"), s.Resolve(Scenario.Core + 0x50));
        Assert.Equal(new ResolvedPc("demo_open.cold", 0xf, 0x10, "demo_mod"), s.Resolve(Scenario.Core + 0x67));
        Assert.Equal(new ResolvedPc("demo_exit", 0xa, 0xb, "demo_mod"), s.Resolve(Scenario.Core + 0x72));
        Assert.Equal(new ResolvedPc("demo_init", 0x1f, 0x20, "demo_mod"), s.Resolve(Scenario.Init + 0x1f));
        Assert.Equal(new ResolvedPc("demo_init_tail", 0, 0x18, "demo_mod"), s.Resolve(Scenario.Init + 0x20));
        Assert.Equal("demo_open+0xe/0x30 [demo_mod]", s.Resolve(Scenario.Core + 0xe)!.ToString());
    }

    [Fact]
    public void Padding_between_sections_and_addresses_outside_resolve_to_nothing()
    {
        var (s, _) = Symbolize(Scenario.Builder());
        Assert.Null(s.Resolve(Scenario.Core + 0x51));   // between .text and .text.unlikely
        Assert.Null(s.Resolve(Scenario.Core + 0x73));
        Assert.Null(s.Resolve(Scenario.Core - 1));
        Assert.Null(s.Resolve(Scenario.Init + 0x38));
        Assert.Null(s.Resolve(0));
    }

    [Fact]
    public void Without_a_core_base_in_the_header_it_is_found_from_the_entries_too()
    {
        var (s, w) = Symbolize(Scenario.Builder(coreBase: 0));
        Assert.Empty(w);
        Assert.Equal(Scenario.Core, s.CoreBase);
        Assert.Equal(Scenario.Init, s.InitBase);
        Assert.Equal("demo_open.cold", s.Resolve(Scenario.Core + 0x5b)!.Function);
    }

    [Fact]
    public void An_entry_off_a_function_start_says_the_ko_does_not_match()
    {
        var b = Scenario.Builder();
        b.Add(new Rec(40, Scenario.Core + 0x31, 0, 7, 0x64, 0, 0, Kinds.Entry, 1));
        var (_, w) = Symbolize(b);
        var d = Assert.Single(w);
        Assert.Equal("KEDR5102", d.Code);
        Assert.Contains("0xffffffffc0a00031", d.Message);
    }

    [Fact]
    public void Another_module_name_is_a_warning()
    {
        var b = new TraceBuilder { Target = "other", CoreBase = Scenario.Core };
        b.Add(new Rec(1, Scenario.Core, 0, 0, 1, 0, 0, Kinds.Entry, 0));
        var (s, w) = Symbolize(b);
        Assert.Equal("KEDR5101", Assert.Single(w).Code);
        Assert.Equal("other", s.Module);
    }

    [Fact]
    public void Unresolved_events_are_counted_in_one_warning_of_the_report()
    {
        var b = Scenario.Builder();
        b.Add(new Rec(40, 0xffffffff81000000, 0x10, 7, 0x64, 4, 0, Kinds.Read, 1),
              new Rec(41, 0xffffffff81000004, 0x10, 8, 0x64, 4, 0, Kinds.Read, 1));
        var r = Scenario.Report(b);
        var d = Assert.Single(r.Warnings, x => x.Code == "KEDR5103");
        Assert.StartsWith("2 event(s)", d.Message);
        Assert.Contains(r.Functions, f => f.Function == TraceReport.Unresolved && f.Counts.Reads == 2);
    }

    /// <summary>
    /// A payload's record whose call came by a tail call has no call site in the target: pc 0 (kmod/kedr_payload.h). That
    /// is no mismatch of the .ko: no KEDR5103, and the report's function table names such events apart.
    /// </summary>
    [Fact]
    public void A_payload_event_of_a_tail_call_is_no_unresolved_address()
    {
        var b = Scenario.Builder();
        b.Add(new Rec(40, 0, 0xffff888000001000, 7, 0x64, 0, Kinds.NoSite, Kinds.Signal, 1),
              new Rec(41, 0xffffffff81000004, 0x10, 8, 0x64, 4, 0, Kinds.Read, 1));
        var r = Scenario.Report(b);
        var d = Assert.Single(r.Warnings, x => x.Code == "KEDR5103");
        Assert.StartsWith("1 event(s)", d.Message);
        Assert.Contains("first 0xffffffff81000004", d.Message);
        Assert.Contains(r.Functions, f => f.Function == TraceReport.NoCallSite);
        Assert.Contains(r.Functions, f => f.Function == TraceReport.Unresolved && f.Counts.Reads == 1);
    }
}
