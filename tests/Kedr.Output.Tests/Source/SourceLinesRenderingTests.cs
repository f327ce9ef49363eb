using System.Text;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Output.Source;
using Kedr.Output.Tests.Support;
using Kedr.Tests.Shared;

namespace Kedr.Output.Tests.Source;

/// <summary>
/// Every output carries the source line of each resolved pc when the module has DWARF: text (a
/// <c>    at file:line</c> line after the event), CSV (the <c>source</c> column), JSON (<c>source</c>,
/// <c>inlined</c>) and HTML. The trace is of <see cref="DebugModule"/>; its pcs are placed by hand: .text
/// and .init.text are the first executable sections of the core and init allocations, so they start at
/// the bases; the access pcs are where the ELF's relocations against <c>counter</c> and <c>table</c> are.
/// Expected lines come from the MARK comments of the C source.
/// </summary>
public sealed class SourceLinesRenderingTests : IDisposable
{
    private const ulong Core = 0xffffffffc0400000, Init = 0xffffffffc0420000, Data = 0xffffffffc0430000;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-source-render-");

    public void Dispose() => _dir.Delete(true);

    private (TraceReport Report, List<KedrDiagnostic> Warnings) Report(bool strip = false)
    {
        var ko = DebugModule.Build(_dir.FullName);
        var elf = ElfFile.Read(ko);
        ulong Reloc(string section, string symbol, int nth = 0) =>
            elf.GetRelocations(elf.FindSection(section)!).Where(r => elf.Symbols[r.SymbolIndex].Name == symbol).ElementAt(nth).Offset;
        var b = new TraceBuilder { Target = "src_mod", CoreBase = Core };
        b.Add(
            new Rec(1, Init, 0, 0, 0x7, 0, 1, Kinds.Entry, 0),
            new Rec(2, Init + Reloc(".init.text", "counter"), Data, 1, 0x7, 4, 2, Kinds.Write, 0),
            new Rec(3, Init, 0, 2, 0x7, 0, 3, Kinds.Exit, 0),
            new Rec(4, Core, 0, 3, 0x7, 0, 4, Kinds.Entry, 0),
            new Rec(5, Core + Reloc(".text", "counter"), Data, 4, 0x7, 4, 5, Kinds.Write, 0),
            new Rec(6, Core + Reloc(".text", "table"), Data + 0x40, 5, 0x7, 4, 6, Kinds.Locked, 0),
            new Rec(7, Core + Reloc(".text", "counter", 1), Data, 6, 0x7, 4, 7, Kinds.Read, 0),
            new Rec(8, Core, 0, 7, 0x7, 0, 8, Kinds.Exit, 0));
        Assert.True(TraceReader.TryRead(b.Build(), "src.bin", out var trace, out var error), error?.ToString());
        if (strip)
        {
            var (stripped, _) = DebugModule.Split(ko);
            elf = ElfFile.Read(stripped);
        }
        var warnings = new List<KedrDiagnostic>();
        var report = TraceReport.Build(trace!, elf, (e, w) =>
        {
            var m = ModuleSources.Load(e, [Path.Combine(_dir.FullName, "no-debug-here")], w, out _);
            warnings.AddRange(w);
            return m;
        });
        return (report, warnings);
    }

    private static string At(string mark) => $"src_mod.c:{DebugModule.Line(mark)}";

    [Fact]
    public void Text_puts_the_line_after_each_event()
    {
        var (r, warnings) = Report();
        Assert.Empty(warnings);
        var w = new StringWriter();
        TextRenderer.Render(r, w);
        var lines = w.ToString().Split('\n');
        string After(string eventText) => lines[Array.FindIndex(lines, l => l.Contains(eventText, StringComparison.Ordinal)) + 1];
        Assert.Equal("    at " + At("init_store"), After(" write at 0xffffffffc042"));
        Assert.Equal("    at " + At("open_store"), After(" write at 0xffffffffc040"));
        Assert.Equal("    at " + At("open_load"), After(" read at 0xffffffffc040"));
        Assert.Equal($"    at {At("bump")} (in bump, inlined in src_open at {At("open_call_bump")})", After(" locked update at "));
        // Every event line is followed by its source line: the functions' entries and exits too.
        var events = lines.Count(l => l.StartsWith("TID=", StringComparison.Ordinal));
        Assert.Equal(8, events);
        Assert.Equal(events, lines.Count(l => l.StartsWith("    at src_mod.c:", StringComparison.Ordinal)));
    }

    [Fact]
    public void Csv_json_and_html_carry_it()
    {
        var (r, _) = Report();
        var csv = new StringWriter();
        CsvRenderer.Render(r, csv);
        var rows = CsvRenderer.Parse(new StringReader(csv.ToString()));
        Assert.Equal(At("open_store"), rows.Single(x => x.Kind == "write" && x.Pc < Init).Source);
        Assert.Equal($"{At("bump")} (in bump, inlined in src_open at {At("open_call_bump")})", rows.Single(x => x.Kind == "locked update").Source);

        var ms = new MemoryStream();
        JsonRenderer.Render(r, ms);
        ms.Position = 0;
        var json = JsonRenderer.Parse(ms);
        var store = json.Events.Single(e => e.Kind == "write" && e.Function == "src_open");
        Assert.Equal(At("open_store"), store.Source);
        Assert.Null(store.Inlined);
        var locked = json.Events.Single(e => e.Kind == "locked update");
        Assert.Equal(At("bump"), locked.Source);
        Assert.Equal([new JsonFrame("bump", "src_mod.c", DebugModule.Line("bump")), new JsonFrame("src_open", "src_mod.c", DebugModule.Line("open_call_bump"))],
            locked.Inlined!);

        var html = HtmlRenderer.Render(r);
        Assert.Contains($"<span class=\"src\">    at {At("init_store")}</span>", html);
        Assert.Contains("source lines from the module's DWARF", html);
    }

    [Fact]
    public void A_stripped_module_without_a_debug_file_says_so_once_and_shows_no_lines()
    {
        var (r, warnings) = Report(strip: true);
        var w = Assert.Single(warnings);
        Assert.Equal("KEDR5110", w.Code);
        Assert.Contains("src_mod", w.Message);
        Assert.Contains(Path.Combine(_dir.FullName, "no-debug-here", ".build-id"), w.Message);
        Assert.DoesNotContain('\n', w.ToString());
        var text = new StringWriter();
        TextRenderer.Render(r, text);
        Assert.DoesNotContain("    at ", text.ToString());
        Assert.Contains("(src_open+", text.ToString());
        Assert.Contains("no debug information", HtmlRenderer.Render(r));
        Assert.False(r.HasSources);
    }
}
