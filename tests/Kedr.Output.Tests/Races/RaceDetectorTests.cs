using Kedr.Output.Races;

namespace Kedr.Output.Tests.Races;

/// <summary>
/// The detector on scenarios whose answer follows from the synchronization model (docs/races.md):
/// two accesses to the same bytes from different logical threads, at least one a write, race unless
/// a release→acquire of one lock, a signal→wait on one object, locked updates of one address, or the
/// module's init return lies between them.
/// </summary>
public sealed class RaceDetectorTests
{
    private const ulong X = 0xffff888000001000, Y = 0xffff888000002000, L = 0xffff888000003000, W = 0xffff888000004000;
    private const ulong PcA = 0xffffffffc0001010, PcB = 0xffffffffc0002020, PcC = 0xffffffffc0003030;

    [Fact]
    public void Unsynchronized_writes_of_two_tasks_are_one_race()
    {
        var r = new RaceScenario().Write(1, PcA, X, cpu: 0).Write(2, PcB, X, cpu: 1).Run();
        var p = Assert.Single(r.Races);
        Assert.Equal((PcA, PcB), (p.First.Pc, p.Second.Pc));
        Assert.True(p.First.IsWrite && p.Second.IsWrite);
        Assert.Equal(new ThreadIdentity(TraceContext.Task, 1, -1), p.First.Thread);
        Assert.Equal(new ThreadIdentity(TraceContext.Task, 2, -1), p.Second.Thread);
        Assert.Equal(X, p.Second.Addr);
        Assert.Equal(2, r.Threads);
    }

    [Fact]
    public void A_pair_is_reported_once_with_its_count()
    {
        var s = new RaceScenario();
        for (int i = 0; i < 3; i++) s.Write(1, PcA, X, cpu: 0).Read(2, PcB, X, cpu: 1);
        var p = Assert.Single(s.Run().Races);
        // A(w) B(r) | A(w) races B's read | B(r) races A's write ... : 5 conflicting adjacent pairs, all (PcA, PcB).
        Assert.Equal(5, p.Count);
    }

    /// <summary>Two 16-byte writes (two shadow cells each) racing once are one occurrence, not one per cell.</summary>
    [Fact]
    public void An_access_spanning_cells_counts_one_occurrence()
    {
        var p = Assert.Single(new RaceScenario().Write(1, PcA, X, 16).Write(2, PcB, X, 16, cpu: 1).Run().Races);
        Assert.Equal(1, p.Count);
        var twice = Assert.Single(new RaceScenario().Write(1, PcA, X, 16).Write(2, PcB, X, 16, cpu: 1).Write(2, PcB, X, 16, cpu: 1).Run().Races);
        Assert.Equal(1, twice.Count);
        var three = Assert.Single(new RaceScenario().Write(1, PcA, X, 16).Write(2, PcB, X, 16, cpu: 1).Write(1, PcA, X + 4, 8).Run().Races);
        Assert.Equal(2, three.Count);
    }

    [Fact]
    public void Same_thread_and_read_read_do_not_race()
    {
        var r = new RaceScenario().Write(1, PcA, X).Read(1, PcB, X).Read(2, PcC, Y, cpu: 1).Read(3, PcA, Y, cpu: 0).Run();
        Assert.Empty(r.Races);
    }

    [Fact]
    public void A_write_races_with_each_concurrent_reader()
    {
        var r = new RaceScenario().Read(1, PcA, X).Read(2, PcB, X, cpu: 1).Write(3, PcC, X, cpu: 1).Run();
        Assert.Equal([(PcA, PcC), (PcB, PcC)], r.Races.Select(p => (p.First.Pc, p.Second.Pc)).Order());
    }

    [Fact]
    public void Different_bytes_of_one_cell_do_not_race()
    {
        Assert.Empty(new RaceScenario().Write(1, PcA, X, 4).Write(2, PcB, X + 4, 4, cpu: 1).Run().Races);
        var p = Assert.Single(new RaceScenario().Write(1, PcA, X, 4).Write(2, PcB, X + 3, 1, cpu: 1).Run().Races);
        Assert.Equal(X + 3, p.Second.Addr);
    }

    // Adjacent fields in one 8-byte cell: a later access to the other field must not make the cell forget the earlier
    // access to the first one, nor skip checking the other field's bytes.
    private const ulong PcD = 0xffffffffc0004040;

    private static void AssertOneRace(RaceResult r, ulong first, ulong second)
    {
        var p = Assert.Single(r.Races);
        Assert.Equal((first, second), (p.First.Pc, p.Second.Pc));
    }

    /// <summary>A's write of bytes 0-3 stays when B writes bytes 4-7: C's unordered write of bytes 0-3 races it.</summary>
    [Fact]
    public void A_write_of_the_adjacent_field_keeps_the_earlier_write() =>
        AssertOneRace(new RaceScenario().Write(1, PcA, X, 4).Write(2, PcB, X + 4, 4, cpu: 1).Write(3, PcC, X, 4, cpu: 1).Run(), PcA, PcC);

