namespace Kedr.Output.Races;

/// <summary>The detector's state of one logical thread: its clock and its call stack.</summary>
internal sealed class LogicalThread(int index, ThreadIdentity identity)
{
    public int Index { get; } = index;
    public ThreadIdentity Identity { get; } = identity;
    public VectorClock Clock { get; } = NewClock(index);
    /// <summary>The interned call stack (<see cref="CallStacks"/>) the thread is in now.</summary>
    public int Stack { get; set; } = CallStacks.Root;
    /// <summary>The locks held now (ACQUIRE seen, RELEASE not yet), and their interned set.</summary>
    public List<HeldLock> Held { get; } = [];
    public int LockSet { get; set; } = LockSets.None;
    /// <summary>The outermost call the thread is in came into the module as a hand-off's callback (a SIGNAL on its address).</summary>
    public bool InCallback { get; set; }
    /// <summary>Last tid seen in this context (interrupt contexts run in varying tasks).</summary>
    public uint LastTid { get; set; }

    public int Now => Clock[Index];
    public long Epoch => Races.Epoch.Make(Index, Now);

    /// <summary>Ends the thread's current step: what it does next is not covered by clocks taken before.</summary>
    public void Tick() => Clock[Index] = Now + 1;

    private static VectorClock NewClock(int index)
    {
        var c = new VectorClock(index + 1);
        c[index] = 1;
        return c;
    }
}
