using System.Text.RegularExpressions;

namespace Kedr.Cli.Tests.PatchSites;

/// <summary>
/// One "Call Trace:" block of a guest's dmesg, up to its <c>&lt;/TASK&gt;</c>: the lines and the frames named
/// in them, each marked when the kernel printed it with "? " (a stack word that looks like a code address,
/// not a frame the unwinder found).
/// </summary>
internal sealed partial record CallTrace(IReadOnlyList<string> Lines, IReadOnlyList<(string Name, bool Guessed)> Frames)
{
    public string Text => string.Join("\n", Lines);

    /// <summary>Every block of <paramref name="dmesg"/>, in order.</summary>
    public static List<CallTrace> All(string dmesg)
    {
        var lines = dmesg.Split('\n');
        var traces = new List<CallTrace>();
        for (int start = 0; (start = Array.FindIndex(lines, start, l => l.Contains("Call Trace:", StringComparison.Ordinal))) >= 0; start++)
        {
            var block = lines.Skip(start + 1).TakeWhile(l => !l.Contains("</TASK>", StringComparison.Ordinal)).ToList();
            var frames = block.Select(l => FrameLine().Match(l)).Where(m => m.Success)
                .Select(m => (m.Groups[2].Value, m.Groups[1].Success)).ToList();
            traces.Add(new CallTrace(block, frames));
        }
        return traces;
    }

    [GeneratedRegex(@"\]\s+(\? )?([A-Za-z0-9_.]+)\+0x")]
    private static partial Regex FrameLine();
}
