using System.Diagnostics;
using Kedr.Rewriter;
using Lof = LibObjectFile.Elf;

namespace Kedr.Benchmarks;

/// <summary>
/// The in-house ELF reader (<c>Kedr.Core.Elf.ElfFile</c>) against LibObjectFile 2.3.1's
/// (<c>LibObjectFile.Elf.ElfFile.Read</c>) over every module of the corpus, files already in memory,
/// each reader doing what the rewriter needs from a .ko: every section (name, flags, bytes), every
/// symbol (name, value, section), every relocation (offset, type, symbol, addend). The two passes
/// alternate round by round, their order swapped every round, so a disturbance on the shared machine
/// hits both alike; per pass: wall time and bytes allocated. Counts of sections, symbols and
/// relocations are checked equal between the readers (the same work was done).
/// <c>dotnet run -c Release --project benchmarks/Kedr.Benchmarks -- elf-readers [ROUNDS]</c>.
/// </summary>
public static class ElfReaderComparison
{
    private readonly record struct Work(long Sections, long Symbols, long Relocations, long Checksum, int Failed);

    public static int Run(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 21;
        var root = Corpus.ModuleFolder();
        var files = BatchRewriter.FindModules(root).Select(p => (Path: p, Bytes: File.ReadAllBytes(p))).ToArray();
        Console.WriteLine($"{files.Length} modules below {root}, {files.Sum(f => (long)f.Bytes.Length) / 1e6:F1} MB; {rounds} rounds, each reader once per round, order alternating");

        var inHouse = new List<(double Ms, long Bytes)>();
        var lof = new List<(double Ms, long Bytes)>();
        var lofSub = new List<(double Ms, long Bytes)>();
        var subStreams = new Lof.ElfReaderOptions { UseSubStream = true };
        Work a = default, b = default, c = default;
        for (int r = -2; r < rounds; r++) // two rounds of warm-up (JIT tiering)
        {
            bool lofFirst = (r & 1) != 0;
            if (lofFirst) { b = Measure(() => LibObjectFilePass(files, null), lof, r >= 0); c = Measure(() => LibObjectFilePass(files, subStreams), lofSub, r >= 0); }
            a = Measure(() => InHousePass(files), inHouse, r >= 0);
            if (!lofFirst) { b = Measure(() => LibObjectFilePass(files, null), lof, r >= 0); c = Measure(() => LibObjectFilePass(files, subStreams), lofSub, r >= 0); }
        }
        Console.WriteLine($"in-house:      {Describe(inHouse)}; {a.Sections:N0} sections, {a.Symbols:N0} symbols, {a.Relocations:N0} relocations, {a.Failed} unreadable");
        Console.WriteLine($"LibObjectFile: {Describe(lof)}; {b.Sections:N0} sections, {b.Symbols:N0} symbols, {b.Relocations:N0} relocations, {b.Failed} unreadable");
        Console.WriteLine($"LibObjectFile, UseSubStream: {Describe(lofSub)}; {c.Failed} unreadable");
        foreach (var (name, xs) in new[] { ("LibObjectFile", lof), ("LibObjectFile, UseSubStream", lofSub) })
            Console.WriteLine($"{name} / in-house, medians: {Median(xs.Select(x => x.Ms)) / Median(inHouse.Select(x => x.Ms)):F2}x the time, " +
                $"{Median(xs.Select(x => (double)x.Bytes)) / Median(inHouse.Select(x => (double)x.Bytes)):F1}x the allocation");
        bool same = a.Sections == b.Sections && a.Symbols == b.Symbols && a.Relocations == b.Relocations && a.Checksum == b.Checksum && b == c;
        Console.WriteLine(same ? "same sections, symbols and relocations read by both (counts and checksum)" : "the readers DISAGREE on counts or checksum");
        return same ? 0 : 1;
    }

    private static Work Measure(Func<Work> pass, List<(double, long)> into, bool keep)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        var w = pass();
        sw.Stop();
        if (keep) into.Add((sw.Elapsed.TotalMilliseconds, GC.GetAllocatedBytesForCurrentThread() - before));
        return w;
    }

    private static Work InHousePass((string Path, byte[] Bytes)[] files)
    {
        long sections = 0, symbols = 0, relocations = 0, sum = 0;
        int failed = 0;
        foreach (var (path, bytes) in files)
        {
            if (!Kedr.Core.Elf.ElfFile.TryRead(bytes, path, out var elf, out _)) { failed++; continue; }
            foreach (var s in elf!.Sections)
            {
                sections++;
                sum += s.Name.Length + (long)s.Flags + s.Data.Length;
                foreach (ref readonly var r in elf.RelocationSpan(s))
                {
                    relocations++;
                    sum += (long)r.Offset + (int)r.Type + r.SymbolIndex + r.Addend;
                }
            }
            for (int i = 0; i < elf.Symbols.Count; i++)
            {
                ref readonly var y = ref elf.Symbol(i);
                symbols++;
                sum += y.Name.Length + (long)y.Value + y.SectionIndex;
            }
        }
        return new Work(sections, symbols, relocations, sum, failed);
    }

    private static Work LibObjectFilePass((string Path, byte[] Bytes)[] files, Lof.ElfReaderOptions? options)
    {
        long sections = 0, symbols = 0, relocations = 0, sum = 0;
        int failed = 0;
        foreach (var (_, bytes) in files)
        {
            Lof.ElfFile elf;
            try { elf = Lof.ElfFile.Read(new MemoryStream(bytes, writable: false), options); }
            catch (Exception) { failed++; continue; }
            foreach (var s in elf.Sections)
            {
                sections++;
                long size = s is Lof.ElfStreamSection st ? st.Stream.Length : s.HasContent ? (long)s.Size : 0;
                sum += s.Name.Value.Length + (long)s.Flags + size;
                if (s is Lof.ElfRelocationTable rt)
                    foreach (var r in rt.Entries)
                    {
                        relocations++;
                        sum += (long)r.Offset + (int)r.Type.Value + r.SymbolIndex + r.Addend;
                    }
                else if (s is Lof.ElfSymbolTable sy)
                    foreach (var y in sy.Entries)
                    {
                        symbols++;
                        sum += y.Name.Value.Length + (long)y.Value + SectionIndex(y);
                    }
            }
        }
        return new Work(sections, symbols, relocations, sum, failed);
    }

    private static int SectionIndex(in Lof.ElfSymbol y) =>
        y.SectionLink.IsSpecial ? y.SectionLink.SpecialIndex : y.SectionLink.Section?.SectionIndex ?? 0;

    private static string Describe(List<(double Ms, long Bytes)> xs) =>
        $"min {xs.Min(x => x.Ms):F1} ms, median {Median(xs.Select(x => x.Ms)):F1} ms, {Median(xs.Select(x => (double)x.Bytes)) / 1e6:F1} MB allocated a pass";

    private static double Median(IEnumerable<double> xs)
    {
        var a = xs.Order().ToArray();
        return a.Length == 0 ? double.NaN : a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }
}
