using System.Runtime.InteropServices;

namespace Kedr.Output.Races;

/// <summary>
/// Happens-before data-race detection over a trace's merged events, FastTrack-style: a vector clock
/// per logical thread (<see cref="ThreadIdentity"/>) and per synchronization object, epochs in the
/// shadow cells, byte-exact (<see cref="ShadowCell"/>: the last write of each byte, one last read unless reads were concurrent).
/// What orders what is docs/races.md: lock release → later acquire of the lock, signal → wait on
/// the same object (or a signal on a function's address → that function's later entries), a locked update → every later locked update of the same address, the module's
/// init (its return) → every thread first seen after it, a task's return from the module → the module's exit, an object's publication → every later access to its
/// traced block (docs/races.md, "Publication"). Two %gs-relative (per-CPU) accesses, and two accesses of two tasks each to
/// its own task_struct, are never concurrent (docs/races.md, "Per-CPU data", "Tasks"). Locked updates are synchronization, not
/// data accesses: they are never reported. Each pair of instructions is reported once (with a count).
/// </summary>
public sealed class RaceDetector
{
    private readonly RaceDetectorOptions _o;
    private readonly Dictionary<ThreadIdentity, LogicalThread> _threadsById = [];
    private readonly List<LogicalThread> _threads = [];
    private readonly SyncClocks _lockWrite = new(), _lockRead = new(), _signals = new(), _atomics = new();
    /// <summary>By callback address: the join of the clocks at the ends of its runs from the kernel (docs/races.md, "Hand-off to a callback").</summary>
    private readonly SyncClocks _callbackEnds = new();
    private readonly LiveAllocations _allocations = new();
    private readonly Publications _published = new();
    private long _publications;
    private readonly Dictionary<(ulong, ulong), RacePair> _pairs = [];
    private readonly List<RacePair> _order = [];
    private readonly ShadowMemory _shadow;
    private readonly CallStacks _stacks;
    private readonly LockSets _lockSets = new();
    /// <summary>The earlier accesses the current one was found racing with (one access spans several cells: counted once).</summary>
    private readonly List<(long Epoch, ulong Pc, ulong Timestamp)> _racedThisAccess = [];
    private LogicalThread? _initThread;
    private VectorClock? _afterInit, _afterSetup;
    /// <summary>The join of the clocks of the tasks' returns from the module before its exit function began (docs/races.md, "Module exit").</summary>
    private VectorClock? _beforeExit;
    private bool _exitStarted;
    private long _events, _memory, _sync, _truncated, _overLimit;
    /// <summary>Kernel stacks by base: the task seen last accessing each as its own stack (docs/races.md, "Stacks").</summary>
    private readonly Dictionary<ulong, ulong> _stackOwners = [];
    private long _stacksReused;
    /// <summary>Unordered conflicts <see cref="NeverConcurrent"/> excluded: both per-CPU; both in their own task_struct.</summary>
    private long _excludedPerCpu, _excludedOwnTask;

    public RaceDetector(RaceDetectorOptions? options = null)
    {
        _o = options ?? new RaceDetectorOptions();
        _shadow = new ShadowMemory(_o.ShadowCells);
        _stacks = new CallStacks(_o.StackNodes);
    }

    public CallStacks Stacks => _stacks;

    public static RaceResult Run(Trace trace, RaceDetectorOptions? options = null)
    {
        var d = new RaceDetector(options);
        foreach (var e in trace.Events) d.Process(e);
        return d.Result(trace.DroppedCount);
    }

    /// <summary>As <see cref="Run(Trace, RaceDetectorOptions?)"/>, the trace read as a stream: memory does not grow with its length.</summary>
    public static RaceResult Run(StreamedTrace trace, RaceDetectorOptions? options = null)
    {
        var d = new RaceDetector(options);
        foreach (var e in trace.Events()) d.Process(e);
        return d.Result(trace.DroppedCount);
    }

    public RaceResult Result(long dropped = 0) => new()
    {
        Races = _order,
        Events = _events,
        MemoryEvents = _memory,
        SyncEvents = _sync,
        Threads = _threads.Count,
        EvictedCells = _shadow.Evicted,
        PeakCells = _shadow.PeakCount,
        TruncatedAccesses = _truncated,
        PairsOverLimit = _overLimit,
        DroppedEvents = dropped,
        InitSeen = _afterInit is not null,
        ReusedStacks = _stacksReused,
        PerCpuConflicts = _excludedPerCpu,
        ReusedTaskConflicts = _excludedOwnTask,
        Publications = _publications,
        SyncObjects = _lockWrite.Count + _lockRead.Count + _signals.Count + _atomics.Count,
    };

