using System.Diagnostics;
using Kedr.Core.Dwarf;
using Kedr.Core.Elf;

namespace Kedr.Benchmarks;

/// <summary>
/// What source lines cost <c>kedr report</c> for one module with DWARF: building the source map
/// (relocating the debug sections, running the line programs, reading the inlined calls) and one
/// lookup (line + inline chain) at every 4th byte of every code section.
/// <c>dotnet run -c Release --project benchmarks/Kedr.Benchmarks -- source-lines KO [ROUNDS]</c>.
/// </summary>
public static class SourceLineCost
{
    public static int Run(string[] args)
    {
        if (args.Length == 0) { Console.Error.WriteLine("usage: source-lines KO [ROUNDS]"); return 2; }
        var elf = ElfFile.Read(args[0]);
        int rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 21;
        var points = new List<(string Section, ulong Offset)>();
        foreach (var s in elf.Sections.Where(s => s.IsExecutable))
            for (ulong o = 0; o < s.Size; o += 4) points.Add((s.Name, o));
        var build = new List<double>();
        var lookup = new List<double>();
        long allocated = 0;
        SourceMap? map = null;
        int found = 0;
        for (int r = -2; r < rounds; r++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            map = SourceMap.Build(DwarfSections.Load(elf) ?? throw new InvalidOperationException($"{args[0]}: no .debug_line"));
            double b = sw.Elapsed.TotalMilliseconds;
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            sw.Restart();
            found = 0;
            foreach (var (s, o) in points) if (map.Find(s, o) is not null) found++;
            double l = sw.Elapsed.TotalMilliseconds;
            if (r >= 0) { build.Add(b); lookup.Add(l * 1e6 / points.Count); }
        }
        build.Sort();
        lookup.Sort();
        Console.WriteLine($"{args[0]}: {new FileInfo(args[0]).Length / 1024} KiB, {map!.LineRows:N0} line rows, {map.Functions:N0} function ranges, {map.InlinedCalls:N0} inlined calls");
        Console.WriteLine($"source map: min {build[0]:F1} ms, median {build[build.Count / 2]:F1} ms, {allocated / 1e6:F1} MB allocated");
        Console.WriteLine($"lookup: min {lookup[0]:F0} ns, median {lookup[lookup.Count / 2]:F0} ns ({points.Count:N0} addresses, {found:N0} with a line)");
        return 0;
    }
}
