using Xunit.Abstractions;

namespace Kedr.Cli.Tests.Vm;

/// <summary>
/// <c>kedr races</c> on traces of the race targets recorded in the guest with 4 vCPUs: the deliberate
/// race of kedr_race_racy is reported between the two lines its source marks, and the twin correct
/// through atomics (locked updates only, which the recorder gives without any payload) gives no report.
/// The racy target's threads C and D, bound to CPU 0, update that CPU's copy of a per-CPU counter through %gs
/// (one instruction each): the records say so (KEDR_REC_F_PERCPU) and the pair is not reported (docs/races.md,
/// "Per-CPU data"); C's read of its own task_struct is marked KEDR_REC_F_OWN_TASK.
/// The twins that need the locks payload's ACQUIRE/RELEASE/SIGNAL/WAIT are in <see cref="RaceTwinVmTests"/>.
/// </summary>
public sealed class RaceVmTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_racy_target_is_reported_with_the_pair_of_lines_its_source_marks()
    {
        var (json, events) = await RaceVmRun.RunWithEventsAsync("kedr_race_racy", output);
        int a = RaceVmRun.LineOf("kedr_race_racy.c", "/* race: a */"), b = RaceVmRun.LineOf("kedr_race_racy.c", "/* race: b */");
        // Threads C and D: one per-CPU address (CPU 0's copy) from two threads, every access marked per-CPU. That
        // no race names their lines is the check below that every race is the a/b pair.
        var c = RaceVmRun.EventsAt(events, "kedr_race_racy.c", "/* per-cpu: c */");
        var d = RaceVmRun.EventsAt(events, "kedr_race_racy.c", "/* per-cpu: d */");
        Assert.True(c.Count >= 2 * 50 && d.Count >= 2 * 50, $"{c.Count} and {d.Count} accesses (a read and a write per step)");
        Assert.All(c.Concat(d), e => Assert.Contains("per-cpu", RaceVmRun.Flags(e)));
        Assert.Single(c.Concat(d).Select(e => e.GetProperty("addr").GetString()).Distinct());
        Assert.NotEqual(RaceVmRun.ThreadsAt(events, "kedr_race_racy.c", "/* per-cpu: c */").Single(),
            RaceVmRun.ThreadsAt(events, "kedr_race_racy.c", "/* per-cpu: d */").Single());
        // current->flags: after %gs:current_task (per-CPU, on the line of asm/current.h's get_current()), a 4-byte
        // field of C's own task_struct.
        var own = RaceVmRun.EventsAt(events, "kedr_race_racy.c", "/* own task: c */");
        Assert.True(own.Count >= 50, $"{own.Count} reads of current->flags");
        Assert.All(own, e => Assert.True(RaceVmRun.Flags(e).SetEquals(["own-task"]) && e.GetProperty("size").GetUInt32() == 4, e.ToString()));
        // Nothing else on those lines is marked, and nothing is marked in A and B.
        Assert.All(RaceVmRun.EventsAt(events, "kedr_race_racy.c", "/* race: a */"), e => Assert.Empty(RaceVmRun.Flags(e)));
        var races = json.GetProperty("races").EnumerateArray().ToList();
        Assert.NotEmpty(races);
        foreach (var race in races)
        {
            var lines = new[] { RaceVmRun.Source(race.GetProperty("first")), RaceVmRun.Source(race.GetProperty("second")) };
            Assert.All(lines, l => Assert.Equal("kedr_race_racy.c", l.File));
            Assert.Equal([a, b], lines.Select(l => l.Line).Order());
            Assert.Equal("data-race in race_step_a / race_step_b", string.Join(" / ", new[]
                { race.GetProperty("first").GetProperty("function").GetString(), race.GetProperty("second").GetProperty("function").GetString() }
                .Order(StringComparer.Ordinal)).Insert(0, "data-race in "));
            Assert.Equal("task", race.GetProperty("first").GetProperty("context").GetString());
            Assert.NotEqual(race.GetProperty("first").GetProperty("tid").GetUInt32(), race.GetProperty("second").GetProperty("tid").GetUInt32());
        }
    }

    // Was a known defect (1 run of 2 reported, h18-order): a locked update was stamped only before its
    // instruction, so a spinning cmpxchg that succeeded right after the other CPU's xchg could be merged
    // before it. Since blob 1.7 it is recorded again after the instruction (LOCKED_DONE, the acquire side;
    // docs/races.md). Repeated by hand:
    //   for i in $(seq 5); do dotnet test tests/Kedr.Cli.Tests -c Release --filter "DisplayName~atomic_lock"; done
    [Fact]
    public async Task The_twin_under_an_atomic_lock_gives_no_report()
    {
        var (json, events) = await RaceVmRun.RunWithEventsAsync("kedr_race_atomic", output);
        Assert.True(json.GetProperty("sync_events").GetInt64() >= 2 * 2 * 50, "fewer locked updates than the 50 lock/unlock pairs of each thread");
        // Every locked update is recorded again once it has run: as many LOCKED_DONE as LOCKED_UPDATE records.
        int updates = events.Count(e => e.GetProperty("kind").GetString() == "locked update");
        int done = events.Count(e => e.GetProperty("kind").GetString() == "locked done");
        Assert.True(updates >= 200 && done == updates, $"{updates} locked updates, {done} recorded after their instruction");
        // Ordered, not unobserved: both marked lines ran, in two threads.
        var a = RaceVmRun.ThreadsAt(events, "kedr_race_atomic.c", "/* shared: a */");
        var b = RaceVmRun.ThreadsAt(events, "kedr_race_atomic.c", "/* shared: b */");
        Assert.True(a.Count > 0 && b.Count > 0 && !a.SetEquals(b), $"shared: a in {string.Join(", ", a)}; shared: b in {string.Join(", ", b)}");
        Assert.Empty(json.GetProperty("races").EnumerateArray());
    }
}
