namespace Discounts.Core.Recommending;

/// <summary>
/// One source's scores over catalogue rows, with the strongest single contribution's origin per item: a dense array
/// reused by the thread (generation never awaits), so a request allocates nothing per touched item.
/// </summary>
/// <remarks>
/// The item graph sources add tens of thousands of contributions per ranking on a dense shop, and this was a third of
/// a ranking's CPU in a perf profile. So an item's score, strongest contribution and its origin sit in one struct
/// (one cache line per add, not three), and the best items are found by selection over primitive keys, not a heap
/// with a comparer.
/// </remarks>
internal sealed class ScoreAccumulator
{
    [ThreadStatic]
    private static ScoreAccumulator? current;

    private int[] touched = new int[256];
    private int touchedCount;
    private Entry[] entries = [];
    private ulong[] keys = new ulong[256];

    public static ScoreAccumulator For(int items)
    {
        var accumulator = current ??= new ScoreAccumulator();
        if (accumulator.entries.Length < items)
        {
            accumulator.entries = new Entry[items];
        }

        return accumulator;
    }

    /// <summary>Adds <paramref name="scale"/> times each weight to its target: one graph row, in one call rather than one per edge.</summary>
    public void AddRow(ReadOnlySpan<int> targets, ReadOnlySpan<float> weights, float scale, int origin)
    {
        for (var i = 0; i < targets.Length; i++)
        {
            Add(targets[i], scale * weights[i], origin);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Add(int item, float contribution, int origin)
    {
        ref var entry = ref entries[item];
        if (!entry.Touched)
        {
            entry.Touched = true;
            entry.Strongest = -1;
            if (touchedCount == touched.Length)
            {
                Array.Resize(ref touched, touched.Length * 2);
            }

            touched[touchedCount++] = item;
        }

        entry.Score += contribution;
        if (contribution > entry.StrongestWeight)
        {
            entry.StrongestWeight = contribution;
            entry.Strongest = origin;
        }
    }

    /// <summary>
    /// The best <paramref name="count"/> positive scores, best first (ties by item), each divided by the best so the
    /// top one is 1; then clears itself.
    /// </summary>
    public (int Item, float Score, int Strongest)[] TakeTop(int count)
    {
        if (keys.Length < touchedCount)
        {
            keys = new ulong[Math.Max(touchedCount, keys.Length * 2)];
        }

        var positive = 0;
        for (var i = 0; i < touchedCount; i++)
        {
            var item = touched[i];
            var score = entries[item].Score;
            if (score > 0)
            {
                keys[positive++] = RankKey(score, item);
            }
        }

        var top = Selection.SmallestSorted(keys.AsSpan(0, positive), count);
        var result = new (int Item, float Score, int Strongest)[top.Length];
        for (var i = 0; i < top.Length; i++)
        {
            var item = ItemOf(top[i]);
            result[i] = (item, entries[item].Score, entries[item].Strongest);
        }

        var best = result.Length == 0 ? 1 : result[0].Score;
        for (var i = 0; i < result.Length; i++)
        {
            result[i].Score /= best;
        }

        for (var i = 0; i < touchedCount; i++)
        {
            entries[touched[i]] = default;
        }

        touchedCount = 0;
        return result;
    }

    /// <summary>Lower for a better entry: a positive float's bits order like the float, and a lower item wins a tie.</summary>
    private static ulong RankKey(float score, int item) => ~(((ulong)BitConverter.SingleToUInt32Bits(score) << 32) | ~(uint)item);

    private static int ItemOf(ulong key) => (int)(uint)key;

    private struct Entry
    {
        public float Score;
        public float StrongestWeight;
        public int Strongest;
        public bool Touched;
    }
}
