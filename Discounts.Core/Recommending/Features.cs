namespace Discounts.Core.Recommending;

/// <summary>
/// The blend's inputs, in a fixed order: one normalised score per candidate source (0 when the source did not propose
/// the item), the scorer's p(buy), and the item's popularity (for every candidate, whoever proposed it: the prior that
/// breaks a source's ties). The same list serves the shop and <c>evaluate-ranking</c>: the item-graph sources
/// read the user's last items, the profile sources their text, the list sources the whole shop.
/// </summary>
public static class RecommendationFeatures
{
    public const string CoOccurrence = "cooccurrence";
    public const string CoOccurrenceLast1 = "cooccurrence-last1";
    public const string CoOccurrenceLast5 = "cooccurrence-last5";
    public const string CoOccurrenceAll = "cooccurrence-all";
    public const string TwoStepLast1 = "two-step-last1";
    public const string TwoStepLast3 = "two-step-last3";
    public const string TextLast1 = "text-last1";
    public const string TextLast5 = "text-last5";
    public const string Content = "content";
    public const string Embedding = "embedding";
    public const string Popular = "popular";
    public const string Trending = "trending";
    public const string New = "new";
    public const string Scorer = "scorer";
    public const string Popularity = "popularity";

    public const int CoOccurrenceIndex = 0;
    public const int CoOccurrenceLast1Index = 1;
    public const int CoOccurrenceLast5Index = 2;
    public const int CoOccurrenceAllIndex = 3;
    public const int TwoStepLast1Index = 4;
    public const int TwoStepLast3Index = 5;
    public const int TextLast1Index = 6;
    public const int TextLast5Index = 7;
    public const int ContentIndex = 8;
    public const int EmbeddingIndex = 9;
    public const int PopularIndex = 10;
    public const int TrendingIndex = 11;
    public const int NewIndex = 12;
    public const int ScorerIndex = 13;
    public const int PopularityIndex = 14;

    /// <summary>Every feature, indexed as the constants above.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        CoOccurrence, CoOccurrenceLast1, CoOccurrenceLast5, CoOccurrenceAll, TwoStepLast1, TwoStepLast3, TextLast1, TextLast5,
        Content, Embedding, Popular, Trending, New, Scorer, Popularity,
    ];

    /// <summary>The features that are candidate sources (all but the scorer and the item's popularity).</summary>
    public const int SourceCount = 13;

    /// <summary>Sources that propose items by the user's history in an item graph (whose reasons name a history item).</summary>
    public static bool IsItemGraph(int feature) => feature is >= 0 and <= TextLast5Index;

    /// <summary>Item-graph sources built on item text rather than on what users did.</summary>
    public static bool IsTextGraph(int feature) => feature is TextLast1Index or TextLast5Index;

    // One shared list and one joined string per combination of sources: a cached ranked list of 100 items then holds
    // no list or string of its own per item for them, which the garbage collector would otherwise trace in every pass.
    private static readonly string[][] SourceNames = Enumerable.Range(0, 1 << SourceCount)
        .Select(mask => Enumerable.Range(0, SourceCount).Where(i => (mask & (1 << i)) != 0).Select(i => Names[i]).ToArray()).ToArray();

    private static readonly string[] SourceLists = SourceNames.Select(names => string.Join(",", names)).ToArray();

    /// <summary>The sources with a positive feature, in feature order.</summary>
    public static IReadOnlyList<string> SourcesOf(ReadOnlySpan<float> features) => SourceNames[SourceMask(features)];

    /// <summary>The same, comma-separated.</summary>
    public static string SourceListOf(ReadOnlySpan<float> features) => SourceLists[SourceMask(features)];

    private static int SourceMask(ReadOnlySpan<float> features)
    {
        var mask = 0;
        for (var i = 0; i < SourceCount; i++)
        {
            if (features[i] > 0)
            {
                mask |= 1 << i;
            }
        }

        return mask;
    }

    public const int Count = 15;

    /// <summary>
    /// Replaces the scorer feature by its percentile within one user's candidate list (lowest p(buy) 0, highest 1;
    /// equal p share a rank), so it is relative like every source's score. p(buy) spans a narrow band that moves from
    /// user to user; as a percentile, one blend weight fits every user.
    /// </summary>
    public static void NormaliseScorer(IReadOnlyList<Candidate> candidates)
    {
        if (candidates.Count < 2)
        {
            foreach (var candidate in candidates)
            {
                candidate.Features[ScorerIndex] = 0;
            }

            return;
        }

        // One sort of primitive keys, p's ordered bits above the candidate's position, rather than keys carrying a
        // second array along.
        var keys = new ulong[candidates.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = ((ulong)OrderedBits(candidates[i].Features[ScorerIndex]) << 32) | (uint)i;
        }

        Array.Sort(keys);
        for (var start = 0; start < keys.Length;)
        {
            var p = candidates[(int)(uint)keys[start]].Features[ScorerIndex];
            var end = start;
            while (end + 1 < keys.Length && candidates[(int)(uint)keys[end + 1]].Features[ScorerIndex] == p)
            {
                end++;
            }

            var rank = (start + end) / 2f / (keys.Length - 1);
            for (var i = start; i <= end; i++)
            {
                candidates[(int)(uint)keys[i]].Features[ScorerIndex] = rank;
            }

            start = end + 1;
        }
    }

    /// <summary>The float's bits, flipped so that unsigned order is numeric order.</summary>
    private static uint OrderedBits(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        return (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
    }
}
