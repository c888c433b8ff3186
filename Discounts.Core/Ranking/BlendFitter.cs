using Discounts.Core.Evaluation;

namespace Discounts.Core.Ranking;

/// <summary>
/// Fits a <see cref="BlendedSource"/>'s weights by coordinate ascent on NDCG at a cutoff over the users' VALIDATION
/// targets (never the test targets). Each source's normalised scores are computed once per user and cached sparsely,
/// so trying a weight costs one pass over the items per user instead of re-running every source.
/// </summary>
public static class BlendFitter
{
    private static readonly float[] Grid = [0f, 0.003f, 0.01f, 0.03f, 0.1f, 0.3f, 1f, 3f];

    public static BlendedSource Fit(
        string name, IReadOnlyList<CandidateSource> sources, IReadOnlyList<LeaveOneOutUser> validationUsers, int cutoff,
        IReadOnlyList<float> startWeights, int rounds = 2, Action<string>? progress = null)
    {
        var itemCount = sources[0].ItemCount;
        var cache = new SparseScores[validationUsers.Count][];
        var independent = new float[sources.Count][];
        for (var s = 0; s < sources.Count; s++)
        {
            if (!sources[s].DependsOnHistory)
            {
                independent[s] = Normalised(sources[s], [], itemCount);
            }
        }

        Parallel.For(0, validationUsers.Count, u =>
        {
            cache[u] = new SparseScores[sources.Count];
            for (var s = 0; s < sources.Count; s++)
            {
                cache[u][s] = sources[s].DependsOnHistory
                    ? SparseScores.Of(Normalised(sources[s], validationUsers[u].ValidHistory, itemCount))
                    : SparseScores.Empty;
            }
        });

        var weights = startWeights.ToArray();
        var best = Ndcg(weights);
        progress?.Invoke($"blend start: ndcg@{cutoff} {best:F4} on {validationUsers.Count} validation users");
        for (var round = 0; round < rounds; round++)
        {
            for (var s = 0; s < sources.Count; s++)
            {
                var current = weights[s];
                float[] tries = [.. Grid, current * 0.5f, current * 2f];
                foreach (var trial in tries)
                {
                    weights[s] = trial;
                    var score = Ndcg(weights);
                    if (score > best)
                    {
                        best = score;
                        current = trial;
                    }
                }

                weights[s] = current;
            }

            progress?.Invoke($"blend round {round + 1}: ndcg@{cutoff} {best:F4}, weights {string.Join(", ", sources.Select((x, i) => $"{x.Name}={weights[i]:G3}"))}");
        }

        return new BlendedSource(name, sources, weights);

        double Ndcg(float[] trialWeights)
        {
            var baseline = new float[itemCount];
            for (var s = 0; s < sources.Count; s++)
            {
                if (independent[s] is { } dense && trialWeights[s] != 0)
                {
                    for (var item = 0; item < itemCount; item++)
                    {
                        baseline[item] += trialWeights[s] * dense[item];
                    }
                }
            }

            var gains = new double[validationUsers.Count];
            Parallel.For(
                0,
                validationUsers.Count,
                () => (Scores: new float[itemCount], Masked: new bool[itemCount]),
                (u, _, buffers) =>
                {
                    Array.Copy(baseline, buffers.Scores, itemCount);
                    for (var s = 0; s < sources.Count; s++)
                    {
                        if (trialWeights[s] != 0)
                        {
                            cache[u][s].AddTo(buffers.Scores, trialWeights[s]);
                        }
                    }

                    var user = validationUsers[u];
                    foreach (var earlier in user.ValidHistory)
                    {
                        buffers.Masked[earlier] = true;
                    }

                    var rank = LeaveOneOutEvaluation.Rank(buffers.Scores, user.ValidTarget, buffers.Masked);
                    gains[u] = rank < cutoff ? 1 / Math.Log2(rank + 2) : 0;
                    foreach (var earlier in user.ValidHistory)
                    {
                        buffers.Masked[earlier] = false;
                    }

                    return buffers;
                },
                _ => { });
            return gains.Average();
        }
    }

    private static float[] Normalised(CandidateSource source, int[] history, int itemCount)
    {
        var scores = new float[itemCount];
        source.AddScores(history, 1f, scores);
        var max = scores.Max();
        if (max > 0)
        {
            for (var item = 0; item < itemCount; item++)
            {
                scores[item] /= max;
            }
        }

        return scores;
    }

    private sealed record SparseScores(int[] Items, float[] Values)
    {
        public static SparseScores Empty { get; } = new([], []);

        public static SparseScores Of(float[] dense)
        {
            var items = new List<int>();
            for (var item = 0; item < dense.Length; item++)
            {
                if (dense[item] != 0)
                {
                    items.Add(item);
                }
            }

            return new SparseScores([.. items], items.Select(i => dense[i]).ToArray());
        }

        public void AddTo(float[] scores, float weight)
        {
            for (var i = 0; i < Items.Length; i++)
            {
                scores[Items[i]] += weight * Values[i];
            }
        }
    }
}
