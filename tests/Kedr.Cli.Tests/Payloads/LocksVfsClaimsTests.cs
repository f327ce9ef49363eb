using System.Text.Json;
using System.Text.RegularExpressions;

namespace Kedr.Cli.Tests.Payloads;

/// <summary>
/// kedr_locks' VFS probes (kmod/payloads/kedr_locks/kedr_locks_vfs.c) against its spec (kedr_locks.json). A probe
/// marked "claimed" skips the calls the target's copies make (their return address is in the copies or in
/// kedr_locks), because the replacement of the spec's function records them. So the probes marked claimed must be
/// exactly the probed functions the spec lists. A claimed probe on a function the spec does not list loses the
/// target's own calls: they go straight to the kernel, unrecorded. An unclaimed probe on a function the spec lists
/// records the target's calls a second time, with the kernel function's pc.
/// </summary>
public sealed partial class LocksVfsClaimsTests
{
    private static string Dir => Path.Combine(Kedr.Cli.Vm.RepositoryPaths.Kmod, "payloads", "kedr_locks");

    /// <summary>What kedr_locks_vfs.c probes, as docs/races.md's table "The VFS around the callbacks" lists it.</summary>
    private static readonly string[] Probed =
    [
        "inode_init_always", "__destroy_inode", "up_write", "up_read", "downgrade_write", "iput", "dput", "do_dentry_open",
        "down_write", "down_write_killable", "down_write_trylock", "down_read", "down_read_killable",
        "down_read_interruptible", "down_read_trylock", "__writeback_single_inode", "inode_wait_for_writeback",
    ];

    // KEDR_VFS_PRE("sym", handler, claimed) and KEDR_VFS_RET("sym", arg, when, claimed, kind, size).
    [GeneratedRegex(@"KEDR_VFS_PRE\(""(?<sym>\w+)"",\s*\w+,\s*(?<claimed>true|false)\)")]
    private static partial Regex PreEntry();

    [GeneratedRegex(@"KEDR_VFS_RET\(""(?<sym>\w+)"",\s*\w+,\s*\w+,\s*(?<claimed>true|false),")]
    private static partial Regex RetEntry();

    // Any other probe: a struct kprobe or kretprobe of its own, whose handlers record nothing the spec replaces.
    [GeneratedRegex(@"\.symbol_name\s*=\s*""(?<sym>\w+)""")]
    private static partial Regex OwnProbe();

    private static Dictionary<string, bool> ProbesAndClaims(string source)
    {
        var probes = new Dictionary<string, bool>();
        foreach (var m in PreEntry().Matches(source).Concat(RetEntry().Matches(source)))
            probes.Add(m.Groups["sym"].Value, m.Groups["claimed"].Value == "true");
        foreach (Match m in OwnProbe().Matches(source))
        {
            // The macros' own ".symbol_name = sym" has no quotes; a quoted one is a probe outside the tables.
            Assert.False(probes.ContainsKey(m.Groups["sym"].Value), $"{m.Groups["sym"].Value} is probed twice");
            probes.Add(m.Groups["sym"].Value, false);
        }
        return probes;
    }

    private static HashSet<string> SpecFunctions()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "kedr_locks.json")),
            new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        return doc.RootElement.GetProperty("functions").EnumerateArray()
            .Select(f => f.GetProperty("name").GetString()!).ToHashSet();
    }

    [Fact]
    public void Every_probed_function_is_read_from_the_source()
    {
        var probes = ProbesAndClaims(File.ReadAllText(Path.Combine(Dir, "kedr_locks_vfs.c")));
        Assert.Equal(Probed.Order(StringComparer.Ordinal), probes.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_probes_marked_claimed_are_the_probed_functions_kedr_locks_json_lists()
    {
        var probes = ProbesAndClaims(File.ReadAllText(Path.Combine(Dir, "kedr_locks_vfs.c")));
        var spec = SpecFunctions();
        Assert.Contains("mutex_lock", spec);
        var wrong = probes.Where(p => p.Value != spec.Contains(p.Key))
            .Select(p => p.Value ? $"{p.Key}: claimed, but kedr_locks.json does not list it"
                : $"{p.Key}: not claimed, but kedr_locks.json lists it")
            .ToList();
        Assert.True(wrong.Count == 0, string.Join('\n', wrong));
        // The rwsem calls the target makes itself: down_*/up_* but down_read_interruptible, which the spec leaves out.
        Assert.Equal(8, probes.Count(p => p.Value));
    }
}
