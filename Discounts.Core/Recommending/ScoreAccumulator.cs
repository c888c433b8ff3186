namespace Discounts.Core.Recommending;

/// <summary>
/// One source's scores over catalogue rows, with the strongest single contribution's origin per item: dense arrays
/// reused by the thread (generation never awaits), so a request allocates nothing per touched item.
/// </summary>
internal sealed class ScoreAccumulator
{
    [ThreadStatic]
    private static ScoreAccumulator? current;

    private readonly List<int> touched = [];
    private float[] scores = [];
    private float[] strongestWeight = [];
    private int[] strongest = [];

    public static ScoreAccumulator For(int items)
    {
        var accumulator = current ??= new ScoreAccumulator();
        if (accumulator.scores.Length < items)
        {
            accumulator.scores = new float[items];
            accumulator.strongestWeight = new float[items];
            accumulator.strongest = new int[items];
        }

        return accumulator;
    }

    public void Add(int item, float contribution, int origin)
    {
        if (scores[item] == 0 && strongestWeight[item] == 0 && strongest[item] == 0)
        {
            touched.Add(item);
            strongest[item] = -1;
        }

        scores[item] += contribution;
        if (contribution > strongestWeight[item])
        {
            strongestWeight[item] = contribution;
            strongest[item] = origin;
        }
    }

    /// <summary>
    /// The best <paramref name="count"/> positive scores, best first (ties by item), each divided by the best so the
    /// top one is 1; then clears itself. A bounded heap rather than a sort: on a large catalogue a common term
    /// matches thousands of items, and only a few are kept.
    /// </summary>
    public (int Item, float Score, int Strongest)[] TakeTop(int count)
    {
        // The heap's minimum is the worst kept entry: lower score first, then higher item (which loses the tie-break).
        var kept = new PriorityQueue<int, (int Item, float Score)>(count + 1, WorstFirst.Instance);
        foreach (var item in touched)
        {
            var entry = (item, scores[item]);
            if (!(entry.Item2 > 0))
            {
                continue;
            }

            if (kept.Count < count)
            {
                kept.Enqueue(item, entry);
            }
            else if (kept.TryPeek(out _, out var worst) && WorstFirst.Instance.Compare(entry, worst) > 0)
            {
                kept.DequeueEnqueue(item, entry);
            }
        }

        var top = new (int Item, float Score, int Strongest)[kept.Count];
        for (var i = top.Length - 1; kept.TryDequeue(out var item, out _); i--)
        {
            top[i] = (item, scores[item], strongest[item]);
        }

        var best = top.Length == 0 ? 1 : top[0].Score;
        for (var i = 0; i < top.Length; i++)
        {
            top[i].Score /= best;
        }

        foreach (var item in touched)
        {
            (scores[item], strongestWeight[item], strongest[item]) = (0, 0, 0);
        }

        touched.Clear();
        return top;
    }

    private sealed class WorstFirst : IComparer<(int Item, float Score)>
    {
        public static readonly WorstFirst Instance = new();

        public int Compare((int Item, float Score) x, (int Item, float Score) y)
        {
            var byScore = x.Score.CompareTo(y.Score);
            return byScore != 0 ? byScore : y.Item.CompareTo(x.Item);
        }
    }
}
