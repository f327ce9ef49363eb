using Kedr.Core.Diagnostics;
using Kedr.Core.Dwarf;
using Kedr.Core.Elf;

namespace Kedr.Output.Source;

/// <summary>
/// Finds and reads a module's debug information for the report: from the .ko itself or from a separate
/// debug file found by build-id (<see cref="DebugFileLocator"/>). When there is none, or it does not
/// read, it says so in one warning and the report goes on without source lines.
/// </summary>
public static class ModuleSources
{
    /// <summary>The source map of <paramref name="elf"/>, or null with one warning (KEDR5110: none found,
    /// KEDR5111: found but unreadable) added to <paramref name="warnings"/>. <paramref name="from"/> is the
    /// file it was read from.</summary>
    public static SourceMap? Load(ElfFile elf, IEnumerable<string>? debugDirectories, List<KedrDiagnostic> warnings, out string? from)
    {
        var dirs = DebugFileLocator.Directories(debugDirectories);
        var lookup = DebugFileLocator.Find(elf, dirs, out var debug);
        from = lookup.Path;
        if (debug is null)
        {
            var id = DebugFileLocator.BuildIdHex(elf);
            string where = id.Length > 2
                ? $"nor in {string.Join(", ", dirs.Select(d => Path.Combine(d, ".build-id", id[..2], id[2..] + ".debug")))}"
                : "and it has no build-id to look for a debug file by";
            warnings.Add(new KedrDiagnostic(DiagnosticCodes.ReportNoDebugInfo,
                $"no debug information for '{elf.ModuleName}': not in the .ko {where}; events are shown without source lines " +
                "(install the module's debug package or pass --debug-dir)", elf.Path));
            return null;
        }
        try
        {
            var sections = DwarfSections.Load(debug)!;
            return SourceMap.Build(sections);
        }
        catch (Exception e) when (e is DwarfFormatException or OverflowException or ArgumentException or IndexOutOfRangeException)
        {
            warnings.Add(new KedrDiagnostic(DiagnosticCodes.ReportDebugInfoUnreadable, $"the debug information does not read ({e.Message}); events are shown without source lines", debug.Path));
            from = null;
            return null;
        }
    }
}