    /// <summary>Takes the next event in merged (time) order.</summary>
    public void Process(in TraceEvent e)
    {
        _events++;
        var t = Thread(e);
        t.LastTid = e.Tid;
        if (e.StackOrder != 0) OwnStack(e);
        switch (e.Kind)
        {
            case TraceEventKind.Entry:
                if (_afterInit is null && _initThread is null && e.Pc == _o.InitFunction) _initThread = t;
                if (t.Stack == CallStacks.Root)
                {
                    // A new entry into the module (a handler run of a per-CPU interrupt context, a kworker's next work item,
                    // a task's next system call): as a thread first seen now, it is ordered after init and setups.
                    if (_afterInit is not null) t.Clock.Join(_afterInit);
                    if (_afterSetup is not null) t.Clock.Join(_afterSetup);
                }
                // A hand-off to a callback (queue_work_on, mod_timer: a SIGNAL on the callback's address) is
                // waited for where the callback starts: its entry event.
                bool callback = _signals.TryGetValue(e.Pc, out var handedOff);
                if (callback) t.Clock.Join(handedOff!);
                if (t.Stack == CallStacks.Root) t.InCallback = callback;
                if (e.Pc == _o.ExitFunction && !_exitStarted)
                {
                    // delete_module() runs exit once the module's refcount dropped to zero: every task's call into the
                    // module under a reference returned before (docs/races.md, "Module exit").
                    _exitStarted = true;
                    if (_beforeExit is not null) t.Clock.Join(_beforeExit);
                }
                t.Stack = _stacks.Enter(t.Stack, e.Pc);
                break;
            case TraceEventKind.Exit:
                t.Stack = _stacks.Exit(t.Stack, e.Pc);
                if (t.Stack == CallStacks.Root && t.InCallback)
                {
                    // A run of a handed-off callback ended: what waits for its end (cancel_work_sync...) is ordered
                    // after it. Its own later runs are not: they join the hand-offs' signals, not this.
                    _callbackEnds.Get(e.Pc).Join(t.Clock);
                    t.Tick();
                }
                if (t.Stack == CallStacks.Root && _o.ExitFunction is not null && !_exitStarted && !t.InCallback
                    && t.Identity is { Context: TraceContext.Task, Tid: not 0 })
                {
                    // A task's call into the module returned (a system call, a mount's callback): ordered before exit.
                    (_beforeExit ??= new VectorClock()).Join(t.Clock);
                    t.Tick();
                }
                if (t == _initThread && e.Pc == _o.InitFunction && _afterInit is null)
                {
                    _afterInit = new VectorClock();
                    _afterInit.CopyFrom(t.Clock);
                    t.Tick();
                }
                else if (_o.SetupFunctions.Contains(e.Pc))
                {
                    (_afterSetup ??= new VectorClock()).Join(t.Clock);
                    t.Tick();
                }
                break;
            case TraceEventKind.Read:
            case TraceEventKind.Write:
                _memory++;
                Access(t, e);
                break;
            case TraceEventKind.LockedUpdate:
                // Stamped before the instruction ran: the release side (and an acquire, which is all
                // a trace without LOCKED_DONE records has; an early acquire only adds order).
                _sync++;
                var a = _atomics.Get(e.Addr);
                t.Clock.Join(a);
                a.CopyFrom(t.Clock);
                t.Tick();
                break;
            case TraceEventKind.LockedDone:
                // The same update, stamped after it took effect: the acquire side. Every update merged
                // before it was stamped before it took effect, so before this one did.
                if (_atomics.TryGetValue(e.Addr, out var done)) t.Clock.Join(done);
                break;
            case TraceEventKind.Acquire:
                _sync++;
                if (_lockWrite.TryGetValue(e.Addr, out var w)) t.Clock.Join(w);
                if (e.Size != (uint)TraceSyncMode.Shared && _lockRead.TryGetValue(e.Addr, out var r)) t.Clock.Join(r);
                t.Held.Add(new HeldLock(e.Addr, e.Size == (uint)TraceSyncMode.Shared));
                t.LockSet = _lockSets.Intern(t.Held);
                break;
            case TraceEventKind.Release:
                _sync++;
                (e.Size == (uint)TraceSyncMode.Shared ? _lockRead : _lockWrite).Get(e.Addr).Join(t.Clock);
                t.Tick();
                int held = t.Held.LastIndexOf(new HeldLock(e.Addr, e.Size == (uint)TraceSyncMode.Shared));
                if (held >= 0) { t.Held.RemoveAt(held); t.LockSet = _lockSets.Intern(t.Held); }
                break;
            case TraceEventKind.Signal:
                _sync++;
                if (e.Size == (uint)TraceSignalMode.Publish)
                {
                    // An object made visible to other tasks (an inode put in the icache or dcache): later
                    // accesses to the block holding it are ordered after this. Without a traced block, nothing.
                    if (_allocations.Find(e.Addr) is { } block && _published.Publish(block.Block, block.Size, t.Index, t.Clock))
                        _publications++;
                }
                else
                    _signals.Get(e.Addr).Join(t.Clock);
                t.Tick();
                break;
            case TraceEventKind.Wait:
                _sync++;
                if (e.Size == (uint)TraceWaitMode.CallbackEnd)
                {
                    // cancel_work_sync, timer_delete_sync... returned: every run of the callback at Addr has ended.
                    if (_callbackEnds.TryGetValue(e.Addr, out var ended)) t.Clock.Join(ended);
                    break;
                }
                if (_signals.TryGetValue(e.Addr, out var s)) t.Clock.Join(s);
                break;
            case TraceEventKind.Alloc:
                _allocations.Add(e.Addr, e.Size, e.Pc);
                _shadow.Clear(e.Addr, e.Size);
                _published.Forget(e.Addr, e.Size);
                break;
            case TraceEventKind.Free:
                if (_allocations.Remove(e.Addr, out var blkSize))
                {
                    _shadow.Clear(e.Addr, blkSize);
                    _published.Forget(e.Addr, blkSize);
                    foreach (var sync in new[] { _lockWrite, _lockRead, _signals, _atomics }) sync.Forget(e.Addr, blkSize);
                }
                break;
        }
    }

