using Kedr.Core.Diagnostics;

namespace Kedr.Cli.Commands;

/// <summary>
/// Checks of path arguments before any work starts, each failing with one diagnostic that names the
/// argument and the value (KEDR6xxx). What only the file's contents can tell is left to its reader.
/// </summary>
internal static class CliInput
{
    /// <summary>A file to read: not empty, not a folder; a missing file is left to the reader unless <paramref name="mustExist"/>.</summary>
    public static bool TryInputFile(string? value, string what, bool mustExist, out string path, out KedrDiagnostic? error)
    {
        path = "";
        if (!TryPath(value, what, out path, out error)) return false;
        if (Directory.Exists(path))
            return Fail(DiagnosticCodes.CliFolderNotFile, $"{what} '{value}' is a folder, not a file", path, out error);
        if (mustExist && !File.Exists(path))
            return Fail(DiagnosticCodes.CliNoSuchFile, $"{what} '{value}': no such file", path, out error);
        return true;
    }

    /// <summary>A file to write: not empty, not a folder, in a folder that exists.</summary>
    public static bool TryOutputFile(string? value, string what, out string path, out KedrDiagnostic? error)
    {
        if (!TryPath(value, what, out path, out error)) return false;
        if (Directory.Exists(path))
            return Fail(DiagnosticCodes.CliFolderNotFile, $"{what} '{value}' is a folder, not a file", path, out error);
        var parent = Path.GetDirectoryName(path);
        if (parent is not null && !Directory.Exists(parent))
            return Fail(DiagnosticCodes.CliCannotWrite, $"{what} '{value}': the folder {parent} does not exist", path, out error);
        return true;
    }

    /// <summary>A folder: not empty, and either existing or (<paramref name="create"/>) not a file.</summary>
    public static bool TryFolder(string? value, string what, bool create, out string path, out KedrDiagnostic? error)
    {
        if (!TryPath(value, what, out path, out error)) return false;
        if (File.Exists(path))
            return Fail(DiagnosticCodes.CliNoSuchFolder, $"{what} '{value}' is a file, not a folder", path, out error);
        if (!create && !Directory.Exists(path))
            return Fail(DiagnosticCodes.CliNoSuchFolder, $"{what} '{value}': no such folder", path, out error);
        // To be created: the nearest part of the path that exists must be a folder.
        for (var up = Path.GetDirectoryName(path); up is not null; up = Path.GetDirectoryName(up))
        {
            if (Directory.Exists(up)) break;
            if (File.Exists(up))
                return Fail(DiagnosticCodes.CliNoSuchFolder, $"{what} '{value}': {up} is a file, not a folder", path, out error);
        }
        return true;
    }

    /// <summary>A name (not a path): not empty, no white space or '/'.</summary>
    public static bool TryName(string? value, string what, out KedrDiagnostic? error)
    {
        error = null;
        if (string.IsNullOrEmpty(value))
            return Fail(DiagnosticCodes.CliEmptyValue, $"{what} is empty ('')", null, out error);
        if (value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == '/'))
            return Fail(DiagnosticCodes.CliBadName, $"{what} '{value}' is not a module name (white space, a control character or '/')", null, out error);
        return true;
    }

    public static bool InRange(int value, int min, int max, string what, out KedrDiagnostic? error)
    {
        error = null;
        if (value >= min && value <= max) return true;
        return Fail(DiagnosticCodes.CliNumberOutOfRange, $"{what} {value} is out of range ({min}..{max})", null, out error);
    }

    private static bool TryPath(string? value, string what, out string path, out KedrDiagnostic? error)
    {
        path = "";
        error = null;
        if (string.IsNullOrEmpty(value))
            return Fail(DiagnosticCodes.CliEmptyValue, $"{what} is empty ('')", null, out error);
        if (value.Contains('\0'))
            return Fail(DiagnosticCodes.CliBadPath, $"{what} '{value}' holds a NUL character", null, out error);
        try { path = Path.GetFullPath(value); }
        catch (Exception e) when (e is ArgumentException or PathTooLongException or NotSupportedException)
        {
            return Fail(DiagnosticCodes.CliBadPath, $"{what} '{value}' is not a usable path: {e.Message}", null, out error);
        }
        return true;
    }

    private static bool Fail(DiagnosticCode code, string message, string? file, out KedrDiagnostic? error)
    {
        error = new KedrDiagnostic(code, message, file);
        return false;
    }
}
