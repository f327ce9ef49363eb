using System.Globalization;
using System.Text;
using Kedr.Output.Source;

namespace Kedr.Output;

/// <summary>One CSV row: an event as <see cref="CsvRenderer"/> writes it.</summary>
public sealed record CsvEventRow(
    long Index, ulong TimestampNs, int Cpu, uint Seq, uint Tid, string Context, string Kind,
    ulong Pc, string Function, ulong Offset, ulong FunctionSize, string Module, ulong Addr, uint Size, uint Site, string Source);

/// <summary>
/// Events as CSV (RFC 4180: comma-separated, fields with a comma, quote or line break quoted), one
/// row per event in merged order. Addresses are hex with 0x; an unresolved pc has an empty function,
/// a pc without debug information an empty source.
/// </summary>
public static class CsvRenderer
{
    public static readonly string[] Columns =
        ["index", "ts_ns", "cpu", "seq", "tid", "context", "kind", "pc", "function", "offset", "function_size", "module", "addr", "size", "site", "source"];

    public static void Render(TraceReport report, TextWriter w)
    {
        w.Write(string.Join(',', Columns));
        w.Write("\r\n");
        for (int i = 0; i < report.Events.Count; i++)
        {
            var (e, r) = report.Events[i];
            var fields = new[]
            {
                I(i), I(e.Timestamp), I(e.Cpu), I(e.Seq), $"0x{e.Tid:x}", ContextName(e.Context), TextRenderer.KindName(e.Kind),
                Hex(e.Pc), r?.Function ?? "", r is null ? "" : Hex(r.Offset), r is null ? "" : Hex(r.Size), r?.Module ?? "",
                Hex(e.Addr), I(e.Size), I(e.Site), r?.Source is { } src ? SourceText.Format(src) : "",
            };
            w.Write(string.Join(',', fields.Select(Quote)));
            w.Write("\r\n");
        }
    }

    /// <summary>Reads back what <see cref="Render"/> wrote.</summary>
    public static List<CsvEventRow> Parse(TextReader reader)
    {
        var rows = ReadRecords(reader).ToList();
        if (rows.Count == 0 || !rows[0].SequenceEqual(Columns))
            throw new FormatException("not a kedr events CSV (header row differs)");
        var result = new List<CsvEventRow>(rows.Count - 1);
        foreach (var f in rows.Skip(1))
        {
            if (f.Count != Columns.Length) throw new FormatException($"row {result.Count + 1} has {f.Count} fields, expected {Columns.Length}");
            result.Add(new CsvEventRow(long.Parse(f[0], CultureInfo.InvariantCulture), ulong.Parse(f[1], CultureInfo.InvariantCulture),
                int.Parse(f[2], CultureInfo.InvariantCulture), uint.Parse(f[3], CultureInfo.InvariantCulture), (uint)ParseHex(f[4]),
                f[5], f[6], ParseHex(f[7]), f[8], f[9].Length == 0 ? 0 : ParseHex(f[9]), f[10].Length == 0 ? 0 : ParseHex(f[10]), f[11],
                ParseHex(f[12]), uint.Parse(f[13], CultureInfo.InvariantCulture), uint.Parse(f[14], CultureInfo.InvariantCulture), f[15]));
        }
        return result;
    }

    public static string ContextName(TraceContext c) => c switch
    {
        TraceContext.Task => "task",
        TraceContext.SoftIrq => "softirq",
        TraceContext.HardIrq => "hardirq",
        TraceContext.Nmi => "nmi",
        _ => ((int)c).ToString(CultureInfo.InvariantCulture),
    };

    private static string I<T>(T v) where T : IFormattable => v.ToString(null, CultureInfo.InvariantCulture);
    private static string Hex(ulong v) => $"0x{v:x}";

    private static ulong ParseHex(string s) =>
        s.StartsWith("0x", StringComparison.Ordinal) ? ulong.Parse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
        : throw new FormatException($"'{s}' is not a 0x hex number");

    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\r\n") < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";

    private static IEnumerable<List<string>> ReadRecords(TextReader r)
    {
        var fields = new List<string>();
        var cur = new StringBuilder();
        bool quoted = false, any = false;
        int c;
        while ((c = r.Read()) >= 0)
        {
            any = true;
            if (quoted)
            {
                if (c == '"')
                {
                    if (r.Peek() == '"') { r.Read(); cur.Append('"'); }
                    else quoted = false;
                }
                else cur.Append((char)c);
                continue;
            }
            switch (c)
            {
                case '"': quoted = true; break;
                case ',': fields.Add(cur.ToString()); cur.Clear(); break;
                case '\r': break;
                case '\n':
                    fields.Add(cur.ToString()); cur.Clear();
                    yield return fields;
                    fields = [];
                    any = false;
                    break;
                default: cur.Append((char)c); break;
            }
        }
        if (any) { fields.Add(cur.ToString()); yield return fields; }
    }
}
