using System.Globalization;

namespace Kedr.Cli.Record;

/// <summary>
/// What kedr_locks' VFS probes lost while a target was loaded, from its debugfs file <c>kedr_locks/vfs</c>, next to
/// kedr_sample's folder (kmod/payloads/kedr_locks/kedr_locks_vfs.c): <c>target NAME loaded|gone</c>, <c>inodes N</c>,
/// <c>not_kept N</c>, <c>missed N</c>. A probe hit the kernel skipped, or an inode the set could not keep, may be a
/// lost ACQUIRE or RELEASE on the target's inodes, and so a false race.
/// </summary>
internal sealed record LocksVfsStatus(string Target, ulong Missed, ulong NotKept)
{
    /// <summary>
    /// The status of <paramref name="target"/> from the file beside <paramref name="sampleDebugfs"/>; false when
    /// kedr_locks (or its VFS probes) is not loaded, the file names another target, or it cannot be read.
    /// </summary>
    public static bool TryRead(string sampleDebugfs, string target, out LocksVfsStatus? status)
    {
        status = null;
        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(sampleDebugfs)));
        if (parent is null)
            return false;
        string text;
        try
        {
            text = File.ReadAllText(Path.Combine(parent, "kedr_locks", "vfs"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        string? name = null;
        ulong missed = 0, notKept = 0;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ');
            if (f.Length >= 2 && f[0] == "target")
                name = f[1];
            else if (f.Length == 2 && f[0] == "missed" && !ulong.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out missed))
                return false;
            else if (f.Length == 2 && f[0] == "not_kept" && !ulong.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out notKept))
                return false;
        }
        if (name != target)
            return false;
        status = new LocksVfsStatus(name, missed, notKept);
        return true;
    }
}