    /// <summary>B is ordered after A's read of bytes 0-3 and reads bytes 4-7: A's read stays for C's write to race.</summary>
    [Fact]
    public void An_ordered_read_of_the_adjacent_field_keeps_the_earlier_read() =>
        AssertOneRace(new RaceScenario()
            .Read(1, PcA, X, 4).Signal(1, W)
            .Wait(2, W, cpu: 1).Read(2, PcB, X + 4, 4, cpu: 1)
            .Write(3, PcC, X, 4, cpu: 1).Run(), PcA, PcC);

    /// <summary>A write of bytes 0-3 forgets only those bytes' reads: B's read of bytes 4-7 still races C's write of them.</summary>
    [Fact]
    public void A_write_of_the_adjacent_field_keeps_the_reads_of_the_other()
    {
        var r = new RaceScenario().Read(2, PcB, X + 4, 4, cpu: 1).Signal(2, W)
            .Wait(1, W).Write(1, PcA, X, 4)
            .Write(3, PcC, X + 4, 4, cpu: 1).Run();
        AssertOneRace(r, PcB, PcC);
    }

    /// <summary>B's read of bytes 4-7 comes in the epoch of its read of bytes 0-3: it is checked against A's write all the same.</summary>
    [Fact]
    public void A_read_of_new_bytes_in_the_same_epoch_is_checked() =>
        AssertOneRace(new RaceScenario().Write(1, PcA, X + 4, 4).Read(2, PcB, X, 4, cpu: 1).Read(2, PcD, X + 4, 4, cpu: 1).Run(), PcA, PcD);

    /// <summary>A's write of bytes 0-3 replaces only those bytes of its 8-byte write: bytes 4-7 race as that write's.</summary>
    [Fact]
    public void A_narrower_write_replaces_only_its_bytes() =>
        AssertOneRace(new RaceScenario().Write(1, PcA, X, 8).Write(1, PcD, X, 4).Write(3, PcC, X + 4, 4, cpu: 1).Run(), PcA, PcC);

    [Fact]
    public void A_lock_orders_the_writes()
    {
        var r = new RaceScenario()
            .Lock(1, L).Write(1, PcA, X).Unlock(1, L)
            .Lock(2, L, cpu: 1).Write(2, PcB, X, cpu: 1).Unlock(2, L, cpu: 1).Run();
        Assert.Empty(r.Races);
    }

    [Fact]
    public void Another_lock_does_not()
    {
        var r = new RaceScenario()
            .Lock(1, L).Write(1, PcA, X).Unlock(1, L)
            .Lock(2, L + 8, cpu: 1).Write(2, PcB, X, cpu: 1).Unlock(2, L + 8, cpu: 1).Run();
        Assert.Single(r.Races);
    }

    [Fact]
    public void Shared_holders_are_not_ordered_with_each_other_but_an_exclusive_holder_is_after_them()
    {
        var readers = new RaceScenario()
            .Lock(1, L, shared: true).Write(1, PcA, X).Unlock(1, L, shared: true)
            .Lock(2, L, shared: true, cpu: 1).Write(2, PcB, X, cpu: 1).Unlock(2, L, shared: true, cpu: 1).Run();
        Assert.Single(readers.Races);
        var writer = new RaceScenario()
            .Lock(1, L, shared: true).Read(1, PcA, X).Unlock(1, L, shared: true)
            .Lock(2, L, cpu: 1).Write(2, PcB, X, cpu: 1).Unlock(2, L, cpu: 1).Run();
        Assert.Empty(writer.Races);
    }

    [Fact]
    public void Locked_updates_of_one_address_order_what_comes_before_and_after()
    {
        var ordered = new RaceScenario().Write(1, PcA, X).Atomic(1, Y).Atomic(2, Y, cpu: 1).Read(2, PcB, X, cpu: 1).Run();
        Assert.Empty(ordered.Races);
        // B reads before its own locked update: nothing orders that read after A's write.
        var early = new RaceScenario().Write(1, PcA, X).Atomic(1, Y).Read(2, PcB, X, cpu: 1).Atomic(2, Y, cpu: 1).Run();
        Assert.Single(early.Races);
        // A locked update of another address orders nothing.
        var other = new RaceScenario().Write(1, PcA, X).Atomic(1, Y).Atomic(2, Y + 8, cpu: 1).Read(2, PcB, X, cpu: 1).Run();
        Assert.Single(other.Races);
    }

    /// <summary>
    /// kedr_race_atomic's lock, as the recorder stamps it: A's spinning cmpxchg is stamped (before it runs)
    /// ahead of B's releasing xchg, then succeeds after it. Its LOCKED_DONE record, stamped after it ran,
    /// is what orders B's critical section before A's. Without it (or with A's DONE before B's release:
    /// A took the lock while B still held it) the two critical sections race.
    /// </summary>
    [Fact]
    public void A_locked_update_acquires_when_it_has_run_not_when_it_was_stamped()
    {
        var twin = new RaceScenario()
            .Atomic(1, Y)                                                       // A's cmpxchg, stamped before it ran
            .Write(2, PcB, X, cpu: 1).Atomic(2, Y, cpu: 1).AtomicDone(2, Y, cpu: 1) // B's section, B's xchg (release)
            .AtomicDone(1, Y).Write(1, PcA, X)                                  // A's cmpxchg has run: A's section
            .Run();
        Assert.Empty(twin.Races);

        var broken = new RaceScenario()
            .Atomic(1, Y).AtomicDone(1, Y)
            .Write(2, PcB, X, cpu: 1).Atomic(2, Y, cpu: 1).AtomicDone(2, Y, cpu: 1)
            .Write(1, PcA, X)
            .Run();
        Assert.Single(broken.Races);
        // A LOCKED_DONE is not a data access either.
        Assert.Empty(new RaceScenario().AtomicDone(1, X).Write(2, PcA, X, cpu: 1).Run().Races);
    }

