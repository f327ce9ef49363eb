namespace Kedr.Kernel.Payloads;

/// <summary>
/// Breaks generated C lines longer than 80 columns (tabs to 8) after a ", " inside parentheses (or an
/// initializer's braces) and outside
/// literals, continuing under the character after the innermost open parenthesis, as kernel style aligns
/// arguments. A line with no such place stays as it is.
/// </summary>
internal static class CLineWrapper
{
    public const int Limit = 80;

    public static string Wrap(string text)
    {
        var lines = text.Split('\n');
        var output = new List<string>(lines.Length);
        foreach (var line in lines)
        {
            var rest = line;
            int outer = -1;
            while (Width(rest) > Limit && TryBreak(rest, outer, out var head, out var tail, out outer))
            {
                output.Add(head);
                rest = tail;
            }
            output.Add(rest);
        }
        return string.Join('\n', output);
    }

    /// <summary>The display width of <paramref name="s"/>, tabs to the next multiple of 8.</summary>
    public static int Width(string s)
    {
        int col = 0;
        foreach (var c in s) col = c == '\t' ? (col / 8 + 1) * 8 : col + 1;
        return col;
    }

    /// <summary>
    /// Splits <paramref name="line"/> after its last ", " that keeps the head within the limit.
    /// <paramref name="outer"/> is the alignment column of the parenthesis a continuation line is in (-1: none).
    /// </summary>
    private static bool TryBreak(string line, int outer, out string head, out string tail, out int align)
    {
        head = tail = "";
        align = -1;
        var open = new Stack<int>();
        int best = -1, bestAlign = 0, first = -1, firstAlign = 0;
        char quote = '\0';
        for (int i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote != '\0')
            {
                if (c == '\\') i++;
                else if (c == quote) quote = '\0';
                continue;
            }
            if (c is '"' or '\'') quote = c;
            else if (c == '(') open.Push(i);
            else if (c == '{') open.Push(i + 1);
            else if (c is ')' or '}' && open.Count > 0) open.Pop();
            else if (c is ')' or '}' && open.Count == 0) outer = -1;
            else if (c == ',' && i + 1 < line.Length && line[i + 1] == ' ' && (open.Count > 0 || outer >= 0))
            {
                int at = open.Count > 0 ? Width(line[..(open.Peek() + 1)]) : outer;
                if (first < 0) (first, firstAlign) = (i, at);
                if (Width(line[..(i + 1)]) <= Limit) (best, bestAlign) = (i, at);
            }
        }
        if (best < 0) (best, bestAlign) = (first, firstAlign);
        if (best < 0) return false;
        head = line[..(best + 1)];
        var rest = line[(best + 2)..];
        // Under the parenthesis when it fits; else two tabs deeper than the line (a long function name).
        if (bestAlign + Width(rest) > Limit)
            bestAlign = Math.Min(bestAlign, Width(line[..(line.Length - line.TrimStart('\t').Length)]) + 16);
        align = bestAlign;
        var indent = new string('\t', bestAlign / 8) + new string(' ', bestAlign % 8);
        tail = indent + rest;
        return Width(tail) < Width(line);
    }
}
