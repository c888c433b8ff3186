using Discounts.Core.Profiling;

namespace Discounts.Core.Discounting;

/// <summary>
/// How well what a user wrote before a moment matches an item, in the active text model's space: the cosine of the
/// two topic mixtures, and the weight of the user's TF-IDF keywords that the item's text contains. Both are 0 when
/// there is no text model, no text before the moment, or no known word in the item's text.
/// </summary>
/// <param name="PriceLanguage">
/// With the language features on, what the user's searches and chats before the moment say about their price
/// sensitivity (<see cref="Discounting.PriceLanguage"/>); null with them off.
/// </param>
public readonly record struct TextMatch(double TopicSimilarity, double KeywordMatch, double? PriceLanguage = null);

/// <summary>An item's words, as the topic features read them.</summary>
public sealed record ItemText(long ItemId, string Title, string Category, string Brand, string Description)
{
    public IReadOnlyList<string> Tokens() => Tokenizer.Tokenize($"{Title} {Category} {Brand} {Description}");
}

/// <summary>
/// Scores users' texts as of a moment and items' texts against one fitted text model, for the uplift features.
/// Training rows ask as of their offer's time, quotes as of now: the same code, so what training learned from is what
/// serving computes. Only texts written strictly before the moment count, so a review written after an offer (which
/// reveals its purchase) never reaches that offer's row. Cosine similarity and keyword weights do not depend on the
/// order of the topics, so a refitted text model yields features on the same scale. It caches scores and is not
/// thread-safe: one per request or training run, over one snapshot of users' texts.
/// </summary>
public sealed class TextMatcher
{
    private readonly TextProfileModel? model;
    private readonly Dictionary<long, (double[] Mixture, HashSet<string> Terms)> items = [];
    private readonly Dictionary<long, ItemText> itemTexts;
    /// <summary>
    /// A user's score depends only on which of their texts came before the moment; for a fixed list of texts that set
    /// is fixed by its size, so (user, count) keys the cache and a user with many offers is scored once per new text.
    /// </summary>
    private readonly Dictionary<(long User, int Count), TextScore> users = [];
    private readonly Dictionary<(long User, int Count), double> readings = [];

    public TextMatcher(TextProfileModel? model, IEnumerable<ItemText> catalogue)
    {
        this.model = model;
        itemTexts = catalogue.ToDictionary(i => i.ItemId);
    }

    /// <summary>The text features off: every match is the neutral (0, 0) with no deal share, in training and serving alike.</summary>
    public static TextMatcher None { get; } = new(null, []) { Language = null };

    /// <summary>The learned price-language direction; null only for <see cref="None"/>, where the language features are off.</summary>
    public PriceLanguage? Language { get; init; } = PriceLanguage.None;

    /// <summary>The text model's version, or null without one.</summary>
    public string? Version => model?.Version;

    public TextMatch Match(long userId, IReadOnlyList<PastText> texts, DateTime before, long itemId)
    {
        var deal = Language is null ? (double?)null : PriceReading(userId, texts, before);
        if (model is null || !itemTexts.ContainsKey(itemId))
        {
            return new TextMatch(0, 0, deal);
        }

        var user = UserScore(userId, texts, before);
        if (user.Keywords.Count == 0 && user.TopicMixture.All(share => share == 0))
        {
            return new TextMatch(0, 0, deal);
        }

        var (mixture, terms) = ItemScore(itemId);
        double keywordMatch = 0;
        foreach (var keyword in user.Keywords)
        {
            keywordMatch += terms.Contains(keyword.Term) ? keyword.Weight : 0;
        }

        return new TextMatch(Cosine(user.TopicMixture, mixture), keywordMatch, deal);
    }

    /// <summary>The price language's reading of the user, once per (user, texts before the moment) like the topic scores.</summary>
    private double PriceReading(long userId, IReadOnlyList<PastText> texts, DateTime before)
    {
        var key = (userId, texts.Count(t => t.OccurredAt < before));
        if (!readings.TryGetValue(key, out var reading))
        {
            readings[key] = reading = Language!.ScoreBefore(texts, before);
        }

        return reading;
    }

    private TextScore UserScore(long userId, IReadOnlyList<PastText> texts, DateTime before)
    {
        var count = 0;
        foreach (var text in texts)
        {
            count += text.OccurredAt < before ? 1 : 0;
        }

        if (count == 0)
        {
            return new TextScore([], []);
        }

        if (users.TryGetValue((userId, count), out var cached))
        {
            return cached;
        }

        // The profile's own rule: the most recent texts, up to the same cap.
        var tokens = texts.Where(t => t.OccurredAt < before)
            .OrderByDescending(t => t.OccurredAt)
            .Take(ProfileComputation.MaxTextsPerUser)
            .SelectMany(t => Tokenizer.Tokenize(t.Text))
            .ToList();
        var score = model!.Score(tokens);
        users[(userId, count)] = score;
        return score;
    }

    private (double[] Mixture, HashSet<string> Terms) ItemScore(long itemId)
    {
        if (items.TryGetValue(itemId, out var cached))
        {
            return cached;
        }

        var tokens = itemTexts[itemId].Tokens();
        var scored = (model!.Score(tokens).TopicMixture.ToArray(), tokens.ToHashSet(StringComparer.Ordinal));
        items[itemId] = scored;
        return scored;
    }

    private static double Cosine(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count)
        {
            return 0;
        }

        double dot = 0, aa = 0, bb = 0;
        for (var i = 0; i < a.Count; i++)
        {
            dot += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }

        return aa == 0 || bb == 0 ? 0 : dot / Math.Sqrt(aa * bb);
    }
}
