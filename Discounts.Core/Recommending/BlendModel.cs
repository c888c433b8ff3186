namespace Discounts.Core.Recommending;

/// <summary>
/// The final ranking: a logistic model over <see cref="RecommendationFeatures"/>, so each candidate's score is the
/// fitted chance that the user interacts with it. Weights come from <see cref="LogisticBlendFitter"/>, never from hand.
/// </summary>
public sealed record BlendModel(string Version, string ModelVersion, IReadOnlyList<double> Weights, double Intercept)
{
    /// <summary>
    /// Used only until the first fit has finished (or when the shop has no history to fit on): every feature counts the
    /// same. The first fit replaces it, and its version says "prior" so responses show it.
    /// </summary>
    public static BlendModel Prior(string modelVersion) => new("prior", modelVersion, Enumerable.Repeat(1.0, RecommendationFeatures.Count).ToArray(), -3);

    public double Score(ReadOnlySpan<float> features)
    {
        var z = Intercept;
        for (var i = 0; i < Weights.Count; i++)
        {
            z += Weights[i] * features[i];
        }

        return 1 / (1 + Math.Exp(-z));
    }

    /// <summary>The source (not the scorer) that adds the most to this candidate's score, or -1 when none does.</summary>
    public int StrongestSource(ReadOnlySpan<float> features)
    {
        var best = -1;
        var bestContribution = 0.0;
        for (var i = 0; i < RecommendationFeatures.SourceCount; i++)
        {
            var contribution = Math.Max(Weights[i], 1e-6) * features[i];
            if (features[i] > 0 && contribution > bestContribution)
            {
                best = i;
                bestContribution = contribution;
            }
        }

        return best;
    }

    public IReadOnlyDictionary<string, double> Named() =>
        RecommendationFeatures.Names.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => Weights[p.i]);
}

/// <summary>One labelled candidate list: a validation user's candidates and whether they interacted with each later.</summary>
public sealed record FitGroup(IReadOnlyList<float[]> Features, IReadOnlyList<bool> Labels);

/// <summary>How a fit went. Hit rates are measured on the held-out half of the validation users.</summary>
public sealed record BlendFitReport(
    int Users, int Examples, int Positives, double LogLoss, double HeldOutHitRateAt10, IReadOnlyDictionary<string, double> HeldOutSourceHitRatesAt10);

/// <summary>
/// Fits the blend as an L2-regularised logistic regression (batch gradient descent; the features lie in [0, 1]) on
/// candidates of validation users labelled by what they did after the cut-off. The report fits on half the users and
/// measures hit rate at 10 on the other half, against each feature alone; the returned model is then fitted on all.
/// </summary>
public static class LogisticBlendFitter
{
    public static (BlendModel Model, BlendFitReport Report) Fit(string version, string modelVersion, IReadOnlyList<FitGroup> groups, double l2 = 1e-3, int iterations = 400)
    {
        var fitHalf = groups.Where((_, i) => i % 2 == 0).ToList();
        var heldOut = groups.Where((_, i) => i % 2 == 1).ToList();
        var (halfWeights, halfIntercept) = Logistic(fitHalf, l2, iterations);
        var halfModel = new BlendModel(version, modelVersion, halfWeights, halfIntercept);
        var sourceRates = RecommendationFeatures.Names.Select((name, f) => (name, f))
            .ToDictionary(p => p.name, p => HitRate(heldOut, features => features[p.f]));

        var (weights, intercept) = Logistic(groups, l2, iterations);
        var model = new BlendModel(version, modelVersion, weights, intercept);
        var examples = groups.Sum(g => g.Labels.Count);
        var positives = groups.Sum(g => g.Labels.Count(l => l));
        var logLoss = examples == 0 ? 0 : groups.SelectMany(g => g.Features.Zip(g.Labels))
            .Sum(x => -Math.Log(Math.Clamp(x.Second ? model.Score(x.First) : 1 - model.Score(x.First), 1e-12, 1))) / examples;
        return (model, new BlendFitReport(groups.Count, examples, positives, logLoss,
            HitRate(heldOut, features => halfModel.Score(features)), sourceRates));
    }

    /// <summary>Share of groups with a positive among their 10 best-scored candidates (ties broken by list order).</summary>
    public static double HitRate(IReadOnlyList<FitGroup> groups, Func<float[], double> score)
    {
        if (groups.Count == 0)
        {
            return 0;
        }

        var hits = groups.Count(g => g.Features.Select((f, i) => (Score: score(f), i)).OrderByDescending(x => x.Score).ThenBy(x => x.i)
            .Take(10).Any(x => g.Labels[x.i]));
        return (double)hits / groups.Count;
    }

    private static (double[] Weights, double Intercept) Logistic(IReadOnlyList<FitGroup> groups, double l2, int iterations)
    {
        var rows = groups.SelectMany(g => g.Features).ToArray();
        var labels = groups.SelectMany(g => g.Labels).ToArray();
        var weights = new double[RecommendationFeatures.Count];
        if (rows.Length == 0 || labels.All(l => l) || labels.All(l => !l))
        {
            return (weights, 0);
        }

        var positiveShare = labels.Count(l => l) / (double)labels.Length;
        var intercept = Math.Log(positiveShare / (1 - positiveShare));
        var gradient = new double[weights.Length];
        const double rate = 1.0;
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            Array.Clear(gradient);
            var interceptGradient = 0.0;
            for (var r = 0; r < rows.Length; r++)
            {
                var z = intercept;
                for (var f = 0; f < weights.Length; f++)
                {
                    z += weights[f] * rows[r][f];
                }

                var error = 1 / (1 + Math.Exp(-z)) - (labels[r] ? 1 : 0);
                interceptGradient += error;
                for (var f = 0; f < weights.Length; f++)
                {
                    gradient[f] += error * rows[r][f];
                }
            }

            // Step size scaled by the positive share: the loss's curvature is about p(1-p) per row.
            var step = rate / (rows.Length * Math.Max(positiveShare, 0.01));
            intercept -= step * interceptGradient;
            for (var f = 0; f < weights.Length; f++)
            {
                weights[f] -= step * (gradient[f] + l2 * rows.Length * weights[f]);
            }
        }

        return (weights, intercept);
    }
}