    /// <summary>
    /// A task's kernel stack given to a new task after the first exited (VMAP_STACK reuses stacks): the
    /// new task's use of it as its own stack is not ordered after the old one's, and is no race. An
    /// object alive on a task's stack that another task touches (a wait-queue entry) is still checked.
    /// </summary>
    [Fact]
    public void A_stack_given_to_a_new_task_is_forgotten_but_a_live_on_stack_object_is_not()
    {
        const ulong Stack = 0xffffb00000104000, Local = Stack + 0x3e40; // 16 KiB-aligned stack, a local in it
        var reused = new RaceScenario()
            .OwnStackWrite(1, PcA, Local).OwnStackRead(1, PcA, Local + 8)
            .OwnStackWrite(2, PcB, Local + 0x40, cpu: 1)   // task 2's first use of the stack: task 1 is gone
            .OwnStackWrite(2, PcB, Local, cpu: 1).OwnStackRead(2, PcB, Local + 8, cpu: 1)
            .Run();
        Assert.Empty(reused.Races);
        Assert.Equal(1, reused.ReusedStacks);

        // Task 1's on-stack object written by task 2 (on no stack of its own) and read back by task 1:
        // nothing orders them: both occurrences of the pair are seen.
        var live = new RaceScenario()
            .OwnStackWrite(1, PcA, Local)
            .Write(2, PcB, Local, cpu: 1)
            .OwnStackRead(1, PcA, Local)
            .Run();
        Assert.Equal(2, Assert.Single(live.Races).Count);
        Assert.Equal(0, live.ReusedStacks);

        // Without the mark (older recorders) nothing is forgotten.
        var unmarked = new RaceScenario().Write(1, PcA, Local).Write(2, PcB, Local, cpu: 1).Run();
        Assert.Single(unmarked.Races);
    }

    /// <summary>
    /// Per-CPU data through %gs (this_cpu_inc(), this_cpu_add(): one instruction, no lock prefix): two tasks that ran
    /// on one CPU one after the other reach that CPU's copy at one address, with nothing ordering them; each access is
    /// one instruction on that CPU, so they never overlap: no race (docs/races.md, "Per-CPU data"). The copy reached
    /// without %gs (per_cpu_ptr() from another CPU, a sum over the CPUs) is still checked against them.
    /// </summary>
    [Fact]
    public void Per_cpu_accesses_through_gs_do_not_race_with_each_other_but_do_with_other_accesses()
    {
        // incl %gs:counter in task 1, decl in task 2, both on CPU 0 (btrfs's sb_start_write/sb_end_write counters).
        var gs = new RaceScenario()
            .PerCpuRead(1, PcA, X).PerCpuWrite(1, PcA, X)
            .PerCpuRead(2, PcB, X).PerCpuWrite(2, PcB, X)
            .PerCpuWrite(3, PcC, X, ctx: 2)                  // and an interrupt on that CPU
            .Run();
        Assert.Empty(gs.Races);
        Assert.True(gs.PerCpuConflicts > 0);

        // Task 4 on another CPU reads CPU 0's copy by its address (no %gs): concurrent with the updates.
        var sum = new RaceScenario().PerCpuWrite(1, PcA, X).Read(4, PcC, X, cpu: 1).Run();
        Assert.Equal((PcA, PcC), (Assert.Single(sum.Races).First.Pc, sum.Races[0].Second.Pc));

        // Without the mark (older recorders) the same pair is reported.
        Assert.Single(new RaceScenario().Write(1, PcA, X).Write(2, PcB, X).Run().Races);
    }

    /// <summary>
    /// A task_struct freed when its task exited and given to a new task: accesses of each to its own task_struct
    /// (current->journal_info in btrfs) are two lives of the memory, not a race (docs/races.md, "Tasks"). Another
    /// task's access to a live task's task_struct, and a task's interrupt touching the task's own, are still checked.
    /// </summary>
    [Fact]
    public void Two_tasks_each_in_its_own_task_struct_do_not_race_but_others_do()
    {
        const ulong Task = 0xffff888004a1c000, JournalInfo = Task + 0xce0;
        var reused = new RaceScenario()
            .OwnTaskWrite(1, PcA, JournalInfo).OwnTaskRead(1, PcA, JournalInfo)
            .OwnTaskRead(2, PcB, JournalInfo, cpu: 1).OwnTaskWrite(2, PcB, JournalInfo, cpu: 1)
            .Run();
        Assert.Empty(reused.Races);
        Assert.True(reused.ReusedTaskConflicts > 0);

        // Task 2 writes task 1's task_struct (not its own): checked.
        var other = new RaceScenario().OwnTaskWrite(1, PcA, JournalInfo).Write(2, PcB, JournalInfo, cpu: 1).Run();
        Assert.Single(other.Races);

        // An interrupt on top of task 1 marks task 1's task_struct as its own too (current is the interrupted
        // task), but it is another logical thread of the same task, not another life: checked.
        var irq = new RaceScenario().OwnTaskWrite(1, PcA, JournalInfo).OwnTaskWrite(1, PcB, JournalInfo, ctx: 2).Run();
        Assert.Single(irq.Races);

        // Without the mark, reported.
        Assert.Single(new RaceScenario().Write(1, PcA, JournalInfo).Write(2, PcB, JournalInfo, cpu: 1).Run().Races);
    }