    /// <summary>
    /// An access to the running task's own kernel stack. A stack belongs to one task for that task's
    /// life; another task using it as its own means the first one exited and its stack was given to
    /// the new one (VMAP_STACK's cache, or the page allocator): what the old one and anyone else did
    /// there is forgotten, as a FREE would, shadow and synchronization objects. Accesses of other
    /// tasks to a live task's on-stack objects (a wait-queue entry, a completion) are not on their own
    /// stack: they change nothing and are checked as any access.
    /// </summary>
    private void OwnStack(in TraceEvent e)
    {
        int order = e.StackOrder;
        if (order is < 12 or > 20) return; // a page to 1 MiB: anything else is not a stack size
        ulong size = 1UL << order, stackBase = e.Addr & ~(size - 1);
        ulong owner = e.Tid != 0 ? e.Tid : 1UL << 32 | e.Cpu; // idle tasks are all tid 0, one per CPU
        if (!_stackOwners.TryGetValue(stackBase, out var was))
        {
            _stackOwners[stackBase] = owner;
            return;
        }
        if (was == owner) return;
        _stackOwners[stackBase] = owner;
        _stacksReused++;
        _shadow.Clear(stackBase, size);
        _published.Forget(stackBase, size);
        foreach (var sync in new[] { _lockWrite, _lockRead, _signals, _atomics }) sync.Forget(stackBase, size);
    }

    private LogicalThread Thread(in TraceEvent e)
    {
        var id = ThreadIdentity.Of(e);
        if (_threadsById.TryGetValue(id, out var t)) return t;
        if (_threads.Count >= Epoch.MaxThreads - 1) throw new InvalidOperationException("more than 2^24 logical threads");
        t = new LogicalThread(_threads.Count, id);
        if (_afterInit is not null) t.Clock.Join(_afterInit);
        if (_afterSetup is not null) t.Clock.Join(_afterSetup);
        _threads.Add(t);
        _threadsById[id] = t;
        return t;
    }

