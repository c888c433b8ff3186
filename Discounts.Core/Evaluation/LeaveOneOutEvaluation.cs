namespace Discounts.Core.Evaluation;

/// <summary>Hit rate (= recall with one target) and NDCG at each cutoff, averaged over the users evaluated.</summary>
public sealed record RankingMetrics(int Users, IReadOnlyDictionary<int, double> HitRate, IReadOnlyDictionary<int, double> Ndcg);

/// <summary>Sums hits and discounted gains of 0-based target ranks for several cutoffs.</summary>
public sealed class RankingMetricsAccumulator(IReadOnlyList<int> cutoffs)
{
    private readonly double[] hits = new double[cutoffs.Count];
    private readonly double[] gains = new double[cutoffs.Count];
    private int users;

    public void Add(int rank)
    {
        users++;
        for (var c = 0; c < cutoffs.Count; c++)
        {
            if (rank < cutoffs[c])
            {
                hits[c]++;
                gains[c] += 1 / Math.Log2(rank + 2);
            }
        }
    }

    public RankingMetrics Result() => new(
        users,
        cutoffs.Select((k, c) => (k, c)).ToDictionary(x => x.k, x => users == 0 ? 0 : hits[x.c] / users),
        cutoffs.Select((k, c) => (k, c)).ToDictionary(x => x.k, x => users == 0 ? 0 : gains[x.c] / users));
}

/// <summary>
/// Full-ranking leave-one-out evaluation (the protocol of S3-Rec, RecBole and the published anchors): the target is
/// ranked against every item, no sampled negatives, with the user's earlier items masked out.
/// </summary>
public static class LeaveOneOutEvaluation
{
    /// <summary>
    /// The 0-based rank of <paramref name="target"/>: the unmasked items scoring higher, plus those scoring the same
    /// with a lower index (a fixed tie-break that does not know the target). A target that is itself among the masked
    /// earlier items cannot be recommended, so it ranks last (as RecBole counts it).
    /// </summary>
    public static int Rank(ReadOnlySpan<float> scores, int target, ReadOnlySpan<bool> masked)
    {
        if (masked[target])
        {
            return scores.Length;
        }

        var targetScore = scores[target];
        var rank = 0;
        for (var item = 0; item < scores.Length; item++)
        {
            var score = scores[item];
            if ((score > targetScore || (score == targetScore && item < target)) && !masked[item])
            {
                rank++;
            }
        }

        return rank;
    }

    /// <summary>A fixed pseudo-random order of user positions, so that a bounded run always evaluates the same users.</summary>
    public static int[] DeterministicUserOrder(int userCount, int seed = 0)
    {
        var order = Enumerable.Range(0, userCount).ToArray();
        new Random(seed).Shuffle(order);
        return order;
    }
}
