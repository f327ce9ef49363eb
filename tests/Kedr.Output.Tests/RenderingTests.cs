using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Kedr.Output.Tests.Support;

namespace Kedr.Output.Tests;

public sealed partial class RenderingTests
{
    private static string Text(TraceReport r, bool summary = false)
    {
        var w = new StringWriter { NewLine = "\n" };
        TextRenderer.Render(r, w, summary);
        return w.ToString();
    }

    [Fact]
    public void Text_is_the_expected_output_line_for_line()
    {
        Assert.Equal(Scenario.ExpectedText, Text(Scenario.Report()));
    }

    /// <summary>
    /// The locked update's second record (blob 1.7's LOCKED_DONE, the first of the two lost events here) is in
    /// the binary trace only: kedr_sample's text output has no line for it, and neither has the report's, so the
    /// two agree event for event (ReportVmTests). It is recorded, so it counts.
    /// </summary>
    [Fact]
    public void A_locked_updates_second_record_has_no_line_as_in_kedr_samples_output()
    {
        var b = Scenario.Builder();
        int locked = b.Records.FindIndex(r => r.Kind == Kinds.Locked);
        var first = b.Records[locked];
        b.Records.Insert(locked + 1, first with { Ts = first.Ts + 1, Seq = first.Seq + 1, Kind = Kinds.LockedDone });
        var expected = Scenario.ExpectedText.Replace("events: 17 recorded, 2 dropped", "events: 18 recorded, 1 dropped", StringComparison.Ordinal);
        Assert.Equal(expected, Text(Scenario.Report(b)));
    }

    // The seed's grammar, written from its description:
    //   TID=<TID> {entry|exit}: addr=<addr> ("<name_of_the_function>")
    //   TID=<TID> {read|write|locked update} at <pc> (<function>+<offset>/<size_of_function> [<module>]): addr=<addr>, size=<size>
    [GeneratedRegex(@"^TID=0x[0-9a-f]+ (entry|exit): addr=0x[0-9a-f]+ \(""[^""]+""\)$")]
    private static partial Regex SeedFunctionEvent();

    [GeneratedRegex(@"^TID=0x[0-9a-f]+ (read|write|locked update) at 0x(?<pc>[0-9a-f]+) \((?<fn>[^+ ]+)\+0x(?<off>[0-9a-f]+)/0x(?<size>[0-9a-f]+) \[(?<mod>[^\]]+)\]\): addr=0x[0-9a-f]+, size=[0-9]+$")]
    private static partial Regex SeedMemoryEvent();