    [Fact]
    public void Locked_updates_are_not_data_accesses()
    {
        var r = new RaceScenario().Atomic(1, X).Atomic(2, X, cpu: 1).Read(3, PcA, X, cpu: 0).Run();
        Assert.Empty(r.Races);
    }

    [Fact]
    public void Signal_then_wait_on_one_object_orders_a_hand_off()
    {
        var r = new RaceScenario().Write(1, PcA, X).Signal(1, W).Wait(2, W, cpu: 1, ctx: 1).Write(2, PcB, X, cpu: 1, ctx: 1).Run();
        Assert.Empty(r.Races);
        var other = new RaceScenario().Write(1, PcA, X).Signal(1, W).Wait(2, W + 8, cpu: 1, ctx: 1).Write(2, PcB, X, cpu: 1, ctx: 1).Run();
        Assert.Single(other.Races);
        // The wait comes first: the signal after it does not order anything before the wait.
        var late = new RaceScenario().Wait(2, W, cpu: 1).Write(1, PcA, X).Signal(1, W).Write(2, PcB, X, cpu: 1).Run();
        Assert.Single(late.Races);
    }

    /// <summary>
    /// Several tasks signal one object (kedr_locks' iput() signals on an inode, docs/races.md, "The VFS around
    /// the callbacks"): the wait is ordered after every one of them, not only the last.
    /// </summary>
    [Fact]
    public void A_wait_is_ordered_after_every_signal_of_the_object()
    {
        var r = new RaceScenario().Write(1, PcA, X).Signal(1, W).Write(2, PcB, Y, cpu: 1).Signal(2, W, cpu: 1)
            .Wait(3, W, cpu: 2).Write(3, PcC, X, cpu: 2).Write(3, PcC, Y, cpu: 2).Run();
        Assert.Empty(r.Races);
        // Without the first task's signal, its write races with the waiter's.
        var one = new RaceScenario().Write(1, PcA, X).Write(2, PcB, Y, cpu: 1).Signal(2, W, cpu: 1)
            .Wait(3, W, cpu: 2).Write(3, PcC, X, cpu: 2).Write(3, PcC, Y, cpu: 2).Run();
        var p = Assert.Single(one.Races);
        Assert.Equal((PcA, PcC), (p.First.Pc, p.Second.Pc));
    }

    /// <summary>
    /// queue_work_on / mod_timer record a SIGNAL on the callback's address; the callback's entry event, in the
    /// worker (a task) or the timer softirq, is the matching wait (docs/races.md, "hand-off to a callback").
    /// </summary>
    [Fact]
    public void A_signal_on_a_callbacks_address_orders_the_callbacks_later_entries()
    {
        const ulong WorkFn = 0xffffffffc0120000, TimerFn = 0xffffffffc0130000;
        var work = new RaceScenario().Write(1, PcA, X).Signal(1, WorkFn)
            .Enter(7, WorkFn, cpu: 1).Read(7, PcB, X, cpu: 1).Write(7, PcB, X, cpu: 1).Leave(7, WorkFn, cpu: 1).Run();
        Assert.Empty(work.Races);
        var timer = new RaceScenario().Write(1, PcA, X).Signal(1, TimerFn)
            .Enter(0, TimerFn, cpu: 2, ctx: 1).Write(0, PcB, X, cpu: 2, ctx: 1).Leave(0, TimerFn, cpu: 2, ctx: 1).Run();
        Assert.Empty(timer.Races);
        // Without the signal, with a signal on another function, or with the entry before the signal: the pair races.
        var none = new RaceScenario().Write(1, PcA, X)
            .Enter(7, WorkFn, cpu: 1).Write(7, PcB, X, cpu: 1).Leave(7, WorkFn, cpu: 1).Run();
        Assert.Equal((PcA, PcB), (Assert.Single(none.Races).First.Pc, none.Races[0].Second.Pc));
        var other = new RaceScenario().Write(1, PcA, X).Signal(1, TimerFn)
            .Enter(7, WorkFn, cpu: 1).Write(7, PcB, X, cpu: 1).Leave(7, WorkFn, cpu: 1).Run();
        Assert.Single(other.Races);
        var early = new RaceScenario().Enter(7, WorkFn, cpu: 1).Write(1, PcA, X).Signal(1, WorkFn)
            .Write(7, PcB, X, cpu: 1).Leave(7, WorkFn, cpu: 1).Run();
        Assert.Single(early.Races);
    }

