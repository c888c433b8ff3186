namespace Discounts.Core.Recommending;

/// <summary>
/// Ranking measures of a linear score over each group's candidates, ranked as serving ranks them (score descending,
/// then list order, which is item order), and the direct search that optimises them.
/// </summary>
public static class BlendRanking
{
    public const int Cutoff = 10;

    /// <summary>The weights of one feature on its own.</summary>
    public static double[] Alone(int feature)
    {
        var weights = new double[RecommendationFeatures.Count];
        weights[feature] = 1;
        return weights;
    }

    /// <summary>HR@10 (share of groups with a positive in the top 10) and mean NDCG@10 (binary gains) over all groups.</summary>
    public static (double HitRate, double Ndcg) Measure(IReadOnlyList<FitGroup> groups, IReadOnlyList<double> weights)
    {
        var each = MeasureEach(groups, weights);
        return groups.Count == 0 ? (0, 0) : ((double)each.Count(e => e.Hit) / groups.Count, each.Sum(e => e.Ndcg) / groups.Count);
    }

    /// <summary>Per group: whether a positive is in the top 10, and NDCG@10.</summary>
    public static (bool Hit, double Ndcg)[] MeasureEach(IReadOnlyList<FitGroup> groups, IReadOnlyList<double> weights)
    {
        var result = new (bool Hit, double Ndcg)[groups.Count];
        // Groups are independent; thousands of them (offline replays) make the search's thousands of measures the fit's cost.
        Parallel.For(0, groups.Count, new ParallelOptions { MaxDegreeOfParallelism = groups.Count < 256 ? 1 : -1 }, g => result[g] = MeasureOne(groups[g], weights));
        return result;
    }

    private static (bool Hit, double Ndcg) MeasureOne(FitGroup group, IReadOnlyList<double> weights)
    {
        Span<int> top = stackalloc int[Cutoff];
        Span<double> topScores = stackalloc double[Cutoff];
        var kept = 0;
        for (var c = 0; c < group.Features.Count; c++)
        {
            var row = group.Features[c];
            var score = 0.0;
            for (var f = 0; f < weights.Count; f++)
            {
                score += weights[f] * row[f];
            }

            // Strictly greater: an equal score keeps the earlier candidate ahead, as a stable sort would.
            if (kept == Cutoff && score <= topScores[Cutoff - 1])
            {
                continue;
            }

            var position = Math.Min(kept, Cutoff - 1);
            while (position > 0 && topScores[position - 1] < score)
            {
                top[position] = top[position - 1];
                topScores[position] = topScores[position - 1];
                position--;
            }

            top[position] = c;
            topScores[position] = score;
            kept = Math.Min(kept + 1, Cutoff);
        }

        var positives = 0;
        foreach (var label in group.Labels)
        {
            positives += label ? 1 : 0;
        }

        if (positives == 0)
        {
            return default;
        }

        double dcg = 0, ideal = 0;
        for (var r = 0; r < kept; r++)
        {
            if (group.Labels[top[r]])
            {
                dcg += 1 / Math.Log2(r + 2);
            }
        }

        for (var r = 0; r < Math.Min(positives, Cutoff); r++)
        {
            ideal += 1 / Math.Log2(r + 2);
        }

        return (dcg > 0, dcg / ideal);
    }

    public static double Objective((double HitRate, double Ndcg) measured) => measured.HitRate + measured.Ndcg;

    /// <summary>
    /// Coordinate search on HR@10 + NDCG@10 (step functions a gradient cannot follow): each pass tries, for every
    /// weight, zero and a ladder of steps around its value, and keeps a change only when it strictly improves.
    /// Rankings ignore the weights' scale, so steps are relative to the largest weight.
    /// </summary>
    public static double[] Search(IReadOnlyList<FitGroup> groups, IReadOnlyList<double> start, int passes = 3)
    {
        var weights = start.ToArray();
        var best = Objective(Measure(groups, weights));
        double[] factors = [-2, -1, -0.5, -0.25, -0.1, -0.03, -0.01, 0.01, 0.03, 0.1, 0.25, 0.5, 1, 2];
        for (var pass = 0; pass < passes; pass++)
        {
            var improved = false;
            for (var f = 0; f < weights.Length; f++)
            {
                var scale = Math.Max(weights.Max(Math.Abs), 1e-3);
                var original = weights[f];
                var bestValue = original;
                foreach (var value in factors.Select(x => original + x * scale).Prepend(0.0))
                {
                    weights[f] = value;
                    var objective = Objective(Measure(groups, weights));
                    if (objective > best + 1e-12)
                    {
                        best = objective;
                        bestValue = value;
                        improved = true;
                    }
                }

                weights[f] = bestValue;
            }

            if (!improved)
            {
                break;
            }
        }

        return weights;
    }
}