    [Fact]
    public void Every_event_line_follows_the_seed_grammar_and_offsets_are_inside_the_function()
    {
        var lines = Text(Scenario.Report()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("events: 17 recorded, 2 dropped", lines[^1]);
        foreach (var line in lines[..^1])
        {
            if (line == "<...>") continue;   // the seed's own mark for omitted events
            var m = SeedMemoryEvent().Match(line);
            Assert.True(m.Success || SeedFunctionEvent().IsMatch(line), $"not in the seed's format: {line}");
            if (!m.Success) continue;
            Assert.Equal("demo_mod", m.Groups["mod"].Value);
            Assert.True(Hex(m.Groups["off"].Value) < Hex(m.Groups["size"].Value), line);
        }
    }

    // Lines in the grammar above (32-bit addresses, as in the original KEDR sample's description), and lines
    // that break it in one place each: the regexes accept the first and reject the second, so they are not vacuous.
    [Theory]
    [InlineData("TID=0xc1d2e3f4 entry: addr=0xf8a01040 (\"cfake_read\")", true)]
    [InlineData("TID=0xc1d2e3f4 exit: addr=0xf8a01040 (\"cfake_read\")", true)]
    [InlineData("TID=0xc1d2e3f4 read at 0xf8a0105c (cfake_read+0x1c/0x88 [kedr_sample_target]): addr=0xf3b0c010, size=4", true)]
    [InlineData("TID=0xc1d2e3f4 write at 0xf8a01077 (cfake_read+0x37/0x88 [kedr_sample_target]): addr=0xf3b0c014, size=2", true)]
    [InlineData("TID=0xc1d2e3f4 locked update at 0xf8a01080 (cfake_read+0x40/0x88 [kedr_sample_target]): addr=0xf3b0c018, size=8", true)]
    [InlineData("TID=0xc1d2e3f4 entry: addr=0xf8a01040 (cfake_read)", false)]
    [InlineData("TID=c1d2e3f4 exit: addr=0xf8a01040 (\"cfake_read\")", false)]
    [InlineData("TID=0xc1d2e3f4 read at 0xf8a0105c (cfake_read+0x1c [kedr_sample_target]): addr=0xf3b0c010, size=4", false)]
    [InlineData("TID=0xc1d2e3f4 update at 0xf8a01080 (cfake_read+0x40/0x88 [kedr_sample_target]): addr=0xf3b0c018, size=8", false)]
    [InlineData("TID=0xc1d2e3f4 write at 0xf8a01077 (cfake_read+0x37/0x88 [kedr_sample_target]): addr=0xf3b0c014, size=0x2", false)]
    public void The_seed_grammar_accepts_its_own_form_and_nothing_else(string line, bool valid)
    {
        Assert.Equal(valid, SeedMemoryEvent().IsMatch(line) || SeedFunctionEvent().IsMatch(line));
    }

    [Fact]
    public void Without_a_ko_addresses_are_shown_bare()
    {
        var text = Text(Scenario.Report(withKo: false));
        Assert.Contains("TID=0x62 entry: addr=0xffffffffc0a00000\n", text);
        Assert.Contains("TID=0x62 read at 0xffffffffc0a0000e: addr=0xff3ac497c261f038, size=4\n", text);
    }

    [Fact]
    public void Summaries_count_by_function_and_address()
    {
        var r = Scenario.Report();
        var f = r.Functions.ToDictionary(x => x.Function);
        Assert.Equal(["demo_exit", "demo_helper", "demo_init", "demo_init_tail", "demo_open", "demo_open.cold"], f.Keys.Order());
        Assert.Equal((1L, 1L, 1L, 0L, 1L, 4L, 0L, 4L), Tuple(f["demo_open"].Counts));
        Assert.Equal((0L, 0L, 1L, 0L, 0L, 8L, 0L, 0L), Tuple(f["demo_open.cold"].Counts));
        Assert.Equal((1L, 1L, 1L, 1L, 0L, 2L, 2L, 0L), Tuple(f["demo_helper"].Counts));
        Assert.Equal((1L, 1L, 0L, 1L, 0L, 0L, 4L, 0L), Tuple(f["demo_init"].Counts));
        Assert.Equal(0x30UL, f["demo_open"].Size);
        var a = r.Addresses.ToDictionary(x => x.Address);
        Assert.Equal(3, a.Count);
        Assert.Equal((0L, 0L, 1L, 2L, 0L, 2L, 6L, 0L), Tuple(a[Scenario.A1].Counts));
        Assert.Equal(["demo_helper", "demo_init"], a[Scenario.A1].Functions);
        Assert.Equal(["demo_exit", "demo_open.cold"], a[Scenario.A3].Functions);
        Assert.Equal(17, r.Totals.Events);
        var text = Text(r, summary: true);
        Assert.Matches(@"\n  demo_helper +1 +1 +1 +1 +0 +2 +2 +0\n", text);
        Assert.Contains("cpu 0: 2 in 1 gap(s)", text);
    }

    private static (long, long, long, long, long, long, long, long) Tuple(KindCounts c) =>
        (c.Entries, c.Exits, c.Reads, c.Writes, c.LockedUpdates, c.BytesRead, c.BytesWritten, c.BytesLocked);

    [Fact]
    public void Csv_round_trips_every_event()
    {
        var r = Scenario.Report();
        var w = new StringWriter();
        CsvRenderer.Render(r, w);
        var rows = CsvRenderer.Parse(new StringReader(w.ToString()));
        Assert.Equal(r.Events.Count, rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var (e, where) = r.Events[i];
            var row = rows[i];
            Assert.Equal(new CsvEventRow(i, e.Timestamp, e.Cpu, e.Seq, e.Tid, e.Context == TraceContext.SoftIrq ? "softirq" : "task",
                TextRenderer.KindName(e.Kind), e.Pc, where!.Function, where.Offset, where.Size, "demo_mod", e.Addr, e.Size, e.Site, ""), row);
        }
        Assert.StartsWith("index,ts_ns,cpu,seq,tid,context,kind,pc,function,offset,function_size,module,addr,size,site,source\r\n", w.ToString());
        Assert.Contains("\r\n11,22,0,7,0x62,task,locked update,0xffffffffc0a0001b,demo_open,0x1b,0x30,demo_mod,0xff3ac497c261f038,4,8,\r\n", w.ToString());
    }

    [Fact]
    public void Csv_quotes_what_needs_quoting()
    {
        var text = "index,ts_ns,cpu,seq,tid,context,kind,pc,function,offset,function_size,module,addr,size,site,source\r\n" +
                   "0,1,0,0,0x1,task,read,0x10,\"odd,\"\"name\"\"\",0x0,0x4,m,0x20,4,0,\r\n";
        var row = Assert.Single(CsvRenderer.Parse(new StringReader(text)));
        Assert.Equal("odd,\"name\"", row.Function);
    }

    [Fact]
    public void Json_round_trips_events_summaries_and_drops()
    {
        var r = Scenario.Report();
        var ms = new MemoryStream();
        JsonRenderer.Render(r, ms);
        var json = Encoding.UTF8.GetString(ms.ToArray());
        Assert.Contains("\"core_base\": \"0xffffffffc0a00000\"", json);
        Assert.Contains("\"init_base\": \"0xffffffffc0a14000\"", json);
        ms.Position = 0;
        var back = JsonRenderer.Parse(ms);
        Assert.Equal("demo_mod", back.Module);
        Assert.Equal(17, back.Recorded);
        Assert.Equal(2, back.Dropped);
        Assert.Equal(new JsonDrop(0, 8, 2, 12), Assert.Single(back.Drops));
        Assert.Equal(r.Events.Count, back.Events.Count);
        for (int i = 0; i < back.Events.Count; i++)
        {
            var (e, where) = r.Events[i];
            var j = back.Events[i];
            Assert.Equal((e.Timestamp, (int)e.Cpu, e.Seq, e.Tid, e.Size, e.Site), (j.Ts, j.Cpu, j.Seq, j.Tid, j.Size, j.Site));
            Assert.Equal(e.Pc, ulong.Parse(j.Pc[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            Assert.Equal(e.Addr, ulong.Parse(j.Addr[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            Assert.Equal((where!.Function, where.Offset, where.Size), (j.Function, j.Offset!.Value, j.FunctionSize!.Value));
            Assert.Equal(TextRenderer.KindName(e.Kind), j.Kind);
        }
        Assert.Equal(r.Functions.Select(f => (f.Function, f.Counts.Events)),
            back.Functions.Select(f => (f.Function, f.Counts.Entries + f.Counts.Exits + f.Counts.Reads + f.Counts.Writes + f.Counts.LockedUpdates)));
        Assert.Equal(r.Addresses.Select(a => $"0x{a.Address:x}"), back.Addresses.Select(a => a.Address));
        // And once more: the document written from the parsed one is the same text.
        var again = System.Text.Json.JsonSerializer.Serialize(back, JsonRenderer.Options);
        Assert.Equal(json, again);
    }

    [Fact]
    public void Html_is_self_contained_and_has_one_bar_per_function_and_kind()
    {
        var html = HtmlRenderer.Render(Scenario.Report());
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotMatch(@"(src|href)\s*=\s*""?(https?:|//)", html);
        var bars = Regex.Matches(html, @"<rect class=""bar (\w+)"" data-function=""([^""]+)"" data-kind=""\w+"" data-count=""(\d+)""")
            .Select(m => (m.Groups[2].Value, m.Groups[1].Value, int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture))).Order().ToList();
        Assert.Equal([("demo_exit", "read", 1), ("demo_helper", "read", 1), ("demo_helper", "write", 1), ("demo_init", "write", 1),
            ("demo_open", "locked", 1), ("demo_open", "read", 1), ("demo_open.cold", "read", 1)], bars);
    }

    private static ulong Hex(string s) => ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
