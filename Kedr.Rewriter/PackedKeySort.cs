namespace Kedr.Rewriter;

/// <summary>
/// Sorting by a key packed into one number (section, offset, ...): numbers sort several times faster
/// than a compared struct, and only runs of equal keys are then put in order by a comparer.
/// </summary>
internal static class PackedKeySort
{
    /// <summary>Sorts <paramref name="items"/> by <paramref name="keys"/> (sorted with them), equal keys by <paramref name="tieBreak"/>.</summary>
    public static void Sort<T>(ulong[] keys, T[] items, IComparer<T> tieBreak)
    {
        Array.Sort(keys, items);
        for (int i = 0, j; i < keys.Length; i = j)
        {
            for (j = i + 1; j < keys.Length && keys[j] == keys[i]; j++) { }
            if (j - i > 1) Array.Sort(items, i, j - i, tieBreak);
        }
    }
}
