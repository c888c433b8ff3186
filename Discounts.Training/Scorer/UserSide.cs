namespace Discounts.Training.Scorer;

/// <summary>How a user is written down for the user tower when no stored profile text exists yet.</summary>
public static class UserSide
{
    private const int TextsKept = 3;
    private const int CategoriesKept = 3;

    /// <param name="recentTexts">The user's texts, newest first.</param>
    /// <param name="purchasedCategories">Categories of the user's purchases, any order, repeats allowed.</param>
    public static string UserSideText(IEnumerable<string> recentTexts, IEnumerable<string> purchasedCategories)
    {
        var categories = purchasedCategories
            .GroupBy(c => c, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Take(CategoriesKept).Select(g => g.Key).ToList();
        var texts = recentTexts.Take(TextsKept).ToList();
        var parts = new List<string>(2);
        if (categories.Count > 0) parts.Add("buys " + string.Join(", ", categories));
        if (texts.Count > 0) parts.Add(string.Join(" | ", texts));
        return parts.Count == 0 ? "new shopper" : string.Join(". ", parts);
    }

    public static string ItemSideText(string title, string category, string brand, string description) =>
        $"{title}. {category}. {brand}. {description}";
}
