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

    public double Score(ReadOnlySpan<float> features) => Score(DenseWeights(), Intercept, features);

    /// <summary>The weights as one array, so scoring a list reads them without an interface call per feature.</summary>
    public double[] DenseWeights() => Weights as double[] ?? [.. Weights];

    public static double Score(ReadOnlySpan<double> weights, double intercept, ReadOnlySpan<float> features)
    {
        var z = intercept;
        for (var i = 0; i < weights.Length; i++)
        {
            z += weights[i] * features[i];
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

/// <summary>A fitted blend as stored in <c>RecommendationBlends.WeightsJson</c>: weights by feature name, so adding a feature never misreads an old row.</summary>
public sealed record StoredBlendWeights(IReadOnlyDictionary<string, double> Weights, double Intercept)
{
    public static BlendModel Read(string version, string modelVersion, string weightsJson)
    {
        var stored = System.Text.Json.JsonSerializer.Deserialize<StoredBlendWeights>(weightsJson)!;
        var weights = RecommendationFeatures.Names.Select(name => stored.Weights.GetValueOrDefault(name)).ToArray();
        return new BlendModel(version, modelVersion, weights, stored.Intercept);
    }

    public static string Write(BlendModel model) => System.Text.Json.JsonSerializer.Serialize(new StoredBlendWeights(model.Named(), model.Intercept));
}