    /// <summary>
    /// cancel_work_sync, flush_work, timer_delete_sync record, once they returned, a WAIT with KEDR_WAIT_CALLBACK_END on
    /// the callback's address: it is ordered after the end (the exit event back to an empty stack) of every run of
    /// that callback before it. Two runs of the callback are not ordered with each other by their ends, and a run
    /// that ends after the wait is not ordered before it (docs/races.md, "Hand-off to a callback").
    /// </summary>
    [Fact]
    public void A_wait_for_a_callbacks_end_is_ordered_after_its_runs_and_its_runs_are_not_ordered_by_it()
    {
        const ulong WorkFn = 0xffffffffc0120000, TimerFn = 0xffffffffc0130000;
        var work = new RaceScenario().Signal(1, WorkFn)
            .Enter(7, WorkFn, cpu: 1).Write(7, PcA, X, cpu: 1).Leave(7, WorkFn, cpu: 1)
            .WaitEnd(1, WorkFn).Write(1, PcB, X);
        Assert.Empty(work.Run().Races);
        var timer = new RaceScenario().Signal(1, TimerFn)
            .Enter(0, TimerFn, cpu: 2, ctx: 1).Write(0, PcA, X, cpu: 2, ctx: 1).Leave(0, TimerFn, cpu: 2, ctx: 1)
            .WaitEnd(1, TimerFn).Write(1, PcB, X);
        Assert.Empty(timer.Run().Races);
        // Without the wait, with a plain wait (size 0: the signals' clock), with a wait for another callback, or
        // with the callback's end after the wait: the pair races.
        var none = new RaceScenario().Signal(1, WorkFn)
            .Enter(7, WorkFn, cpu: 1).Write(7, PcA, X, cpu: 1).Leave(7, WorkFn, cpu: 1)
            .Write(1, PcB, X).Run();
        Assert.Equal((PcA, PcB), (Assert.Single(none.Races).First.Pc, none.Races[0].Second.Pc));
        var plain = new RaceScenario().Signal(1, WorkFn)
            .Enter(7, WorkFn, cpu: 1).Write(7, PcA, X, cpu: 1).Leave(7, WorkFn, cpu: 1)
            .Wait(1, WorkFn).Write(1, PcB, X).Run();
        Assert.Single(plain.Races);
        var other = new RaceScenario().Signal(1, WorkFn).Signal(1, TimerFn)
            .Enter(7, WorkFn, cpu: 1).Write(7, PcA, X, cpu: 1).Leave(7, WorkFn, cpu: 1)
            .Enter(0, TimerFn, cpu: 2, ctx: 1).Leave(0, TimerFn, cpu: 2, ctx: 1)
            .WaitEnd(1, TimerFn).Write(1, PcB, X).Run();
        Assert.Single(other.Races);
        var late = new RaceScenario().Signal(1, WorkFn)
            .Enter(7, WorkFn, cpu: 1).Write(7, PcA, X, cpu: 1)
            .WaitEnd(1, WorkFn).Write(1, PcB, X).Leave(7, WorkFn, cpu: 1).Run();
        Assert.Single(late.Races);
        // What the worker does after the callback's end (its next callback) is not ordered before the wait either.
        const ulong NextFn = 0xffffffffc0140000;
        var next = new RaceScenario().Signal(1, WorkFn).Signal(1, NextFn)
            .Enter(7, WorkFn, cpu: 1).Leave(7, WorkFn, cpu: 1)
            .Enter(7, NextFn, cpu: 1).Write(7, PcA, X, cpu: 1).Leave(7, NextFn, cpu: 1)
            .WaitEnd(1, WorkFn).Write(1, PcB, X).Run();
        Assert.Single(next.Races);
        // Two runs of the callback (two hand-offs, two workers) each write X: the ends order neither run before the
        // other, even with a wait for the end between them; the waiter is ordered after both.
        var runs = new RaceScenario().Signal(1, WorkFn)
            .Enter(7, WorkFn, cpu: 1).Write(7, PcA, X, cpu: 1).Leave(7, WorkFn, cpu: 1)
            .WaitEnd(1, WorkFn)
            .Enter(8, WorkFn, cpu: 2).Write(8, PcC, X, cpu: 2).Leave(8, WorkFn, cpu: 2)
            .WaitEnd(1, WorkFn).Write(1, PcB, X).Run();
        var pair = Assert.Single(runs.Races);
        Assert.Equal((PcA, PcC), (pair.First.Pc, pair.Second.Pc));
    }

    [Fact]
    public void An_interrupt_is_its_own_thread_even_in_the_same_task_and_cpu()
    {
        var r = new RaceScenario().Write(5, PcA, X, cpu: 2).Write(5, PcB, X, cpu: 2, ctx: 2).Run();
        var p = Assert.Single(r.Races);
        Assert.Equal(new ThreadIdentity(TraceContext.HardIrq, 0, 2), p.Second.Thread);
        Assert.Equal(5u, p.Second.Tid);
        // Two softirqs of one CPU run one after the other: one logical thread.
        var soft = new RaceScenario().Write(5, PcA, X, cpu: 1, ctx: 1).Write(6, PcB, X, cpu: 1, ctx: 1).Run();
        Assert.Empty(soft.Races);
    }

