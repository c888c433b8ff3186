namespace Discounts.Core.Recommending;

/// <summary>One short sentence per recommendation, from the source that contributed most to it.</summary>
public static class RecommendationReasons
{
    public static string Describe(Candidate candidate, int strongestSource, CatalogueIndex index)
    {
        var category = index.Categories[index.CategoryOf[candidate.Item]];
        return strongestSource switch
        {
            RecommendationFeatures.CoOccurrenceIndex when candidate.Anchor >= 0 => $"often bought with '{Short(index.Items[candidate.Anchor].Title)}'",
            RecommendationFeatures.ContentIndex when candidate.Term is { } term => $"matches your interest in '{term}'",
            RecommendationFeatures.EmbeddingIndex => $"close to what your profile says you like in {category}",
            RecommendationFeatures.TrendingIndex => $"popular in {category} this week",
            RecommendationFeatures.NewIndex => $"new in {category}",
            RecommendationFeatures.PopularIndex => $"a best seller in {category}",
            _ => $"picked for you in {category}",
        };
    }

    private static string Short(string title) => title.Length <= 60 ? title : title[..57] + "...";
}
