using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;

namespace Kedr.Core.Dwarf;

/// <summary>Where the debug information of a module was found (<see cref="Path"/>, null if nowhere) and
/// the places looked at, in order.</summary>
public sealed record DebugFileLookup(string? Path, IReadOnlyList<string> Tried);

/// <summary>
/// Finds the file that holds a module's DWARF, the way gdb and perf look for separate debug files:
/// the module itself if it has <c>.debug_line</c>; otherwise, in each debug directory,
/// <c>.build-id/xx/yyyy….debug</c> (xx the first byte of the NT_GNU_BUILD_ID note in hex, the rest after
/// it) and then the module's own absolute path under the directory (Debian's <c>linux-image-*-dbg</c>
/// installs <c>/usr/lib/debug/lib/modules/…/foo.ko</c>). A candidate counts only if it has
/// <c>.debug_line</c> and, when both have one, the same build-id.
/// </summary>
public static class DebugFileLocator
{
    public const string DefaultDirectory = "/usr/lib/debug";

    /// <summary>The directories to search: <paramref name="extra"/> first, then <see cref="DefaultDirectory"/>.</summary>
    public static IReadOnlyList<string> Directories(IEnumerable<string>? extra) =>
        (extra ?? []).Append(DefaultDirectory).Distinct(StringComparer.Ordinal).ToList();

    public static string BuildIdHex(ElfFile elf) => Convert.ToHexStringLower(elf.BuildId);

    /// <summary>The candidates for <paramref name="elf"/>, in the order they are tried.</summary>
    public static IEnumerable<string> Candidates(ElfFile elf, IEnumerable<string> directories)
    {
        var id = BuildIdHex(elf);
        var full = System.IO.Path.GetFullPath(elf.Path);
        foreach (var dir in directories)
        {
            if (id.Length > 2) yield return System.IO.Path.Combine(dir, ".build-id", id[..2], id[2..] + ".debug");
            yield return dir.TrimEnd('/') + full;
            yield return dir.TrimEnd('/') + full + ".debug";
        }
    }

    /// <summary>The ELF holding <paramref name="elf"/>'s line tables: itself, a separate debug file, or none.</summary>
    public static DebugFileLookup Find(ElfFile elf, IEnumerable<string> directories, out ElfFile? debugFile)
    {
        debugFile = null;
        if (HasLines(elf)) { debugFile = elf; return new DebugFileLookup(elf.Path, [elf.Path]); }
        var tried = new List<string> { elf.Path };
        foreach (var candidate in Candidates(elf, directories))
        {
            tried.Add(candidate);
            if (!File.Exists(candidate)) continue;
            ElfFile f;
            try { f = ElfFile.Read(candidate); }
            catch (Exception e) when (e is KedrException or IOException or UnauthorizedAccessException) { continue; }
            if (!HasLines(f)) continue;
            if (elf.BuildId.Length > 0 && f.BuildId.Length > 0 && !elf.BuildId.AsSpan().SequenceEqual(f.BuildId)) continue;
            debugFile = f;
            return new DebugFileLookup(candidate, tried);
        }
        return new DebugFileLookup(null, tried);
    }

    private static bool HasLines(ElfFile f) => f.FindSection(".debug_line") is { Size: > 0 } s && s.Type != ElfConstants.ShtNobits;
}