    [Fact]
    public void Threads_first_seen_after_init_returned_are_ordered_after_it()
    {
        const ulong Init = 0xffffffffc0100000;
        var o = new RaceDetectorOptions { InitFunction = Init };
        var after = new RaceScenario().Enter(1, Init).Write(1, PcA, X).Leave(1, Init).Read(2, PcB, X, cpu: 1).Run(o);
        Assert.True(after.InitSeen);
        Assert.Empty(after.Races);
        // A thread that started while init ran is not ordered after init's writes (a kthread_run needs its hand-off).
        var during = new RaceScenario().Enter(1, Init).Read(2, PcC, Y, cpu: 1).Write(1, PcA, X).Leave(1, Init).Read(2, PcB, X, cpu: 1).Run(o);
        Assert.Single(during.Races);
        // Without the init function's address there is no such rule.
        Assert.Single(new RaceScenario().Enter(1, Init).Write(1, PcA, X).Leave(1, Init).Read(2, PcB, X, cpu: 1).Run().Races);
    }

    /// <summary>
    /// An interrupt context is one logical thread per CPU, but each handler run is a new activation: one
    /// that starts after init returned is ordered after init, as a thread first seen then is, even when
    /// that CPU's context already ran a handler while init was running.
    /// </summary>
    [Fact]
    public void An_interrupt_handler_run_started_after_init_returned_is_ordered_after_it()
    {
        const ulong Init = 0xffffffffc0100000, Handler = 0xffffffffc0110000;
        var o = new RaceDetectorOptions { InitFunction = Init };
        var r = new RaceScenario()
            .Enter(1, Init)
            .Enter(0, Handler, cpu: 1, ctx: 2).Read(0, PcC, Y, cpu: 1, ctx: 2).Leave(0, Handler, cpu: 1, ctx: 2)
            .Write(1, PcA, X).Leave(1, Init)
            .Enter(0, Handler, cpu: 1, ctx: 2).Read(0, PcB, X, cpu: 1, ctx: 2).Leave(0, Handler, cpu: 1, ctx: 2)
            .Run(o);
        Assert.Empty(r.Races);
        // A handler run that began before init returned stays concurrent with init's later writes.
        var during = new RaceScenario()
            .Enter(1, Init).Enter(0, Handler, cpu: 1, ctx: 2)
            .Write(1, PcA, X).Leave(1, Init)
            .Read(0, PcB, X, cpu: 1, ctx: 2).Leave(0, Handler, cpu: 1, ctx: 2)
            .Run(o);
        Assert.Single(during.Races);
    }

    /// <summary>
    /// A kworker (one task) that ran a work item of the module while init was running: its next work
    /// item, entered after init returned, is ordered after init; the one that began during init is not.
    /// </summary>
    [Fact]
    public void A_task_entering_the_module_again_after_init_returned_is_ordered_after_it()
    {
        const ulong Init = 0xffffffffc0100000, WorkFn = 0xffffffffc0120000;
        var o = new RaceDetectorOptions { InitFunction = Init };
        var r = new RaceScenario()
            .Enter(1, Init).Signal(1, W)
            .Wait(7, W, cpu: 1).Enter(7, WorkFn, cpu: 1).Read(7, PcC, Y, cpu: 1).Leave(7, WorkFn, cpu: 1)
            .Write(1, PcA, X).Leave(1, Init)
            .Enter(7, WorkFn, cpu: 1).Read(7, PcB, X, cpu: 1).Leave(7, WorkFn, cpu: 1)
            .Run(o);
        Assert.Empty(r.Races);
        var during = new RaceScenario()
            .Enter(1, Init).Signal(1, W)
            .Wait(7, W, cpu: 1).Enter(7, WorkFn, cpu: 1)
            .Write(1, PcA, X).Leave(1, Init)
            .Read(7, PcB, X, cpu: 1).Leave(7, WorkFn, cpu: 1)
            .Run(o);
        Assert.Single(during.Races);
    }

    [Fact]
    public void Each_return_of_a_setup_function_orders_threads_first_seen_after_it()
    {
        const ulong Fill = 0xffffffffc0200000;
        var o = new RaceDetectorOptions { SetupFunctions = new HashSet<ulong> { Fill } };
        var s = new RaceScenario().Enter(1, Fill).Write(1, PcA, X).Leave(1, Fill).Read(2, PcB, X, cpu: 1)
            .Enter(3, Fill, cpu: 2).Write(3, PcA, Y, cpu: 2).Leave(3, Fill, cpu: 2).Read(4, PcB, Y, cpu: 1)
            .Write(1, PcC, X);   // after its setup call, thread 1 is not ordered with thread 2's read
        var r = s.Run(o);
        var p = Assert.Single(r.Races);
        Assert.Equal((PcB, PcC), (p.First.Pc, p.Second.Pc));
        // Without the rule: (PcA, PcB) on X and on Y (one pair, seen twice) and (PcB, PcC).
        var without = s.Run();
        Assert.Equal(2, without.Races.Count);
        Assert.Equal(2, without.Races.Single(q => q.First.Pc == PcA).Count);
    }

