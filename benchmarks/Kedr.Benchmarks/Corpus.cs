using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Kedr.Core.Elf;
using Kedr.Rewriter;
using Kedr.Rewriter.Catalog;

namespace Kedr.Benchmarks;

/// <summary>One module held in memory, with the byte ranges of the functions the rewriter copies.</summary>
public sealed class ModuleInput
{
    public required string Path { get; init; }
    public required byte[] File { get; init; }
    /// <summary>Every function of the catalog (at least 5 bytes): offset into <see cref="File"/>, length, address.</summary>
    public required (int Offset, int Length, ulong Address)[] Functions { get; init; }
    public long FunctionBytes { get; init; }
}

/// <summary>
/// The modules a benchmark runs over, read into memory once so that no timing includes disk I/O.
/// <c>small</c> and <c>large</c> are single modules of the installed kernel; <c>all</c> is every
/// <c>*.ko</c> below the module folder (<c>KEDR_BENCH_MODULES</c>, else the running kernel's, else
/// the newest <c>/lib/modules/*/kernel</c>).
/// </summary>
public sealed class Corpus
{
    public const string Small = "small", Large = "large", All = "all";

    /// <summary>Paths below the module folder of the single-module sets.</summary>
    public static readonly IReadOnlyDictionary<string, string> SingleModules = new Dictionary<string, string>
    {
        [Small] = "drivers/block/loop.ko",
        [Large] = "fs/btrfs/btrfs.ko",
    };

    private static readonly ConcurrentDictionary<string, Corpus> Cache = new();

    public required string Name { get; init; }
    public required string Description { get; init; }
    /// <summary>Largest file first, as <see cref="BatchRewriter.Run"/> schedules them.</summary>
    public required ModuleInput[] Modules { get; init; }
    public long FunctionBytes => Modules.Sum(m => m.FunctionBytes);
    public long FunctionCount => Modules.Sum(m => (long)m.Functions.Length);
    /// <summary>Files left out of the set because they are not readable modules (named on stderr at load).</summary>
    public int Skipped { get; init; }

    public static Corpus Get(string name) => Cache.GetOrAdd(name, Load);

    public static string ModuleFolder()
    {
        var env = Environment.GetEnvironmentVariable("KEDR_BENCH_MODULES");
        if (!string.IsNullOrEmpty(env)) return env;
        string? release = null;
        try { release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
        catch (IOException) { }
        if (release is not null && Directory.Exists($"/lib/modules/{release}/kernel")) return $"/lib/modules/{release}/kernel";
        var newest = Directory.Exists("/lib/modules")
            ? Directory.GetDirectories("/lib/modules").Select(d => System.IO.Path.Combine(d, "kernel")).Where(Directory.Exists)
                .Order(StringComparer.Ordinal).LastOrDefault()
            : null;
        return newest ?? throw new InvalidOperationException(
            "no kernel modules found: set KEDR_BENCH_MODULES to a folder with .ko files (e.g. /lib/modules/<release>/kernel)");
    }

    private static Corpus Load(string name)
    {
        var root = ModuleFolder();
        List<string> paths;
        if (name == All) paths = BatchRewriter.FindModules(root);
        else if (SingleModules.TryGetValue(name, out var rel))
        {
            var p = System.IO.Path.Combine(root, rel);
            if (!File.Exists(p)) throw new InvalidOperationException($"{p}: missing; set KEDR_BENCH_MODULES to a kernel's module folder that has it");
            paths = [p];
        }
        else throw new ArgumentException($"unknown module set '{name}' (small, large, all)");

        var modules = new List<ModuleInput>();
        int skipped = 0;
        foreach (var path in paths)
        {
            var bytes = File.ReadAllBytes(path);
            if (!ElfFile.TryRead(bytes, path, out var elf, out var error))
            {
                Console.Error.WriteLine($"kedr-bench: {path}: left out of the set: {error}");
                skipped++;
                continue;
            }
            var catalog = new FunctionCatalog(elf!);
            var functions = new (int, int, ulong)[catalog.Functions.Count];
            long total = 0;
            for (int i = 0; i < functions.Length; i++)
            {
                var f = catalog.Functions[i];
                if (!MemoryMarshal.TryGetArray(f.Section.Data, out var seg) || !ReferenceEquals(seg.Array, bytes))
                    throw new InvalidOperationException($"{path}: section {f.Section.Name} is not a slice of the file's bytes");
                functions[i] = (seg.Offset + (int)f.Start, f.Size, (ulong)f.Start);
                total += f.Size;
            }
            modules.Add(new ModuleInput { Path = path, File = bytes, Functions = functions, FunctionBytes = total });
        }
        if (modules.Count == 0) throw new InvalidOperationException($"module set '{name}' below {root}: no readable module");
        return new Corpus
        {
            Name = name,
            Description = name == All ? $"{modules.Count} modules below {root}" : System.IO.Path.GetRelativePath(root, paths[0]),
            Modules = modules.OrderByDescending(m => m.File.Length).ToArray(),
            Skipped = skipped,
        };
    }
}
