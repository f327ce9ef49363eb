using System.Net;
using System.Text;

namespace Kedr.Output.Races;

/// <summary>
/// The races as an HTML section (<c>&lt;section id="races"&gt;</c>, one <c>&lt;article class="race"&gt;</c> per
/// pair with its title in <c>&lt;h3&gt;</c> and the KCSAN-style text in <c>&lt;pre&gt;</c>), for the report page or a page of its own.
/// </summary>
public static class RaceHtmlRenderer
{
    public static string Section(RaceResult r, RaceNames names)
    {
        var h = new StringBuilder("<section id=\"races\">\n<h2>Data races</h2>\n");
        var summary = new StringWriter();
        RaceTextRenderer.Summary(r, summary);
        h.Append($"<p class=\"note\">{E(summary.ToString().Trim()).Replace("\n", "<br>")}</p>\n");
        foreach (var p in r.Races)
        {
            var t = new StringWriter();
            RaceTextRenderer.Access(p.First, names, t);
            t.WriteLine();
            RaceTextRenderer.Access(p.Second, names, t);
            if (p.Allocation is { } al)
                t.WriteLine($"\n0x{p.Second.Addr:x} is {al.Offset} bytes inside the {al.Size}-byte block 0x{al.Block:x} allocated at {names.Pc(al.Pc)}");
            h.Append($"<article class=\"race\">\n<h3>{E(names.Title(p))} <span class=\"note\">&times;{p.Count}</span></h3>\n<pre class=\"race\">{E(t.ToString().TrimEnd())}</pre>\n</article>\n");
        }
        h.Append("</section>\n");
        return h.ToString();
    }

    /// <summary>A page with only the races.</summary>
    public static string Page(RaceResult r, RaceNames names, string module) => $"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>KEDR races: {E(module)}</title>
        <style>
        body {"{"} margin: 0 auto; max-width: 1100px; padding: 28px 32px; font: 14px/1.45 system-ui, sans-serif; {"}"}
        pre.race {"{"} background: #0f1720; color: #d9e2ec; padding: 12px 14px; border-radius: 8px; overflow-x: auto; font-size: 12px; {"}"}
        .note {"{"} color: #66788a; {"}"}
        </style>
        </head>
        <body>
        <h1>KEDR races: {E(module)}</h1>
        {Section(r, names)}
        </body>
        </html>

        """;

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
