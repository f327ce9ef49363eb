using System.Globalization;
using System.Net;
using System.Text;
using Kedr.Output.Source;

namespace Kedr.Output;

/// <summary>
/// A self-contained HTML page (no scripts, no external resources): totals, a bar chart of the
/// memory accesses made by each function (inline SVG, stacked by kind, calls alongside), the
/// per-function and per-address tables, drops and warnings, and the first events as text.
/// </summary>
/// <remarks>
/// Chart bars are <c>&lt;rect class="bar {kind}" data-function=".." data-kind=".." data-count=".."&gt;</c>,
/// one per function and kind with a non-zero count; row labels are <c>&lt;text class="fn-label"&gt;</c>.
/// </remarks>
public static class HtmlRenderer
{
    public const int MaxChartRows = 40;
    public const int MaxAddressRows = 100;
    public const int MaxEventLines = 2000;

    private static readonly (string Kind, string Label, string Color, Func<KindCounts, long> Count)[] Kinds =
    [
        ("read", "reads", "#4c78a8", c => c.Reads),
        ("write", "writes", "#f58518", c => c.Writes),
        ("locked", "locked updates", "#b04a8c", c => c.LockedUpdates),
    ];

    /// <param name="extraSection">HTML inserted before the problems section (e.g. the races: RaceHtmlRenderer.Section).</param>
    public static string Render(TraceReport r, string? extraSection = null)
    {
        var h = new StringBuilder();
        var t = r.Totals;
        h.Append($"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>KEDR report: {E(r.Module)}</title>
            <style>
            {Css}
            </style>
            </head>
            <body>
            <header>
            <h1>KEDR report <span class="module">{E(r.Module)}</span></h1>
            <p class="sub">{E(Path.GetFileName(r.Trace.Path))} &middot; trace version {r.Trace.Version}{Bases(r)}</p>
            </header>
            <section class="cards">
            {Card("events", r.Events.Count, "")}
            {Card("calls", t.Entries, $"{N(t.Exits)} exits")}
            {Card("reads", t.Reads, Bytes(t.BytesRead), "read")}
            {Card("writes", t.Writes, Bytes(t.BytesWritten), "write")}
            {Card("locked updates", t.LockedUpdates, Bytes(t.BytesLocked), "locked")}
            {Card("dropped", r.Trace.DroppedCount, r.Trace.Drops.Count == 0 ? "none lost" : $"in {r.Trace.Drops.Count} gap(s)", r.Trace.DroppedCount > 0 ? "warn" : "")}
            </section>

            """);
        Chart(r, h);
        FunctionTable(r, h);
        AddressTable(r, h);
        if (extraSection is not null) h.Append(extraSection);
        Problems(r, h);
        Events(r, h);
        h.Append("<footer>Made by <code>kedr report</code>. Accesses are counted for the function whose code made them.</footer>\n</body>\n</html>\n");
        return h.ToString();
    }

    private static void Chart(TraceReport r, StringBuilder h)
    {
        var rows = r.Functions.OrderByDescending(f => f.Counts.MemoryEvents).ThenByDescending(f => f.Counts.Entries)
            .ThenBy(f => f.Function, StringComparer.Ordinal).Take(MaxChartRows).ToList();
        h.Append("<section>\n<h2>Memory accesses per function</h2>\n");
        if (rows.Count == 0)
        {
            h.Append("<p class=\"empty\">No events.</p>\n</section>\n");
            return;
        }
        // 1036 = the page's content width: the chart is drawn at 1:1 on a desktop and scales down below.
        const int rowH = 26, barH = 16, top = 40, right = 90, width = 1036;
        int labelW = Math.Clamp((int)(rows.Max(f => f.Function.Length) * 7.6) + 22, 100, 360);
        int plotW = width - labelW - right - 40, height = top + rows.Count * rowH + 12;
        long max = Math.Max(1, rows.Max(f => f.Counts.MemoryEvents));
        long step = NiceStep(max);
        long axisMax = (max + step - 1) / step * step;
        double scale = plotW / (double)axisMax;

        h.Append(CultureInfo.InvariantCulture,
            $"<svg class=\"chart\" role=\"img\" aria-label=\"Memory accesses per function\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">\n");
        // Legend.
        int lx = labelW;
        foreach (var (kind, label, color, _) in Kinds)
        {
            h.Append(CultureInfo.InvariantCulture, $"<rect class=\"legend {kind}\" x=\"{lx}\" y=\"6\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{color}\"/>");
            h.Append(CultureInfo.InvariantCulture, $"<text class=\"legend-label\" x=\"{lx + 17}\" y=\"16\">{label}</text>\n");
            lx += 30 + label.Length * 7;
        }
        h.Append(CultureInfo.InvariantCulture, $"<text class=\"legend-label muted\" x=\"{width - right + 10}\" y=\"{top - 8}\">calls</text>\n");
        // Grid and ticks.
        for (long v = 0; v <= axisMax; v += step)
        {
            double x = labelW + v * scale;
            h.Append(CultureInfo.InvariantCulture,
                $"<line class=\"grid\" x1=\"{x:0.#}\" y1=\"{top - 4}\" x2=\"{x:0.#}\" y2=\"{height - 10}\"/><text class=\"tick\" x=\"{x:0.#}\" y=\"{top - 8}\">{N(v)}</text>\n");
        }
        for (int i = 0; i < rows.Count; i++)
        {
            var f = rows[i];
            int y = top + i * rowH;
            if (i % 2 == 1)
                h.Append(CultureInfo.InvariantCulture, $"<rect class=\"stripe\" x=\"0\" y=\"{y}\" width=\"{width}\" height=\"{rowH}\"/>\n");
            h.Append(CultureInfo.InvariantCulture,
                $"<text class=\"fn-label\" x=\"{labelW - 10}\" y=\"{y + rowH / 2 + 4}\">{E(f.Function)}<title>{E(f.Function)}</title></text>\n");
            double x = labelW;
            foreach (var (kind, label, color, count) in Kinds)
            {
                long n = count(f.Counts);
                if (n == 0) continue;
                double w = Math.Max(1.5, n * scale);
                h.Append(CultureInfo.InvariantCulture,
                    $"<rect class=\"bar {kind}\" data-function=\"{E(f.Function)}\" data-kind=\"{kind}\" data-count=\"{n}\" x=\"{x:0.##}\" y=\"{y + (rowH - barH) / 2}\" width=\"{w:0.##}\" height=\"{barH}\" fill=\"{color}\"><title>{E(f.Function)}: {N(n)} {label}</title></rect>\n");
                x += w;
            }
            h.Append(CultureInfo.InvariantCulture,
                $"<text class=\"bar-total\" x=\"{x + 6:0.##}\" y=\"{y + rowH / 2 + 4}\">{N(f.Counts.MemoryEvents)}</text>");
            h.Append(CultureInfo.InvariantCulture,
                $"<text class=\"calls\" x=\"{width - right + 10}\" y=\"{y + rowH / 2 + 4}\">{(f.Counts.Entries > 0 ? $"&#215;{N(f.Counts.Entries)}" : "&#8212;")}</text>\n");
        }
        h.Append("</svg>\n");
        if (r.Functions.Count > rows.Count)
            h.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">The {rows.Count} functions with the most accesses of {r.Functions.Count}; the table below has them all.</p>\n");
        h.Append("</section>\n");
    }

    private static void FunctionTable(TraceReport r, StringBuilder h)
    {
        h.Append("<section>\n<h2>Per function</h2>\n<table class=\"data\">\n<thead><tr><th>function</th><th>size</th><th>entries</th><th>exits</th><th>reads</th><th>writes</th><th>locked</th><th>bytes read</th><th>bytes written</th><th>bytes locked</th></tr></thead>\n<tbody>\n");
        foreach (var f in r.Functions)
        {
            var c = f.Counts;
            h.Append(CultureInfo.InvariantCulture,
                $"<tr><td class=\"name\">{E(f.Function)}</td><td>{(f.Size == 0 ? "" : $"0x{f.Size:x}")}</td><td>{N(c.Entries)}</td><td>{N(c.Exits)}</td><td>{N(c.Reads)}</td><td>{N(c.Writes)}</td><td>{N(c.LockedUpdates)}</td><td>{N(c.BytesRead)}</td><td>{N(c.BytesWritten)}</td><td>{N(c.BytesLocked)}</td></tr>\n");
        }
        h.Append("</tbody>\n</table>\n</section>\n");
    }

    private static void AddressTable(TraceReport r, StringBuilder h)
    {
        h.Append("<section>\n<h2>Per address</h2>\n");
        if (r.Addresses.Count == 0) { h.Append("<p class=\"empty\">No memory accesses.</p>\n</section>\n"); return; }
        var shown = r.Addresses.Take(MaxAddressRows).ToList();
        if (shown.Count < r.Addresses.Count)
            h.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">The {shown.Count} most accessed of {N(r.Addresses.Count)} addresses.</p>\n");
        h.Append("<table class=\"data\">\n<thead><tr><th>address</th><th>reads</th><th>writes</th><th>locked</th><th>bytes</th><th class=\"left\">accessed from</th></tr></thead>\n<tbody>\n");
        foreach (var a in shown)
        {
            var c = a.Counts;
            h.Append(CultureInfo.InvariantCulture,
                $"<tr><td class=\"name\">0x{a.Address:x}</td><td>{N(c.Reads)}</td><td>{N(c.Writes)}</td><td>{N(c.LockedUpdates)}</td><td>{N(c.BytesRead + c.BytesWritten + c.BytesLocked)}</td><td class=\"left\">{E(string.Join(", ", a.Functions))}</td></tr>\n");
        }
        h.Append("</tbody>\n</table>\n</section>\n");
    }

    private static void Problems(TraceReport r, StringBuilder h)
    {
        if (r.Trace.Drops.Count == 0 && r.Warnings.Count == 0) return;
        h.Append("<section>\n<h2>Drops and warnings</h2>\n<ul class=\"problems\">\n");
        foreach (var g in r.Trace.Drops.GroupBy(d => d.Cpu).OrderBy(g => g.Key))
            h.Append(CultureInfo.InvariantCulture, $"<li>CPU {g.Key} lost {N(g.Sum(d => d.Count))} event(s) in {g.Count()} gap(s).</li>\n");
        foreach (var w in r.Warnings)
            h.Append($"<li class=\"mono\">{E(w.ToString())}</li>\n");
        h.Append("</ul>\n</section>\n");
    }

    private static void Events(TraceReport r, StringBuilder h)
    {
        h.Append("<section>\n<h2>Events</h2>\n");
        if (r.Events.Count > MaxEventLines)
            h.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">The first {N(MaxEventLines)} of {N(r.Events.Count)}; <code>kedr report --format text</code> lists them all.</p>\n");
        h.Append("<pre class=\"events\">");
        int d = 0;
        for (int i = 0; i < Math.Min(r.Events.Count, MaxEventLines); i++)
        {
            bool marked = false;
            for (; d < r.Trace.Drops.Count && r.Trace.Drops[d].Position <= i; d++)
            {
                if (!marked) h.Append("<span class=\"drop\">&lt;...&gt;</span>\n");
                marked = true;
            }
            var e = r.Events[i].Event;
            string kind = e.Kind switch { TraceEventKind.Read => "read", TraceEventKind.Write => "write", TraceEventKind.LockedUpdate => "locked", _ => "fn" };
            h.Append($"<span class=\"ev {kind}\">{E(TextRenderer.Line(r.Events[i]))}</span>\n");
            if (r.Events[i].Where?.Source is { } src) h.Append($"<span class=\"src\">{E(TextRenderer.SourcePrefix + SourceText.Format(src))}</span>\n");
        }
        h.Append("</pre>\n</section>\n");
    }

    private static string Bases(TraceReport r)
    {
        var s = new StringBuilder();
        if (r.Symbols?.CoreBase is { } cb) s.Append(CultureInfo.InvariantCulture, $" &middot; core text at <code>0x{cb:x}</code>");
        else if (r.Trace.TargetCoreBase != 0) s.Append(CultureInfo.InvariantCulture, $" &middot; core text at <code>0x{r.Trace.TargetCoreBase:x}</code>");
        if (r.Symbols?.InitBase is { } ib) s.Append(CultureInfo.InvariantCulture, $" &middot; init text at <code>0x{ib:x}</code>");
        if (r.Symbols is null) s.Append(" &middot; no .ko given: addresses not resolved");
        else s.Append(r.HasSources ? " &middot; source lines from the module's DWARF" : " &middot; no debug information: no source lines");
        return s.ToString();
    }

    private static string Card(string label, long value, string detail, string kind = "") =>
        $"<div class=\"card {kind}\"><div class=\"value\">{N(value)}</div><div class=\"label\">{E(label)}</div><div class=\"detail\">{E(detail)}</div></div>";

    private static long NiceStep(long max)
    {
        double raw = max / 5.0;
        double mag = Math.Pow(10, Math.Floor(Math.Log10(Math.Max(raw, 1))));
        double norm = raw / mag;
        double nice = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10;
        return Math.Max(1, (long)(nice * mag));
    }

    private static string Bytes(long b) => b < 1024 ? $"{b} bytes" : b < 1 << 20 ? $"{b / 1024.0:0.#} KiB" : $"{b / 1048576.0:0.#} MiB";
    private static string N(long v) => v.ToString("#,0", CultureInfo.InvariantCulture);
    private static string E(string s) => WebUtility.HtmlEncode(s);

    private const string Css = """
        :root { --ink: #1f2933; --muted: #66788a; --line: #e3e8ee; --bg: #f7f9fb; --read: #4c78a8; --write: #f58518; --locked: #b04a8c; }
        * { box-sizing: border-box; }
        body { margin: 0 auto; max-width: 1100px; padding: 28px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
        header h1 { margin: 0; font-size: 26px; font-weight: 650; letter-spacing: -0.01em; }
        header .module { color: var(--read); font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-weight: 600; }
        .sub { margin: 4px 0 0; color: var(--muted); }
        h2 { font-size: 17px; margin: 34px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
        .cards { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 22px; }
        .card { flex: 1 1 140px; background: var(--bg); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; border-top: 4px solid #9aa5b1; }
        .card.read { border-top-color: var(--read); } .card.write { border-top-color: var(--write); } .card.locked { border-top-color: var(--locked); }
        .card.warn { border-top-color: #d64545; background: #fff5f5; }
        .card .value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
        .card .label { color: var(--ink); font-weight: 550; }
        .card .detail { color: var(--muted); font-size: 12px; }
        svg.chart { display: block; max-width: 100%; height: auto; font: 12px system-ui, "DejaVu Sans", sans-serif; }
        svg .fn-label { text-anchor: end; font-family: ui-monospace, "DejaVu Sans Mono", monospace; fill: var(--ink); }
        svg .tick { text-anchor: middle; fill: var(--muted); font-size: 11px; }
        svg .grid { stroke: var(--line); stroke-width: 1; }
        svg .stripe { fill: #f9fafc; }
        svg .bar { stroke: #fff; stroke-width: 0.5; }
        svg .bar-total { fill: var(--ink); font-size: 11px; font-variant-numeric: tabular-nums; }
        svg .calls { fill: var(--muted); font-size: 11px; }
        svg .legend-label { fill: var(--ink); } svg .muted { fill: var(--muted); }
        table.data { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
        table.data th, table.data td { padding: 5px 10px; text-align: right; border-bottom: 1px solid var(--line); white-space: nowrap; }
        table.data th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: 0.03em; background: var(--bg); }
        table.data td.name, table.data th:first-child { text-align: left; }
        table.data .left { text-align: left; white-space: normal; }
        table.data tbody tr:hover { background: #f1f5f9; }
        .name, .mono, code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
        .note, .empty { color: var(--muted); }
        ul.problems li { margin: 4px 0; }
        pre.events, pre.race { background: #0f1720; color: #d9e2ec; padding: 14px 16px; border-radius: 10px; overflow-x: auto; font-size: 12px; line-height: 1.5; max-height: 520px; }
        pre.events .read { color: #8fb8e8; } pre.events .write { color: #f8b26a; } pre.events .locked { color: #e79ccf; }
        pre.events .fn { color: #9fe0b0; } pre.events .drop { color: #ff8a8a; } pre.events .src { color: #8a9bb0; }
        footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
        """;
}
