namespace Discounts.Core.Recommending;

/// <summary>What one ranking knows about its user, as every source reads it.</summary>
/// <param name="History">Items the user interacted with, as index rows, oldest first.</param>
/// <param name="Bought">Items the user bought.</param>
/// <param name="Profile">What the user's profile proposes (content and nearest items), computed beforehand.</param>
public sealed record UserContext(IReadOnlyList<int> History, IReadOnlySet<int> Bought, ProfileCandidates Profile);

/// <summary>
/// A source of candidates: it proposes its best items for one user into the feature it owns, each scored relative to
/// its own best (1), so the blend compares sources on one scale. The shop's rankings, the blend's fit and
/// <c>evaluate-ranking</c> all take their candidates from <see cref="All"/>.
/// </summary>
public abstract class CandidateSource(int feature)
{
    public int Feature { get; } = feature;

    public string Name => RecommendationFeatures.Names[Feature];

    public abstract void Propose(CatalogueIndex index, UserContext user, int perSource, CandidateSet candidates);

    /// <summary>Every source, in feature order.</summary>
    public static IReadOnlyList<CandidateSource> All { get; } =
    [
        new ItemGraphSource(RecommendationFeatures.CoOccurrenceIndex, ItemGraphKind.Sequential, historyItems: 3, recencyDecay: 0.5f),
        new ItemGraphSource(RecommendationFeatures.CoOccurrenceLast1Index, ItemGraphKind.Sequential, historyItems: 1, recencyDecay: 1f),
        new ItemGraphSource(RecommendationFeatures.CoOccurrenceLast5Index, ItemGraphKind.Sequential, historyItems: 5, recencyDecay: 1f),
        new ItemGraphSource(RecommendationFeatures.CoOccurrenceAllIndex, ItemGraphKind.WholeHistory, historyItems: 50, recencyDecay: 0.9f),
        new ItemGraphSource(RecommendationFeatures.TwoStepLast1Index, ItemGraphKind.TwoStep, historyItems: 1, recencyDecay: 1f),
        new ItemGraphSource(RecommendationFeatures.TwoStepLast3Index, ItemGraphKind.TwoStep, historyItems: 3, recencyDecay: 0.5f),
        new ItemGraphSource(RecommendationFeatures.TextLast1Index, ItemGraphKind.Text, historyItems: 1, recencyDecay: 1f),
        new ItemGraphSource(RecommendationFeatures.TextLast5Index, ItemGraphKind.Text, historyItems: 5, recencyDecay: 0.7f),
        new ProfileSource(RecommendationFeatures.ContentIndex),
        new ProfileSource(RecommendationFeatures.EmbeddingIndex),
        new ItemListSource(RecommendationFeatures.PopularIndex),
        new ItemListSource(RecommendationFeatures.TrendingIndex),
        new ItemListSource(RecommendationFeatures.NewIndex),
    ];
}

/// <summary>
/// Neighbours, in one item graph, of the user's last <c>historyItems</c> distinct items; the most recent weighs 1, the
/// one before it <c>recencyDecay</c>, then its square, because the next choice follows the latest ones most closely.
/// </summary>
public sealed class ItemGraphSource(int feature, ItemGraphKind graph, int historyItems, float recencyDecay) : CandidateSource(feature)
{
    public override void Propose(CatalogueIndex index, UserContext user, int perSource, CandidateSet candidates)
    {
        var itemGraph = index.GraphOf(graph);
        var history = user.History;
        if (historyItems == 1)
        {
            if (history.Count > 0)
            {
                ProposeRow(itemGraph, history[^1], perSource, candidates);
            }

            return;
        }

        var scores = ScoreAccumulator.For(index.Count);
        Span<int> anchors = stackalloc int[historyItems];
        var used = 0;
        var weight = 1f;
        for (var position = history.Count - 1; position >= 0 && used < historyItems; position--)
        {
            var anchor = history[position];
            if (anchors[..used].Contains(anchor))
            {
                continue;
            }

            anchors[used++] = anchor;
            scores.AddRow(itemGraph.Neighbours(anchor), itemGraph.NeighbourWeights(anchor), weight, anchor);
            weight *= recencyDecay;
        }

        foreach (var (item, score, anchor) in scores.TakeTop(perSource))
        {
            Offer(candidates, item, score, anchor);
        }
    }

    /// <summary>
    /// One history item's neighbours are its graph row, already strongest first with ties by item: its first positive
    /// entries are what summing and selecting would give, without either.
    /// </summary>
    private void ProposeRow(ItemGraph itemGraph, int anchor, int perSource, CandidateSet candidates)
    {
        var neighbours = itemGraph.Neighbours(anchor);
        var weights = itemGraph.NeighbourWeights(anchor);
        for (var i = 0; i < neighbours.Length && i < perSource && weights[i] > 0; i++)
        {
            Offer(candidates, neighbours[i], weights[i] / weights[0], anchor);
        }
    }

    private void Offer(CandidateSet candidates, int item, float score, int anchor)
    {
        var candidate = candidates.Get(item);
        candidate.Features[Feature] = score;
        // The first source of each kind to propose the item names the history item its reason points to.
        if (RecommendationFeatures.IsTextGraph(Feature))
        {
            if (candidate.TextAnchor < 0)
            {
                candidate.TextAnchor = anchor;
            }
        }
        else if (candidate.Anchor < 0)
        {
            candidate.Anchor = anchor;
        }
    }
}

/// <summary>Items the user's profile proposes: those whose text carries their interests, or those nearest its embedding.</summary>
public sealed class ProfileSource(int feature) : CandidateSource(feature)
{
    public override void Propose(CatalogueIndex index, UserContext user, int perSource, CandidateSet candidates)
    {
        var picks = Feature == RecommendationFeatures.ContentIndex ? user.Profile.Content : user.Profile.Nearest;
        foreach (var pick in picks)
        {
            var candidate = candidates.Get(pick.Item);
            candidate.Features[Feature] = pick.Score;
            candidate.Term ??= pick.Term;
        }
    }
}

/// <summary>One of the shop-wide lists (popular, trending, new), the same for every user, scored relative to its first item.</summary>
public sealed class ItemListSource(int feature) : CandidateSource(feature)
{
    public override void Propose(CatalogueIndex index, UserContext user, int perSource, CandidateSet candidates)
    {
        var (list, scores) = Feature switch
        {
            RecommendationFeatures.PopularIndex => (index.PopularList, index.Popularity),
            RecommendationFeatures.TrendingIndex => (index.TrendingList, index.Trending),
            _ => (index.NewList, index.Newness),
        };
        if (list.Count == 0)
        {
            return;
        }

        var max = scores[list[0]];
        foreach (var item in list)
        {
            candidates.Get(item).Features[Feature] = scores[item] / max;
        }
    }
}