    private void Access(LogicalThread t, in TraceEvent e)
    {
        uint size = e.Size;
        if (size == 0) return;
        if (size > _o.MaxAccessBytes) { size = _o.MaxAccessBytes; _truncated++; }
        bool write = e.Kind == TraceEventKind.Write;
        // An access to a published object acquires its publications (a no-op for the publisher and once done).
        _published.Acquire(e.Addr, t.Clock);
        _racedThisAccess.Clear();
        ulong end = e.Addr + size;
        if (end < e.Addr) end = ulong.MaxValue;
        long epoch = t.Epoch;
        for (ulong cellAddr = e.Addr & ~7ul; cellAddr < end && cellAddr >= (e.Addr & ~7ul); cellAddr += 8)
        {
            ulong lo = Math.Max(cellAddr, e.Addr), hi = Math.Min(cellAddr + 8, end);
            byte mask = (byte)(((1 << (int)(hi - lo)) - 1) << (int)(lo - cellAddr));
            var cell = _shadow.Get(cellAddr >> 3);
            var cur = new ShadowAccess(epoch, e.Pc, t.Stack, e.Timestamp, e.Addr, e.Size, e.Tid, mask, write, e.Cpu, t.LockSet, e.Flags);
            if (write)
            {
                // Fast path: the thread's own last write, alone in the cell, of these bytes or by this instruction.
                if (cell.Write.Epoch == epoch && cell.Writes is null && cell.SharedReads is null && cell.Read.IsNone &&
                    (cell.Write.Pc == cur.Pc || (cell.Write.Mask & ~mask) == 0))
                {
                    cell.Write = cur with { Mask = (byte)(cell.Write.Mask | mask) };
                    continue;
                }
                foreach (ref readonly var w in cell.AllWrites) Check(t, w, cur);
                foreach (ref readonly var r in cell.AllReads) Check(t, r, cur);
                cell.PutWrite(cur, t);
            }
            else
            {
                // Fast path: the thread's own last read, alone, has read these bytes in this epoch (checked then).
                if (cell.Read.Epoch == epoch && cell.SharedReads is null && (mask & ~cell.Read.Mask) == 0 &&
                    (cell.Read.Pc == cur.Pc || cell.Read.Mask == mask))
                {
                    cell.Read = cur with { Mask = cell.Read.Mask };
                    continue;
                }
                // The same, read-shared: the thread's entry is the newest one (its earlier ones never overlap it).
                if (cell.SharedReads is { Count: > 0 } shared)
                {
                    ref var last = ref CollectionsMarshal.AsSpan(shared)[^1];
                    if (last.Epoch == epoch && (mask & ~last.Mask) == 0 && (last.Pc == cur.Pc || last.Mask == mask))
                    {
                        last = cur with { Mask = last.Mask };
                        continue;
                    }
                }
                foreach (ref readonly var w in cell.AllWrites) Check(t, w, cur);
                cell.PutRead(cur, t);
            }
        }
    }

    private static bool Covers(LogicalThread t, in ShadowAccess prev) =>
        t.Clock.Covers(Epoch.Thread(prev.Epoch), Epoch.Clock(prev.Epoch));

    private void Check(LogicalThread t, in ShadowAccess prev, in ShadowAccess cur)
    {
        if (prev.IsNone || (prev.Mask & cur.Mask) == 0) return;
        if (Epoch.Thread(prev.Epoch) == t.Index || Covers(t, prev)) return;
        if (NeverConcurrent(prev, cur)) return;
        var occurrence = (prev.Epoch, prev.Pc, prev.Timestamp);
        if (_racedThisAccess.Contains(occurrence)) return;
        _racedThisAccess.Add(occurrence);
        var key = prev.Pc <= cur.Pc ? (prev.Pc, cur.Pc) : (cur.Pc, prev.Pc);
        if (_pairs.TryGetValue(key, out var p)) { p.Count++; return; }
        if (_pairs.Count >= _o.MaxPairs) { _overLimit++; return; }
        p = new RacePair { First = Describe(prev), Second = Describe(cur), Allocation = _allocations.Find(cur.Addr) };
        _pairs[key] = p;
        _order.Add(p);
    }

    /// <summary>
    /// Pairs the model excludes although no edge orders them (docs/races.md, "Per-CPU data" and "Tasks"). Both
    /// %gs-relative: one address reached through %gs is one CPU's copy, and the two accesses are single instructions
    /// on that CPU, which never overlap (an interrupt or a preemption comes between instructions). Both inside the
    /// running task's own task_struct, in two tasks: a task_struct belongs to one task for its life, so the two are
    /// two lives of reused memory, as a freed block given to a new owner is.
    /// </summary>
    private bool NeverConcurrent(in ShadowAccess prev, in ShadowAccess cur)
    {
        var both = prev.Flags & cur.Flags;
        if ((both & TraceRecordFlags.PerCpu) != 0) { _excludedPerCpu++; return true; }
        if ((both & TraceRecordFlags.OwnTask) != 0 && prev.Tid != cur.Tid) { _excludedOwnTask++; return true; }
        return false;
    }

    private RaceAccess Describe(in ShadowAccess a)
    {
        var th = _threads[Epoch.Thread(a.Epoch)];
        return new RaceAccess(a.IsWrite, a.Pc, a.Addr, a.Size, th.Identity, a.Tid, a.Cpu, a.Timestamp, _stacks.Frames(a.Stack))
        {
            Locks = _lockSets[a.LockSet],
        };
    }
}
