using Discounts.Core.Scoring;

namespace Discounts.Core.Recommending;

/// <summary>How a list is finished: the category cap (off with <see cref="int.MaxValue"/>), over how many places it holds.</summary>
public sealed record RankingRules(int MaxPerCategory, int DiversityWindow)
{
    public static RankingRules Serving(RecommendationOptions options) => new(options.MaxPerCategory, options.DiversityWindow);

    public static RankingRules NoCategoryCap { get; } = new(int.MaxValue, 1);
}

/// <summary>
/// The one ranking: every <see cref="CandidateSource"/> proposes, the scorer adds its p(buy), the blend scores each
/// candidate, <see cref="RankingOrder"/> sorts them and <see cref="Diversity"/> finishes the list. The shop's requests,
/// the blend's fit and <c>evaluate-ranking</c> all rank through it.
/// </summary>
public static class RankingEngine
{
    /// <summary>Every source's candidates for the user, already-bought non-consumables left out.</summary>
    public static List<Candidate> Candidates(CatalogueIndex index, UserContext user, int perSource) =>
        CandidateGenerator.Generate(index, user.History, user.Bought, user.Profile, perSource);

    /// <summary>With nothing to personalise on, the blend (learned on users who have history or text) has no say.</summary>
    public static bool IsStranger(UserContext user) => user.History.Count == 0 && !user.Profile.HasInterests && user.Profile.Vector is null;

    /// <summary>Scores, sorts and finishes the list: the first <paramref name="count"/> items, best first.</summary>
    public static List<Candidate> Order(CatalogueIndex index, IReadOnlyList<Candidate> candidates, BlendModel blend, bool stranger, RankingRules rules, int count)
    {
        var weights = blend.DenseWeights();
        foreach (var candidate in candidates)
        {
            // A stranger gets best sellers first, this week's as the tie-break.
            candidate.Score = stranger
                ? (candidate.Features[RecommendationFeatures.PopularIndex] + 0.1 * candidate.Features[RecommendationFeatures.TrendingIndex]) / 1.1
                : BlendModel.Score(weights, blend.Intercept, candidate.Features);
        }

        if (rules.MaxPerCategory >= candidates.Count)
        {
            return [.. RankingOrder.Top(candidates, count)];
        }

        // The category cap usually decides within the first few times count; the whole ranking only when it did not.
        var prefix = RankingOrder.Top(candidates, Math.Max(count, rules.DiversityWindow) * DiversityPrefix);
        var chosen = Diversity.Apply(prefix, c => index.CategoryOf[c.Item], rules.MaxPerCategory, rules.DiversityWindow, count, out var ranOut);
        return ranOut && prefix.Length < candidates.Count
            ? Diversity.Apply(RankingOrder.Sort(candidates), c => index.CategoryOf[c.Item], rules.MaxPerCategory, rules.DiversityWindow, count)
            : chosen;
    }

    private const int DiversityPrefix = 4;

    /// <summary>
    /// Whether the order reads the scorer's feature. When it does not (a stranger's list, or a blend that gives the
    /// scorer no weight), only the chosen items need p(buy), for the response: scoring them alone after the order
    /// gives the same list and the same figures.
    /// </summary>
    public static bool OrderReadsScorer(BlendModel blend, bool stranger) => !stranger && blend.Weights[RecommendationFeatures.ScorerIndex] != 0;

    /// <summary>Fills each candidate's scorer feature with p(buy) (0 where it cannot score), as its percentile within the list, and its raw p.</summary>
    public static void AddBuyProbabilities(IScorer scorer, ScorerVersion? version, float[]? vector, CatalogueIndex index, List<Candidate> candidates)
    {
        if (version is null || vector is null || candidates.Count == 0)
        {
            return;
        }

        var ids = new long[candidates.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = index.Items[candidates[i].Item].Id;
        }

        if (scorer.ScoreUserVector(version, vector, ids) is not { } scored)
        {
            return;
        }

        for (var i = 0; i < candidates.Count; i++)
        {
            var p = scored.Probabilities[i];
            candidates[i].BuyProbability = float.IsFinite(p) ? p : null;
            candidates[i].Features[RecommendationFeatures.ScorerIndex] = float.IsFinite(p) ? p : 0;
        }

        RecommendationFeatures.NormaliseScorer(candidates);
    }
}
