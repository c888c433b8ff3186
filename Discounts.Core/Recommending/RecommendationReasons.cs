using System.Collections.Concurrent;

namespace Discounts.Core.Recommending;

/// <summary>
/// One short sentence per recommendation, from the source that contributed most to it. Each sentence is built once
/// per catalogue and then shared: a cached list of 100 items holds 100 references rather than 100 strings of its own,
/// which the garbage collector would otherwise copy every time the list survived a collection.
/// </summary>
public sealed class RecommendationReasons
{
    /// <summary>Interest terms come from users' own texts, so their sentences are remembered only up to this many.</summary>
    private const int MaxRememberedInterests = 100_000;

    private readonly CatalogueItems catalogue;
    private readonly string?[] boughtWith;
    private readonly string?[] similarTo;
    private readonly string[] closeToProfile;
    private readonly string[] trending;
    private readonly string[] isNew;
    private readonly string[] bestSeller;
    private readonly string[] pickedFor;
    private readonly ConcurrentDictionary<string, string> interests = new(StringComparer.Ordinal);
    private int rememberedInterests;

    public RecommendationReasons(CatalogueItems catalogue)
    {
        this.catalogue = catalogue;
        boughtWith = new string?[catalogue.Rows.Length];
        similarTo = new string?[catalogue.Rows.Length];
        closeToProfile = PerCategory(category => $"close to what your profile says you like in {category}");
        trending = PerCategory(category => $"popular in {category} this week");
        isNew = PerCategory(category => $"new in {category}");
        bestSeller = PerCategory(category => $"a best seller in {category}");
        pickedFor = PerCategory(category => $"picked for you in {category}");
    }

    public string Describe(Candidate candidate, int strongestSource)
    {
        var category = catalogue.CategoryOf[candidate.Item];
        return strongestSource switch
        {
            // Two threads may both build the same anchor's sentence; either copy is right.
            _ when RecommendationFeatures.IsTextGraph(strongestSource) && candidate.TextAnchor >= 0 =>
                similarTo[candidate.TextAnchor] ??= $"similar to '{Short(catalogue.Rows[candidate.TextAnchor].Title)}'",
            _ when RecommendationFeatures.IsItemGraph(strongestSource) && candidate.Anchor >= 0 =>
                boughtWith[candidate.Anchor] ??= $"often bought with '{Short(catalogue.Rows[candidate.Anchor].Title)}'",
            RecommendationFeatures.ContentIndex when candidate.Term is { } term => Interest(term),
            RecommendationFeatures.EmbeddingIndex => closeToProfile[category],
            RecommendationFeatures.TrendingIndex => trending[category],
            RecommendationFeatures.NewIndex => isNew[category],
            RecommendationFeatures.PopularIndex => bestSeller[category],
            _ => pickedFor[category],
        };
    }

    private string Interest(string term)
    {
        if (interests.TryGetValue(term, out var known))
        {
            return known;
        }

        var sentence = $"matches your interest in '{term}'";
        if (Volatile.Read(ref rememberedInterests) < MaxRememberedInterests && interests.TryAdd(term, sentence))
        {
            Interlocked.Increment(ref rememberedInterests);
        }

        return sentence;
    }

    private string[] PerCategory(Func<string, string> sentence) => Array.ConvertAll(catalogue.Categories, c => sentence(c));

    private static string Short(string title) => title.Length <= 60 ? title : title[..57] + "...";
}
