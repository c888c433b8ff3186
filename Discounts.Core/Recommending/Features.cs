namespace Discounts.Core.Recommending;

/// <summary>
/// The blend's inputs, in a fixed order: one normalised score per candidate source (0 when the source did not propose
/// the item) and the scorer's p(buy).
/// </summary>
public static class RecommendationFeatures
{
    public const string CoOccurrence = "cooccurrence";
    public const string Content = "content";
    public const string Embedding = "embedding";
    public const string Popular = "popular";
    public const string Trending = "trending";
    public const string New = "new";
    public const string Scorer = "scorer";

    public const int CoOccurrenceIndex = 0;
    public const int ContentIndex = 1;
    public const int EmbeddingIndex = 2;
    public const int PopularIndex = 3;
    public const int TrendingIndex = 4;
    public const int NewIndex = 5;
    public const int ScorerIndex = 6;

    /// <summary>Every feature, indexed as the constants above.</summary>
    public static IReadOnlyList<string> Names { get; } = [CoOccurrence, Content, Embedding, Popular, Trending, New, Scorer];

    /// <summary>The features that are candidate sources (all but the scorer).</summary>
    public const int SourceCount = 6;

    public const int Count = 7;

    /// <summary>
    /// Rescales the scorer feature within one user's candidate list so their lowest p(buy) is 0 and their highest 1,
    /// like every source's score is relative to its own best. p(buy) spans a narrow band that moves from user to user;
    /// on one scale per list, one blend weight fits every user.
    /// </summary>
    public static void NormaliseScorer(IReadOnlyList<Candidate> candidates)
    {
        var low = float.MaxValue;
        var high = float.MinValue;
        foreach (var candidate in candidates)
        {
            low = Math.Min(low, candidate.Features[ScorerIndex]);
            high = Math.Max(high, candidate.Features[ScorerIndex]);
        }

        foreach (var candidate in candidates)
        {
            candidate.Features[ScorerIndex] = high > low ? (candidate.Features[ScorerIndex] - low) / (high - low) : 0;
        }
    }
}
