namespace Discounts.Core.Profiling;

/// <summary>
/// The one rendering of a profile as text for the scorer. Training and serving both call <see cref="Render"/>, so the
/// model never sees a profile written differently from the ones it learned on.
/// </summary>
public static class ProfileText
{
    public const int MaxKeywords = 8;
    public const int MaxTopics = 2;
    public const int MaxTopicWords = 4;
    public const int MaxQueries = 3;
    public const int MaxCategories = 3;

    /// <param name="keywords">TF-IDF keywords, strongest first.</param>
    /// <param name="topicMixture">The user's topic proportions, indexed like <paramref name="topics"/>.</param>
    /// <param name="topics">The fitted model's topics.</param>
    /// <param name="recentQueries">Search queries, most recent first.</param>
    /// <param name="categories">Category affinity, strongest first.</param>
    public static string Render(
        IReadOnlyList<WeightedTerm> keywords,
        IReadOnlyList<double> topicMixture,
        IReadOnlyList<Topic> topics,
        IReadOnlyList<string> recentQueries,
        IReadOnlyList<CategoryAffinity> categories)
    {
        var parts = new List<string>(4);
        if (categories.Count > 0)
        {
            parts.Add("likes: " + string.Join(", ", categories.Take(MaxCategories).Select(c => c.Category.ToLowerInvariant())));
        }

        if (keywords.Count > 0)
        {
            parts.Add("keywords: " + string.Join(" ", keywords.Take(MaxKeywords).Select(k => k.Term)));
        }

        var strongTopics = topicMixture
            .Select((share, id) => (Share: share, Id: id))
            .Where(t => t.Share >= 0.15 && t.Id < topics.Count)
            .OrderByDescending(t => t.Share).ThenBy(t => t.Id)
            .Take(MaxTopics)
            .Select(t => string.Join(" ", topics[t.Id].TopWords.Take(MaxTopicWords).Select(w => w.Term)))
            .ToList();
        if (strongTopics.Count > 0)
        {
            parts.Add("topics: " + string.Join("; ", strongTopics));
        }

        var queries = recentQueries.Where(q => q.Length > 0).Take(MaxQueries).Select(q => q.Length > 60 ? q[..60] : q).ToList();
        if (queries.Count > 0)
        {
            parts.Add("searched: " + string.Join("; ", queries));
        }

        return string.Join(" | ", parts);
    }
}