    /// <summary>
    /// delete_module() (kernel/module/main.c) runs the exit function only after try_stop_module() dropped the
    /// module's refcount to zero (atomic_sub_return, fully ordered), and a task holding a reference drops it with
    /// module_put() (atomic_dec_if_positive) only after its calls into the module returned: a task's return
    /// from the module happens before exit starts. Callbacks of hand-offs (a kthread, a work item), interrupt
    /// contexts and a task still inside the module hold no reference: they stay concurrent with exit.
    /// </summary>
    [Fact]
    public void A_tasks_return_from_the_module_happens_before_the_modules_exit()
    {
        const ulong Exit = 0xffffffffc0130000, Write = 0xffffffffc0140000, ThreadFn = 0xffffffffc0150000, Irq = 0xffffffffc0160000;
        var o = new RaceDetectorOptions { ExitFunction = Exit };
        var s = new RaceScenario().Enter(1, Write).Write(1, PcA, X).Leave(1, Write)
            .Enter(9, Exit, cpu: 1).Write(9, PcB, X, cpu: 1).Leave(9, Exit, cpu: 1);
        Assert.Empty(s.Run(o).Races);
        Assert.Single(s.Run().Races);   // without the rule
        // The thread function of a kthread the module started (a SIGNAL on its address), returned or not.
        var kthread = new RaceScenario().Signal(1, ThreadFn).Enter(7, ThreadFn, cpu: 2).Write(7, PcA, X, cpu: 2).Leave(7, ThreadFn, cpu: 2)
            .Enter(9, Exit, cpu: 1).Write(9, PcB, X, cpu: 1).Leave(9, Exit, cpu: 1);
        Assert.Single(kthread.Run(o).Races);
        // A task inside the module when exit starts; an interrupt handler that returned before.
        var inside = new RaceScenario().Enter(1, Write).Write(1, PcA, X)
            .Enter(9, Exit, cpu: 1).Write(9, PcB, X, cpu: 1).Leave(9, Exit, cpu: 1).Leave(1, Write);
        Assert.Single(inside.Run(o).Races);
        var irq = new RaceScenario().Enter(0, Irq, cpu: 2, ctx: 1).Write(0, PcA, X, cpu: 2, ctx: 1).Leave(0, Irq, cpu: 2, ctx: 1)
            .Enter(9, Exit, cpu: 1).Write(9, PcB, X, cpu: 1).Leave(9, Exit, cpu: 1);
        Assert.Single(irq.Run(o).Races);
        // What a task does after exit started is not ordered either way.
        var later = new RaceScenario().Enter(9, Exit, cpu: 1).Write(9, PcB, X, cpu: 1)
            .Enter(1, Write).Write(1, PcA, X).Leave(1, Write).Leave(9, Exit, cpu: 1);
        Assert.Single(later.Run(o).Races);
    }

    [Fact]
    public void Call_stacks_are_rebuilt_from_entries_and_exits()
    {
        const ulong F = 0xffffffffc0010000, G = 0xffffffffc0020000, H = 0xffffffffc0030000;
        var r = new RaceScenario()
            .Enter(1, F).Enter(1, H).Leave(1, H).Enter(1, G).Write(1, PcA, X).Leave(1, G).Leave(1, F)
            .Enter(2, H, cpu: 1).Read(2, PcB, X, cpu: 1).Run();
        var p = Assert.Single(r.Races);
        Assert.Equal([G, F], p.First.Stack);
        Assert.Equal([H], p.Second.Stack);
    }

    [Fact]
    public void A_race_in_an_allocation_names_it_and_the_offset_and_reuse_is_not_a_race()
    {
        var r = new RaceScenario().Alloc(1, X, 64, pc: PcC).Write(1, PcA, X + 24).Write(2, PcB, X + 24, cpu: 1).Run();
        var p = Assert.Single(r.Races);
        Assert.Equal(new RaceAllocation(X, 64, PcC, 24), p.Allocation);
        var reuse = new RaceScenario().Alloc(1, X, 64).Write(1, PcA, X + 8).Free(1, X).Alloc(2, X, 32).Write(2, PcB, X + 8, cpu: 1).Run();
        Assert.Empty(reuse.Races);
    }

    /// <summary>
    /// Publication (docs/races.md): the creator fills fields of its new block (an inode inside it at 152,
    /// as in fat's msdos_inode_info), publishes the inode, another task reads the fields: ordered. The same
    /// trace without the publication, or with a plain hand-off signal nobody waits for, has both pairs.
    /// </summary>
    [Fact]
    public void Accesses_to_a_published_block_are_ordered_after_its_initialisation()
    {
        RaceResult Run(Func<RaceScenario, RaceScenario> publish) =>
            publish(new RaceScenario().Alloc(1, X, 256, pc: PcC).Write(1, PcA, X + 8, 8).Write(1, PcA + 4, X + 40))
                .Read(2, PcB, X + 8, 8, cpu: 1).Read(2, PcB + 4, X + 40, cpu: 1).Run();
        var published = Run(s => s.Publish(1, X + 152));
        Assert.Empty(published.Races);
        Assert.Equal(1, published.Publications);
        var none = Run(s => s);
        Assert.Equal(2, none.Races.Count);
        Assert.Equal(0, none.Publications);
        Assert.Equal(2, Run(s => s.Signal(1, X + 152)).Races.Count);
    }

