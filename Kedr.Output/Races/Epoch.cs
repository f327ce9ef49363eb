namespace Kedr.Output.Races;

/// <summary>
/// FastTrack's epoch: step <c>Clock</c> of logical thread <c>Thread</c>, packed in one 64-bit value
/// (thread in the low 24 bits, clock above). 0 is "none" (clocks start at 1).
/// </summary>
public static class Epoch
{
    public const long None = 0;
    public const int ThreadBits = 24;
    public const int MaxThreads = 1 << ThreadBits;

    public static long Make(int thread, int clock) => ((long)clock << ThreadBits) | (uint)thread;
    public static int Thread(long epoch) => (int)(epoch & (MaxThreads - 1));
    public static int Clock(long epoch) => (int)(epoch >> ThreadBits);
}