    /// <summary>
    /// A publication orders what the creator did before it, not after: a field written after it races with
    /// a reader (either order); an address outside the block, or a publication with no traced block, is not ordered.
    /// </summary>
    [Fact]
    public void A_publication_orders_only_the_creators_earlier_accesses_to_its_block()
    {
        var late = new RaceScenario().Alloc(1, X, 256).Write(1, PcA, X + 8).Publish(1, X + 152).Write(1, PcC, X + 16)
            .Read(2, PcB, X + 8, cpu: 1).Read(2, PcB + 4, X + 16, cpu: 1).Run();
        var p = Assert.Single(late.Races);
        Assert.Equal((PcC, PcB + 4), (p.First.Pc, p.Second.Pc));
        var afterRead = new RaceScenario().Alloc(1, X, 256).Write(1, PcA, X + 8).Publish(1, X + 152)
            .Read(2, PcB, X + 8, cpu: 1).Write(1, PcC, X + 8).Run();
        p = Assert.Single(afterRead.Races);
        Assert.Equal((PcB, PcC), (p.First.Pc, p.Second.Pc));
        var outside = new RaceScenario().Alloc(1, X, 64).Write(1, PcA, X + 64).Publish(1, X)
            .Read(2, PcB, X + 64, cpu: 1).Run();
        Assert.Single(outside.Races);
        var untraced = new RaceScenario().Write(1, PcA, Y + 8).Publish(1, Y).Read(2, PcB, Y + 8, cpu: 1).Run();
        Assert.Single(untraced.Races);
        Assert.Equal(0, untraced.Publications);
    }

    /// <summary>
    /// Locks, signalled objects and atomics inside a freed block are gone with it: their clocks are
    /// forgotten (memory stays bounded by live objects), those outside the block are kept.
    /// </summary>
    [Fact]
    public void Sync_objects_inside_a_freed_block_are_forgotten()
    {
        var s = new RaceScenario().Alloc(1, X, 64)
            .Lock(1, X + 8).Unlock(1, X + 8).Lock(1, X + 16, shared: true).Unlock(1, X + 16, shared: true)
            .Signal(1, X + 24).Atomic(1, X + 60).Atomic(1, X + 64).Lock(1, L).Unlock(1, L);
        Assert.Equal(6, s.Run().SyncObjects);
        Assert.Equal(2, s.Free(1, X).Run().SyncObjects);
    }

    /// <summary>
    /// A block allocated over part of a known one means the old one was freed by a call the trace does not
    /// show: a race in the overlap belongs to the new block; a large block is found too.
    /// </summary>
    [Fact]
    public void A_race_names_the_block_allocated_last_over_a_stale_one()
    {
        const ulong PcAlloc2 = 0xffffffffc0004040, Big = 0xffff888010000000;
        var r = new RaceScenario().Alloc(1, X, 64, pc: PcC).Alloc(1, X + 32, 64, pc: PcAlloc2)
            .Write(1, PcA, X + 40).Write(2, PcB, X + 40, cpu: 1)
            .Alloc(1, Big, 1 << 20, pc: PcC).Write(1, PcA, Big + 0x80000).Write(2, PcC, Big + 0x80000, cpu: 1).Run();
        Assert.Equal(2, r.Races.Count);
        Assert.Equal(new RaceAllocation(X + 32, 64, PcAlloc2, 8), r.Races[0].Allocation);
        Assert.Equal(new RaceAllocation(Big, 1 << 20, PcC, 0x80000), r.Races[1].Allocation);
    }

    [Fact]
    public void The_shadow_cap_forgets_old_cells_and_says_so()
    {
        // Cap of 2 cells: after X is written, two other cells are touched, X's shadow is dropped and the race with it is lost.
        var s = new RaceScenario().Write(1, PcA, X).Write(1, PcA, Y).Write(1, PcA, Y + 8).Write(1, PcA, Y + 16).Write(2, PcB, X, cpu: 1);
        var r = s.Run(new RaceDetectorOptions { ShadowCells = 2 });
        Assert.Empty(r.Races);
        Assert.True(r.EvictedCells > 0);
        Assert.Single(s.Run().Races);
    }

    [Fact]
    public void Locksets_name_the_lock_only_one_side_held()
    {
        var r = new RaceScenario()
            .Lock(1, L).Lock(1, L + 64, shared: true).Write(1, PcA, X).Unlock(1, L + 64, shared: true).Unlock(1, L)
            .Lock(2, L + 64, shared: true, cpu: 1).Write(2, PcB, X, cpu: 1).Unlock(2, L + 64, shared: true, cpu: 1).Write(2, PcC, Y, cpu: 1)
            .Write(1, PcA, Y).Run();
        Assert.Equal(2, r.Races.Count);
        var p = r.Races[0];
        Assert.Equal([new HeldLock(L, false), new HeldLock(L + 64, true)], p.First.Locks);
        Assert.Equal([new HeldLock(L + 64, true)], p.Second.Locks);
        Assert.Equal([L], p.ProtectingLocks);
        // After the releases neither holds anything: no lock to name.
        Assert.Empty(r.Races[1].First.Locks);
        Assert.Empty(r.Races[1].Second.Locks);
        Assert.Empty(r.Races[1].ProtectingLocks);
    }
}
